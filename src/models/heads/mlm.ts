// The masked-LM head of HF's BertForMaskedLM (`cls.predictions.*`) and RobertaForMaskedLM
// (`lm_head.*`): dense, GELU, LayerNorm, then a decoder tied to the word embeddings.

import { type Embedding, LayerNorm, Linear } from "../../nn/layers.ts";
import { Tensor } from "../../tensor.ts";
import { add, zeros } from "../../ops/elementwise.ts";
import { matmul } from "../../ops/matmul.ts";
import { biasGelu } from "../../ops/fused.ts";
import { embedding } from "../../ops/embedding.ts";
import { crossEntropy } from "../../ops/cross_entropy.ts";
import { DataError } from "../../util/errors.ts";
import type { BertBatch } from "../bert.ts";
import type { BertConfig } from "../config.ts";
import type { InitCtx } from "../init.ts";
import { Head } from "../with_head.ts";

/** HF's ignore index: tokens labelled -100 are not predicted. */
export const IGNORE_TOKEN: number = -100;

/** A batch with optional masked-LM targets. */
export interface MaskedLmInput extends BertBatch {
  /** The original id of each token to predict, -100 elsewhere; B×S values. */
  labels?: ArrayLike<number>;
  /**
   * Flat positions (b·S + s) to predict: logits come out [M, V] for those rows only, and the
   * loss reads their labels. Training passes the labelled positions, fill-mask the masks; the
   * loss equals the full one, without a [B·S, V] product.
   */
  predictAt?: Int32Array;
  /** Label smoothing of the loss (HF's `label_smoothing_factor`; see crossEntropy); default 0. */
  labelSmoothing?: number;
}

/** Vocabulary logits, and the loss when labels were given. */
export interface MaskedLmOutput {
  /** [B, S, V], or [M, V] with `predictAt`. */
  logits: Tensor;
  /** Scalar mean cross-entropy over the labelled tokens, or null without labels. */
  loss: Tensor | null;
}

/** HF's parameter names of one family's masked-LM head. */
export interface MaskedLmNames {
  /** The transform's Linear(H, H). */
  dense: string;
  /** The transform's LayerNorm. */
  layerNorm: string;
  /** The decoder's own bias [V]. */
  bias: string;
  /** The tied decoder weight's name, which HF's saved checkpoints omit. */
  decoderWeight: string;
  /** An old alias of the bias. */
  decoderBias: string;
}

/** BertForMaskedLM's names. */
export const BERT_MLM_NAMES: MaskedLmNames = {
  dense: "cls.predictions.transform.dense",
  layerNorm: "cls.predictions.transform.LayerNorm",
  bias: "cls.predictions.bias",
  decoderWeight: "cls.predictions.decoder.weight",
  decoderBias: "cls.predictions.decoder.bias",
};

/** RobertaForMaskedLM's names. */
export const ROBERTA_MLM_NAMES: MaskedLmNames = {
  dense: "lm_head.dense",
  layerNorm: "lm_head.layer_norm",
  bias: "lm_head.bias",
  decoderWeight: "lm_head.decoder.weight",
  decoderBias: "lm_head.decoder.bias",
};

/**
 * The masked-LM head: `LayerNorm(gelu(dense(h)))·Eᵀ + bias`, E the encoder's word embedding
 * table, used (not owned): the decoder has no weight of its own, so the table gets one
 * gradient, the sum of its two uses, and saving writes it once. With labels, the mean
 * cross-entropy over tokens whose label is not -100.
 *
 * @example
 * ```ts
 * import { BERT_MLM_NAMES, bertConfig, Embedding, initGpu, InitCtx, MaskedLmHead, Tensor } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 10, hidden_size: 8, num_attention_heads: 2 });
 * const words = new Embedding(10, 8, { seed: 1, std: 0.02 });
 * const head = new MaskedLmHead(cfg, new InitCtx(0, 0.02), words, BERT_MLM_NAMES);
 * const out = head.forward(Tensor.fromArray(new Float32Array(24), [1, 3, 8]),
 *   { batch: 1, seq: 3, inputIds: new Int32Array(3), labels: [-100, 4, -100] });
 * console.log(out.logits.shape, (await out.loss!.item()).toFixed(3)); // [1, 3, 10] 2.303
 * ```
 */
export class MaskedLmHead extends Head<MaskedLmInput, MaskedLmOutput> {
  /** Linear(H, H) before the GELU. */
  readonly dense: Linear;
  /** LayerNorm after the GELU. */
  readonly layerNorm: LayerNorm;
  /** [V]: the decoder's bias. */
  readonly bias: Tensor;

  /**
   * A head over `words` (the tied decoder), its init drawn next from `init`, its parameters
   * named by `names`.
   */
  constructor(
    readonly config: BertConfig,
    init: InitCtx,
    readonly words: Embedding,
    readonly names: MaskedLmNames,
  ) {
    super();
    const h = config.hidden_size;
    this.dense = this.child(names.dense, new Linear(h, h, init.next()));
    this.layerNorm = this.child(names.layerNorm, new LayerNorm(h, config.layer_norm_eps));
    this.bias = this.param(names.bias, zeros([config.vocab_size]));
  }

  /** hidden [B, S, H] → logits, and the loss when the batch has labels. */
  forward(hidden: Tensor, batch: MaskedLmInput): MaskedLmOutput {
    const { batch: b, seq: s } = batch;
    const h = this.config.hidden_size, v = this.config.vocab_size;
    const at = batch.predictAt;
    const flat = hidden.view([b * s, h]);
    // Gathering the rows to predict first: a lookup whose backward scatters into [B·S, H].
    const rows = at ? embedding(Tensor.fromArray(at, [at.length]), flat) : flat;
    const t = this.layerNorm.forward(biasGelu(this.dense.project(rows), this.dense.bias));
    const logits2d = add(matmul(t, this.words.weight, { transB: true }), this.bias);
    let loss: Tensor | null = null;
    if (batch.labels) {
      const labels = checkTokenLabels(batch.labels, b * s, v, at);
      loss = crossEntropy(
        logits2d,
        Tensor.fromArray(labels, [labels.length]),
        IGNORE_TOKEN,
        batch.labelSmoothing,
      );
    }
    return { logits: at ? logits2d : logits2d.view([b, s, v]), loss };
  }
}

// crossEntropy leaves out-of-range labels silently out of the mean; PyTorch would raise.
function checkTokenLabels(
  labels: ArrayLike<number>,
  n: number,
  v: number,
  at?: Int32Array,
): Int32Array {
  if (labels.length !== n) throw new DataError("labels", `${labels.length} labels for ${n} tokens`);
  const out = new Int32Array(at ? at.length : n);
  for (let i = 0; i < out.length; i++) {
    const j = at ? at[i] : i;
    if (!(j >= 0 && j < n)) throw new DataError("predictAt", `position ${j} is outside [0, ${n})`);
    const y = labels[j];
    if (!(Number.isInteger(y) && ((y >= 0 && y < v) || y === IGNORE_TOKEN))) {
      throw new DataError("labels", `label ${y} of token ${j} is outside [0, vocab_size ${v})`);
    }
    out[i] = y;
  }
  return out;
}
