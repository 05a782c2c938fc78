// The BERT (post-LN) encoder on the tensor API; parameter names are HF's. Task models put a head
// on it (see bert_qa.ts).
// Sizes: B batch, S sequence, H hidden, A heads, D = H / A head size, I intermediate.
// Layers take their model's InitCtx, drawing weights in construction order, or a seed when
// built alone (benchmarks, tests).

import { Module } from "../nn/module.ts";
import { Embedding, LayerNorm, Linear } from "../nn/layers.ts";
import { keep, scope, Tensor } from "../tensor.ts";
import { gradEnabled } from "../autograd.ts";
import type { BertConfig } from "./config.ts";
import { InitCtx } from "./init.ts";
import { positionIds, positionKind, positionPaddingIdx } from "./positions.ts";
import { add, scale, zeros } from "../ops/elementwise.ts";
import { matmul } from "../ops/matmul.ts";
import { softmax } from "../ops/softmax.ts";
import { attention } from "../ops/attention.ts";
import { biasGelu, biasResidualLayerNorm } from "../ops/fused.ts";
import { tanh } from "../ops/activations.ts";
import { deriveSeed, dropout } from "../ops/dropout.ts";
import { swapAxes12 } from "../ops/permute.ts";
import { sliceLastDim } from "../ops/slice.ts";

/** Inputs of a BERT forward pass, as host arrays of B×S values. */
export interface BertBatch {
  /** B, the number of sequences. */
  batch: number;
  /** S, the length of every sequence. */
  seq: number;
  /** Token ids, B×S row-major. */
  inputIds: Int32Array;
  /** Segment ids (0 question, 1 context), B×S; all 0 when absent. */
  tokenTypeIds?: Int32Array;
  /** 1 for real tokens, 0 for padding, B×S; all real when absent. */
  attentionMask?: ArrayLike<number>;
}

/** Dropout seeding shared by the layers of one model: a new `step` gives new masks. */
export class DropoutCtx {
  /** The model's seed. */
  seed = 0;
  /** The training step; set by {@linkcode BertModel.setStep}. */
  step = 0;
  /** Dropout sites used so far in this forward pass; reset at its start. */
  site = 0;
  /** `x` with dropout `p` at the next site while training, else `x` itself. */
  next(x: Tensor, p: number, training: boolean): Tensor {
    if (!training || p === 0) return x;
    return dropout(x, p, this.nextSeed(), true);
  }
  /** The seed of the next dropout site (for kernels that apply dropout themselves). */
  nextSeed(): number {
    return deriveSeed(this.seed, this.step, this.site++);
  }
}

/**
 * Which attention path BERT layers take: "fused" (flash-style, O(S) memory, also the faster
 * one on lavapipe once compiled), "unfused" (matmul + softmax + matmul, the reference), or
 * "auto": fused whenever the head size allows it (D ≤ 64).
 */
export const attentionPolicy: { mode: "auto" | "fused" | "unfused" } = { mode: "auto" };

function useFused(): boolean {
  return attentionPolicy.mode !== "unfused";
}

/** Word + position + token-type embeddings, then LayerNorm and dropout. */
export class BertEmbeddings extends Module {
  /** [vocab_size, H] */
  word_embeddings: Embedding;
  /** [max_position_embeddings, H] */
  position_embeddings: Embedding;
  /** [type_vocab_size, H] */
  token_type_embeddings: Embedding;
  /** Normalizes the summed embeddings. */
  LayerNorm: LayerNorm;
  /** Embeddings sized by `c`, initialized from `seeds`. */
  constructor(readonly c: BertConfig, seeds: InitCtx | number, readonly drop: DropoutCtx) {
    super();
    const init = InitCtx.of(seeds, c.initializer_range);
    this.word_embeddings = this.child(
      "word_embeddings",
      new Embedding(c.vocab_size, c.hidden_size, init.next(), c.pad_token_id),
    );
    this.position_embeddings = this.child(
      "position_embeddings",
      new Embedding(
        c.max_position_embeddings,
        c.hidden_size,
        init.next(),
        positionPaddingIdx(c),
      ),
    );
    this.token_type_embeddings = this.child(
      "token_type_embeddings",
      new Embedding(c.type_vocab_size, c.hidden_size, init.next()),
    );
    this.LayerNorm = this.child("LayerNorm", new LayerNorm(c.hidden_size, c.layer_norm_eps));
  }
  /** ids, types, positions [B, S] (int32) → [B, S, H] */
  forward(ids: Tensor, types: Tensor, positions: Tensor): Tensor {
    const x = add(
      add(this.word_embeddings.forward(ids), this.token_type_embeddings.forward(types)),
      this.position_embeddings.forward(positions),
    );
    return this.drop.next(this.LayerNorm.forward(x), this.c.hidden_dropout_prob, this.training);
  }
}

