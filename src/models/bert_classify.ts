// BertForSequenceClassification: the BERT encoder with its pooler plus the classification
// head, with HF's parameter names.

import type { Linear } from "../nn/layers.ts";
import { BertModel } from "./bert.ts";
import type { BertConfig } from "./config.ts";
import { InitCtx } from "./init.ts";
import { ClassificationHead } from "./heads/classification.ts";
import { EncoderWithHead } from "./with_head.ts";

/**
 * BertForSequenceClassification: BERT with its pooler (`bert.pooler.dense.*`), then the
 * {@linkcode ClassificationHead} (dropout, `classifier` Linear(H, num_labels)). The classes
 * are the config's `num_labels` / `id2label`; `forward` returns `{ logits, loss }`, the loss
 * when the batch has `labels`.
 *
 * @example
 * ```ts
 * import { BertForSequenceClassification, bertConfig, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16,
 *   id2label: { 0: "negative", 1: "positive" } });
 * const clf = new BertForSequenceClassification(cfg, { seed: 0 });
 * const out = clf.forward({ batch: 1, seq: 3, inputIds: new Int32Array([2, 7, 3]), labels: [1] });
 * console.log(out.logits.shape, out.loss !== null); // [1, 2] true
 * ```
 */
export class BertForSequenceClassification extends EncoderWithHead<ClassificationHead> {
  /** A randomly initialized model; `seed` fixes weights and dropout masks. */
  constructor(
    config: BertConfig,
    opts: { seed?: number; prefix?: string; architecture?: string } = {},
  ) {
    const seed = opts.seed ?? 0;
    const init = new InitCtx(seed, config.initializer_range);
    // Construction order is init order: embeddings, layers, pooler, then the classifier.
    const bert = new BertModel(config, { seed, pooler: true, init });
    super(config, bert, new ClassificationHead(config, init, bert.pooler!, bert.drop), {
      prefix: opts.prefix ?? "bert",
      architecture: opts.architecture ?? "BertForSequenceClassification",
    });
  }

  /** The encoder with its pooler (named `bert.*`). */
  get bert(): BertModel {
    return this.encoder;
  }

  /** Linear(H, num_labels): the class logits from the pooled [CLS]. */
  get classifier(): Linear {
    return this.head.classifier;
  }
}
