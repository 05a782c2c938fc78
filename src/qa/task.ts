// Extractive QA as a task of the Trainer: HF run_qa.py's training windows, its batches and loss,
// and evaluation by n-best postprocessing and the official metric, best checkpoint by EM.

import type { QaModel } from "../models/heads/qa.ts";
import { MODEL_FILES, saveModel } from "../models/checkpoint.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import {
  type ResumeState,
  type TaskEvaluation,
  type TrainableModel,
  Trainer,
  type TrainerOptions,
  type TrainTask,
} from "../train/trainer.ts";
import type { Tensor } from "../tensor.ts";
import type { QAExample } from "./dataset.ts";
import { prepareTrainFeatures, type QaFeature } from "./features.ts";
import {
  batchOf,
  type EvalOptions,
  type EvalResult,
  evaluateQa,
  type QaBatch,
} from "./evaluate.ts";
import { writePredictions } from "./postprocess.ts";

/** Hyperparameters of a QA fine-tuning run: the Trainer's and the QA windows' (the CLI's flags). */
export interface TrainOptions extends TrainerOptions, EvalOptions {}

/** What a finished QA run reports (the final JSON line, less formatting). */
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

/** A QA evaluation as the Trainer sees it, with the full result for the artifacts. */
export interface QaEvaluation extends TaskEvaluation {
  /** Predictions, n-best lists and scores. */
  result: EvalResult;
}

/** Saves model, config and tokenizer in HF layout into `dir`. */
export async function saveQaModel(
  model: QaModel,
  tokenizer: TextTokenizer,
  dir: string,
): Promise<void> {
  await saveModel(model, model.config, dir);
  await tokenizer.save(dir);
}

/**
 * Extractive QA for the {@linkcode Trainer}: training windows labelled as run_qa.py labels
 * them, batches trimmed to their longest window, the mean start/end cross-entropy, and
 * evaluation by EM/F1 (the best checkpoint by EM, ties to the lower eval loss).
 *
 * @example
 * ```ts
 * import { bertConfig, BertForQuestionAnswering, BertTokenizer, defaultSplits, initGpu, parseSquad,
 *   QaTask, Trainer } from "webgpu-bert";
 * await initGpu();
 * const sp = defaultSplits(1, { trainQuestions: 8, evalQuestions: 2 });
 * const train = parseSquad(sp.train, "train", { mode: "eval" }).examples;
 * const evalSet = parseSquad(sp.eval, "eval", { mode: "eval" }).examples;
 * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
 *   { lowercase: false });
 * const qa = new BertForQuestionAnswering(bertConfig({ vocab_size: 5, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 }));
 * const o = { maxSeqLength: 64, docStride: 16, nBest: 5, maxAnswerLength: 30, batchSize: 4,
 *   metric: "korquad" as const };
 * const task = await QaTask.create(qa, tok, train, evalSet, o);
 * const trainer = new Trainer(task, { ...o, out: await Deno.makeTempDir(), epochs: 1,
 *   maxSteps: 2, gradAccum: 1, evalEvery: 2, seed: 0, lr: 1e-3, warmupRatio: 0,
 *   weightDecay: 0, logEvery: 1, quiet: true });
 * const { final } = await trainer.fit();
 * console.log(final.metrics); // { exact_match, f1 }
 * trainer.dispose();
 * ```
 */
export class QaTask implements TrainTask<QaBatch, QaEvaluation> {
  /** Shown in logs and the plot. */
  readonly title: string = "QA";
  /** The best checkpoint is the one with the highest exact match. */
  readonly best: { metric: string; greaterIsBetter: boolean } = {
    metric: "exact_match",
    greaterIsBetter: true,
  };
  /** HF layout files linked at the run dir's root. */
  readonly rootFiles: readonly string[];
  /** The model as the Trainer drives it. */
  readonly model: TrainableModel;

  private constructor(
    readonly qa: QaModel,
    readonly tokenizer: TextTokenizer,
    readonly features: readonly QaFeature[],
    readonly evalSet: readonly QAExample[],
    readonly o: EvalOptions & { labelSmoothing?: number },
    readonly summary: string,
  ) {
    this.model = qa;
    this.rootFiles = [...MODEL_FILES, ...tokenizer.savedFiles];
  }

