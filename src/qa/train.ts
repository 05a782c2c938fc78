// Fine-tunes BertForQuestionAnswering as HF's Trainer does for run_qa.py: AdamW (no decay on
// biases and LayerNorm), linear warmup/decay, gradient accumulation, clipping at 1.0.

import { backward, noGrad } from "../autograd.ts";
import { add, scale } from "../ops/elementwise.ts";
import { AdamW } from "../optim/adamw.ts";
import { clipCoefficient, gradNorm, nonFiniteGuard } from "../optim/clip.ts";
import { linearWarmupDecay } from "../optim/schedule.ts";
import { keep, scopeAsync, type Tensor } from "../tensor.ts";
import { zeros } from "../ops/elementwise.ts";
import { loadOptimizerState, saveTrainingCheckpoint } from "../train/checkpoint.ts";
import type { BertForQuestionAnswering } from "../models/bert.ts";
import { saveModel } from "../models/checkpoint.ts";
import type { BertTokenizer } from "../text/tokenizer.ts";
import { ProgressBar } from "../train/progress.ts";
import { appendJsonl, plotSvg, readJsonl } from "../train/log.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { QAExample } from "./dataset.ts";
import { prepareTrainFeatures, type QaFeature } from "./features.ts";
import { batchOf, type EvalOptions, type EvalResult, evaluateQa } from "./evaluate.ts";
import { writePredictions } from "./postprocess.ts";
import { mulberry32 } from "./synthetic.ts";

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
  /** Stop after this many steps of this session, saving a resumable checkpoint. */
  stopAfter?: number;
  /** Test aid: make the loss NaN at this step. */
  injectNanAt?: number;
  /** No progress bar or log lines on stderr. */
  quiet?: boolean;
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
  const r = mulberry32(seed * 1000003 + epoch);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
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
 * metrics.jsonl, plot.svg, predictions).
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
  ]);
  if (!o.quiet) {
    console.error(
      `train: ${train.length} examples → ${features.length} features; ${total} steps ` +
        `(batch ${o.batchSize} × accum ${o.gradAccum}), warmup ${warmup}`,
    );
  }

  let epoch = resume?.epoch ?? 0;
  let cursor = resume?.cursor ?? 0;
  let order = epochOrder(features.length, o.seed, epoch);
  if (resume) await loadOptimizerState(resume.checkpointDir, model, opt);
  const nextBatch = (): QaFeature[] => {
    if (cursor >= order.length) {
      epoch++;
      cursor = 0;
      order = epochOrder(features.length, o.seed, epoch);
    }
    const idx = order.subarray(cursor, Math.min(cursor + o.batchSize, order.length));
    cursor += idx.length;
    return [...idx].map((i) => features[i]);
  };

  const bar = o.quiet ? null : new ProgressBar(total, "train");
  const t0 = performance.now();
  let tokens = resume?.tokens ?? 0;
  let lastLoss = NaN;
  let best: { em: number; loss: number } | null = resume?.best ?? null;
  const checkpoint = async (step: number) => {
    // A save is a sync point anyway: never save past a non-finite step.
    const bad = await firstBad.item();
    if (bad) throw new NonFiniteError(bad, o.out);
    const state = { ...extraState, step, epoch, cursor, tokens, best, options: o };
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
          backward(l);
          sum = sum ? noGrad(() => add(sum!, l)) : l;
        }
        noGrad(() => {
          const norm = gradNorm(params);
          nonFiniteGuard(sum!, norm, firstBad, step);
          opt.step(lrScale, clipCoefficient(norm, 1.0));
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
        await appendJsonl(metricsPath, { step, loss, lr: o.lr * lrScale });
      }
      bar?.update(step, {
        loss: Number.isFinite(lastLoss) ? lastLoss : "-",
        lr: o.lr * lrScale,
        "tok/s": Math.round(tokens / ((performance.now() - t0) / 1000 - evalSeconds)),
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
