// The sequence-classification head of HF's BertForSequenceClassification: the encoder's
// pooler on [CLS], dropout, `classifier` Linear(H, num_labels) and single-label cross-entropy.

import { Linear } from "../../nn/layers.ts";
import { Tensor } from "../../tensor.ts";
import { crossEntropy } from "../../ops/cross_entropy.ts";
import { ConfigError, DataError } from "../../util/errors.ts";
import { type BertBatch, type BertPooler, type DropoutCtx, firstToken } from "../bert.ts";
import { tanh } from "../../ops/activations.ts";
import type { BertConfig } from "../config.ts";
import type { InitCtx } from "../init.ts";
import { type EncoderWithHead, Head } from "../with_head.ts";

/** HF's ignore index: a sequence labelled -100 is left out of the loss. */
export const IGNORE_LABEL: number = -100;

/** A batch with optional class labels, one per sequence. */
export interface ClassificationInput extends BertBatch {
  /** Class id of each sequence in [0, num_labels), or -100 to leave it out; B values. */
  labels?: ArrayLike<number>;
  /** Label smoothing of the loss (HF's `label_smoothing_factor`; see crossEntropy); default 0. */
  labelSmoothing?: number;
}

/** A sequence classifier of any family: an encoder with one of the classification heads. */
export type SequenceClassifier = EncoderWithHead<Head<ClassificationInput, ClassificationOutput>>;

/** Class logits, and the loss when labels were given. */
export interface ClassificationOutput {
  /** [B, num_labels] */
  logits: Tensor;
  /** Scalar mean cross-entropy, or null without labels. */
  loss: Tensor | null;
}

/**
 * HF's single-label classifier: `tanh(pooler.dense(hidden[:, 0]))`, dropout
 * `classifier_dropout` (or `hidden_dropout_prob`) while training, then `classifier`
 * Linear(H, num_labels); with labels, the mean cross-entropy (HF's
 * `single_label_classification`). The pooler belongs to the encoder (`bert.pooler.*`) and
 * the dropout masks come from its {@linkcode DropoutCtx}, after the encoder's sites.
 *
 * @example
 * ```ts
 * import { bertConfig, BertModel, ClassificationHead, initGpu, InitCtx, Tensor } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ hidden_size: 8, num_attention_heads: 2, num_labels: 3 });
 * const init = new InitCtx(0, 0.02);
 * const bert = new BertModel(cfg, { pooler: true, init });
 * const head = new ClassificationHead(cfg, init, bert.pooler!, bert.drop);
 * const out = head.forward(Tensor.fromArray(new Float32Array(24), [1, 3, 8]),
 *   { batch: 1, seq: 3, inputIds: new Int32Array(3), labels: [2] });
 * console.log(out.logits.shape, (await out.loss!.item()).toFixed(4)); // [1, 3] 1.0986
 * ```
 */
export class ClassificationHead extends Head<ClassificationInput, ClassificationOutput> {
  /** Linear(H, num_labels). */
  classifier: Linear;

  /**
   * A head with `config.num_labels` classes over the encoder's `pooler`, its init drawn next
   * from `init`, its dropout from `drop`. The pooler is used, not owned: its parameters stay
   * the encoder's.
   */
  constructor(
    readonly config: BertConfig,
    init: InitCtx,
    readonly pooler: BertPooler,
    readonly drop: DropoutCtx,
  ) {
    super();
    this.classifier = this.child(
      "classifier",
      new Linear(config.hidden_size, config.num_labels, init.next()),
    );
  }

  /** hidden [B, S, H] → logits [B, num_labels], and the loss when the batch has labels. */
  forward(hidden: Tensor, batch: ClassificationInput): ClassificationOutput {
    const c = this.config;
    const p = c.classifier_dropout ?? c.hidden_dropout_prob;
    const pooled = this.drop.next(this.pooler.forward(hidden), p, this.training);
    return withLoss(this.classifier.forward(pooled), batch, c);
  }
}

/**
 * HF's RobertaClassificationHead, on the `<s>` state (RoBERTa has no pooler): dropout,
 * `classifier.dense` Linear(H, H), tanh, dropout, `classifier.out_proj` Linear(H,
 * num_labels); the loss as {@linkcode ClassificationHead}'s.
 *
 * @example
 * ```ts
 * import { bertConfig, DropoutCtx, initGpu, InitCtx, RobertaClassificationHead, Tensor } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ hidden_size: 8, num_attention_heads: 2, num_labels: 3 });
 * const head = new RobertaClassificationHead(cfg, new InitCtx(0, 0.02), new DropoutCtx());
 * const out = head.forward(Tensor.fromArray(new Float32Array(24), [1, 3, 8]),
 *   { batch: 1, seq: 3, inputIds: new Int32Array(3), labels: [0] });
 * console.log(out.logits.shape, (await out.loss!.item()).toFixed(4)); // [1, 3] 1.0986
 * ```
 */
export class RobertaClassificationHead extends Head<ClassificationInput, ClassificationOutput> {
  /** Linear(H, H) before the tanh. */
  dense: Linear;
  /** Linear(H, num_labels): the class logits. */
  out_proj: Linear;

  /** A head with `config.num_labels` classes, its init drawn next from `init`. */
  constructor(readonly config: BertConfig, init: InitCtx, readonly drop: DropoutCtx) {
    super();
    const h = config.hidden_size;
    this.dense = this.child("classifier.dense", new Linear(h, h, init.next()));
    this.out_proj = this.child(
      "classifier.out_proj",
      new Linear(h, config.num_labels, init.next()),
    );
  }

  /** hidden [B, S, H] → logits [B, num_labels], and the loss when the batch has labels. */
  forward(hidden: Tensor, batch: ClassificationInput): ClassificationOutput {
    const c = this.config;
    const p = c.classifier_dropout ?? c.hidden_dropout_prob;
    const x = this.drop.next(firstToken(hidden), p, this.training);
    const y = this.drop.next(tanh(this.dense.forward(x)), p, this.training);
    return withLoss(this.out_proj.forward(y), batch, c);
  }
}

function withLoss(
  logits: Tensor,
  batch: ClassificationInput,
  c: BertConfig,
): ClassificationOutput {
  let loss: Tensor | null = null;
  if (batch.labels) {
    const labels = checkLabels(batch.labels, batch.batch, c);
    loss = crossEntropy(
      logits,
      Tensor.fromArray(labels, [batch.batch]),
      IGNORE_LABEL,
      batch.labelSmoothing,
    );
  }
  return { logits, loss };
}

// crossEntropy leaves out-of-range labels silently out of the mean; a wrong label here is a
// data mistake, which PyTorch would raise on, so it is refused before the launch.
function checkLabels(labels: ArrayLike<number>, b: number, c: BertConfig): Int32Array {
  const pt = c.problem_type ?? (c.num_labels === 1 ? "regression" : "single_label_classification");
  if (pt !== "single_label_classification") {
    throw new ConfigError(
      "config.json",
      `problem_type ${JSON.stringify(pt)} is not supported (single_label_classification)`,
    );
  }
  if (labels.length !== b) {
    throw new DataError("labels", `${labels.length} labels for ${b} sequences`);
  }
  const out = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const y = labels[i];
    if (!(Number.isInteger(y) && ((y >= 0 && y < c.num_labels) || y === IGNORE_LABEL))) {
      throw new DataError(
        "labels",
        `label ${y} of sequence ${i} is outside [0, num_labels ${c.num_labels})`,
      );
    }
    out[i] = y;
  }
  return out;
}
