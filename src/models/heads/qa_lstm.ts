// The "LSTM with LayerNorm" QA head of the ODQA project (CustomRobertaForQuestionAnsweringWith
// LSTMLNHead): a bidirectional LSTM over the encoder's last hidden state, LayerNorm, dropout,
// then the span projection and loss of the plain QA head.

import { LayerNorm, Linear, Lstm } from "../../nn/layers.ts";
import type { Tensor } from "../../tensor.ts";
import { BertModel, type DropoutCtx } from "../bert.ts";
import type { BertConfig } from "../config.ts";
import { InitCtx } from "../init.ts";
import { ConfigError } from "../../util/errors.ts";
import { EncoderWithHead, Head } from "../with_head.ts";
import { type QaInput, type QaOutput, spanOutput } from "./qa.ts";

/** The notebook's head dropout (`--head_dropout_ratio 0.7`), used when the config has none. */
export const DEFAULT_HEAD_DROPOUT = 0.7;

// The head's sizes, from the config's extra fields (see QaLstmHead).
function qaLstmSizes(c: BertConfig): { hidden: number; dropout: number } {
  const hidden = c.qa_lstm_hidden_size ?? c.hidden_size;
  const dropout = c.head_dropout ?? DEFAULT_HEAD_DROPOUT;
  if (!(Number.isInteger(hidden) && (hidden as number) > 0)) {
    throw new ConfigError(
      "config.json",
      `qa_lstm_hidden_size must be a positive integer, got ${hidden}`,
    );
  }
  if (!(typeof dropout === "number" && dropout >= 0 && dropout < 1)) {
    throw new ConfigError("config.json", `head_dropout must be in [0, 1), got ${dropout}`);
  }
  return { hidden: hidden as number, dropout };
}

/**
 * The LSTM-LayerNorm QA head: hidden [B, S, H] → bidirectional LSTM (L units per direction) →
 * LayerNorm(2L, eps 1e-5, nn.LayerNorm's default) → dropout `head_dropout` while training →
 * `qa_outputs` Linear(2L, 2) → start/end logits and the span loss of {@linkcode spanOutput}.
 *
 * Checkpoint keys (beside the encoder's `bert.*` / `roberta.*`): `lstm.weight_ih_l0` [4L, H],
 * `lstm.weight_hh_l0` [4L, L], `lstm.bias_ih_l0`, `lstm.bias_hh_l0` [4L], the same four with
 * `_reverse`, `layer_norm.weight`, `layer_norm.bias` [2L], `qa_outputs.weight` [2, 2L] and
 * `qa_outputs.bias` [2]: the names of the PyTorch module. `config.json` records the
 * architecture (`BertForQuestionAnsweringWithLSTMLNHead`,
 * `RobertaForQuestionAnsweringWithLSTMLNHead`) and two extra fields: `qa_lstm_hidden_size` (L,
 * default `hidden_size`, as the ODQA head's nn.LSTM(H, H)) and `head_dropout` (default 0.7).
 *
 * Padding: the LSTM runs over each window's real tokens only (the attention mask's length),
 * as packed sequences, so a window's logits do not depend on its batch's padding (our batches
 * are cut to their longest window); the padding positions get the LayerNorm of zeros. The
 * ODQA head ran plain nn.LSTM over windows always padded to max_seq_length; on an unpadded
 * window the two agree exactly.
 *
 * @example
 * ```ts
 * import { bertConfig, DropoutCtx, initGpu, InitCtx, QaLstmHead, Tensor } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ hidden_size: 8, num_attention_heads: 2, qa_lstm_hidden_size: 4 });
 * const head = new QaLstmHead(cfg, new InitCtx(0, 0.02), new DropoutCtx());
 * const out = head.forward(Tensor.fromArray(new Float32Array(24), [1, 3, 8]),
 *   { batch: 1, seq: 3, inputIds: new Int32Array(3) });
 * console.log(out.startLogits.shape, head.namedParameters().length); // [1, 3] 12
 * ```
 */
export class QaLstmHead extends Head<QaInput, QaOutput> {
  /** The bidirectional LSTM, H → 2L. */
  lstm: Lstm;
  /** LayerNorm over the 2L LSTM features. */
  layer_norm: LayerNorm;
  /** Linear(2L, 2): start and end logits per token. */
  qa_outputs: Linear;
  /** Dropout before `qa_outputs` while training. */
  readonly dropout: number;

  /** A head sized by `config` (see above), its init drawn next from `init`, dropout from `drop`. */
  constructor(config: BertConfig, init: InitCtx, readonly drop: DropoutCtx) {
    super();
    const { hidden, dropout } = qaLstmSizes(config);
    this.dropout = dropout;
    this.lstm = this.child(
      "lstm",
      new Lstm(config.hidden_size, hidden, { seed: init.next().seed, bidirectional: true }),
    );
    this.layer_norm = this.child("layer_norm", new LayerNorm(2 * hidden, 1e-5));
    this.qa_outputs = this.child("qa_outputs", new Linear(2 * hidden, 2, init.next()));
  }

  /** hidden [B, S, H] → logits, and the loss when the batch has positions. */
  forward(hidden: Tensor, batch: QaInput): QaOutput {
    const x = this.lstm.forward(hidden, lengths(batch)); // [B, S, 2L]
    const y = this.drop.next(this.layer_norm.forward(x), this.dropout, this.training);
    return spanOutput(this.qa_outputs.forward(y), batch);
  }
}

// Each row's length: one past its last real token (all S without a mask).
function lengths(batch: QaInput): Int32Array | undefined {
  const m = batch.attentionMask;
  if (!m) return undefined;
  return Int32Array.from({ length: batch.batch }, (_, r) => {
    let n = batch.seq;
    while (n > 0 && !m[r * batch.seq + n - 1]) n--;
    return n;
  });
}

/**
 * BERT (or, with `prefix` "roberta", a RoBERTa-family encoder) without pooler under the
 * {@linkcode QaLstmHead}: the ODQA project's `CustomRobertaForQuestionAnsweringWithLSTMLNHead`.
 * The registry builds it for `config.json`'s `architectures`
 * `BertForQuestionAnsweringWithLSTMLNHead` / `RobertaForQuestionAnsweringWithLSTMLNHead`.
 *
 * @example
 * ```ts
 * import { bertConfig, BertForQuestionAnsweringWithLSTMLNHead, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const qa = new BertForQuestionAnsweringWithLSTMLNHead(cfg, { seed: 0 });
 * const out = qa.forward({ batch: 1, seq: 3, inputIds: new Int32Array([2, 7, 3]) });
 * console.log(out.startLogits.shape, qa.namedParameters().at(-1)![0]); // [1, 3] qa_outputs.bias
 * ```
 */
export class BertForQuestionAnsweringWithLSTMLNHead extends EncoderWithHead<QaLstmHead> {
  /** A randomly initialized model; `seed` fixes weights and dropout masks. */
  constructor(
    config: BertConfig,
    opts: { seed?: number; prefix?: string; architecture?: string } = {},
  ) {
    const seed = opts.seed ?? 0;
    const init = new InitCtx(seed, config.initializer_range);
    const encoder = new BertModel(config, { seed, pooler: false, init });
    super(config, encoder, new QaLstmHead(config, init, encoder.drop), {
      prefix: opts.prefix ?? "bert",
      architecture: opts.architecture ?? "BertForQuestionAnsweringWithLSTMLNHead",
    });
  }
}
