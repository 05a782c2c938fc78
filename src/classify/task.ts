// Sequence classification as a task of the Trainer: `[CLS] text [SEP]` truncated as HF's
// `tokenizer(text, truncation=True, max_length=N)`, batches padded to their longest row,
// cross-entropy on the pooled [CLS], evaluation by accuracy and macro-F1, best by accuracy.

import { noGrad } from "../autograd.ts";
import type { SequenceClassifier } from "../models/heads/classification.ts";
import { MODEL_FILES, saveModel } from "../models/checkpoint.ts";
import { hostFiles } from "../io/files.ts";
import { scopeAsync, type Tensor } from "../tensor.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { TaskEvaluation, TrainableModel, TrainTask } from "../train/trainer.ts";
import type { TextExample } from "./dataset.ts";
import { type ClassificationScore, classificationScore } from "./metrics.ts";

/** One tokenized text: `[CLS] text [SEP]` ids, cut to the window. */
export interface TextFeature {
  /** Token ids. */
  ids: Int32Array;
  /** The label's index. */
  label: number;
}

/** A padded batch of texts, as the model takes it. */
export interface TextBatch {
  /** Rows. */
  batch: number;
  /** Padded length. */
  seq: number;
  /** Ids, B×S, padded with the tokenizer's [PAD]. */
  inputIds: Int32Array;
  /** 1 for tokens, 0 for padding, B×S. */
  attentionMask: Int32Array;
  /** Label of each row. */
  labels: Int32Array;
  /** Label smoothing of the training loss (HF's `label_smoothing_factor`); default 0. */
  labelSmoothing?: number;
}

/**
 * Tokenizes each text alone as `[CLS] text [SEP]`, truncated to `maxLength` tokens.
 *
 * @example
 * ```ts
 * import { BertTokenizer, textFeatures } from "webgpu-bert";
 * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good"], {
 *   lowercase: true,
 * });
 * const [f] = await textFeatures([{ id: "1", text: "Good good good", label: 1 }], tok, 4);
 * console.log([...f.ids]); // [2, 4, 4, 3]
 * ```
 */
export async function textFeatures(
  examples: readonly TextExample[],
  tokenizer: TextTokenizer,
  maxLength: number,
): Promise<TextFeature[]> {
  const out: TextFeature[] = [];
  for (const e of examples) {
    const w = await tokenizer.encode(e.text, { maxLength });
    out.push({ ids: Int32Array.from(w.ids), label: e.label });
  }
  return out;
}

/**
 * Rows `features` as one batch padded to its longest row with `padId`.
 *
 * @example
 * ```ts
 * import { textBatch } from "webgpu-bert";
 * const b = textBatch([{ ids: new Int32Array([2, 5, 3]), label: 1 }, {
 *   ids: new Int32Array([2, 3]),
 *   label: 0,
 * }], 0);
 * console.log(b.seq, [...b.attentionMask]); // 3 [1, 1, 1, 1, 1, 0]
 * ```
 */
export function textBatch(features: readonly TextFeature[], padId: number): TextBatch {
  const b = features.length;
  const s = Math.max(1, ...features.map((f) => f.ids.length));
  const inputIds = new Int32Array(b * s).fill(padId);
  const attentionMask = new Int32Array(b * s);
  features.forEach((f, i) => {
    inputIds.set(f.ids, i * s);
    attentionMask.fill(1, i * s, i * s + f.ids.length);
  });
  return {
    batch: b,
    seq: s,
    inputIds,
    attentionMask,
    labels: Int32Array.from(features, (f) => f.label),
  };
}

/** A prediction of one text: the label, its name and its probability. */
export interface TextPrediction {
  /** The predicted label's index. */
  label: number;
  /** Its name (config.json's `id2label`). */
  label_name: string;
  /** Its softmax probability. */
  score: number;
}

