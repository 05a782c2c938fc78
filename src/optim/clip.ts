// Global gradient norm and the clipping coefficient, computed on the GPU so that a step
// can clip without reading anything back: AdamW multiplies gradients by the coefficient.

import { f32, grid, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { chunkElements, zeros } from "../ops/elementwise.ts";

// Elements one workgroup squares and sums; divides chunkElements(), so ranges tile exactly.
const PER_GROUP = 8192;

/**
 * The global L2 norm of the gradients of `params` (those without a gradient are skipped),
 * as a one-element tensor, never recorded. Deterministic: each parameter (or 16M-element
 * range of one) has one launch that writes the sums of squares of its fixed-size chunks into
 * its own slots of a partials buffer; a last launch sums the partials and takes the root.
 *
 * @example
 * ```ts
 * import { gradNorm, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const w = Tensor.fromArray([1, 2]);
 * w.grad = Tensor.fromArray([3, 4]);
 * console.log(await gradNorm([w]).item()); // 5
 * ```
 */
export function gradNorm(params: Tensor[]): Tensor {
  const ranges: { g: Tensor; start: number; n: number; base: number }[] = [];
  let slots = 0;
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    for (let start = 0; start < g.size; start += chunkElements()) {
      const n = Math.min(chunkElements(), g.size - start);
      ranges.push({ g, start, n, base: slots });
      slots += Math.ceil(n / PER_GROUP);
    }
  }
  if (slots === 0) return zeros([1]);
  const partial = Tensor.empty([slots]);
  for (const r of ranges) {
    launch({
      shader: "optim",
      entry: "sumsq",
      params: [u32(r.n), u32(PER_GROUP), u32(r.base)],
      bindings: [r.g.binding(r.start, r.n), partial.binding()],
      workgroups: grid(Math.ceil(r.n / PER_GROUP), 1),
    });
  }
  const norm = Tensor.empty([1]);
  launch({
    shader: "optim",
    entry: "l2norm",
    params: [u32(slots)],
    bindings: [partial.binding(), norm.binding()],
    workgroups: [1],
  });
  partial.dispose();
  return norm;
}

/**
 * `min(1, maxNorm / (norm + 1e-6))` as a one-element tensor, the factor by which
 * torch.nn.utils.clip_grad_norm_ scales gradients; pass it to `AdamW.step` as `gradScale`.
 *
 * @example
 * ```ts
 * import { clipCoefficient, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * console.log(await clipCoefficient(Tensor.fromArray([4]), 1).item()); // ≈ 0.25
 * ```
 */
export function clipCoefficient(norm: Tensor, maxNorm: number): Tensor {
  if (norm.size !== 1) {
    throw new Error(`clipCoefficient: norm must be one element, got [${norm.shape}]`);
  }
  const coef = Tensor.empty([1]);
  launch({
    shader: "optim",
    entry: "clip_coef",
    params: [f32(maxNorm)],
    bindings: [norm.binding(), coef.binding()],
    workgroups: [1],
  });
  return coef;
}

/**
 * Records `step` into `firstBad` (i32, one element, initially 0) when `loss` or `norm` is
 * NaN or infinite and no earlier step was recorded: a training loop reads it back with the
 * loss every N steps and stops, naming the step, without a readback per step.
 *
 * @example
 * ```ts
 * import { initGpu, nonFiniteGuard, Tensor, zeros } from "webgpu-bert";
 * await initGpu();
 * const bad = zeros([1], "i32");
 * nonFiniteGuard(Tensor.fromArray([NaN]), Tensor.fromArray([1]), bad, 7);
 * console.log(await bad.item()); // 7
 * ```
 */
export function nonFiniteGuard(loss: Tensor, norm: Tensor, firstBad: Tensor, step: number): void {
  launch({
    shader: "optim",
    entry: "guard",
    params: [u32(step)],
    bindings: [loss.binding(0, 1), norm.binding(0, 1), firstBad.binding(0, 1)],
    workgroups: [1],
  });
}