  /** Builds the training windows of `train` (one feature per window). */
  static async create(
    model: QaModel,
    tokenizer: TextTokenizer,
    train: readonly QAExample[],
    evalSet: readonly QAExample[],
    o: EvalOptions & { labelSmoothing?: number },
  ): Promise<QaTask> {
    const features = await prepareTrainFeatures(train, tokenizer, {
      maxLength: o.maxSeqLength,
      stride: o.docStride,
      maxQueryLength: o.maxQueryLength,
    });
    const summary = `${train.length} examples → ${features.length} features`;
    return new QaTask(model, tokenizer, features, evalSet, o, summary);
  }

  /** Training windows. */
  get size(): number {
    return this.features.length;
  }

  /** Unpadded length of each window. */
  lengths(): number[] {
    return this.features.map((f) => f.attentionMask.reduce((a, b) => a + b, 0));
  }

  /** The windows `indices` with their start/end labels (and the run's label smoothing). */
  batch(indices: Int32Array): QaBatch {
    const b = batchOf([...indices].map((i) => this.features[i]), true);
    return this.o.labelSmoothing ? { ...b, labelSmoothing: this.o.labelSmoothing } : b;
  }

  /** B×S tokens, padding included. */
  tokens(b: QaBatch): number {
    return b.batch * b.seq;
  }

  /** The head's parameters (all but the encoder's: `qa_outputs.*`, `lstm.*`), for `--head-lr`. */
  isHead(name: string): boolean {
    return !name.startsWith(`${this.qa.prefix}.`);
  }

  /** The mean of the start and end cross-entropies. */
  loss(b: QaBatch): Tensor {
    return this.qa.forward(b).loss!;
  }

  /** EM/F1 on the evaluation set, as run_qa.py evaluates. */
  async evaluate(): Promise<QaEvaluation> {
    const r = await evaluateQa(this.qa, this.tokenizer, this.evalSet, this.o);
    return {
      metrics: { exact_match: r.exact_match, f1: r.f1 },
      loss: r.evalLoss,
      seconds: r.seconds,
      result: r,
    };
  }

  /** `EM x F1 y`. */
  describe(e: QaEvaluation): string {
    return `EM ${e.result.exact_match.toFixed(2)} F1 ${e.result.f1.toFixed(2)}`;
  }

  /** Model, config and tokenizer in HF layout. */
  save(dir: string): Promise<void> {
    return saveQaModel(this.qa, this.tokenizer, dir);
  }

  /** predictions.json and nbest_predictions.json. */
  async writeArtifacts(dir: string, e: QaEvaluation): Promise<void> {
    await writePredictions(dir, e.result);
  }
}

/**
 * Trains `model` on `train` examples with the {@linkcode Trainer} and {@linkcode QaTask},
 * evaluating on `evalSet` every `evalEvery` steps and at the end; writes the run directory
 * (last checkpoint at its root, best by EM in `best/`, metrics.jsonl, plot.svg, predictions).
 * `o.precision` "f16" must be resolved against the device's features by the caller. `wrap`
 * may change how the task saves (a LoRA run saves its adapter, not the whole model).
 */
export async function trainQa(
  model: QaModel,
  tokenizer: TextTokenizer,
  train: readonly QAExample[],
  evalSet: readonly QAExample[],
  o: TrainOptions,
  resume?: ResumeState,
  extraState: Record<string, unknown> = {},
  wrap: (task: QaTask) => TrainTask<QaBatch, QaEvaluation> = (task) => task,
): Promise<TrainSummary> {
  const task = await QaTask.create(model, tokenizer, train, evalSet, o);
  if (!task.size) throw new Error("no training features: the training set is empty");
  const trainer = new Trainer(wrap(task), o);
  try {
    const { final, trainSeconds, steps, tokensPerS } = await trainer.fit(resume, extraState);
    const r = final.result;
    return {
      exact_match: r.exact_match,
      f1: r.f1,
      examples: r.examples,
      features: r.features,
      seconds: r.seconds,
      train_seconds: trainSeconds,
      steps,
      train_features: task.size,
      tokens_per_s: tokensPerS,
    };
  } finally {
    trainer.dispose();
  }
}
