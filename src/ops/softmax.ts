// Softmax over the last dim with an optional additive attention mask, and its backward.

import { accumulateGrad, record } from "../autograd.ts";
import { grid, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";

/**
 * Softmax over the last dim of `x` [..., Sk]. With `mask`, `x` must be [B, H, Sq, Sk] and
 * `mask` is an additive mask [B, Sk] (0 to keep, a large negative such as float32 min to
 * drop, as HF's extended attention mask) added before the softmax and broadcast over heads
 * and query rows. A fully masked row gives a finite result (uniform when every key carries
 * the same mask value). Differentiable in `x`; the mask is a constant and gets no gradient.
 *
 * @example
 * ```ts
 * import { initGpu, softmax, Tensor } from "webgpu-bert";
 * await initGpu();
 * const x = Tensor.fromArray([1, 2, 3, 0], [1, 1, 1, 4]);
 * const mask = Tensor.fromArray([0, 0, 0, -1e9], [1, 4]);
 * console.log(await softmax(x, mask).toArray()); // ≈ [0.090, 0.245, 0.665, 0]
 * ```
 */
export function softmax(x: Tensor, mask?: Tensor): Tensor {
  const n = x.shape.at(-1) ?? 0;
  if (n < 1) throw new Error(`softmax: x [${x.shape}] needs a non-empty last dim`);
  const rows = x.size / n;
  let per = rows;
  if (mask) {
    const [b, , , sk] = x.shape;
    if (x.shape.length !== 4 || mask.shape.join() !== [b, sk].join()) {
      throw new Error(`softmax: mask [${mask.shape}] needs x [B, H, Sq, Sk] and mask [B, Sk]`);
    }
    per = x.shape[1] * x.shape[2];
  }
  const y = Tensor.empty(x.shape);
  launch({
    shader: "softmax",
    entry: "forward",
    params: [u32(rows), u32(n), u32(Math.max(1, per)), u32(mask ? 1 : 0)],
    // Without a mask, x stands in for it (both read-only) so one entry point serves both cases.
    bindings: [x.binding(), (mask ?? x).binding(), y.binding()],
    workgroups: grid(rows, 1),
  });
  // Only x is an input of the graph: a mask that requires grad still receives nothing.
  return record(y, [x], (g) => {
    if (!x.requiresGrad) return;
    const dx = Tensor.empty(x.shape);
    launch({
      shader: "softmax",
      entry: "backward",
      params: [u32(rows), u32(n), u32(1), u32(0)],
      bindings: [y.binding(), g.binding(), dx.binding()],
      workgroups: grid(rows, 1),
    });
    accumulateGrad(x, dx);
  });
}
