// Position ids as HF computes them for each model family, on the host (they are B×S ints).

import { type BertConfig, MODEL_TYPES, type PositionKind } from "./config.ts";

/**
 * How `config` numbers positions: "absolute" (BERT) or "padding-offset" (RoBERTa family).
 *
 * @example
 * ```ts
 * import { bertConfig, positionKind } from "webgpu-bert";
 * console.log(positionKind(bertConfig({ model_type: "roberta" }))); // padding-offset
 * ```
 */
export function positionKind(config: BertConfig): PositionKind {
  return MODEL_TYPES[config.model_type ?? "bert"]?.positions ?? "absolute";
}

/**
 * The row of the position table that padding tokens use and that gets no gradient:
 * `pad_token_id` for the RoBERTa family (HF builds its position embedding with
 * `padding_idx`), else -1 (none).
 *
 * @example
 * ```ts
 * import { bertConfig, positionPaddingIdx } from "webgpu-bert";
 * console.log(positionPaddingIdx(bertConfig({})), positionPaddingIdx(bertConfig({ model_type: "roberta" }))); // -1 1
 * ```
 */
export function positionPaddingIdx(config: BertConfig): number {
  return positionKind(config) === "padding-offset" ? config.pad_token_id : -1;
}

/**
 * Position ids [B×S] for the token ids `ids` [B×S]. BERT: 0..S-1 on every row. RoBERTa
 * family, as HF's `create_position_ids_from_input_ids`: with m = (id ≠ pad_token_id), the
 * position is cumsum(m)·m + pad_token_id along the row, so real tokens count from
 * pad_token_id + 1 and padding sits at pad_token_id wherever it appears.
 *
 * @example
 * ```ts
 * import { bertConfig, positionIds } from "webgpu-bert";
 * const c = bertConfig({ model_type: "roberta", vocab_size: 10 });
 * console.log(positionIds(c, new Int32Array([0, 5, 2, 1, 1]), 1, 5)); // [2, 3, 4, 1, 1]
 * ```
 */
export function positionIds(
  config: BertConfig,
  ids: Int32Array,
  batch: number,
  seq: number,
): Int32Array {
  const out = new Int32Array(batch * seq);
  if (positionKind(config) === "absolute") {
    for (let i = 0; i < out.length; i++) out[i] = i % seq;
    return out;
  }
  const pad = config.pad_token_id;
  for (let r = 0; r < batch; r++) {
    let count = 0;
    for (let j = r * seq; j < (r + 1) * seq; j++) {
      out[j] = ids[j] === pad ? pad : ++count + pad;
    }
  }
  return out;
}