/** Predictions, scores and counts of one evaluation. */
export interface ClassificationEvaluation extends TaskEvaluation, ClassificationScore {
  /** Predictions by example id. */
  predictions: Record<string, TextPrediction>;
  /** Texts evaluated. */
  examples: number;
  /** Empty rows of the file, skipped. */
  skipped: number;
}

/**
 * The label names of a model: config.json's `id2label`, else `LABEL_i` as HF names them.
 *
 * @example
 * ```ts
 * import { bertConfig, BertForSequenceClassification, initGpu, labelNames } from "webgpu-bert";
 * await initGpu();
 * const m = new BertForSequenceClassification(bertConfig({ vocab_size: 10, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, num_labels: 2 }));
 * console.log(labelNames(m)); // ["LABEL_0", "LABEL_1"]
 * ```
 */
export function labelNames(model: SequenceClassifier): string[] {
  const n = model.config.num_labels ?? 2;
  const names = model.config.id2label ?? {};
  return Array.from({ length: n }, (_, i) => names[String(i)] ?? `LABEL_${i}`);
}

/**
 * Runs the model over `features` in batches of `batchSize` (no tape), shortest texts first so
 * that batches pad little: the predicted label and probability of each (in `features`' order),
 * and the mean loss.
 *
 * @example
 * ```ts
 * import { bertConfig, BertForSequenceClassification, initGpu, predictTexts } from "webgpu-bert";
 * await initGpu();
 * const m = new BertForSequenceClassification(bertConfig({ vocab_size: 10, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, num_labels: 3 }));
 * const p = await predictTexts(m, [{ ids: new Int32Array([2, 5, 3]), label: 1 }], 8, 0);
 * console.log(p.labels.length, p.scores[0] > 1 / 3); // 1 true
 * ```
 */
export async function predictTexts(
  model: SequenceClassifier,
  features: readonly TextFeature[],
  batchSize: number,
  padId: number,
): Promise<{ labels: Int32Array; scores: Float32Array; loss: number }> {
  const labels = new Int32Array(features.length);
  const scores = new Float32Array(features.length);
  const k = model.config.num_labels ?? 2;
  let lossSum = 0;
  const wasTraining = model.training;
  model.train(false);
  // Batches of similar length pad little: visit the texts by length, write results in place.
  const order = Array.from(features.keys()).sort((a, b) =>
    features[a].ids.length - features[b].ids.length
  );
  try {
    for (let i = 0; i < order.length; i += batchSize) {
      const idx = order.slice(i, i + batchSize);
      const out = await scopeAsync(async () => {
        const o = noGrad(() => model.forward(textBatch(idx.map((j) => features[j]), padId)));
        return { logits: await o.logits.toArray(), loss: await o.loss!.item() };
      });
      lossSum += out.loss * idx.length;
      idx.forEach((j, r) => {
        const row = out.logits.subarray(r * k, (r + 1) * k);
        const max = Math.max(...row);
        let z = 0;
        for (const v of row) z += Math.exp(v - max);
        labels[j] = row.indexOf(max);
        scores[j] = 1 / z;
      });
    }
  } finally {
    model.train(wasTraining);
  }
  return { labels, scores, loss: lossSum / Math.max(1, features.length) };
}

/**
 * Scores `model` on `examples` (already tokenized as `features`): predictions by id, accuracy,
 * macro-F1, the confusion matrix and the mean loss.
 *
 * @example
 * ```ts
 * import { bertConfig, BertForSequenceClassification, evaluateTexts, initGpu } from "webgpu-bert";
 * await initGpu();
 * const m = new BertForSequenceClassification(bertConfig({ vocab_size: 10, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, num_labels: 2 }));
 * const e = await evaluateTexts(m, [{ id: "a", text: "x", label: 1 }],
 *   [{ ids: new Int32Array([2, 5, 3]), label: 1 }], { batchSize: 8, padId: 0 });
 * console.log(Object.keys(e.predictions), e.examples); // ["a"] 1
 * ```
 */
