// Dynamic loss scaling for f16 matmuls, kept on the GPU: the scale, the run of good steps and
// the count of skipped steps live in one-element tensors that one small kernel updates per
// step, so a training step reads nothing back.

import { f32, i32, launch, u32 } from "../gpu/kernel.ts";
import { keep, Tensor } from "../tensor.ts";
import { fill, mul } from "../ops/elementwise.ts";

/** The rule's constants; the defaults are torch.cuda.amp.GradScaler's. */
export interface LossScalerOptions {
  /** The first scale; default 2^16. */
  initScale?: number;
  /** Factor applied after `growthInterval` finite steps in a row; default 2. */
  growthFactor?: number;
  /** Factor applied after a non-finite step; default 0.5. */
  backoffFactor?: number;
  /** Finite steps in a row before the scale grows; default 2000. */
  growthInterval?: number;
  /**
   * A scale that would back off below this becomes NaN (default 2^-24): gradients that are
   * still not finite at such a scale are not an f16 overflow, and a guard on the scale
   * (`nonFiniteGuard`) stops the run instead of skipping steps forever.
   */
  minScale?: number;
}

/** The scaler's state, as saved with a training checkpoint. */
export interface LossScalerState {
  /** The current scale S. */
  scale: number;
  /** Finite steps since the scale last changed (torch's growth tracker). */
  goodSteps: number;
  /** Steps skipped so far because their gradients were not finite. */
  skipped: number;
}

/**
 * Dynamic loss scaling as torch.cuda.amp.GradScaler does it, with no readback: multiply the
 * loss by S before `backward` ({@linkcode LossScaler.scaleLoss}), then give the norm of the
 * (scaled) gradients to {@linkcode LossScaler.update}, which returns AdamW's gradient scale:
 * `clip(norm / S) / S` when the norm is finite, and NaN, which makes AdamW skip the step
 * exactly (pass {@linkcode LossScaler.skipped} to `AdamW.step` so that its bias corrections
 * skip it too), when it is not; then S halves. S doubles after 2000 finite steps in a row.
 * An overflow shows as a non-finite norm: f16 matmul operands beyond ±65504 become ±inf.
 *
 * @example
 * ```ts
 * import { AdamW, backward, gradNorm, initGpu, LossScaler, mul, sum, Tensor } from "webgpu-bert";
 * await initGpu();
 * const w = Tensor.fromArray([1, 2]);
 * w.requiresGrad = true;
 * const opt = new AdamW([{ params: [w], lr: 0.1, weightDecay: 0 }]);
 * const scaler = new LossScaler();
 * backward(scaler.scaleLoss(sum(mul(w, w))));
 * opt.step(1, scaler.update(gradNorm([w]), 1.0), scaler.skipped);
 * opt.zeroGrad();
 * console.log(await scaler.state()); // { scale: 65536, goodSteps: 1, skipped: 0 }
 * ```
 */
export class LossScaler {
  /** S, one f32 element. */
  readonly scale: Tensor;
  /** Finite steps since S last changed, one i32 element. */
  readonly goodSteps: Tensor;
  /** Steps skipped so far, one i32 element (for `AdamW.step`'s `skipped`). */
  readonly skipped: Tensor;
  /** Factor applied after `growthInterval` finite steps in a row. */
  readonly growthFactor: number;
  /** Factor applied after a non-finite step. */
  readonly backoffFactor: number;
  /** Finite steps in a row before S grows. */
  readonly growthInterval: number;
  /** A scale that would back off below this becomes NaN. */
  readonly minScale: number;

  /** A scaler at `initScale` with no steps counted. */
  constructor(opts: LossScalerOptions = {}) {
    this.growthFactor = opts.growthFactor ?? 2;
    this.backoffFactor = opts.backoffFactor ?? 0.5;
    this.growthInterval = opts.growthInterval ?? 2000;
    this.minScale = opts.minScale ?? 2 ** -24;
    const init = opts.initScale ?? 2 ** 16;
    if (!(init > 0) || !Number.isFinite(init)) {
      throw new Error(`LossScaler: initScale must be positive, got ${init}`);
    }
    if (!(this.growthFactor >= 1) || !(this.backoffFactor > 0 && this.backoffFactor < 1)) {
      throw new Error("LossScaler: needs growthFactor >= 1 and 0 < backoffFactor < 1");
    }
    if (!Number.isInteger(this.growthInterval) || this.growthInterval < 1) {
      throw new Error(`LossScaler: growthInterval must be a positive integer`);
    }
    this.scale = keep(fill([1], init));
    this.goodSteps = keep(fill([1], 0, "i32"));
    this.skipped = keep(fill([1], 0, "i32"));
  }

  /** `loss * S`, recorded, so that `backward` of it gives gradients scaled by S. */
  scaleLoss(loss: Tensor): Tensor {
    if (loss.size !== 1) throw new Error(`LossScaler: loss must be a scalar, got [${loss.shape}]`);
    return mul(loss, this.scale.view(loss.shape));
  }

  /**
   * Ends a step given the global norm of the scaled gradients: returns the one-element
   * gradient scale for `AdamW.step` (`min(1, maxNorm / (norm / S + 1e-6)) / S`, or `1 / S`
   * without `maxNorm`; NaN when the norm is not finite, which skips the step) and updates S,
   * the good-step run and the skip count, all on the GPU.
   */
  update(norm: Tensor, maxNorm?: number): Tensor {
    if (norm.size !== 1) throw new Error(`LossScaler: norm must be one element`);
    const coef = Tensor.empty([1]);
    launch({
      shader: "optim",
      entry: "loss_scale",
      params: [
        f32(maxNorm ?? 0),
        u32(maxNorm === undefined ? 0 : 1),
        f32(this.growthFactor),
        f32(this.backoffFactor),
        i32(this.growthInterval),
        f32(this.minScale),
      ],
      bindings: [
        norm.binding(0, 1),
        this.scale.binding(),
        this.goodSteps.binding(),
        this.skipped.binding(),
        coef.binding(),
      ],
      workgroups: [1],
    });
    return coef;
  }

  /** Reads the state back (a GPU sync: for logs and checkpoints, not every step). */
  async state(): Promise<LossScalerState> {
    return {
      scale: await this.scale.item(),
      goodSteps: await this.goodSteps.item(),
      skipped: await this.skipped.item(),
    };
  }

  /** Restores a state saved by {@linkcode LossScaler.state}. */
  loadState(s: LossScalerState): void {
    const ok = s.scale > 0 && [s.goodSteps, s.skipped].every((n) => Number.isInteger(n) && n >= 0);
    if (!ok) throw new Error(`LossScaler: bad state ${JSON.stringify(s)}`);
    this.scale.write(Float32Array.of(s.scale));
    this.goodSteps.write(Int32Array.of(s.goodSteps));
    this.skipped.write(Int32Array.of(s.skipped));
  }

  /** Releases the GPU state. */
  dispose(): void {
    for (const t of [this.scale, this.goodSteps, this.skipped]) t.dispose();
  }
}