/** Multi-head scaled dot-product self-attention (no output projection). */
export class BertSelfAttention extends Module {
  /** Query projection H → H. */
  query: Linear;
  /** Key projection H → H. */
  key: Linear;
  /** Value projection H → H. */
  value: Linear;
  /** Projections sized by `c`, initialized from `seeds`. */
  constructor(readonly c: BertConfig, seeds: InitCtx | number, readonly drop: DropoutCtx) {
    super();
    const init = InitCtx.of(seeds, c.initializer_range);
    const h = c.hidden_size;
    this.query = this.child("query", new Linear(h, h, init.next()));
    this.key = this.child("key", new Linear(h, h, init.next()));
    this.value = this.child("value", new Linear(h, h, init.next()));
  }
  /**
   * x [B, S, H], mask additive [B, S] → context [B, S, H]. With `probs`, the attention maps
   * [B, A, S, S] are pushed to it; they exist only on the unfused path, which is then taken.
   */
  forward(x: Tensor, mask: Tensor, probs?: Tensor[]): Tensor {
    const [b, s, h] = x.shape;
    const a = this.c.num_attention_heads;
    const d = h / a;
    // [B, S, H] → [B, A, S, D]
    const heads = (t: Tensor) => swapAxes12(t.view([b, s, a, d]));
    const q = heads(this.query.forward(x));
    const k = heads(this.key.forward(x));
    const v = heads(this.value.forward(x));
    const p = this.training ? this.c.attention_probs_dropout_prob : 0;
    let ctx: Tensor; // [B, A, S, D]
    if (d <= 64 && useFused() && !probs) {
      // Fused flash attention: no [S, S] scores in memory; the same dropout mask as below.
      ctx = attention(
        q,
        k,
        v,
        mask,
        1 / Math.sqrt(d),
        p > 0 ? { p, seed: this.drop.nextSeed() } : undefined,
      );
    } else {
      const flat = (t: Tensor) => t.view([b * a, s, d]);
      const scores = scale(matmul(flat(q), flat(k), { transB: true }), 1 / Math.sqrt(d)).view([
        b,
        a,
        s,
        s,
      ]);
      const maps = softmax(scores, mask);
      probs?.push(maps);
      const kept = this.drop.next(maps, p, this.training);
      ctx = matmul(kept.view([b * a, s, s]), flat(v)).view([b, a, s, d]);
    }
    return swapAxes12(ctx).view([b, s, h]);
  }
}

