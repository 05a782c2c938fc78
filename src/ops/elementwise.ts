// Elementwise add/sub/mul/scale with bias-vector broadcasting, and fills.
// Shapes: `b` is `a`'s shape or a suffix of it (e.g. a [M, N], bias [N]).

import { accumulateGrad, record } from "../autograd.ts";
import { f32, grid, launch, u32 } from "../gpu/kernel.ts";
import { type DType, Tensor } from "../tensor.ts";
import { binary, fill } from "../primitives.ts";
import { sumToShape } from "./reduce.ts";

// The unrecorded kernels live below the tape (autograd needs them); ops import them from here.
export { addInto, chunkElements, expand, fill, fillInPlace } from "../primitives.ts";

function broadcastable(a: Tensor, b: Tensor): boolean {
  const k = a.shape.length - b.shape.length;
  return k >= 0 && b.shape.every((d, i) => d === a.shape[k + i]);
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

/** Zeros of `shape`. */
export function zeros(shape: readonly number[], dtype: DType = "f32"): Tensor {
  return fill(shape, 0, dtype);
}

/** Ones of `shape`. */
export function ones(shape: readonly number[], dtype: DType = "f32"): Tensor {
  return fill(shape, 1, dtype);
}
