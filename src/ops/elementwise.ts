// Elementwise add/sub/mul/scale with bias-vector broadcasting, and fills.
// Shapes: `b` is `a`'s shape or a suffix of it (e.g. a [M, N], bias [N]).

import { accumulateGrad, record } from "../autograd.ts";
import { f32, grid, launch, u32 } from "../gpu/kernel.ts";
import { type DType, Tensor } from "../tensor.ts";
import { sumToShape } from "./reduce.ts";

function broadcastable(a: Tensor, b: Tensor): boolean {
  const k = a.shape.length - b.shape.length;
  return k >= 0 && b.shape.every((d, i) => d === a.shape[k + i]);
}

function binary(entry: "add" | "mul", a: Tensor, b: Tensor, s: number): Tensor {
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

/** Orders operands so the second broadcasts over the first. */
function order(a: Tensor, b: Tensor, op: string): [Tensor, Tensor] {
  if (broadcastable(a, b)) return [a, b];
  if (broadcastable(b, a)) return [b, a];
  throw new Error(`${op}: shapes [${a.shape}] and [${b.shape}] do not broadcast`);
}

/**
 * `a + b`, where either may be a suffix-shaped bias broadcast over the other.
 *
 * @example
 * ```ts
 * import { add, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const y = add(Tensor.fromArray([1, 2, 3, 4], [2, 2]), Tensor.fromArray([10, 20]));
 * console.log(await y.toArray()); // [11, 22, 13, 24]
 * ```
 */
export function add(a: Tensor, b: Tensor): Tensor {
  const [x, z] = order(a, b, "add");
  return addScaled(x, z, 1);
}

/** `a - b`, with the same broadcasting as {@linkcode add}. */
export function sub(a: Tensor, b: Tensor): Tensor {
  if (!broadcastable(a, b)) {
    throw new Error(`sub: [${b.shape}] does not broadcast over [${a.shape}]`);
  }
  return addScaled(a, b, -1);
}

function addScaled(a: Tensor, b: Tensor, s: number): Tensor {
  const y = binary("add", a, b, s);
  return record(y, [a, b], (g) => {
    if (a.requiresGrad) accumulateGrad(a, g.view());
    if (b.requiresGrad) accumulateGrad(b, sumToShape(g, b.shape, s));
  });
}

/**
 * `a * b` elementwise, where either may be a suffix-shaped vector broadcast over the other.
 *
 * @example
 * ```ts
 * import { initGpu, mul, Tensor } from "webgpu-bert";
 * await initGpu();
 * console.log(await mul(Tensor.fromArray([1, 2]), Tensor.fromArray([3, 4])).toArray()); // [3, 8]
 * ```
 */
export function mul(x: Tensor, z: Tensor): Tensor {
  const [a, b] = order(x, z, "mul");
  const y = binary("mul", a, b, 1);
  return record(y, [a, b], (g) => {
    if (a.requiresGrad) accumulateGrad(a, binary("mul", g, b, 1));
    if (b.requiresGrad) {
      const ga = binary("mul", g, a, 1);
      accumulateGrad(b, sumToShape(ga, b.shape));
      ga.dispose();
    }
  });
}

/**
 * `a * s` for a number `s`.
 *
 * @example
 * ```ts
 * import { initGpu, scale, Tensor } from "webgpu-bert";
 * await initGpu();
 * console.log(await scale(Tensor.fromArray([1, 2]), 0.5).toArray()); // [0.5, 1]
 * ```
 */
export function scale(a: Tensor, s: number): Tensor {
  const y = Tensor.empty(a.shape);
  launch({
    shader: "elementwise",
    entry: "scale",
    params: [u32(a.size), f32(s)],
    bindings: [a.binding(), y.binding()],
    workgroups: grid(a.size, 256),
  });
  return record(y, [a], (g) => accumulateGrad(a, scale(g, s)));
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

/** `a + b` for same-sized tensors, never recorded: gradient accumulation. */
export function addInto(a: Tensor, b: Tensor): Tensor {
  return binary("add", a, b, 1);
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

/** Zeros of `shape`. */
export function zeros(shape: readonly number[], dtype: DType = "f32"): Tensor {
  return fill(shape, 0, dtype);
}

/** Ones of `shape`. */
export function ones(shape: readonly number[], dtype: DType = "f32"): Tensor {
  return fill(shape, 1, dtype);
}

/** Largest element count one binding may cover, aligned for binding offsets. */
export function chunkElements(): number {
  // 64 MiB keeps every range under maxStorageBufferBindingSize on all adapters seen,
  // and its offsets are multiples of the 256-byte binding alignment.
  return 16 * 1024 * 1024;
}