/** dense + dropout + residual + LayerNorm, the tail of both attention and FFN blocks. */
export class BertOutput extends Module {
  /** Projection inDim → H. */
  dense: Linear;
  /** Normalizes the residual sum. */
  LayerNorm: LayerNorm;
  /** A block projecting `inDim` features back to H. */
  constructor(
    readonly c: BertConfig,
    inDim: number,
    seeds: InitCtx | number,
    readonly drop: DropoutCtx,
  ) {
    super();
    const init = InitCtx.of(seeds, c.initializer_range);
    this.dense = this.child("dense", new Linear(inDim, c.hidden_size, init.next()));
    this.LayerNorm = this.child("LayerNorm", new LayerNorm(c.hidden_size, c.layer_norm_eps));
  }
  /** x [B, S, inDim], residual [B, S, H] → [B, S, H] */
  forward(x: Tensor, residual: Tensor): Tensor {
    const ln = this.LayerNorm;
    const p = this.training ? this.c.hidden_dropout_prob : 0;
    if (p > 0) {
      // Dropout sits between the bias and the residual: the bias goes in before it.
      const y = this.drop.next(this.dense.forward(x), p, true);
      return addLayerNorm(y, residual, ln);
    }
    // Fused epilogue: bias + residual + LayerNorm in one kernel; the projection still goes
    // through the Linear, so an adapter overriding `project` takes effect here too.
    const y = this.dense.project(x);
    return biasResidualLayerNorm(y, this.dense.bias, residual, ln.weight, ln.bias, ln.eps);
  }
}

// residual + LayerNorm through the fused kernel with no bias (a shared zero vector per size).
const zeroBias = new Map<number, Tensor>();
function addLayerNorm(y: Tensor, residual: Tensor, ln: LayerNorm): Tensor {
  const h = ln.dim;
  let z = zeroBias.get(h);
  if (!z || z.disposed) {
    z = keep(zeros([h]));
    zeroBias.set(h, z);
  }
  return biasResidualLayerNorm(y, z, residual, ln.weight, ln.bias, ln.eps);
}

/** Self-attention followed by its output block. */
export class BertAttention extends Module {
  /** The attention heads. */
  self: BertSelfAttention;
  /** Projection, residual and LayerNorm. */
  output: BertOutput;
  /** An attention block sized by `c`. */
  constructor(c: BertConfig, seeds: InitCtx | number, drop: DropoutCtx) {
    super();
    const init = InitCtx.of(seeds, c.initializer_range);
    this.self = this.child("self", new BertSelfAttention(c, init, drop));
    this.output = this.child("output", new BertOutput(c, c.hidden_size, init, drop));
  }
  /** x [B, S, H], mask additive [B, S] → [B, S, H]; `probs` collects attention maps. */
  forward(x: Tensor, mask: Tensor, probs?: Tensor[]): Tensor {
    return this.output.forward(this.self.forward(x, mask, probs), x);
  }
}

/** The FFN's first half: dense H → I then GELU. */
export class BertIntermediate extends Module {
  /** Projection H → I. */
  dense: Linear;
  /** A block sized by `c`. */
  constructor(c: BertConfig, seeds: InitCtx | number) {
    super();
    const init = InitCtx.of(seeds, c.initializer_range);
    this.dense = this.child(
      "dense",
      new Linear(c.hidden_size, c.intermediate_size, init.next()),
    );
  }
  /** x [B, S, H] → [B, S, I] */
  forward(x: Tensor): Tensor {
    // Fused epilogue: the bias add and GELU in one kernel each way.
    return biasGelu(this.dense.project(x), this.dense.bias);
  }
}

/** One post-LN transformer layer: attention block, then FFN block. */
export class BertLayer extends Module {
  /** The attention block. */
  attention: BertAttention;
  /** The FFN's expansion. */
  intermediate: BertIntermediate;
  /** The FFN's projection, residual and LayerNorm. */
  output: BertOutput;
  /** A layer sized by `c`. */
  constructor(c: BertConfig, seeds: InitCtx | number, drop: DropoutCtx) {
    super();
    const init = InitCtx.of(seeds, c.initializer_range);
    this.attention = this.child("attention", new BertAttention(c, init, drop));
    this.intermediate = this.child("intermediate", new BertIntermediate(c, init));
    this.output = this.child("output", new BertOutput(c, c.intermediate_size, init, drop));
  }
  /** x [B, S, H], mask additive [B, S] → [B, S, H]; `probs` collects attention maps. */
  forward(x: Tensor, mask: Tensor, probs?: Tensor[]): Tensor {
    const a = this.attention.forward(x, mask, probs);
    return this.output.forward(this.intermediate.forward(a), a);
  }
}

