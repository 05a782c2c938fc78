// Seeded fuzzing of the SQuAD/KorQuAD loader: 10,000 mutations of a small valid file; the
// only allowed outcomes are loaded examples or a DataError naming the file.

import assert from "node:assert/strict";
import { parseSquad } from "../../mod.ts";
import { DataError } from "../../src/util/errors.ts";
import { parseJson } from "../../src/io/text_file.ts";
import { rng } from "../_helpers.ts";

const VALID = JSON.stringify({
  version: "KorQuAD_v1.0_dev",
  data: [{
    title: "문서",
    paragraphs: [{
      context: "김민준은 1987년에 부산에서 태어났다. 그는 작가로 일했다.",
      qas: [
        {
          id: "q1",
          question: "김민준은 어디에서 태어났나?",
          answers: [{ text: "부산", answer_start: 13 }],
        },
        { id: "q2", question: "김민준의 직업은?", answers: [{ text: "작가", answer_start: 26 }] },
      ],
    }],
  }],
});

const VALUES = [0, -1, 9999, "", "x", null, true, [], {}, [{}], 1.5, "부산"];

function mutate(r: () => number): string {
  const kind = Math.floor(r() * 3);
  if (kind === 0) {
    const b = new TextEncoder().encode(VALID);
    for (let k = 0; k < 1 + r() * 4; k++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
    return new TextDecoder().decode(b);
  }
  if (kind === 1) return VALID.slice(0, Math.floor(r() * VALID.length));
  const obj = JSON.parse(VALID);
  const paths: [Record<string, unknown>, string][] = [];
  const walk = (o: unknown) => {
    if (o && typeof o === "object") {
      for (const [k, v] of Object.entries(o)) {
        paths.push([o as Record<string, unknown>, k]);
        walk(v);
      }
    }
  };
  walk(obj);
  for (let k = 0; k < 1 + r() * 3; k++) {
    const [o, key] = paths[Math.floor(r() * paths.length)];
    if (r() < 0.2) delete o[key];
    else o[key] = VALUES[Math.floor(r() * VALUES.length)];
  }
  return JSON.stringify(obj);
}

Deno.test("10,000 mutated SQuAD files load or give a DataError, in both modes", () => {
  const r = rng(77);
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < 10_000; i++) {
    const text = mutate(r);
    try {
      const res = parseSquad(parseJson(text, "fuzz.json"), "fuzz.json", {
        mode: i % 2 ? "train" : "eval",
      });
      for (const e of res.examples) assert.equal(typeof e.context, "string");
      ok++;
    } catch (e) {
      if (!(e instanceof DataError)) throw new Error(`case ${i}: ${e} for ${text.slice(0, 300)}`);
      assert.ok(e.message.startsWith("fuzz.json"), e.message);
      refused++;
    }
  }
  assert.ok(ok > 100 && refused > 1000, `ok ${ok}, refused ${refused}`);
});
