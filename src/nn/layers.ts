// The layers BERT and the examples are built from, written on the tensor API only.

import { Module } from "./module.ts";
import { type Tensor } from "../tensor.ts";
import { add, ones, zeros } from "../ops/elementwise.ts";
import { matmul } from "../ops/matmul.ts";
import { layerNorm } from "../ops/layernorm.ts";
import { embedding } from "../ops/embedding.ts";
import { rand, randn } from "../ops/random.ts";
import { lstm, type LstmWeights } from "../ops/lstm.ts";

/** How a layer's weights are initialized. */
export interface InitOptions {
  /** Seed of the shader RNG. */
  seed: number;
  /** Normal std (BERT uses 0.02); when absent, PyTorch's default uniform init. */
  std?: number;
}

/** Existing tensors a {@linkcode Linear} adopts as its parameters instead of drawing new ones. */
export interface LinearWeights {
  /** [out, in] */
  weight: Tensor;
  /** [out] */
  bias: Tensor;
}

/**
 * y = x·Wᵀ + b with W [out, in], as torch.nn.Linear.
 *
 * @example
 * ```ts
 * import { initGpu, Linear, Tensor } from "webgpu-bert";
 * await initGpu();
 * const fc = new Linear(3, 2, { seed: 0 });
 * console.log(fc.forward(Tensor.fromArray([1, 2, 3], [1, 3])).shape); // [1, 2]
 * ```
 */
export class Linear extends Module {
  /** [out, in] */
  readonly weight: Tensor;
  /** [out] */
  readonly bias: Tensor;

  /**
   * A layer mapping `inFeatures` to `outFeatures`; `init.std` switches to N(0, std) weights.
   * Given {@linkcode LinearWeights}, it adopts them (an adapter wrapping a layer, a merge),
   * keeping their `requiresGrad`.
   */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: InitOptions | LinearWeights,
  ) {
    super();
    if ("weight" in init) {
      const { weight, bias } = init;
      if (
        weight.shape.join() !== `${outFeatures},${inFeatures}` ||
        bias.shape.join() !== `${outFeatures}`
      ) {
        throw new Error(
          `Linear(${inFeatures}, ${outFeatures}) cannot adopt weight [${weight.shape}], bias [${bias.shape}]`,
        );
      }
      const trainable = [weight.requiresGrad, bias.requiresGrad];
      this.weight = this.param("weight", weight);
      this.bias = this.param("bias", bias);
      [weight.requiresGrad, bias.requiresGrad] = trainable;
      return;
    }
    // PyTorch's default: kaiming_uniform(a=√5) gives U(±1/√in) for both weight and bias.
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param(
      "weight",
      init.std !== undefined
        ? randn([outFeatures, inFeatures], { seed: init.seed, std: init.std })
        : rand([outFeatures, inFeatures], { seed: init.seed, low: -bound, high: bound }),
    );
    this.bias = this.param(
      "bias",
      init.std !== undefined
        ? zeros([outFeatures])
        : rand([outFeatures], { seed: init.seed + 1, low: -bound, high: bound }),
    );
  }

  /**
   * x [..., in] → x·Wᵀ [..., out], without the bias. Fused epilogues (bias + GELU, bias +
   * residual + LayerNorm) call this and add {@linkcode Linear.bias} themselves, so a subclass
   * that overrides it (e.g. a LoRA adapter adding B·A·x) is honoured on every path.
   */
  project(x: Tensor): Tensor {
    return matmul(x, this.weight, { transB: true });
  }

  /** x [..., in] → x·Wᵀ + b [..., out] */
  forward(x: Tensor): Tensor {
    return add(this.project(x), this.bias);
  }
}

/**
 * LayerNorm over the last dim with weight (γ) and bias (β), as torch.nn.LayerNorm.
 *
 * @example
 * ```ts
 * import { initGpu, LayerNorm, Tensor } from "webgpu-bert";
 * await initGpu();
 * const ln = new LayerNorm(2, 1e-12);
 * console.log(await ln.forward(Tensor.fromArray([1, 3], [1, 2])).toArray()); // ≈ [-1, 1]
 * ```
 */
