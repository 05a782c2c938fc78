import assert from "node:assert/strict";
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

Deno.test("each normalized character keeps its source character's span", () => {
  const lower = { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: true };
  // İ lowercases to i + U+0307, both from the one source character; NUL and a control
  // character vanish; an astral character spans two units; CJK gets spaces around it.
  const n = normalize("İ\u0000x\u0007😀中", lower);
  assert.deepEqual(n.chars, ["i", "\u0307", "x", "😀", " ", "中", " "]);
  assert.deepEqual(n.starts, [0, 0, 2, 4, 6, 6, 6]);
  assert.deepEqual(n.ends, [1, 1, 3, 6, 7, 7, 7]);
  // Accents stripped after NFD: é (one character) and e + U+0301 (two) both become e.
  const s = normalize("e\u0301é", { ...lower, stripAccents: true });
  assert.deepEqual(s.chars, ["e", "e"]);
  assert.deepEqual([s.starts, s.ends], [[0, 2], [1, 3]]);
  assert.deepEqual(preTokenizeBert([..."a,b  c\u3000d"]), [[0, 1], [1, 2], [2, 3], [5, 6], [7, 8]]);
});