export async function evaluateTexts(
  model: SequenceClassifier,
  examples: readonly TextExample[],
  features: readonly TextFeature[],
  opts: { batchSize: number; padId: number; skipped?: number },
): Promise<ClassificationEvaluation> {
  const t0 = performance.now();
  const p = await predictTexts(model, features, opts.batchSize, opts.padId);
  const names = labelNames(model);
  const s = classificationScore(examples.map((e) => e.label), p.labels, names.length);
  const predictions: Record<string, TextPrediction> = {};
  examples.forEach((e, i) => {
    predictions[e.id] = { label: p.labels[i], label_name: names[p.labels[i]], score: p.scores[i] };
  });
  return {
    ...s,
    metrics: { accuracy: s.accuracy, macro_f1: s.macro_f1 },
    loss: p.loss,
    seconds: (performance.now() - t0) / 1000,
    predictions,
    examples: examples.length,
    skipped: opts.skipped ?? 0,
  };
}

/**
 * Writes `predictions.json` (`{id: {label, label_name, score}}`) and `eval_results.json` (scores
 * and confusion matrix) into `dir`.
 *
 * @example
 * ```ts
 * import { writeClassificationResults } from "webgpu-bert";
 * const dir = await Deno.makeTempDir();
 * await writeClassificationResults(dir, { accuracy: 1, macro_f1: 1, confusion: [[1, 0], [0, 0]],
 *   metrics: {}, loss: 0.1, seconds: 0, examples: 1, skipped: 0,
 *   predictions: { a: { label: 0, label_name: "neg", score: 0.9 } } });
 * console.log(await Deno.readTextFile(`${dir}/predictions.json`));
 * ```
 */
export async function writeClassificationResults(
  dir: string,
  e: ClassificationEvaluation,
  predictionsPath = `${dir}/predictions.json`,
): Promise<void> {
  const enc = new TextEncoder();
  const files = await hostFiles();
  await files.writeAtomic(
    predictionsPath,
    enc.encode(JSON.stringify(e.predictions, null, 2) + "\n"),
  );
  const summary = {
    accuracy: e.accuracy,
    macro_f1: e.macro_f1,
    confusion: e.confusion,
    examples: e.examples,
    skipped: e.skipped,
    eval_loss: e.loss,
  };
  await files.writeAtomic(`${dir}/eval_results.json`, enc.encode(JSON.stringify(summary) + "\n"));
}

/**
 * Sequence classification for the {@linkcode Trainer}: texts as `[CLS] text [SEP]`, the loss of
 * the classifier on the pooled [CLS], the best checkpoint by accuracy (ties to the lower eval
 * loss), and the head (`classifier.*`) named for `--head-lr`.
 *
 * @example
 * ```ts
 * import { bertConfig, BertForSequenceClassification, BertTokenizer, ClassifyTask, initGpu,
 *   Trainer } from "webgpu-bert";
 * await initGpu();
 * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad"],
 *   { lowercase: true });
 * const m = new BertForSequenceClassification(bertConfig({ vocab_size: 6, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, num_labels: 2 }));
 * const texts = [{ id: "1", text: "good", label: 1 }, { id: "2", text: "bad", label: 0 }];
 * const task = await ClassifyTask.create(m, tok, texts, texts, { maxSeqLength: 8, batchSize: 2 });
 * const t = new Trainer(task, { out: await Deno.makeTempDir(), epochs: 20, batchSize: 2,
 *   gradAccum: 1, evalEvery: 20, seed: 0, lr: 1e-2, warmupRatio: 0, weightDecay: 0, logEvery: 5,
 *   quiet: true });
 * console.log((await t.fit()).final.accuracy); // 1, most likely
 * t.dispose();
 * ```
 */
