// A range of the last dim, e.g. the start and end logits of BertForQuestionAnswering ([B, S, 2]).

import { accumulateGrad, record } from "../autograd.ts";
import { grid, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";

/**
 * `x[..., start:end]` as a contiguous copy. The backward scatters the gradient into zeros
 * of x's shape.
 *
 * @throws {RangeError} unless `0 <= start <= end <= x.shape.at(-1)` are integers.
 * @example
 * ```ts
 * import { initGpu, sliceLastDim, Tensor } from "webgpu-bert";
 * await initGpu();
 * const logits = Tensor.fromArray([1, 2, 3, 4], [1, 2, 2]); // [B, S, 2]
 * const start = sliceLastDim(logits, 0, 1); // [1, 2, 1]
 * console.log(await start.toArray()); // [1, 3]
 * ```
 */
export function sliceLastDim(x: Tensor, start: number, end: number): Tensor {
  const cols = x.shape.at(-1);
  if (
    cols === undefined || !Number.isInteger(start) || !Number.isInteger(end) || start < 0 ||
    start > end || end > cols
  ) {
    throw new RangeError(`sliceLastDim: [${start}, ${end}) is not a range of [${x.shape}]`);
  }
  const width = end - start;
  const y = Tensor.empty([...x.shape.slice(0, -1), width], x.dtype);
  launch({
    shader: "slice",
    entry: "slice",
    params: [u32(y.size), u32(cols), u32(width), u32(start)],
    bindings: [x.binding(), y.binding()],
    workgroups: grid(y.size, 256),
  });
  return record(y, [x], (g) => {
    if (!x.requiresGrad) return;
    const dx = Tensor.empty(x.shape);
    launch({
      shader: "slice",
      entry: "slice_grad",
      params: [u32(x.size), u32(cols), u32(width), u32(start)],
      bindings: [g.binding(), dx.binding()],
      workgroups: grid(x.size, 256),
    });
    accumulateGrad(x, dx);
  });
}
