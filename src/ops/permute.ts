// Axis swap for attention heads: [B, S, H, Dh] <-> [B, H, S, Dh].

import { accumulateGrad, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { swapCopy } from "./_swap.ts";

/**
 * Swaps axes 1 and 2 of a 4-D tensor, `[A, B, C, D] -> [A, C, B, D]`, as a contiguous copy:
 * BERT splits heads with `[B, S, H, Dh] -> [B, H, S, Dh]` and merges them back with the same
 * call. The backward is the same swap of the gradient.
 *
 * @throws {Error} if `x` is not 4-D.
 * @example
 * ```ts
 * import { initGpu, swapAxes12, Tensor } from "webgpu-bert";
 * await initGpu();
 * const x = Tensor.fromArray([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
 * const y = swapAxes12(x); // shape [1, 3, 2, 1]
 * console.log(await y.toArray()); // [1, 4, 2, 5, 3, 6]
 * ```
 */
export function swapAxes12(x: Tensor): Tensor {
  if (x.shape.length !== 4) throw new Error(`swapAxes12: needs a 4-D tensor, got [${x.shape}]`);
  const y = swapCopy(x);
  return record(y, [x], (g) => {
    if (x.requiresGrad) accumulateGrad(x, swapCopy(g));
  });
}
