// Fine-tunes BertForQuestionAnswering as HF's Trainer does for run_qa.py: AdamW (no decay on
// biases and LayerNorm), linear warmup/decay, gradient accumulation, clipping at 1.0.

import { backward, noGrad } from "../autograd.ts";
import { add, scale } from "../ops/elementwise.ts";
import { AdamW } from "../optim/adamw.ts";
import { clipCoefficient, gradNorm, nonFiniteGuard } from "../optim/clip.ts";
import { LossScaler, type LossScalerOptions, type LossScalerState } from "../optim/loss_scale.ts";
import { type MatmulPrecision, matmulPrecision, setMatmulPrecision } from "../ops/matmul.ts";
import { linearWarmupDecay } from "../optim/schedule.ts";
import { keep, scopeAsync, type Tensor } from "../tensor.ts";
import { zeros } from "../ops/elementwise.ts";
import { loadOptimizerState, saveTrainingCheckpoint } from "../train/checkpoint.ts";
import type { BertForQuestionAnswering } from "../models/bert.ts";
import { saveModel } from "../models/checkpoint.ts";
import type { BertTokenizer } from "../text/tokenizer.ts";
import { ProgressBar } from "../io/progress.ts";
import { appendJsonl, plotSvg, readJsonl } from "../train/log.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { QAExample } from "./dataset.ts";
import { prepareTrainFeatures, type QaFeature } from "./features.ts";
import { batchOf, type EvalOptions, type EvalResult, evaluateQa } from "./evaluate.ts";
import { writePredictions } from "./postprocess.ts";
import { mulberry32 } from "../util/rng.ts";

/** Hyperparameters of a QA fine-tuning run (the CLI's flags). */
export interface TrainOptions extends EvalOptions {
  /** Run directory: checkpoints, best/, metrics.jsonl and plot.svg. */
  out: string;
  /** Passes over the training features (may be fractional). */
  epochs: number;
  /** Optimizer steps; overrides `epochs`. */
  maxSteps?: number;
  /** Micro-batches of `batchSize` per optimizer step. */
  gradAccum: number;
  /** Evaluate and checkpoint every this many steps (and always at the end). */
  evalEvery: number;
  /** Seed of the data order. */
  seed: number;
  /** Peak learning rate. */
  lr: number;
  /** Fraction of the steps spent in linear warmup. */
  warmupRatio: number;
  /** AdamW weight decay; biases and LayerNorm weights get none. */
  weightDecay: number;
  /** Read the loss back every this many steps (a readback is a GPU sync). */
  logEvery: number;
  /** Also write a resumable checkpoint every this many steps (without evaluating). */
  saveEvery?: number;
  /**
   * Batch windows of similar length, as Hugging Face's `group_by_length`: each epoch's shuffle
   * is cut into megabatches of 50 batches, each sorted longest first, and the megabatch holding
   * the longest window goes first. Batches are trimmed to their longest window, so short
   * windows then cost less.
   */
  groupByLength?: boolean;
  /**
   * Batch within length buckets: the windows are split by length into this many equal-count
   * buckets; each epoch shuffles every bucket, cuts it into batches and shuffles the order of all
   * the batches (see {@link bucketedEpochOrder}). Batches stay as varied as random ones but pad
   * far less. Ignored with `groupByLength`; default 1 (plain shuffle).
   */
  lengthBuckets?: number;
  /** AdamW's betas; default [0.9, 0.999]. */
  adamBetas?: [number, number];
  /** Stop after this many steps of this session, saving a resumable checkpoint. */
  stopAfter?: number;
  /** Test aid: make the loss NaN at this step. */
  injectNanAt?: number;
  /** No progress bar or log lines on stderr. */
  quiet?: boolean;
  /**
   * Matmul precision (default "f32"). "f16" rounds every matmul operand to f16 (needs the
   * device feature `shader-f16`; resolve it with `resolvePrecision` first) with f32 master
   * weights and dynamic loss scaling: a step whose scaled gradients overflow is skipped and the
   * scale halves. metrics.jsonl then gets `loss_scale` and `skipped_steps`.
   */
  precision?: MatmulPrecision;
  /** The f16 loss scaler's constants (default torch.cuda.amp.GradScaler's). */
  lossScaler?: LossScalerOptions;
}