export class ClassifyTask implements TrainTask<TextBatch, ClassificationEvaluation> {
  /** Shown in logs and the plot. */
  readonly title: string = "classification";
  /** The best checkpoint has the highest accuracy. */
  readonly best: { metric: string; greaterIsBetter: boolean } = {
    metric: "accuracy",
    greaterIsBetter: true,
  };
  /** HF layout files linked at the run dir's root. */
  readonly rootFiles: readonly string[];
  /** The model as the Trainer drives it. */
  readonly model: TrainableModel;
  private readonly padId: number;

  private constructor(
    readonly classifier: SequenceClassifier,
    readonly tokenizer: TextTokenizer,
    readonly features: readonly TextFeature[],
    readonly evalSet: readonly TextExample[],
    readonly evalFeatures: readonly TextFeature[],
    readonly o: { batchSize: number; evalSkipped: number; labelSmoothing: number },
    readonly summary: string,
  ) {
    this.padId = tokenizer.padId;
    this.rootFiles = [...MODEL_FILES, ...tokenizer.savedFiles];
    this.model = classifier;
  }

  /** Tokenizes the training and evaluation texts. */
  static async create(
    model: SequenceClassifier,
    tokenizer: TextTokenizer,
    train: readonly TextExample[],
    evalSet: readonly TextExample[],
    o: { maxSeqLength: number; batchSize: number; evalSkipped?: number; labelSmoothing?: number },
  ): Promise<ClassifyTask> {
    const features = await textFeatures(train, tokenizer, o.maxSeqLength);
    const evalFeatures = await textFeatures(evalSet, tokenizer, o.maxSeqLength);
    return new ClassifyTask(
      model,
      tokenizer,
      features,
      evalSet,
      evalFeatures,
      {
        batchSize: o.batchSize,
        evalSkipped: o.evalSkipped ?? 0,
        labelSmoothing: o.labelSmoothing ?? 0,
      },
      `${train.length} texts, ${evalSet.length} to evaluate`,
    );
  }

  /** Training texts. */
  get size(): number {
    return this.features.length;
  }

  /** Tokens of each text. */
  lengths(): number[] {
    return this.features.map((f) => f.ids.length);
  }

  /** The texts `indices`, padded to the longest (with the run's label smoothing). */
  batch(indices: Int32Array): TextBatch {
    const b = textBatch(Array.from(indices, (i) => this.features[i]), this.padId);
    return this.o.labelSmoothing ? { ...b, labelSmoothing: this.o.labelSmoothing } : b;
  }

  /** B×S tokens, padding included. */
  tokens(b: TextBatch): number {
    return b.batch * b.seq;
  }

  /** Cross-entropy of the classifier. */
  loss(b: TextBatch): Tensor {
    return this.classifier.forward(b).loss!;
  }

  /** The head's parameters, for `--head-lr`. */
  isHead(name: string): boolean {
    return name.startsWith("classifier.");
  }

  /** Accuracy and macro-F1 on the evaluation texts. */
  evaluate(): Promise<ClassificationEvaluation> {
    return evaluateTexts(this.classifier, this.evalSet, this.evalFeatures, {
      batchSize: this.o.batchSize,
      padId: this.padId,
      skipped: this.o.evalSkipped,
    });
  }

  /** `accuracy x macro-F1 y confusion [[…]]` (rows gold, columns predicted). */
  describe(e: ClassificationEvaluation): string {
    return `accuracy ${e.accuracy.toFixed(4)} macro-F1 ${e.macro_f1.toFixed(4)} ` +
      `confusion ${JSON.stringify(e.confusion)}`;
  }

  /** Model, config and tokenizer in HF layout. */
  async save(dir: string): Promise<void> {
    await saveModel(this.classifier, this.classifier.config, dir);
    await this.tokenizer.save(dir);
  }

  /** predictions.json and eval_results.json. */
  writeArtifacts(dir: string, e: ClassificationEvaluation): Promise<void> {
    return writeClassificationResults(dir, e);
  }
}
