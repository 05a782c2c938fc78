// QaTask through the Trainer: a short run learns, evaluates, checkpoints; f16 runs scale the
// loss, skip overflowing steps and resume to the same bytes.

import assert from "node:assert/strict";
import {
  bertConfig,
  BertForQuestionAnswering,
  BertTokenizer,
  buildWordPieceVocab,
  defaultSplits,
  koreanQaCharset,
  parseSquad,
  readJsonl,
  readTrainerPointer,
  trainQa,
} from "../../mod.ts";
import { withoutF16 } from "../_helpers.ts";
import { matmulPrecision } from "../../src/ops/matmul.ts";
import type { LossScalerState } from "../../src/optim/loss_scale.ts";
import { loadQaModelDir } from "../../src/qa/model_dir.ts";
import type { TrainOptions } from "../../src/qa/task.ts";
import { NonFiniteError, TrainingInterrupted } from "../../src/train/trainer.ts";

/** Generated data, a vocabulary built from it and a 1-layer BERT for it. */
function tinySetup(dataSeed: number, trainQ: number, evalQ: number, modelSeed: number) {
  const sp = defaultSplits(dataSeed, { trainQuestions: trainQ, evalQuestions: evalQ });
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
  const model = new BertForQuestionAnswering(config, { seed: modelSeed });
  return { train, evalSet, tok, config, model };
}

/** Options of the short f16 runs. */
function f16Options(out: string, more: Partial<TrainOptions>): TrainOptions {
  return {
    out,
    epochs: 1,
    maxSteps: 6,
    batchSize: 4,
    gradAccum: 1,
    evalEvery: 100,
    seed: 2,
    lr: 3e-3,
    warmupRatio: 0,
    weightDecay: 0.01,
    maxSeqLength: 64,
    docStride: 24,
    nBest: 5,
    maxAnswerLength: 30,
    metric: "korquad",
    logEvery: 1,
    quiet: true,
    precision: "f16",
    ...more,
  };
}

Deno.test("trainQa lowers the loss, evaluates, checkpoints and keeps the best", async () => {
  const { train, evalSet, tok, model } = tinySetup(3, 24, 6, 1);
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

Deno.test({
  name: "f16 trainQa: skips overflowing steps, logs loss_scale, and resumes to the same bytes",
  ignore: withoutF16("the f16 training tests"),
  fn: async () => {
    const { train, evalSet, tok, config, model: straight } = tinySetup(4, 12, 4, 2);
    const options = (out: string) =>
      f16Options(out, {
        // A scale far too large overflows at first; a short growth interval makes it grow (and
        // overflow) again within a few steps, on both sides of the stop.
        lossScaler: { initScale: 2 ** 21, growthInterval: 2 },
      });
    const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
    await trainQa(straight, tok, train, evalSet, options(a));
    straight.dispose();
    assert.equal(matmulPrecision(), "f32", "trainQa restores the matmul precision");
    const log = (await readJsonl(`${a}/metrics.jsonl`)).filter((r) => !("exact_match" in r));
    assert.equal(log.length, 6);
    const skipped = log.map((r) => r.skipped_steps as number);
    console.log(`skipped steps ${skipped}, loss scales ${log.map((r) => r.loss_scale)}`);
    assert.ok(skipped[5] > 0 && skipped[5] < 6, `skipped steps ${skipped}`);
    assert.ok(log.every((r) => typeof r.loss_scale === "number" && Number.isFinite(r.loss)));
    assert.ok((log[5].loss_scale as number) < 2 ** 21, `scales ${log.map((r) => r.loss_scale)}`);

    const first = new BertForQuestionAnswering(config, { seed: 2 });
    await assert.rejects(
      trainQa(first, tok, train, evalSet, { ...options(b), stopAfter: 3 }),
      TrainingInterrupted,
    );
    first.dispose();
    const p = await readTrainerPointer(b);
    const st = p.state as {
      epoch: number;
      cursor: number;
      tokens: number;
      lossScale: LossScalerState;
    };
    assert.equal(st.lossScale.skipped, skipped[2], "the checkpoint holds the skip count");
    const { model } = await loadQaModelDir(p.dir, { quiet: true });
    await trainQa(model, tok, train, evalSet, options(b), {
      step: p.step,
      epoch: st.epoch,
      cursor: st.cursor,
      tokens: st.tokens,
      best: null,
      checkpointDir: p.dir,
      lossScale: st.lossScale,
    });
    model.dispose();
    assert.deepEqual(
      await Deno.readFile(`${b}/model.safetensors`),
      await Deno.readFile(`${a}/model.safetensors`),
    );
    const endA = (await readTrainerPointer(a)).state.lossScale;
    assert.deepEqual((await readTrainerPointer(b)).state.lossScale, endA);
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  },
});

Deno.test({
  name: "f16 trainQa: a NaN loss still stops the run, naming the step (overflows do not)",
  ignore: withoutF16("the f16 training tests"),
  fn: async () => {
    const { train, evalSet, tok, model } = tinySetup(4, 8, 2, 2);
    const out = await Deno.makeTempDir();
    const err = await trainQa(
      model,
      tok,
      train,
      evalSet,
      f16Options(out, {
        maxSteps: 5,
        logEvery: 2,
        // Overflows at steps 1 and 2 are skipped without stopping anything.
        lossScaler: { initScale: 2 ** 21 },
        injectNanAt: 3,
      }),
    ).then(() => null, (e) => e);
    assert.ok(err instanceof NonFiniteError, String(err));
    assert.equal(err.step, 3);
    const log = await readJsonl(`${out}/metrics.jsonl`);
    assert.equal(log.length, 1);
    assert.equal(log[0].skipped_steps, 2);
    model.dispose();
    await Deno.remove(out, { recursive: true });
  },
});