export class LayerNorm extends Module {
  /** γ [dim] */
  readonly weight: Tensor;
  /** β [dim] */
  readonly bias: Tensor;

  /** Normalizes vectors of size `dim`; `eps` is added to the variance. */
  constructor(readonly dim: number, readonly eps = 1e-12) {
    super();
    this.weight = this.param("weight", ones([dim]));
    this.bias = this.param("bias", zeros([dim]));
  }

  /** x [..., dim] → [..., dim] */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/**
 * A lookup table of `count` vectors of size `dim`, as torch.nn.Embedding.
 *
 * @example
 * ```ts
 * import { Embedding, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const emb = new Embedding(10, 4, { seed: 0, std: 0.02 });
 * console.log(emb.forward(Tensor.fromArray(new Int32Array([1, 2]), [1, 2])).shape); // [1, 2, 4]
 * ```
 */
export class Embedding extends Module {
  /** [count, dim] */
  readonly weight: Tensor;

  /**
   * `count` rows of size `dim`, drawn from N(0, init.std ?? 1); row `paddingIdx` starts at
   * zero and gets no gradient, as torch's `padding_idx` (-1: none).
   */
  constructor(
    readonly count: number,
    readonly dim: number,
    init: InitOptions,
    readonly paddingIdx = -1,
  ) {
    super();
    this.weight = this.param(
      "weight",
      randn([count, dim], { seed: init.seed, std: init.std ?? 1 }),
    );
    // torch zeroes the padding row at init, as nn.Embedding(padding_idx=...) does.
    if (paddingIdx >= 0 && paddingIdx < count) {
      this.weight.write(new Float32Array(dim), paddingIdx * dim);
    }
  }

  /** ids (i32) [...] → [..., dim] */
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight, this.paddingIdx);
  }
}

/**
 * One LSTM layer, as torch.nn.LSTM(inputSize, hiddenSize, batch_first=True, bidirectional):
 * parameters `weight_ih_l0` [4H, I], `weight_hh_l0` [4H, H], `bias_ih_l0`, `bias_hh_l0` [4H]
 * (gates i, f, g, o), and the same with `_reverse` for the backward direction; PyTorch's init,
 * U(±1/√H) for all of them. See {@linkcode lstm} for `lengths` (packed sequences).
 *
 * @example
 * ```ts
 * import { initGpu, Lstm, Tensor } from "webgpu-bert";
 * await initGpu();
 * const rnn = new Lstm(3, 4, { seed: 0, bidirectional: true });
 * const y = rnn.forward(Tensor.fromArray(new Float32Array(2 * 5 * 3), [2, 5, 3]), [5, 2]);
 * console.log(y.shape, rnn.namedParameters().length); // [2, 5, 8] 8
 * ```
 */
export class Lstm extends Module {
  /** The forward direction's weights, then the backward one's when bidirectional. */
  readonly directions: readonly LstmWeights[];

  /** A layer from `inputSize` to `hiddenSize` per direction, drawn from `opts.seed`. */
  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    opts: { seed: number; bidirectional?: boolean },
  ) {
    super();
    const bound = 1 / Math.sqrt(hiddenSize);
    let k = 0;
    const u = (name: string, shape: number[]) =>
      this.param(name, rand(shape, { seed: opts.seed + k++, low: -bound, high: bound }));
    const g = 4 * hiddenSize;
    this.directions = (opts.bidirectional ? ["", "_reverse"] : [""]).map((sfx) => ({
      weightIh: u(`weight_ih_l0${sfx}`, [g, inputSize]),
      weightHh: u(`weight_hh_l0${sfx}`, [g, hiddenSize]),
      biasIh: u(`bias_ih_l0${sfx}`, [g]),
      biasHh: u(`bias_hh_l0${sfx}`, [g]),
    }));
  }

  /** x [B, S, I] → [B, S, H], or [B, S, 2H] when bidirectional (forward states first). */
  forward(x: Tensor, lengths?: ArrayLike<number>): Tensor {
    return lstm(x, this.directions, lengths);
  }
}
