// A model directory's tokenizer: tokenizer.json first, else vocab.txt cased as
// tokenizer_config.json says (HF's default: lowercase); neither is a DataError naming the dir.
// tests/qa/model_dir_test.ts checks the same through a whole QA model directory.

import assert from "node:assert/strict";
import { BertTokenizer, type TextTokenizer } from "../../src/text/tokenizer.ts";
import { exists, loadTokenizerDir, tokenizerForModel } from "../../src/text/tokenizer_dir.ts";
import { DataError } from "../../src/util/errors.ts";
import { bertConfig } from "../../src/models/config.ts";
import { fixture } from "../_data.ts";

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

// KLUE's RoBERTa checkpoints (klue/roberta-small/base/large): a WordPiece vocab.txt with
// [CLS]=0 [PAD]=1 [SEP]=2 [UNK]=3 [MASK]=4 and their real tokenizer_config.json
// (do_lower_case false); the fixture's vocab is a small one in that layout.
const KLUE = fixture("klue/tokenizer");

Deno.test("KLUE's tokenizer: special ids, case kept as tokenizer_config.json says, [MASK] in text", async () => {
  const tok = await loadTokenizerDir(KLUE);
  assert.deepEqual([tok.clsId, tok.padId, tok.sepId, tok.unkId], [0, 1, 2, 3]);
  assert.equal(tok.tokenToId("[MASK]"), 4);
  const w = await tok.encode("Seoul 은 [MASK] 의 수도 .");
  assert.deepEqual(w.tokens, ["[CLS]", "Seoul", "은", "[MASK]", "의", "수도", ".", "[SEP]"]);
  assert.equal(w.ids[0], 0);
  assert.equal(w.ids[3], 4, "[MASK] is the mask token, not [ + MASK + ]");
  assert.equal(w.ids.at(-1), 2);
  assert.deepEqual((await tok.encode("seoul", { addSpecialTokens: false })).tokens, ["seoul"]);
  const [p] = await tok.encodePair("어디야?", "서울", { maxLength: 12, padding: "max_length" });
  assert.deepEqual(p.ids.slice(-2), [1, 1], "padded with [PAD] = 1");
});

Deno.test("tokenizerForModel: one token type gives all-zero type ids; two keep 0/1", async () => {
  const tok = await loadTokenizerDir(KLUE);
  const pair = async (t: TextTokenizer) =>
    (await t.encodePair("어디야?", "서울 은", { maxLength: 12, padding: "max_length" }))[0];
  const bert = await pair(tokenizerForModel(KLUE, tok, { vocab_size: 24, type_vocab_size: 2 }));
  assert.deepEqual(bert.typeIds, [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0]);
  const single = tokenizerForModel(KLUE, tok, { vocab_size: 32000, type_vocab_size: 1 });
  const roberta = await pair(single);
  assert.deepEqual(roberta.typeIds, new Array(12).fill(0));
  assert.deepEqual(roberta.ids, bert.ids, "only the type ids change");
  assert.deepEqual((await single.encode("서울 은")).typeIds, [0, 0, 0, 0]);
  // Everything else is the tokenizer's own, private fields and all.
  assert.ok(single instanceof BertTokenizer);
  assert.equal(single.padId, 1);
  assert.equal(await single.decode(roberta.ids, true), "어디야? 서울 은");
  assert.deepEqual(single.savedFiles, tok.savedFiles);
  assert.throws(
    () => tokenizerForModel(KLUE, tok, { vocab_size: 8, type_vocab_size: 1 }),
    (e) => e instanceof DataError && /24 tokens but config.json vocab_size is 8/.test(e.message),
  );
});

Deno.test("a one-segment model's tokenizer saves a tokenizer.json whose pair template says type 0", async () => {
  const tok = BertTokenizer.fromVocabArray(
    ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]", "a", "b"],
    {
      lowercase: false,
    },
  );
  const roberta = bertConfig({ model_type: "roberta", vocab_size: 7, type_vocab_size: 1 });
  const dir = await Deno.makeTempDir();
  await tokenizerForModel(dir, tok, roberta).save(dir);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer.json`));
  const types = JSON.stringify(json.post_processor.pair).match(/"type_id":\d/g);
  assert.deepEqual(new Set(types), new Set(['"type_id":0']));
  // Reloaded as HF would read it, the pair's second segment is 0 without the model's help.
  const [w] = await BertTokenizer.fromFile(`${dir}/tokenizer.json`).encodePair("a", "b");
  assert.deepEqual(w.typeIds, [0, 0, 0, 0, 0]);
  await Deno.remove(dir, { recursive: true });
});
