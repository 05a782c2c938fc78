// BertForMaskedLM and RobertaForMaskedLM: the encoder without pooler plus the masked-LM head,
// whose decoder is the encoder's word embedding table.

import { BertModel } from "./bert.ts";
import type { BertConfig } from "./config.ts";
import { InitCtx } from "./init.ts";
import { BERT_MLM_NAMES, MaskedLmHead, type MaskedLmNames } from "./heads/mlm.ts";
import { EncoderWithHead } from "./with_head.ts";

/**
 * An encoder with the masked-LM head, parameters named as HF's `*ForMaskedLM` of the family
 * `names` (`cls.predictions.*` for BERT, `lm_head.*` for RoBERTa). `forward` returns
 * `{ logits, loss }`; see {@linkcode MaskedLmInput}.
 *
 * @example
 * ```ts
 * import { BertForMaskedLM, bertConfig, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const mlm = new BertForMaskedLM(cfg, { seed: 0 });
 * const out = mlm.forward({ batch: 1, seq: 3, inputIds: new Int32Array([2, 4, 3]) });
 * console.log(out.logits.shape, mlm.tiedAliases.get("cls.predictions.decoder.weight"));
 * // [1, 3, 50] bert.embeddings.word_embeddings.weight
 * ```
 */
export class MaskedLmModel extends EncoderWithHead<MaskedLmHead> {
  /** A randomly initialized model; `seed` fixes weights and dropout masks. */
  constructor(
    config: BertConfig,
    opts: { seed?: number; prefix: string; architecture: string; names: MaskedLmNames },
  ) {
    const seed = opts.seed ?? 0;
    const init = new InitCtx(seed, config.initializer_range);
    const encoder = new BertModel(config, { seed, pooler: false, init });
    const head = new MaskedLmHead(config, init, encoder.embeddings.word_embeddings, opts.names);
    super(config, encoder, head, opts);
  }

  /**
   * Checkpoint names HF ties to one of this model's parameters: the decoder weight is the
   * word embedding table and the decoder bias the head's bias. A checkpoint may hold them or
   * not; saving writes neither, as `save_pretrained` does.
   */
  override get tiedAliases(): ReadonlyMap<string, string> {
    const n = this.head.names;
    return new Map([
      [n.decoderWeight, `${this.prefix}.embeddings.word_embeddings.weight`],
      [n.decoderBias, n.bias],
    ]);
  }
}

/**
 * HF's BertForMaskedLM: `bert.*` (no pooler) and `cls.predictions.*`.
 *
 * @example
 * ```ts
 * import { BertForMaskedLM, bertConfig, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * console.log(new BertForMaskedLM(cfg).namedParameters().at(-1)![0]); // cls.predictions.bias
 * ```
 */
export class BertForMaskedLM extends MaskedLmModel {
  /** A randomly initialized model; `seed` fixes weights and dropout masks. */
  constructor(
    config: BertConfig,
    opts: { seed?: number; prefix?: string; architecture?: string } = {},
  ) {
    super(config, {
      seed: opts.seed,
      prefix: opts.prefix ?? "bert",
      architecture: opts.architecture ?? "BertForMaskedLM",
      names: BERT_MLM_NAMES,
    });
  }
}
