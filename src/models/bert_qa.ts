// BertForQuestionAnswering: the BERT encoder plus the QA head, with HF's parameter names.

import type { Linear } from "../nn/layers.ts";
import { BertModel } from "./bert.ts";
import type { BertConfig } from "./config.ts";
import { InitCtx } from "./init.ts";
import { QaHead } from "./heads/qa.ts";
import { EncoderWithHead } from "./with_head.ts";

/**
 * BertForQuestionAnswering: BERT without pooler, then the {@linkcode QaHead} (`qa_outputs`
 * Linear(H, 2)). `prefix` "roberta" gives HF's RoBERTa-family QA models, whose encoder
 * differs only in its parameter names and (from the config) its position ids.
 *
 * @example
 * ```ts
 * import { BertForQuestionAnswering, bertConfig, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const qa = new BertForQuestionAnswering(cfg, { seed: 0 });
 * const out = qa.forward({ batch: 1, seq: 3, inputIds: new Int32Array([2, 7, 3]) });
 * console.log(out.startLogits.shape); // [1, 3]
 * ```
 */
export class BertForQuestionAnswering extends EncoderWithHead<QaHead> {
  /** A randomly initialized model; `seed` fixes weights and dropout masks. */
  constructor(
    config: BertConfig,
    opts: { seed?: number; prefix?: string; architecture?: string } = {},
  ) {
    const seed = opts.seed ?? 0;
    const init = new InitCtx(seed, config.initializer_range);
    // Argument order is construction order: the head's init continues the encoder's.
    super(config, new BertModel(config, { seed, pooler: false, init }), new QaHead(config, init), {
      prefix: opts.prefix ?? "bert",
      architecture: opts.architecture ?? "BertForQuestionAnswering",
    });
  }

  /** The encoder, without pooler (named `bert.*`, or `<prefix>.*`). */
  get bert(): BertModel {
    return this.encoder;
  }

  /** Linear(H, 2): start and end logits per token. */
  get qa_outputs(): Linear {
    return this.head.qa_outputs;
  }
}
