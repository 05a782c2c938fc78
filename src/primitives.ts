// The unrecorded elementwise kernels that the tape itself needs (a same-size add to accumulate
// gradients, a fill to seed the loss's), below both autograd and the ops so that neither
// imports the other in a circle. Ops re-export them from src/ops/elementwise.ts.

import { f32, grid, launch, u32 } from "./gpu/kernel.ts";
import { type DType, Tensor } from "./tensor.ts";

/** `a + s*b` or `a * b` (entry "add" or "mul"), `b` same-sized or broadcast; never recorded. */
export function binary(entry: "add" | "mul", a: Tensor, b: Tensor, s: number): Tensor {
  const y = Tensor.empty(a.shape);
  // Same-size operands may exceed one binding (e.g. gradients of a 350 MiB embedding): go by ranges.
  const chunk = a.size === b.size ? chunkElements() : a.size;
  for (let start = 0; start < a.size || start === 0; start += chunk) {
    const n = Math.min(chunk, a.size - start);
    const nb = a.size === b.size ? n : Math.max(1, b.size);
    launch({
      shader: "elementwise",
      entry,
      params: [u32(n), u32(nb), f32(s)],
      bindings: [
        a.binding(start, n),
        a.size === b.size ? b.binding(start, n) : b.binding(),
        y.binding(start, n),
      ],
      workgroups: grid(n, 256),
    });
    if (n === 0) break;
  }
  return y;
}

/** `a + b` for same-sized tensors, never recorded: gradient accumulation. */
export function addInto(a: Tensor, b: Tensor): Tensor {
  return binary("add", a, b, 1);
}

/** A tensor of `shape` whose every element is `a[0] * s` (a is one element). */
export function expand(a: Tensor, shape: readonly number[], s = 1): Tensor {
  const y = Tensor.empty(shape);
  launch({
    shader: "elementwise",
    entry: "expand",
    params: [u32(y.size), f32(s)],
    bindings: [a.binding(0, 1), y.binding()],
    workgroups: grid(y.size, 256),
  });
  return y;
}

/**
 * A tensor filled with `value`.
 *
 * @example
 * ```ts
 * import { fill, initGpu } from "webgpu-bert";
 * await initGpu();
 * console.log(await fill([2], 7).toArray()); // [7, 7]
 * ```
 */
export function fill(shape: readonly number[], value: number, dtype: DType = "f32"): Tensor {
  const y = Tensor.empty(shape, dtype);
  fillInPlace(y, value);
  return y;
}

/** Overwrites every element of `t` with `value` (f32, or i32 for i32 tensors). */
export function fillInPlace(t: Tensor, value: number): void {
  const bits = new DataView(new ArrayBuffer(4));
  if (t.dtype === "i32") bits.setInt32(0, value, true);
  else bits.setFloat32(0, value, true);
  const chunk = chunkElements();
  for (let start = 0; start < t.size; start += chunk) {
    const n = Math.min(chunk, t.size - start);
    launch({
      shader: "elementwise",
      entry: "fill",
      params: [u32(n), u32(bits.getUint32(0, true))],
      bindings: [t.binding(start, n)],
      workgroups: grid(n, 256),
    });
  }
}

/** Largest element count one binding may cover, aligned for binding offsets. */
export function chunkElements(): number {
  // 64 MiB keeps every range under maxStorageBufferBindingSize on all adapters seen,
  // and its offsets are multiples of the 256-byte binding alignment.
  return 16 * 1024 * 1024;
}
