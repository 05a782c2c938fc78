// Batched QA inference over features, then HF postprocessing and the official metric.

import { noGrad } from "../autograd.ts";
import { scopeAsync } from "../tensor.ts";
import type { BertBatch } from "../models/bert.ts";
import type { QaModel } from "../models/heads/qa.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { QAExample } from "./dataset.ts";
import { prepareEvalFeatures, prepareTrainFeatures, type QaFeature } from "./features.ts";
import { postprocessQaPredictions, type QaPredictions } from "./postprocess.ts";
import { korquadScore, type QAScore, squadScore } from "./metrics.ts";

/** Which official metric scores predictions. */
export type MetricName = "korquad" | "squad";

/** Options shared by training-time evaluation and the eval CLI. */
export interface EvalOptions {
  /** Window length in tokens, question and special tokens included. */
  maxSeqLength: number;
  /** Tokens of overlap between consecutive windows of a long context. */
  docStride: number;
  /** Tokens a question keeps (run_squad.py's `max_query_length`); absent: whole questions. */
  maxQueryLength?: number;
  /** Start and end candidates kept per window in postprocessing. */
  nBest: number;
  /** Longest answer span, in tokens. */
  maxAnswerLength: number;
  /** Windows per forward pass. */
  batchSize: number;
  /** The official metric to score with. */
  metric: MetricName;
}

/** Predictions, scores and counts of one evaluation. */
export interface EvalResult extends QaPredictions {
  /** Exact match, 0–100. */
  exact_match: number;
  /** Token-overlap F1, 0–100. */
  f1: number;
  /** Mean QA loss over windows (labels as in training), for tie-breaking checkpoints. */
  evalLoss: number;
  /** Questions evaluated. */
  examples: number;
  /** Windows the questions were split into. */
  features: number;
  /** Wall-clock time of the whole evaluation, in seconds. */
  seconds: number;
}

/** A {@linkcode batchOf} batch: B×S host arrays, with positions when labels were asked for. */
export interface QaBatch extends BertBatch {
  /** Segment ids, B×S. */
  tokenTypeIds: Int32Array;
  /** 1 for real tokens, 0 for padding, B×S. */
  attentionMask: Int32Array;
  /** Gold start token of each window (the [CLS] index when the answer is outside it). */
  startPositions?: number[];
  /** Gold end token of each window, as `startPositions`. */
  endPositions?: number[];
  /** Label smoothing of the training loss (HF's `label_smoothing_factor`); default 0. */
  labelSmoothing?: number;
}

/** A batch of features as model input, trimmed to its longest unpadded window. */
export function batchOf(features: readonly QaFeature[], withLabels: boolean): QaBatch {
  const b = features.length;
  let s = 1;
  for (const f of features) {
    let n = f.attentionMask.length;
    while (n > 1 && f.attentionMask[n - 1] === 0) n--;
    s = Math.max(s, n);
  }
  const inputIds = new Int32Array(b * s);
  const tokenTypeIds = new Int32Array(b * s);
  const attentionMask = new Int32Array(b * s);
  features.forEach((f, i) => {
    inputIds.set(f.inputIds.subarray(0, s), i * s);
    tokenTypeIds.set(f.tokenTypeIds.subarray(0, s), i * s);
    attentionMask.set(f.attentionMask.subarray(0, s), i * s);
  });
  const labels = withLabels
    ? {
      startPositions: features.map((f) => f.startPosition ?? 0),
      endPositions: features.map((f) => f.endPosition ?? 0),
    }
    : {};
  return { batch: b, seq: s, inputIds, tokenTypeIds, attentionMask, ...labels };
}

/** Start/end logits of every feature (each as long as its trimmed batch), and the mean loss. */
export async function predictLogits(
  model: QaModel,
  features: readonly QaFeature[],
  batchSize: number,
  onBatch?: (done: number) => void,
): Promise<{ start: Float32Array[]; end: Float32Array[]; loss: number }> {
  const start: Float32Array[] = [];
  const end: Float32Array[] = [];
  const labelled = features.every((f) => f.startPosition !== undefined);
  let lossSum = 0;
  const wasTraining = model.training;
  model.train(false);
  try {
    for (let i = 0; i < features.length; i += batchSize) {
      const chunk = features.slice(i, i + batchSize);
      const input = batchOf(chunk, labelled);
      const out = await scopeAsync(async () => {
        const o = noGrad(() => model.forward(input));
        return {
          s: await o.startLogits.toArray() as Float32Array,
          e: await o.endLogits.toArray() as Float32Array,
          l: o.loss ? await o.loss.item() : 0,
        };
      });
      lossSum += out.l * chunk.length;
      for (let k = 0; k < chunk.length; k++) {
        start.push(out.s.slice(k * input.seq, (k + 1) * input.seq));
        end.push(out.e.slice(k * input.seq, (k + 1) * input.seq));
      }
      onBatch?.(Math.min(i + batchSize, features.length));
    }
  } finally {
    model.train(wasTraining);
  }
  return { start, end, loss: labelled ? lossSum / Math.max(1, features.length) : NaN };
}

/** Scores `predictions` against `examples` with the official metric. */
export function score(
  examples: readonly QAExample[],
  predictions: Record<string, string>,
  metric: MetricName,
): QAScore {
  const gold = examples.map((e) => ({ id: e.id, answers: { text: e.answers.text } }));
  return metric === "korquad" ? korquadScore(gold, predictions) : squadScore(gold, predictions);
}

/**
 * The metric `eval` scores with when none is given: KorQuAD's when a context holds Hangul,
 * else SQuAD's.
 *
 * @example
 * ```ts
 * import { defaultMetric } from "webgpu-bert";
 * console.log(defaultMetric([{ context: "서울은 수도다." }])); // korquad
 * ```
 */
export function defaultMetric(examples: readonly Pick<QAExample, "context">[]): MetricName {
  return examples.some((e) => /\p{Script=Hangul}/u.test(e.context)) ? "korquad" : "squad";
}

/**
 * Evaluates a QA model on examples exactly as run_qa.py does: windows, logits,
 * n-best postprocessing, then EM/F1 by the official script's rules.
 */
export async function evaluateQa(
  model: QaModel,
  tokenizer: TextTokenizer,
  examples: readonly QAExample[],
  opts: EvalOptions,
  onBatch?: (done: number, total: number) => void,
): Promise<EvalResult> {
  const t0 = performance.now();
  const fopts = {
    maxLength: opts.maxSeqLength,
    stride: opts.docStride,
    maxQueryLength: opts.maxQueryLength,
  };
  const features = await prepareEvalFeatures(examples, tokenizer, fopts);
  // Labels for the eval loss come from the same windows, labelled as in training.
  const labelled = await prepareTrainFeatures(examples, tokenizer, fopts);
  features.forEach((f, i) => {
    f.startPosition = labelled[i].startPosition;
    f.endPosition = labelled[i].endPosition;
  });
  const logits = await predictLogits(
    model,
    features,
    opts.batchSize,
    (d) => onBatch?.(d, features.length),
  );
  const post = postprocessQaPredictions(examples, features, logits.start, logits.end, {
    nBestSize: opts.nBest,
    maxAnswerLength: opts.maxAnswerLength,
  });
  const s = score(examples, post.predictions, opts.metric);
  return {
    ...post,
    exact_match: s.exact_match,
    f1: s.f1,
    evalLoss: logits.loss,
    examples: examples.length,
    features: features.length,
    seconds: (performance.now() - t0) / 1000,
  };
}
