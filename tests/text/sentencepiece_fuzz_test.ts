// Seeded fuzzing of the SentencePiece model loader: 10,000 mutations (bit flips, cuts, spliced
// bytes) of a small valid unigram model. The only allowed outcomes are a tokenizer that encodes
// a text to ids inside its vocabulary, or one TokenizerError naming the file.

import assert from "node:assert/strict";
import { SentencePieceTokenizer } from "../../src/text/sentencepiece.ts";
import { TokenizerError } from "../../src/util/errors.ts";
import { rng } from "../_helpers.ts";
import { model } from "./_spm.ts";

const VALID = model([
  ["[UNK]", 0, 2],
  ["[PAD]", 0, 3],
  ["[CLS]", 0, 3],
  ["[SEP]", 0, 3],
  ["\u2581", -1],
  ["\u2581좋", -2],
  ["다", -2.5],
  ["a", -3],
  ["b", -3.5],
]);

function mutate(r: () => number): Uint8Array {
  const b = VALID.slice();
  const kind = Math.floor(r() * 3);
  if (kind === 0) {
    for (let k = 0; k < 1 + r() * 4; k++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
    return b;
  }
  if (kind === 1) return b.slice(0, Math.floor(r() * b.length));
  const at = Math.floor(r() * b.length);
  const junk = Uint8Array.from({ length: 1 + Math.floor(r() * 6) }, () => Math.floor(r() * 256));
  return Uint8Array.from([...b.slice(0, at), ...junk, ...b.slice(at + Math.floor(r() * 3))]);
}

Deno.test("10,000 mutated .model files load and encode within the vocabulary, or are one TokenizerError", async () => {
  const r = rng(20261202);
  let loaded = 0, refused = 0;
  for (let i = 0; i < 10000; i++) {
    const bytes = mutate(r);
    let tok: SentencePieceTokenizer;
    try {
      tok = SentencePieceTokenizer.fromBytes(bytes, "m.model");
    } catch (e) {
      if (!(e instanceof TokenizerError)) throw new Error(`mutation ${i}: ${e}`);
      assert.equal(e.file, "m.model");
      assert.ok(!e.message.includes("\n"), e.message);
      refused++;
      continue;
    }
    const w = await tok.encode("좋다 ab 좋아", { addSpecialTokens: false });
    assert.ok(w.ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize), `${i}`);
    loaded++;
  }
  assert.ok(loaded > 100 && refused > 100, `loaded ${loaded}, refused ${refused}`);
});
