// A model directory's tokenizer: tokenizer.json first, else vocab.txt cased as
// tokenizer_config.json says (HF's default: lowercase); neither is a DataError naming the dir.
// tests/qa/model_dir_test.ts checks the same through a whole QA model directory.

import assert from "node:assert/strict";
import { BertTokenizer, type TextTokenizer } from "../../src/text/tokenizer.ts";
import { exists, loadTokenizerDir } from "../../src/text/tokenizer_dir.ts";
import { DataError } from "../../src/util/errors.ts";

const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "Hello", "hello"];

Deno.test("tokenizer.json wins over vocab.txt; vocab.txt alone lowercases by default", async () => {
  const dir = await Deno.makeTempDir();
  assert.equal(await exists(`${dir}/vocab.txt`), false);
  await BertTokenizer.fromVocabArray(VOCAB, { lowercase: false }).save(dir);
  assert.equal(await exists(`${dir}/tokenizer.json`), true);
  const ids = async (t: TextTokenizer) =>
    (await t.encode("Hello", { addSpecialTokens: false })).ids;
  assert.deepEqual(await ids(await loadTokenizerDir(dir)), [4], "tokenizer.json is cased");
  await Deno.remove(`${dir}/tokenizer.json`);
  await Deno.remove(`${dir}/tokenizer_config.json`);
  assert.deepEqual(await ids(await loadTokenizerDir(dir)), [5], "HF's default lowercases");
  await Deno.remove(`${dir}/vocab.txt`);
  await assert.rejects(
    () => loadTokenizerDir(dir),
    (e) => e instanceof DataError && e.file === dir,
  );
  await Deno.remove(dir, { recursive: true });
});
