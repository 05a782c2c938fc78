import assert from "node:assert/strict";
import { nativeEngine } from "../../src/text/tokenizer_native.ts";
import { WordPieceTokenizer } from "../../src/text/wordpiece.ts";

Deno.test("the native engine gives UTF-16 offsets and the library's decode", async () => {
  const tok = WordPieceTokenizer.fromVocabArray(
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi", "##s", "."],
    { lowercase: true },
  );
  const engine = nativeEngine(tok.toJSON());
  // The binding counts code points; 😀 is two UTF-16 units.
  const s = await engine.sequence("😀 his.");
  assert.deepEqual(s, tok.tokenize("😀 his."));
  assert.deepEqual(s.offsets, [[0, 2], [3, 5], [5, 6], [6, 7]]);
  assert.equal(await engine.decode([2, 4, 5, 6, 3], true), "his.");
  assert.equal(await engine.decode([2, 4, 3], false), "[CLS] hi [SEP]");
});
