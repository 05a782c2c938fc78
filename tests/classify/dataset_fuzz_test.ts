// Seeded fuzzing of the classification loaders: 10,000 mutations each of a small valid NSMC TSV
// and a small valid JSONL file (bit flips, cuts, and inserted tabs, newlines, quotes and
// labels); the only allowed outcomes are loaded examples that keep the loaders' promises, or a
// DataError naming the file and a line.

import assert from "node:assert/strict";
import {
  parseJsonlExamples,
  parseTsvExamples,
  type TextDataset,
} from "../../src/classify/dataset.ts";
import { DataError } from "../../src/util/errors.ts";
import { rng } from "../_helpers.ts";

const TSV = "id\tdocument\tlabel\n1\t정말 재밌어요 ㅋㅋ\t1\n2\t별로... 시간 아깝다\t0\n3\t굳\t1\n";
const JSONL = '{"id": "a", "text": "좋다", "label": 1}\n{"text": "bad", "label": "neg"}\n' +
  '{"id": 7, "text": "meh", "label": 0}\n';
const SPEC = { label2id: { neg: 0, pos: 1 }, numLabels: 2 };
const PIECES = [
  "\t",
  "\n",
  "\r\n",
  '"',
  "{",
  "}",
  ":",
  ",",
  "-1",
  "2",
  "1.5",
  "",
  " ",
  "\u0000",
  "label",
];

function mutate(valid: string, r: () => number): string {
  const kind = Math.floor(r() * 3);
  if (kind === 0) {
    const b = new TextEncoder().encode(valid);
    for (let k = 0; k < 1 + r() * 4; k++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
    return new TextDecoder().decode(b);
  }
  if (kind === 1) return valid.slice(0, Math.floor(r() * valid.length));
  let s = valid;
  for (let k = 0; k < 1 + r() * 3; k++) {
    const at = Math.floor(r() * s.length);
    const cut = Math.floor(r() * 3);
    s = s.slice(0, at) + PIECES[Math.floor(r() * PIECES.length)] + s.slice(at + cut);
  }
  return s;
}

function check(d: TextDataset): void {
  for (const e of d.examples) {
    assert.equal(typeof e.id, "string");
    assert.ok(e.text.trim() !== "" && e.text === e.text.trim(), JSON.stringify(e));
    assert.ok(Number.isInteger(e.label) && e.label >= 0 && e.label < 2, JSON.stringify(e));
  }
  assert.ok(Number.isInteger(d.skipped) && d.skipped >= 0);
}

for (
  const [name, valid, parse] of [
    ["TSV", TSV, parseTsvExamples],
    ["JSONL", JSONL, parseJsonlExamples],
  ] as const
) {
  Deno.test(`${name}: 10,000 mutations give examples or a DataError naming the file`, () => {
    const r = rng(name.length * 101);
    let loaded = 0, refused = 0;
    for (let i = 0; i < 10000; i++) {
      const text = mutate(valid, r);
      try {
        check(parse(text, "f", SPEC));
        loaded++;
      } catch (e) {
        if (!(e instanceof DataError)) {
          throw new Error(`mutation ${i} ${JSON.stringify(text)}: ${e}`);
        }
        assert.equal(e.file, "f");
        assert.match(e.what, /^line \d+: /);
        assert.ok(!e.message.includes("\n"), e.message);
        refused++;
      }
    }
    // Both outcomes occur, so the fuzzer reaches past the first check.
    assert.ok(loaded > 100 && refused > 100, `loaded ${loaded}, refused ${refused}`);
  });
}
