// The axis-swap copy behind swapAxes12, also used by matmul to untranspose small weights.

import { grid, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";

/**
 * x's elements read as [A, B, C, D] (default: its own 4-D shape), copied to a contiguous
 * [A, C, B, D] tensor. Never recorded on the tape.
 */
export function swapCopy(x: Tensor, dims: readonly number[] = x.shape): Tensor {
  const [a, b, c, d] = dims;
  const y = Tensor.empty([a, c, b, d], x.dtype);
  launch({
    shader: "permute",
    entry: "swap12",
    params: [u32(y.size), u32(b), u32(c), u32(d)],
    bindings: [x.binding(), y.binding()],
    workgroups: grid(y.size, 256),
  });
  return y;
}
