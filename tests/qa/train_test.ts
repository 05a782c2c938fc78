import assert from "node:assert/strict";
import {
  bertConfig,
  BertForQuestionAnswering,
  BertTokenizer,
  bucketedEpochOrder,
  buildWordPieceVocab,
  defaultSplits,
  epochOrder,
  groupedEpochOrder,
  koreanQaCharset,
  mulberry32,
  parseSquad,
  readJsonl,
  readTrainerPointer,
  trainQa,
} from "../../mod.ts";
import "../_helpers.ts";
import { gpu } from "../../src/gpu/device.ts";
import { matmulPrecision } from "../../src/ops/matmul.ts";
import type { LossScalerState } from "../../src/optim/loss_scale.ts";
import { loadQaModelDir } from "../../src/qa/model_dir.ts";
import type { TrainOptions } from "../../src/qa/task.ts";
import { NonFiniteError, TrainingInterrupted } from "../../src/train/trainer.ts";

const HAS_F16 = gpu().info.features.includes("shader-f16");
if (!HAS_F16) {
  console.warn(`skipped: the f16 training tests need shader-f16, which ${gpu().info.name} lacks`);
}

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

Deno.test("groupedEpochOrder: a permutation in length-sorted megabatches, longest first", () => {
  const r = mulberry32(9);
  const lengths = Array.from({ length: 1000 }, () => 1 + Math.floor(r() * 128));
  const o = groupedEpochOrder(lengths, 4, 3, 0);
  assert.deepEqual([...o].sort((a, b) => a - b), [...Array(1000).keys()]);
  assert.equal(lengths[o[0]], Math.max(...lengths));
  for (let m = 0; m < 1000; m += 200) {
    const g = [...o.subarray(m, m + 200)].map((i) => lengths[i]);
    assert.deepEqual(g, [...g].sort((a, b) => b - a), `megabatch at ${m}`);
  }
  assert.deepEqual(groupedEpochOrder(lengths, 4, 3, 0), o);
  assert.notDeepEqual(groupedEpochOrder(lengths, 4, 3, 1), o);
});

Deno.test("bucketedEpochOrder: whole batches from one length bucket each, in mixed order", () => {
  const r = mulberry32(5);
  const n = 1003, bs = 8, buckets = 4;
  const lengths = Array.from({ length: n }, () => 1 + Math.floor(r() * 96));
  const o = bucketedEpochOrder(lengths, bs, buckets, 3, 0);
  assert.deepEqual([...o].sort((a, b) => a - b), [...Array(n).keys()]);
  // Bucket b holds the ranks [b * size, (b + 1) * size) by length, whole batches each.
  const size = bs * Math.ceil(n / buckets / bs);
  const sorted = [...lengths].sort((a, b) => a - b);
  const range = (b: number) => [sorted[b * size], sorted[Math.min(n, (b + 1) * size) - 1]];
  const order: number[] = [];
  let spread = 0;
  for (let i = 0; i < n; i += bs) {
    const ls = [...o.subarray(i, i + bs)].map((f) => lengths[f]);
    const lo = Math.min(...ls), hi = Math.max(...ls);
    const b = [...Array(buckets).keys()].find((b) => range(b)[0] <= lo && hi <= range(b)[1]);
    assert.ok(b !== undefined, `batch at ${i} (${lo}..${hi}) spans buckets`);
    order.push(b);
    spread += hi - lo;
  }
  // Batches pad little (a random batch of 8 spans ~75) and the buckets interleave.
  assert.ok(spread / order.length < 30, `mean spread ${spread / order.length}`);
  assert.ok(new Set(order.slice(0, 8)).size > 1, "the first batches all come from one bucket");
  assert.deepEqual(bucketedEpochOrder(lengths, bs, buckets, 3, 0), o);
  assert.notDeepEqual(bucketedEpochOrder(lengths, bs, buckets, 3, 1), o);
});

Deno.test("epochOrder is a seeded permutation, different per epoch", () => {
  const a = epochOrder(50, 1, 0);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(epochOrder(50, 1, 0), a);
  assert.notDeepEqual(epochOrder(50, 1, 1), a);
  assert.notDeepEqual(epochOrder(50, 2, 0), a);
});

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
  ignore: !HAS_F16,
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
  ignore: !HAS_F16,
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
