// The generic "encoder + task head" model: the encoder sits under HF's attribute name
// (`bert`, `roberta`) and the head's layers keep HF's top-level names (`qa_outputs`,
// `classifier`, `cls`), so checkpoints load without renaming.

import { Module } from "../nn/module.ts";
import type { Tensor } from "../tensor.ts";
import type { BertBatch, BertModel } from "./bert.ts";
import type { BertConfig } from "./config.ts";

/**
 * A task head: maps the encoder's last hidden state [B, S, H] (and the batch, for labels)
 * to the task's outputs. Heads that need more of the encoder (the pooler, the word
 * embeddings to tie a decoder to) take it in their constructor.
 *
 * @example
 * ```ts
 * import { bertConfig, BertModel, EncoderWithHead, Head, initGpu, InitCtx, Linear, Tensor } from "webgpu-bert";
 * import type { BertBatch } from "webgpu-bert";
 * await initGpu();
 * class TokenScores extends Head<BertBatch, Tensor> {
 *   score: Linear;
 *   constructor(h: number, init: InitCtx) {
 *     super();
 *     this.score = this.child("score", new Linear(h, 1, init.next()));
 *   }
 *   forward(hidden: Tensor): Tensor {
 *     return this.score.forward(hidden);
 *   }
 * }
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const init = new InitCtx(0, cfg.initializer_range);
 * const model = new EncoderWithHead(cfg, new BertModel(cfg, { init }), new TokenScores(8, init),
 *   { prefix: "bert", architecture: "BertForTokenScores" });
 * console.log(model.namedParameters().at(-1)![0]); // score.bias
 * ```
 */
export abstract class Head<In extends BertBatch = BertBatch, Out = unknown> extends Module {
  /** hidden [B, S, H] → the task's outputs. */
  abstract forward(hidden: Tensor, batch: In): Out;
}

/** The batch type a head takes (labels included). */
export type HeadInput<H extends Head<never, unknown>> = Parameters<H["forward"]>[1];

/** What a head returns. */
export type HeadOutput<H extends Head<never, unknown>> = ReturnType<H["forward"]>;

/**
 * An encoder with a task head on top; `forward(batch)` runs both. Parameter names are
 * `<prefix>.*` for the encoder and the head's own names, as in HF's `*For<Task>` classes.
 *
 * @example
 * ```ts
 * import { BertForQuestionAnswering, bertConfig, EncoderWithHead, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const qa = new BertForQuestionAnswering(cfg);
 * console.log(qa instanceof EncoderWithHead, qa.architecture); // true BertForQuestionAnswering
 * ```
 */
export class EncoderWithHead<H extends Head<never, unknown> = Head> extends Module {
  /** The encoder, registered under {@linkcode EncoderWithHead.prefix}. */
  readonly encoder: BertModel;
  /** The task head; its parameters carry no extra path segment. */
  readonly head: H;
  /** HF's attribute name of the encoder: "bert" or "roberta". */
  readonly prefix: string;
  /** HF's class name, written to `config.json`'s `architectures` on save. */
  readonly architecture: string;

  /** Composes `encoder` and `head`, built in that order from one init context. */
  constructor(
    readonly config: BertConfig,
    encoder: BertModel,
    head: H,
    opts: { prefix: string; architecture: string },
  ) {
    super();
    this.prefix = opts.prefix;
    this.architecture = opts.architecture;
    this.encoder = this.child(opts.prefix, encoder);
    this.head = this.child("", head);
  }

  /**
   * Seeds dropout for a training step: masks are a function of (seed, step, site), so a resumed
   * run draws the same ones (the Trainer calls this before every step).
   */
  setDropoutStep(seed: number, step: number): void {
    this.encoder.drop.seed = seed;
    this.encoder.setStep(step);
  }

  /**
   * Checkpoint tensor names that HF ties to one of this model's parameters (name → ours):
   * loading accepts them, saving omits them. None unless a head shares weights.
   */
  get tiedAliases(): ReadonlyMap<string, string> {
    return new Map();
  }

  /** Runs the encoder, then the head on its last hidden state. */
  forward(batch: HeadInput<H>): HeadOutput<H> {
    return this.head.forward(this.encoder.forward(batch), batch as never) as HeadOutput<H>;
  }
}
