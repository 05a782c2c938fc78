import assert from "node:assert/strict";
import {
  bertConfig,
  BertForQuestionAnswering,
  BertTokenizer,
  buildWordPieceVocab,
  defaultSplits,
  epochOrder,
  koreanQaCharset,
  parseSquad,
  readJsonl,
  readTrainerPointer,
  trainQa,
} from "../../mod.ts";
import "../_helpers.ts";

Deno.test("epochOrder is a seeded permutation, different per epoch", () => {
  const a = epochOrder(50, 1, 0);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(epochOrder(50, 1, 0), a);
  assert.notDeepEqual(epochOrder(50, 1, 1), a);
  assert.notDeepEqual(epochOrder(50, 2, 0), a);
});

Deno.test("trainQa lowers the loss, evaluates, checkpoints and keeps the best", async () => {
  const sp = defaultSplits(3, { trainQuestions: 24, evalQuestions: 6 });
  const train = parseSquad(sp.train, "train", { mode: "eval" }).examples;
  const evalSet = parseSquad(sp.eval, "eval", { mode: "eval" }).examples;
  const texts = [...train.flatMap((e) => [e.context, e.question]), koreanQaCharset()];
  const tok = BertTokenizer.fromVocabArray(buildWordPieceVocab(texts), { lowercase: false });
  const config = bertConfig({
    vocab_size: tok.vocabSize,
    hidden_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 64,
  });
  const model = new BertForQuestionAnswering(config, { seed: 1 });
  const out = await Deno.makeTempDir();
  const s = await trainQa(model, tok, train, evalSet, {
    out,
    epochs: 1,
    maxSteps: 30,
    batchSize: 4,
    gradAccum: 2,
    evalEvery: 15,
    seed: 1,
    lr: 3e-3,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    maxSeqLength: 96,
    docStride: 32,
    nBest: 20,
    maxAnswerLength: 30,
    metric: "korquad",
    logEvery: 5,
    quiet: true,
  });
  assert.equal(s.steps, 30);
  assert.equal(s.examples, evalSet.length);
  assert.ok(s.features >= evalSet.length);
  const log = await readJsonl(`${out}/metrics.jsonl`);
  const losses = log.filter((r) => !("exact_match" in r)).map((r) => r.loss as number);
  assert.equal(losses.length, 6);
  assert.ok(losses.at(-1)! < losses[0], `loss ${losses[0]} → ${losses.at(-1)}`);
  assert.equal(log.filter((r) => "exact_match" in r).length, 2);
  assert.equal((await readTrainerPointer(out)).step, 30);
  await Deno.stat(`${out}/best/model.safetensors`);
  await Deno.stat(`${out}/predictions.json`);
  await Deno.stat(`${out}/nbest_predictions.json`);
  model.dispose();
  await Deno.remove(out, { recursive: true });
});
