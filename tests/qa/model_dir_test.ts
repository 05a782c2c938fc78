import assert from "node:assert/strict";
import "../_helpers.ts";
import { copyFixture, fixture } from "../_data.ts";
import { loadQaModelDir } from "../../src/qa/model_dir.ts";
import { loadTokenizerDir, loadTokenizerFile } from "../../src/text/tokenizer_dir.ts";
import { SentencePieceTokenizer } from "../../src/text/sentencepiece.ts";
import { BertTokenizer } from "../../src/text/tokenizer.ts";
import { DataError } from "../../src/util/errors.ts";
import { openSafetensors } from "../../src/io/safetensors.ts";

const ODD = fixture("bert_qa_odd");

/** Exactly the fixture's vocab_size (50) tokens, cased words included. */
const VOCAB: string[] = [
  ..."[PAD] [UNK] [CLS] [SEP] [MASK] . , ? the a of in is was who what where when".split(" "),
  ..."Hello hello Seoul Paris Korea France city capital river park cat dog sat ran".split(" "),
  ..."on mat red blue big small house tree sun moon day night book she he it ##s ##ed".split(" "),
];

/** A temp copy of the fixture's config and weights, with `vocab` saved beside them. */
async function modelDir(vocab: string[] | null, lowercase = false): Promise<string> {
  const dir = await copyFixture();
  if (vocab) await BertTokenizer.fromVocabArray(vocab, { lowercase }).save(dir);
  return dir;
}

Deno.test("the fixture vocab has exactly vocab_size tokens", () => {
  assert.equal(VOCAB.length, 50);
  assert.equal(new Set(VOCAB).size, 50);
});

Deno.test("loads config, weights and tokenizer.json from a model directory", async () => {
  const dir = await modelDir(VOCAB);
  const { model, tokenizer } = await loadQaModelDir(dir, { quiet: true });
  assert.equal(model.config.vocab_size, 50);
  assert.equal(tokenizer.vocabSize, 50);
  assert.ok(tokenizer instanceof BertTokenizer);
  assert.equal(tokenizer.config.lowercase, false);
  const name = "bert.embeddings.word_embeddings.weight";
  const weights = new Map(model.namedParameters());
  const r = await openSafetensors(`${ODD}/model.safetensors`);
  assert.deepEqual(await weights.get(name)!.toArray(), await r.readFloat32(name));
  r.close();
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("vocab.txt with tokenizer_config.json: do_lower_case false keeps case", async () => {
  const dir = await modelDir(VOCAB);
  await Deno.remove(`${dir}/tokenizer.json`);
  const cased = await loadTokenizerDir(dir);
  assert.ok(cased instanceof BertTokenizer);
  assert.equal(cased.config.lowercase, false);
  assert.equal(cased.vocabSize, 50);
  const hello = (await cased.encode("Hello", { addSpecialTokens: false })).ids;
  assert.deepEqual(hello, [VOCAB.indexOf("Hello")]);
  // The whole directory loads the same way.
  const { model, tokenizer } = await loadQaModelDir(dir, { quiet: true });
  assert.ok(tokenizer instanceof BertTokenizer);
  assert.equal(tokenizer.config.lowercase, false);
  model.dispose();

  // Without tokenizer_config.json, HF's BertTokenizer default applies: lowercase.
  await Deno.remove(`${dir}/tokenizer_config.json`);
  const lower = await loadTokenizerDir(dir);
  assert.ok(lower instanceof BertTokenizer);
  assert.equal(lower.config.lowercase, true);
  assert.deepEqual((await lower.encode("Hello", { addSpecialTokens: false })).ids, [
    VOCAB.indexOf("hello"),
  ]);

  await Deno.writeTextFile(`${dir}/tokenizer_config.json`, "{ not json");
  await assert.rejects(
    () => loadTokenizerDir(dir),
    (e) => e instanceof DataError && e.file === `${dir}/tokenizer_config.json`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a directory without a tokenizer is a DataError naming the directory", async () => {
  const dir = await modelDir(null);
  await assert.rejects(
    () => loadQaModelDir(dir, { quiet: true }),
    (e) =>
      e instanceof DataError && e.file === dir && e.message.startsWith(dir) &&
      /no tokenizer\.json, \*\.model or vocab\.txt/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
  await assert.rejects(
    () => loadQaModelDir(dir, { quiet: true }),
    (e) => e instanceof DataError && e.file === dir && /not found/.test(e.message),
  );
});

Deno.test("a tokenizer larger than config.json vocab_size is a DataError", async () => {
  const dir = await modelDir([...VOCAB, "extra"]);
  await assert.rejects(
    () => loadQaModelDir(dir, { quiet: true }),
    (e) =>
      e instanceof DataError && e.file === dir && /51 tokens/.test(e.message) &&
      /vocab_size is 50/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});

const SPM = new URL("../fixtures/sentencepiece/nsmc_unigram.model", import.meta.url).pathname;

Deno.test("a SentencePiece .model loads by file and from a directory, before its vocab.txt", async () => {
  const byFile = await loadTokenizerFile(SPM);
  assert.ok(byFile instanceof SentencePieceTokenizer);
  const dir = await Deno.makeTempDir();
  // KoBERT's layout: the model beside a vocab.txt that is no WordPiece vocab.
  await Deno.copyFile(SPM, `${dir}/tokenizer_78b3253a26.model`);
  await Deno.writeTextFile(`${dir}/vocab.txt`, "[UNK]\n[PAD]\n");
  const tok = await loadTokenizerDir(dir);
  assert.ok(tok instanceof SentencePieceTokenizer);
  assert.deepEqual((await tok.encode("굳 ㅋ")).ids, (await byFile.encode("굳 ㅋ")).ids);
  // What save writes loads back the same.
  const out = await Deno.makeTempDir();
  await tok.save(out);
  assert.deepEqual(
    [...Deno.readDirSync(out)].map((e) => e.name).sort(),
    [...tok.savedFiles].sort(),
  );
  assert.equal((await loadTokenizerDir(out)).vocabSize, 8000);
  await Deno.copyFile(SPM, `${dir}/other.model`);
  await assert.rejects(
    () => loadTokenizerDir(dir),
    (e) => e instanceof DataError && /several SentencePiece models/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(out, { recursive: true });
});
