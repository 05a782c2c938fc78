// The extractive-QA head of HF's *ForQuestionAnswering: qa_outputs Linear(H, 2) and the
// start/end cross-entropy.

import { Linear } from "../../nn/layers.ts";
import { Tensor } from "../../tensor.ts";
import { add, scale } from "../../ops/elementwise.ts";
import { sliceLastDim } from "../../ops/slice.ts";
import { crossEntropy } from "../../ops/cross_entropy.ts";
import type { BertBatch } from "../bert.ts";
import type { BertConfig } from "../config.ts";
import type { InitCtx } from "../init.ts";
import { type EncoderWithHead, Head } from "../with_head.ts";

/** A batch with optional answer-span labels, one start and one end token per sequence. */
export interface QaInput extends BertBatch {
  /** Start token of each sequence's answer, B values. */
  startPositions?: ArrayLike<number>;
  /** End token of each sequence's answer, B values. */
  endPositions?: ArrayLike<number>;
  /** Label smoothing of the loss (HF's `label_smoothing_factor`; see crossEntropy); default 0. */
  labelSmoothing?: number;
}

/** Start/end logits [B, S] each, and the loss when positions were given. */
export interface QaOutput {
  /** [B, S] */
  startLogits: Tensor;
  /** [B, S] */
  endLogits: Tensor;
  /** Scalar mean loss, or null without positions. */
  loss: Tensor | null;
}

/**
 * `qa_outputs` Linear(H, 2) giving start and end logits per token, and with positions the
 * span loss of {@linkcode spanOutput}.
 *
 * @example
 * ```ts
 * import { bertConfig, initGpu, InitCtx, QaHead, Tensor } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ hidden_size: 8, num_attention_heads: 2 });
 * const head = new QaHead(cfg, new InitCtx(0, 0.02));
 * const out = head.forward(Tensor.fromArray(new Float32Array(24), [1, 3, 8]),
 *   { batch: 1, seq: 3, inputIds: new Int32Array(3) });
 * console.log(out.startLogits.shape); // [1, 3]
 * ```
 */
export class QaHead extends Head<QaInput, QaOutput> {
  /** Linear(H, 2): start and end logits per token. */
  qa_outputs: Linear;

  /** A head for hidden size `config.hidden_size`, its init drawn next from `init`. */
  constructor(config: BertConfig, init: InitCtx) {
    super();
    this.qa_outputs = this.child("qa_outputs", new Linear(config.hidden_size, 2, init.next()));
  }

  /** hidden [B, S, H] → logits, and the loss when the batch has positions. */
  forward(hidden: Tensor, batch: QaInput): QaOutput {
    return spanOutput(this.qa_outputs.forward(hidden), batch);
  }
}

/** A QA model of any head: an encoder whose head gives start/end logits (and the span loss). */
export type QaModel = EncoderWithHead<Head<QaInput, QaOutput>>;

/**
 * Start and end logits from the span projection `logits` [B, S, 2] of every QA head; with
 * positions, the loss is the mean of the start and end cross-entropies, positions clamped to
 * [0, S] and S ignored, as HF does.
 *
 * @example
 * ```ts
 * import { initGpu, spanOutput, Tensor } from "webgpu-bert";
 * await initGpu();
 * const logits = Tensor.fromArray([0, 0, 5, 0, 0, 5], [1, 3, 2]);
 * const out = spanOutput(logits, { batch: 1, seq: 3, inputIds: new Int32Array(3),
 *   startPositions: [1], endPositions: [2] });
 * console.log(await out.startLogits.toArray(), (await out.loss!.item()).toFixed(4)); // [0, 5, 0] 0.0134
 * ```
 */
export function spanOutput(logits: Tensor, batch: QaInput): QaOutput {
  const { batch: b, seq: s } = batch;
  const startLogits = sliceLastDim(logits, 0, 1).view([b, s]);
  const endLogits = sliceLastDim(logits, 1, 2).view([b, s]);
  let loss: Tensor | null = null;
  if (batch.startPositions && batch.endPositions) {
    const clamp = (p: ArrayLike<number>) =>
      Int32Array.from({ length: b }, (_, i) => Math.min(Math.max(p[i], 0), s));
    const sp = Tensor.fromArray(clamp(batch.startPositions), [b]);
    const ep = Tensor.fromArray(clamp(batch.endPositions), [b]);
    // Smoothing applies to each of the two cross-entropies, as HF's LabelSmoother would to
    // each logits/labels pair (HF's Trainer itself never smooths QA: it has no "labels").
    const eps = batch.labelSmoothing ?? 0;
    loss = scale(
      add(crossEntropy(startLogits, sp, s, eps), crossEntropy(endLogits, ep, s, eps)),
      0.5,
    );
  }
  return { startLogits, endLogits, loss };
}