/** Where a resumed run picks up: the trainer state saved with its last checkpoint. */
export interface ResumeState {
  /** Last completed optimizer step. */
  step: number;
  /** Epoch and position in that epoch's feature order. */
  epoch: number;
  /** Features of the current epoch already consumed. */
  cursor: number;
  /** Tokens processed so far (for tokens/s). */
  tokens: number;
  /** Best EM so far and its eval loss (ties broken by lower loss). */
  best: { em: number; loss: number } | null;
  /** The verified checkpoint directory to restore optimizer moments from. */
  checkpointDir: string;
  /** The loss scaler's state, saved by f16 runs. */
  lossScale?: LossScalerState;
}

/** The run stopped early (SIGINT or --stop-after) after saving a resumable checkpoint. */
export class TrainingInterrupted extends Error {
  /** Stopped after `step`; the resumable checkpoint is in the run directory `out`. */
  constructor(readonly step: number, readonly out: string) {
    super(
      `stopped after step ${step}; a resumable checkpoint is in ${out} (resume with --resume ${out})`,
    );
    this.name = "TrainingInterrupted";
  }
}

/** The loss or the gradient norm was NaN/Inf; nothing after the last checkpoint was saved. */
export class NonFiniteError extends Error {
  /** Non-finite at `step`; `out` is the run directory holding the last good checkpoint. */
  constructor(readonly step: number, out: string) {
    super(
      `non-finite loss or gradient norm at step ${step}; stopped (that step's update was skipped; ` +
        `the last good checkpoint in ${out} is intact)`,
    );
    this.name = "NonFiniteError";
  }
}

/** Files of a QA checkpoint that also live at the run dir's root (HF layout). */
export const ROOT_FILES = [
  "config.json",
  "model.safetensors",
  "tokenizer.json",
  "vocab.txt",
  "tokenizer_config.json",
  "special_tokens_map.json",
];

/** What a finished run reports (the final JSON line, less formatting). */
export interface TrainSummary {
  /** Final exact match, 0–100. */
  exact_match: number;
  /** Final F1, 0–100. */
  f1: number;
  /** Evaluation questions. */
  examples: number;
  /** Evaluation windows. */
  features: number;
  /** Wall-clock time of the final evaluation, in seconds. */
  seconds: number;
  /** Wall-clock time of training, evaluations excluded, in seconds. */
  train_seconds: number;
  /** Optimizer steps taken. */
  steps: number;
  /** Training windows. */
  train_features: number;
  /** Training throughput in tokens (padding included) per second. */
  tokens_per_s: number;
}

/** The epoch's feature order: a seeded Fisher-Yates shuffle. */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  return shuffled(Int32Array.from({ length: n }, (_, i) => i), mulberry32(seed * 1000003 + epoch));
}

