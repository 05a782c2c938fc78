// Sum and mean reductions, and the bias-gradient reduction over leading dims.

import { accumulateGrad, record } from "../autograd.ts";
import { f32, grid, launch, u32 } from "../gpu/kernel.ts";
import { numel, Tensor } from "../tensor.ts";
import { expand } from "../primitives.ts";

const CHUNK = 4096;

/** Sum of all elements times `s`, as a one-element tensor, never recorded. */
export function sumAll(x: Tensor, s = 1): Tensor {
  let cur = x;
  let n = x.size;
  do {
    const groups = Math.ceil(n / CHUNK);
    const y = Tensor.empty([groups === 1 ? 1 : groups]);
    launch({
      shader: "reduce",
      entry: "sum_chunks",
      params: [u32(n), u32(1), u32(CHUNK), f32(groups === 1 ? s : 1)],
      bindings: [cur.binding(), y.binding()],
      workgroups: grid(groups, 1),
    });
    if (cur !== x) cur.dispose();
    cur = y;
    n = groups;
  } while (n > 1);
  return cur.view([]);
}

/**
 * Sum of all elements, as a scalar tensor (shape []).
 *
 * @example
 * ```ts
 * import { initGpu, sum, Tensor } from "webgpu-bert";
 * await initGpu();
 * console.log(await sum(Tensor.fromArray([1, 2, 3])).item()); // 6
 * ```
 */
export function sum(x: Tensor): Tensor {
  const y = sumAll(x);
  return record(y, [x], (g) => accumulateGrad(x, expand(g, x.shape)));
}

/** Mean of all elements, as a scalar tensor. */
export function mean(x: Tensor): Tensor {
  const y = sumAll(x, 1 / x.size);
  return record(y, [x], (g) => accumulateGrad(x, expand(g, x.shape, 1 / x.size)));
}

/**
 * Sums `g` over leading dims down to `shape` (a suffix of g's shape), never recorded.
 * This is the gradient of a broadcast.
 */
export function sumToShape(g: Tensor, shape: readonly number[], s = 1): Tensor {
  const cols = numel(shape);
  if (cols === g.size && s === 1) return g.view(shape);
  const y = Tensor.empty(shape);
  launch({
    shader: "reduce",
    entry: "sum_rows",
    params: [u32(g.size / cols), u32(cols), u32(0), f32(s)],
    bindings: [g.binding(), y.binding()],
    workgroups: grid(cols, 256),
  });
  return y;
}
