import assert from "node:assert/strict";
import { bertNormalizer, bertPreTokenizer } from "tokenizers";
import {
  type BertNormalizerConfig,
  normalizeBert,
  type NormalizedText,
  preTokenizeBert,
} from "../../src/text/wordpiece_normalizer.ts";

function normalize(text: string, config: BertNormalizerConfig): NormalizedText {
  const out: NormalizedText = { chars: [], starts: [], ends: [] };
  normalizeBert(text, 0, text.length, config, out);
  return out;
}

const CONFIGS: BertNormalizerConfig[] = [
  { cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true },
  { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: true },
  { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false },
  { cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false },
];

Deno.test("every code point normalizes and pre-tokenizes as the Rust library does", () => {
  const natives = CONFIGS.map((c) => bertNormalizer(c));
  const pre = bertPreTokenizer();
  const bad: string[] = [];
  let checked = 0;
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const text = `a${String.fromCodePoint(cp)}b`;
    CONFIGS.forEach((c, k) => {
      const got = normalize(text, c).chars.join("");
      if (got !== natives[k].normalizeString(text)) bad.push(`U+${cp.toString(16)} config ${k}`);
    });
    const words = preTokenizeBert([...text]).map(([a, b]) => [...text].slice(a, b).join(""));
    const want = pre.preTokenizeString(text).map((w) => w[0]);
    if (JSON.stringify(words) !== JSON.stringify(want)) bad.push(`U+${cp.toString(16)} pre`);
    checked++;
  }
  assert.deepEqual(bad.slice(0, 20), [], `${bad.length} differences`);
  assert.equal(checked, 0x110000 - 0x800);
});

Deno.test("each normalized character keeps its source character's span", () => {
  const lower = CONFIGS[1];
  // İ lowercases to i + U+0307, both from the one source character; NUL and a control
  // character vanish; an astral character spans two units; CJK gets spaces around it.
  const n = normalize("İ\u0000x\u0007😀中", lower);
  assert.deepEqual(n.chars, ["i", "\u0307", "x", "😀", " ", "中", " "]);
  assert.deepEqual(n.starts, [0, 0, 2, 4, 6, 6, 6]);
  assert.deepEqual(n.ends, [1, 1, 3, 6, 7, 7, 7]);
  // Accents stripped after NFD: é (one character) and e + U+0301 (two) both become e.
  const s = normalize("e\u0301é", CONFIGS[0]);
  assert.deepEqual(s.chars, ["e", "e"]);
  assert.deepEqual([s.starts, s.ends], [[0, 2], [1, 3]]);
  assert.deepEqual(preTokenizeBert([..."a,b  c\u3000d"]), [[0, 1], [1, 2], [2, 3], [5, 6], [7, 8]]);
});