/** Fisher-Yates in place, drawing from `r`. */
function shuffled<T extends { length: number; [i: number]: unknown }>(
  xs: T,
  r: () => number,
): T {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/**
 * {@link epochOrder} grouped by length, as Hugging Face's LengthGroupedSampler: the shuffle is
 * cut into megabatches of 50 batches, each sorted by `lengths` descending (ties keep the shuffle's
 * order), and the megabatch with the longest item is swapped to the front.
 *
 * @example
 * ```ts
 * import { groupedEpochOrder } from "./mod.ts";
 * const order = groupedEpochOrder([5, 9, 2, 7], 2, 0, 0);
 * console.log(order); // all four indices, the longest (1) first
 * ```
 */
export function groupedEpochOrder(
  lengths: ArrayLike<number>,
  batchSize: number,
  seed: number,
  epoch: number,
): Int32Array {
  const order = epochOrder(lengths.length, seed, epoch);
  const mega = 50 * batchSize;
  const groups: number[][] = [];
  for (let i = 0; i < order.length; i += mega) {
    groups.push(Array.from(order.subarray(i, i + mega)).sort((a, b) => lengths[b] - lengths[a]));
  }
  let top = 0;
  groups.forEach((g, k) => {
    if (lengths[g[0]] > lengths[groups[top][0]]) top = k;
  });
  [groups[0], groups[top]] = [groups[top], groups[0]];
  return Int32Array.from(groups.flat());
}

/**
 * An epoch's order in length buckets: features ranked by length (ties by the epoch's shuffle)
 * are cut into `buckets` equal-count buckets; each bucket is shuffled and cut into batches of
 * `batchSize`, and the batches of all buckets are shuffled together. Each batch then holds
 * windows of similar length (little padding) drawn at random from its bucket, while unlike
 * {@link groupedEpochOrder} consecutive batches do not run from long to short.
 *
 * @example
 * ```ts
 * import { bucketedEpochOrder } from "./mod.ts";
 * const order = bucketedEpochOrder([5, 9, 2, 7, 3, 8], 2, 2, 0, 0);
 * console.log(order); // every index once; each aligned pair from one bucket
 * ```
 */
export function bucketedEpochOrder(
  lengths: ArrayLike<number>,
  batchSize: number,
  buckets: number,
  seed: number,
  epoch: number,
): Int32Array {
  const r = mulberry32((seed * 1000003 + epoch) ^ 0x5bd1e995);
  // A stable sort: ties keep the epoch's shuffled order.
  const ranked = Array.from(epochOrder(lengths.length, seed, epoch))
    .sort((a, b) => lengths[a] - lengths[b]);
  // Whole batches per bucket, so that batches stay aligned to `batchSize`; the one short batch
  // (of the longest bucket) goes last.
  const size = batchSize * Math.ceil(ranked.length / Math.max(1, buckets) / batchSize);
  const batches: number[][] = [];
  for (let b0 = 0; b0 < ranked.length; b0 += size) {
    const bucket = shuffled(ranked.slice(b0, b0 + size), r);
    for (let i = 0; i < bucket.length; i += batchSize) batches.push(bucket.slice(i, i + batchSize));
  }
  const tail = batches.at(-1);
  const short = tail && tail.length < batchSize ? batches.pop()! : [];
  return Int32Array.from([...shuffled(batches, r).flat(), ...short]);
}

function noDecay(name: string): boolean {
  return name.endsWith(".bias") || name.includes("LayerNorm");
}

/** Saves model, config and tokenizer in HF layout into `dir`. */
export async function saveQaModel(
  model: BertForQuestionAnswering,
  tokenizer: BertTokenizer,
  dir: string,
): Promise<void> {
  await saveModel(model, model.config, dir);
  await tokenizer.save(dir);
}

/**
 * Trains `model` on `train` examples, evaluating on `evalSet` every `evalEvery` steps and at
 * the end; writes the run directory (last checkpoint at its root, best by EM in `best/`,
 * metrics.jsonl, plot.svg, predictions). `o.precision` "f16" (resolved against the device's
 * features by the caller) runs every matmul in f16 under dynamic loss scaling, whose state is
 * saved with each checkpoint and restored from `resume.lossScale`; the matmul precision in
 * force before the call is restored when it returns.
 */
export async function trainQa(
  model: BertForQuestionAnswering,
  tokenizer: BertTokenizer,
  train: readonly QAExample[],
  evalSet: readonly QAExample[],
  o: TrainOptions,
  resume?: ResumeState,
  extraState: Record<string, unknown> = {},
): Promise<TrainSummary> {
  const before = matmulPrecision();
  setMatmulPrecision(o.precision ?? "f32");
  let scaler: LossScaler | null = null;
  try {
    scaler = o.precision === "f16" ? new LossScaler(o.lossScaler) : null;
    if (scaler && resume?.lossScale) scaler.loadState(resume.lossScale);
    return await run(model, tokenizer, train, evalSet, o, resume, extraState, scaler);
  } finally {
    setMatmulPrecision(before);
    scaler?.dispose();
  }
}

async function run(
  model: BertForQuestionAnswering,
  tokenizer: BertTokenizer,
  train: readonly QAExample[],
  evalSet: readonly QAExample[],
  o: TrainOptions,
  resume: ResumeState | undefined,
  extraState: Record<string, unknown>,
  scaler: LossScaler | null,
): Promise<TrainSummary> {
  await Deno.mkdir(o.out, { recursive: true });
  const metricsPath = `${o.out}/metrics.jsonl`;
  const features = await prepareTrainFeatures(train, tokenizer, {
    maxLength: o.maxSeqLength,
    stride: o.docStride,
  });
  if (!features.length) throw new Error("no training features: the training set is empty");
  const perStep = o.batchSize * o.gradAccum;
  const stepsPerEpoch = Math.ceil(features.length / perStep);
  const total = o.maxSteps ?? Math.ceil(o.epochs * stepsPerEpoch);
  const warmup = Math.floor(o.warmupRatio * total);
  const named = model.namedParameters().filter(([, t]) => t.requiresGrad);
  const params = named.map(([, t]) => t);
  const opt = new AdamW([
    {
      params: named.filter(([n]) => !noDecay(n)).map(([, t]) => t),
      lr: o.lr,
      weightDecay: o.weightDecay,
    },
    { params: named.filter(([n]) => noDecay(n)).map(([, t]) => t), lr: o.lr, weightDecay: 0 },
  ], { betas: o.adamBetas ?? [0.9, 0.999] });
  if (!o.quiet) {
    console.error(
      `train: ${train.length} examples → ${features.length} features; ${total} steps ` +
        `(batch ${o.batchSize} × accum ${o.gradAccum}), warmup ${warmup}`,
    );
  }

  let epoch = resume?.epoch ?? 0;
  let cursor = resume?.cursor ?? 0;
  const lengths = features.map((f) => f.attentionMask.reduce((a, b) => a + b, 0));
  const orderOf = (e: number) =>
    o.groupByLength
      ? groupedEpochOrder(lengths, o.batchSize * o.gradAccum, o.seed, e)
      : (o.lengthBuckets ?? 1) > 1
      ? bucketedEpochOrder(lengths, o.batchSize, o.lengthBuckets!, o.seed, e)
      : epochOrder(features.length, o.seed, e);
  let order = orderOf(epoch);
  if (resume) await loadOptimizerState(resume.checkpointDir, model, opt);
  const nextBatch = (): QaFeature[] => {
    if (cursor >= order.length) {
      epoch++;
      cursor = 0;
      order = orderOf(epoch);
    }
    const idx = order.subarray(cursor, Math.min(cursor + o.batchSize, order.length));
    cursor += idx.length;
    return [...idx].map((i) => features[i]);
  };

  const bar = o.quiet ? null : new ProgressBar(total, "train");
  const t0 = performance.now();
  let tokens = resume?.tokens ?? 0;
  let lastLoss = NaN;
  let lastScale: number | undefined;
  let best: { em: number; loss: number } | null = resume?.best ?? null;
  const checkpoint = async (step: number) => {
    // A save is a sync point anyway: never save past a non-finite step.
    const bad = await firstBad.item();
    if (bad) throw new NonFiniteError(bad, o.out);
    const state = {
      ...extraState,
      step,
      epoch,
      cursor,
      tokens,
      best,
      options: o,
      ...(scaler ? { lossScale: await scaler.state() } : {}),
    };
    await saveTrainingCheckpoint(
      o.out,
      step,
      model,
      opt,
      state,
      (dir) => saveQaModel(model, tokenizer, dir),
      ROOT_FILES,
    );
  };
  // f16 runs log the loss scale and the skipped steps with every loss they read back.
  const scaleFields = async (): Promise<Record<string, number>> => {
    if (!scaler) return {};
    const st = await scaler.state();
    return { loss_scale: st.scale, skipped_steps: st.skipped };
  };
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const firstBad = keep(zeros([1], "i32"));
  let last: EvalResult | null = null;
  let evalSeconds = 0;
  const evaluate = async (step: number) => {
    const e0 = performance.now();
    const r = await evaluateQa(model, tokenizer, evalSet, o);
    last = r;
    const record = {
      step,
      epoch: +(step / stepsPerEpoch).toFixed(3),
      loss: Number.isFinite(lastLoss) ? lastLoss : null,
      lr: o.lr * linearWarmupDecay(step - 1, warmup, total),
      eval_loss: r.evalLoss,
      exact_match: r.exact_match,
      f1: r.f1,
      tokens_per_s: tokens / ((performance.now() - t0) / 1000 - evalSeconds),
      ...await scaleFields(),
    };
    await appendJsonl(metricsPath, record);
    await writeFileAtomic(
      `${o.out}/plot.svg`,
      new TextEncoder().encode(plotSvg(await readJsonl(metricsPath), `QA training: ${o.out}`)),
    );
    await checkpoint(step);
    await writePredictions(o.out, r);
    const better = !best || r.exact_match > best.em ||
      (r.exact_match === best.em && r.evalLoss < best.loss);
    if (better) {
      best = { em: r.exact_match, loss: r.evalLoss };
      await saveQaModel(model, tokenizer, `${o.out}/best`);
      await writePredictions(`${o.out}/best`, r);
    }
    if (!o.quiet) {
      console.error(
        `\neval @${step}: EM ${r.exact_match.toFixed(2)} F1 ${r.f1.toFixed(2)} ` +
          `eval_loss ${r.evalLoss.toFixed(4)} (${r.seconds.toFixed(1)}s)`,
      );
    }
    evalSeconds += (performance.now() - e0) / 1000;
  };

  model.train(true);
  // Dropout masks are a function of (run seed, step, site): a resumed run draws the same ones.
  model.bert.drop.seed = o.seed;
  const first = (resume?.step ?? 0) + 1;
  try {
    for (let step = first; step <= total; step++) {
      model.bert.setStep(step);
      const lrScale = linearWarmupDecay(step - 1, warmup, total);
      const wantLoss = step % o.logEvery === 0 || step === total;
      const loss = await scopeAsync(async () => {
        let sum: Tensor | null = null;
        for (let m = 0; m < o.gradAccum; m++) {
          const input = batchOf(nextBatch(), true);
          tokens += input.batch * input.seq;
          const out = model.forward(input);
          let l = o.gradAccum > 1 ? scale(out.loss!, 1 / o.gradAccum) : out.loss!;
          if (step === o.injectNanAt) l = scale(l, NaN);
          backward(scaler ? scaler.scaleLoss(l) : l);
          sum = sum ? noGrad(() => add(sum!, l)) : l;
        }
        noGrad(() => {
          const norm = gradNorm(params);
          if (scaler) {
            // An overflow of the scaled gradients is the scaler's: it skips the step and backs
            // off. The guard watches the unscaled loss, and the scale, which turns NaN only when
            // gradients stay non-finite at a scale far below any f16 overflow.
            const gradScale = scaler.update(norm, 1.0);
            nonFiniteGuard(sum!, scaler.scale, firstBad, step);
            opt.step(lrScale, gradScale, scaler.skipped);
          } else {
            nonFiniteGuard(sum!, norm, firstBad, step);
            opt.step(lrScale, clipCoefficient(norm, 1.0));
          }
        });
        opt.zeroGrad();
        if (!wantLoss) return NaN;
        const bad = await firstBad.item();
        if (bad) throw new NonFiniteError(bad, o.out);
        return await sum!.item();
      });
      if (wantLoss) {
        lastLoss = loss;
        if (!Number.isFinite(loss)) {
          throw new Error(
            `loss is ${loss} at step ${step}; stopping (the last checkpoint is intact)`,
          );
        }
        const scaled = await scaleFields();
        lastScale = scaled.loss_scale ?? lastScale;
        await appendJsonl(metricsPath, { step, loss, lr: o.lr * lrScale, ...scaled });
      }
      bar?.update(step, {
        loss: Number.isFinite(lastLoss) ? lastLoss : "-",
        lr: o.lr * lrScale,
        "tok/s": Math.round(tokens / ((performance.now() - t0) / 1000 - evalSeconds)),
        ...(scaler ? { scale: lastScale ?? "-" } : {}),
      });
      if (step % o.evalEvery === 0 && step !== total) await evaluate(step);
      else if (o.saveEvery && step % o.saveEvery === 0 && step !== total) await checkpoint(step);
      if (interrupted || (o.stopAfter && step - first + 1 >= o.stopAfter && step !== total)) {
        bar?.done();
        await checkpoint(step);
        throw new TrainingInterrupted(step, o.out);
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  bar?.done();
  const trainSeconds = (performance.now() - t0) / 1000 - evalSeconds;
  await evaluate(total);
  firstBad.dispose();
  const r = last! as EvalResult;
  opt.dispose();
  return {
    exact_match: r.exact_match,
    f1: r.f1,
    examples: r.examples,
    features: r.features,
    seconds: r.seconds,
    train_seconds: trainSeconds,
    steps: total,
    train_features: features.length,
    tokens_per_s: tokens / trainSeconds,
  };
}
