import assert from "node:assert/strict";
import { bertNormalizer, bertPreTokenizer } from "tokenizers";
import {
  type BertNormalizerConfig,
  normalizeBert,
  type NormalizedText,
  preTokenizeBert,
} from "../../src/text/wordpiece_normalizer.ts";

// The generated tables are right when, with them, every code point comes out as the binding
// makes it (tools/wordpiece_unicode.ts regenerates them when the binding is upgraded).

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
      const got = norm(text, c).chars.join("");
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

function norm(text: string, config: BertNormalizerConfig): NormalizedText {
  const out: NormalizedText = { chars: [], starts: [], ends: [] };
  normalizeBert(text, 0, text.length, config, out);
  return out;
}