/** The [CLS] pooler: tanh(dense(first token)), H → H. */
export class BertPooler extends Module {
  /** Projection H → H. */
  dense: Linear;
  /** A pooler sized by `c`. */
  constructor(c: BertConfig, seeds: InitCtx | number) {
    super();
    const init = InitCtx.of(seeds, c.initializer_range);
    this.dense = this.child("dense", new Linear(c.hidden_size, c.hidden_size, init.next()));
  }
  /** x [B, S, H] → tanh(dense(x[:, 0])) [B, H] */
  forward(x: Tensor): Tensor {
    return tanh(this.dense.forward(firstToken(x)));
  }
}

/**
 * x [B, S, H] → x[:, 0] [B, H]: the [CLS] / `<s>` state that sequence heads read.
 *
 * @example
 * ```ts
 * import { firstToken, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const x = Tensor.fromArray([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
 * console.log(await firstToken(x).toArray()); // [1, 2, 5, 6]
 * ```
 */
export function firstToken(x: Tensor): Tensor {
  const [b, s, h] = x.shape;
  return sliceLastDim(x.view([b, s * h]), 0, h);
}

/** What {@linkcode BertModel.forwardOutputs} returns, in HF's `BaseModelOutputWithPooling` terms. */
export interface BertOutputs {
  /** [B, S, H]: the last layer's output. */
  lastHiddenState: Tensor;
  /** [B, H]: the pooler on [CLS], or null for a model built without one. */
  poolerOutput: Tensor | null;
  /** The embeddings' output, then each layer's, L + 1 tensors [B, S, H], when asked for. */
  hiddenStates?: Tensor[];
  /** Each layer's attention probabilities [B, A, S, S] (rows sum to 1), when asked for. */
  attentions?: Tensor[];
}

/** Float32 min, as HF's extended attention mask uses for masked keys. */
export const MASK_MIN: number = -3.4028234663852886e38;

/**
 * The BERT encoder: embeddings, N post-LN layers, optionally the pooler.
 *
 * @example
 * ```ts
 * import { BertModel, bertConfig, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const bert = new BertModel(cfg, { seed: 0 });
 * const h = bert.forward({ batch: 1, seq: 3, inputIds: new Int32Array([2, 7, 3]) });
 * console.log(h.shape); // [1, 3, 8]
 * ```
 */
export class BertModel extends Module {
  /** The input embeddings. */
  embeddings: BertEmbeddings;
  /** The [CLS] pooler, or null when built without one. */
  pooler: BertPooler | null;
  /** The encoder layers, named `encoder.layer.<i>`. */
  readonly layers: BertLayer[] = [];
  /** Dropout seeding shared by every layer. */
  readonly drop: DropoutCtx = new DropoutCtx();

  /**
   * A randomly initialized model; `seed` fixes weights and dropout masks. A model with a head
   * passes its `init` so that the head's layers continue the encoder's init sequence.
   */
  constructor(
    readonly config: BertConfig,
    opts: { seed?: number; pooler?: boolean; init?: InitCtx } = {},
  ) {
    super();
    const seed = opts.seed ?? 0;
    const init = opts.init ?? new InitCtx(seed, config.initializer_range);
    this.drop.seed = seed;
    this.embeddings = this.child("embeddings", new BertEmbeddings(config, init, this.drop));
    for (let i = 0; i < config.num_hidden_layers; i++) {
      this.layers.push(this.child(`encoder.layer.${i}`, new BertLayer(config, init, this.drop)));
    }
    this.pooler = opts.pooler ? this.child("pooler", new BertPooler(config, init)) : null;
  }

  /** Sets the dropout step: each training step must draw new masks. */
  setStep(step: number): void {
    this.drop.step = step;
  }

  /** Returns the last hidden state [B, S, H]. */
  forward(batch: BertBatch): Tensor {
    return this.#encode(batch);
  }

