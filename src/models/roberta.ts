// HF's RoBERTa classes. RoBERTa's encoder is BERT's with other names (`roberta.*`), position
// ids that count from pad_token_id + 1 (from the config's model_type, see positions.ts), one
// token type and no pooler in its task models; only the classification head differs.

import type { Linear } from "../nn/layers.ts";
import { BertModel } from "./bert.ts";
import type { BertConfig } from "./config.ts";
import { InitCtx } from "./init.ts";
import { positionKind } from "./positions.ts";
import { BertForQuestionAnswering } from "./bert_qa.ts";
import { RobertaClassificationHead } from "./heads/classification.ts";
import { EncoderWithHead } from "./with_head.ts";
import { MaskedLmModel } from "./masked_lm.ts";
import { ROBERTA_MLM_NAMES } from "./heads/mlm.ts";
import { ConfigError } from "../util/errors.ts";

function checkRoberta(config: BertConfig): BertConfig {
  if (positionKind(config) !== "padding-offset") {
    throw new ConfigError(
      "config.json",
      `model_type ${JSON.stringify(config.model_type)} is not a RoBERTa type`,
    );
  }
  return config;
}

/**
 * HF's RobertaModel: the encoder, with its pooler unless `pooler: false`
 * (`add_pooling_layer`). The config's `model_type` must be of the RoBERTa family.
 *
 * @example
 * ```ts
 * import { bertConfig, initGpu, RobertaModel } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ model_type: "roberta", vocab_size: 50, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
 *   max_position_embeddings: 18, type_vocab_size: 1, pad_token_id: 1 });
 * const out = new RobertaModel(cfg).forwardOutputs({ batch: 1, seq: 3,
 *   inputIds: new Int32Array([0, 7, 2]) });
 * console.log(out.lastHiddenState.shape, out.poolerOutput!.shape); // [1, 3, 8] [1, 8]
 * ```
 */
export class RobertaModel extends BertModel {
  /** A randomly initialized model; `seed` fixes weights and dropout masks. */
  constructor(config: BertConfig, opts: { seed?: number; pooler?: boolean; init?: InitCtx } = {}) {
    super(checkRoberta(config), { ...opts, pooler: opts.pooler ?? true });
  }
}

/**
 * HF's RobertaForQuestionAnswering: `roberta.*` (no pooler) and `qa_outputs`.
 *
 * @example
 * ```ts
 * import { bertConfig, initGpu, RobertaForQuestionAnswering } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ model_type: "roberta", vocab_size: 50, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
 *   max_position_embeddings: 18, type_vocab_size: 1, pad_token_id: 1 });
 * console.log(new RobertaForQuestionAnswering(cfg).namedParameters()[0][0]);
 * // roberta.embeddings.word_embeddings.weight
 * ```
 */
export class RobertaForQuestionAnswering extends BertForQuestionAnswering {
  /** A randomly initialized model; `seed` fixes weights and dropout masks. */
  constructor(
    config: BertConfig,
    opts: { seed?: number; prefix?: string; architecture?: string } = {},
  ) {
    super(checkRoberta(config), {
      seed: opts.seed,
      prefix: opts.prefix ?? "roberta",
      architecture: opts.architecture ?? "RobertaForQuestionAnswering",
    });
  }
}

/**
 * HF's RobertaForSequenceClassification: `roberta.*` (no pooler) and the
 * {@linkcode RobertaClassificationHead} (`classifier.dense`, `classifier.out_proj`).
 *
 * @example
 * ```ts
 * import { bertConfig, initGpu, RobertaForSequenceClassification } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ model_type: "roberta", vocab_size: 50, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
 *   max_position_embeddings: 18, type_vocab_size: 1, pad_token_id: 1 });
 * const clf = new RobertaForSequenceClassification(cfg, { seed: 0 });
 * const out = clf.forward({ batch: 1, seq: 3, inputIds: new Int32Array([0, 7, 2]), labels: [1] });
 * console.log(out.logits.shape, clf.namedParameters().at(-1)![0]);
 * // [1, 2] classifier.out_proj.bias
 * ```
 */
export class RobertaForSequenceClassification extends EncoderWithHead<RobertaClassificationHead> {
  /** A randomly initialized model; `seed` fixes weights and dropout masks. */
  constructor(
    config: BertConfig,
    opts: { seed?: number; prefix?: string; architecture?: string } = {},
  ) {
    const seed = opts.seed ?? 0;
    const init = new InitCtx(seed, config.initializer_range);
    const encoder = new BertModel(checkRoberta(config), { seed, pooler: false, init });
    super(config, encoder, new RobertaClassificationHead(config, init, encoder.drop), {
      prefix: opts.prefix ?? "roberta",
      architecture: opts.architecture ?? "RobertaForSequenceClassification",
    });
  }

  /** The encoder (named `roberta.*`). */
  get roberta(): BertModel {
    return this.encoder;
  }

  /** Linear(H, num_labels): the class logits. */
  get out_proj(): Linear {
    return this.head.out_proj;
  }
}

/**
 * HF's RobertaForMaskedLM: `roberta.*` (no pooler) and `lm_head.*`.
 *
 * @example
 * ```ts
 * import { bertConfig, initGpu, RobertaForMaskedLM } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ model_type: "roberta", vocab_size: 50, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
 *   max_position_embeddings: 18, type_vocab_size: 1, pad_token_id: 1 });
 * console.log(new RobertaForMaskedLM(cfg).namedParameters().at(-1)![0]); // lm_head.bias
 * ```
 */
export class RobertaForMaskedLM extends MaskedLmModel {
  /** A randomly initialized model; `seed` fixes weights and dropout masks. */
  constructor(
    config: BertConfig,
    opts: { seed?: number; prefix?: string; architecture?: string } = {},
  ) {
    super(checkRoberta(config), {
      seed: opts.seed,
      prefix: opts.prefix ?? "roberta",
      architecture: opts.architecture ?? "RobertaForMaskedLM",
      names: ROBERTA_MLM_NAMES,
    });
  }
}
