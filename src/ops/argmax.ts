// Row-wise argmax, for accuracies (masked-token predictions over a vocabulary) computed on the
// GPU, so that only one index per row is read back instead of the whole row.

import { grid, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { byRowRange } from "./_rows.ts";

/**
 * The index of the largest value of each row of `x` (f32 `[N, C]`), as i32 `[N]`; the first
 * one on ties and a NaN wins, as `torch.argmax`. It has no gradient (an index is piecewise
 * constant in `x`), so it records nothing on the tape.
 *
 * @example
 * ```ts
 * import { argmaxRows, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const x = Tensor.fromArray([1, 3, 3, 0, -1, -2], [2, 3]);
 * console.log(await argmaxRows(x).toArray()); // [1, 0]
 * ```
 */
export function argmaxRows(x: Tensor): Tensor {
  if (x.shape.length !== 2 || x.dtype !== "f32") {
    throw new Error(`argmaxRows: x must be f32 [N, C], got ${x.dtype} [${x.shape}]`);
  }
  const [n, c] = x.shape;
  if (c === 0) throw new Error("argmaxRows: rows are empty");
  const out = Tensor.empty([n], "i32");
  byRowRange(n, c, "argmaxRows", (r0, rows) =>
    launch({
      shader: "argmax",
      entry: "rows",
      params: [u32(rows), u32(c), u32(r0)],
      bindings: [x.binding(r0 * c, rows * c), out.binding()],
      workgroups: grid(rows, 1),
    }));
  return out;
}