  /**
   * The forward pass with HF's outputs: the last hidden state, the pooler output, and with
   * `opts.hiddenStates` / `opts.attentions` every layer's input and attention maps, as
   * `output_hidden_states` / `output_attentions` give. Attention maps need the unfused
   * attention path, which is then taken.
   *
   * @example
   * ```ts
   * import { BertModel, bertConfig, initGpu } from "webgpu-bert";
   * await initGpu();
   * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 2,
   *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
   * const bert = new BertModel(cfg, { seed: 0, pooler: true });
   * const out = bert.forwardOutputs({ batch: 1, seq: 3, inputIds: new Int32Array([2, 7, 3]) },
   *   { hiddenStates: true, attentions: true });
   * console.log(out.poolerOutput!.shape, out.hiddenStates!.length, out.attentions![0].shape);
   * // [1, 8] 3 [1, 2, 3, 3]
   * ```
   */
  forwardOutputs(
    batch: BertBatch,
    opts: { hiddenStates?: boolean; attentions?: boolean } = {},
  ): BertOutputs {
    const hiddenStates: Tensor[] | undefined = opts.hiddenStates ? [] : undefined;
    const attentions: Tensor[] | undefined = opts.attentions ? [] : undefined;
    const x = this.#encode(batch, hiddenStates, attentions);
    return {
      lastHiddenState: x,
      poolerOutput: this.pooler ? this.pooler.forward(x) : null,
      hiddenStates,
      attentions,
    };
  }

  // The embeddings and layers; `hiddenStates` / `attentions` collect HF's optional outputs.
  #encode(batch: BertBatch, hiddenStates?: Tensor[], attentions?: Tensor[]): Tensor {
    const { batch: b, seq: s } = batch;
    const n = b * s;
    if (batch.inputIds.length !== n) throw new Error(`inputIds must hold ${n} ids`);
    const c = this.config;
    if (s > c.max_position_embeddings) {
      throw new Error(`sequence length ${s} exceeds max_position_embeddings`);
    }
    const positions = positionIds(c, batch.inputIds, b, s);
    if (positionKind(c) === "padding-offset" && s + c.pad_token_id >= c.max_position_embeddings) {
      // Only rows with that many real tokens reach past the table; HF fails on those alone.
      const top = positions.reduce((m, p) => Math.max(m, p), 0);
      if (top >= c.max_position_embeddings) {
        throw new Error(
          `position id ${top} exceeds max_position_embeddings ${c.max_position_embeddings} ` +
            `(positions start at pad_token_id + 1 = ${c.pad_token_id + 1})`,
        );
      }
    }
    // The embedding lookup silently zeroes ids outside the table: say which one is wrong.
    for (const t of batch.tokenTypeIds ?? []) {
      if (!(t >= 0 && t < c.type_vocab_size)) {
        throw new Error(`token type id ${t} is outside [0, type_vocab_size ${c.type_vocab_size})`);
      }
    }
    this.drop.site = 0;
    const maskAdd = new Float32Array(n);
    if (batch.attentionMask) {
      for (let i = 0; i < n; i++) maskAdd[i] = batch.attentionMask[i] ? 0 : MASK_MIN;
    }
    const ids = Tensor.fromArray(batch.inputIds, [b, s]);
    const types = Tensor.fromArray(batch.tokenTypeIds ?? new Int32Array(n), [b, s]);
    const pos = Tensor.fromArray(positions, [b, s]);
    const mask = Tensor.fromArray(maskAdd, [b, s]);
    let x = this.embeddings.forward(ids, types, pos);
    hiddenStates?.push(x);
    for (const layer of this.layers) {
      // Without a tape nothing needs a layer's intermediates afterwards: free them per layer,
      // so inference holds one layer's activations at a time.
      const input = x;
      const run = () => {
        const maps: Tensor[] | undefined = attentions ? [] : undefined;
        return { y: layer.forward(input, mask, maps), maps };
      };
      const { y, maps } = gradEnabled() ? run() : scope(run);
      if (maps) attentions!.push(...maps);
      hiddenStates?.push(y);
      x = y;
    }
    return x;
  }
}
