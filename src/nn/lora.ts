// LoRA (Hu et al. 2021) as PEFT computes it: the frozen layer plus a trainable low-rank update.
// It overrides `Linear.project`, the seam every path goes through (fused bias + GELU, fused
// bias + residual + LayerNorm), so the update is applied wherever the layer is used.

import { Linear } from "./layers.ts";
import { keep, type Tensor } from "../tensor.ts";
import { noGrad } from "../autograd.ts";
import { add, scale, zeros } from "../ops/elementwise.ts";
import { matmul } from "../ops/matmul.ts";
import { rand } from "../ops/random.ts";

/**
 * Where an adapter's input dropout draws its masks: the model's dropout seeding (the encoder's
 * `DropoutCtx`), so that masks are a function of (seed, step, site) and resume stays bit-exact.
 */
export interface DropoutSource {
  /** `x` with dropout `p` at the next site while `training`, else `x` itself. */
  next(x: Tensor, p: number, training: boolean): Tensor;
}

/** The hyperparameters of one {@linkcode LoraLinear}. */
export interface LoraLayerOptions {
  /** The rank r of the update (PEFT's `r`). */
  r: number;
  /** PEFT's `lora_alpha`: the update is scaled by alpha / r (alpha / √r with `rslora`). */
  alpha: number;
  /** Dropout on the adapter's input only (PEFT's `lora_dropout`); 0 by default. */
  dropout?: number;
  /** Where dropout masks come from; required when `dropout` > 0. */
  drop?: DropoutSource;
  /** Seed of A's uniform init. */
  seed: number;
  /** PEFT's `use_rslora`: scale by alpha / √r. */
  rslora?: boolean;
}

/**
 * A {@linkcode Linear} with a LoRA update, PEFT's `y = W x + b + (alpha / r) · B(A(dropout(x)))`:
 * the wrapped layer's weight and bias are adopted and frozen; `lora_A.weight` [r, in] starts
 * kaiming-uniform with a = √5 (U(±1/√in), as PEFT's `reset_lora_parameters`) and
 * `lora_B.weight` [out, r] at zero, so the layer starts equal to the one it wraps. Parameter
 * names are those of PEFT's saved adapters: `weight`, `bias`, `lora_A.weight`, `lora_B.weight`.
 *
 * @example
 * ```ts
 * import { initGpu, Linear, LoraLinear, Tensor } from "webgpu-bert";
 * await initGpu();
 * const fc = new LoraLinear(new Linear(4, 3, { seed: 0 }), { r: 2, alpha: 4, seed: 1 });
 * console.log(fc.namedTrainableParameters().map(([n, t]) => `${n} [${t.shape}]`));
 * // ["lora_A.weight [2,4]", "lora_B.weight [3,2]"]
 * console.log(fc.forward(Tensor.fromArray([1, 2, 3, 4], [1, 4])).shape); // [1, 3]
 * ```
 */
export class LoraLinear extends Linear {
  /** A [r, in]. */
  readonly loraA: Tensor;
  /** B [out, r]. */
  readonly loraB: Tensor;
  /** The rank r. */
  readonly r: number;
  /** PEFT's `lora_alpha`. */
  readonly alpha: number;
  /** Dropout probability on the adapter's input. */
  readonly dropout: number;
  /** The factor of B·A: alpha / r, or alpha / √r with rslora. */
  readonly scaling: number;
  readonly #drop?: DropoutSource;

  /** Wraps `base` (whose weight and bias it adopts and freezes) with a rank-`opts.r` update. */
  constructor(base: Linear, opts: LoraLayerOptions) {
    if (!(Number.isInteger(opts.r) && opts.r > 0)) {
      throw new RangeError(`LoRA rank r must be a positive integer, got ${opts.r}`);
    }
    if (!(Number.isFinite(opts.alpha) && opts.alpha > 0)) {
      throw new RangeError(`LoRA alpha must be positive, got ${opts.alpha}`);
    }
    const p = opts.dropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new RangeError(`LoRA dropout must be in [0, 1), got ${p}`);
    if (p > 0 && !opts.drop) throw new Error("LoRA dropout > 0 needs a dropout source (drop)");
    base.weight.requiresGrad = false;
    base.bias.requiresGrad = false;
    super(base.inFeatures, base.outFeatures, { weight: base.weight, bias: base.bias });
    this.training = base.training;
    this.r = opts.r;
    this.alpha = opts.alpha;
    this.dropout = p;
    this.scaling = opts.rslora ? opts.alpha / Math.sqrt(opts.r) : opts.alpha / opts.r;
    this.#drop = opts.drop;
    // torch's kaiming_uniform_(a=√5) on [r, in]: gain √(2 / (1 + 5)), bound gain·√(3 / in).
    const bound = 1 / Math.sqrt(base.inFeatures);
    // Kept: an adapter added inside a scope must outlive it, as the weights it sits on do.
    this.loraA = this.param(
      "lora_A.weight",
      keep(rand([opts.r, base.inFeatures], { seed: opts.seed, low: -bound, high: bound })),
    );
    this.loraB = this.param("lora_B.weight", keep(zeros([base.outFeatures, opts.r])));
  }

  /** x [..., in] → x·Wᵀ + scaling · (dropout(x)·Aᵀ)·Bᵀ [..., out], without the bias. */
  override project(x: Tensor): Tensor {
    const d = this.dropout > 0 ? this.#drop!.next(x, this.dropout, this.training) : x;
    // The scaling goes on the rank-r activations, the smallest tensor of the update.
    const low = scale(matmul(d, this.loraA, { transB: true }), this.scaling);
    return add(super.project(x), matmul(low, this.loraB, { transB: true }));
  }

  /**
   * W + scaling · B·A [out, in], a new tensor (not recorded): the weight of a plain Linear
   * that computes what this layer does without dropout.
   */
  mergedWeight(): Tensor {
    return noGrad(() => {
      const ba = matmul(this.loraB, this.loraA);
      const delta = scale(ba, this.scaling);
      ba.dispose();
      const w = add(this.weight, delta);
      delta.dispose();
      return keep(w);
    });
  }
}
