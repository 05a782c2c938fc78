// Dropout with a mask hashed from (seed, element index): nothing is stored for the
// backward, which applies the same kernel, with the same seed, to the gradient.

import { accumulateGrad, record } from "../autograd.ts";
import { f32, grid, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { chunkElements } from "./elementwise.ts";

/** `x * keep / (1 - p)` with keep hashed from (seed, index), never recorded. */
function masked(x: Tensor, p: number, seed: number): Tensor {
  const y = Tensor.empty(x.shape);
  const threshold = Math.min(0xffffffff, Math.floor(p * 2 ** 32));
  const chunk = chunkElements();
  for (let start = 0; start < y.size; start += chunk) {
    const n = Math.min(chunk, y.size - start);
    launch({
      shader: "dropout",
      entry: "dropout",
      params: [u32(n), u32(start), u32(seed), u32(threshold), f32(1 / (1 - p))],
      bindings: [x.binding(start, n), y.binding(start, n)],
      workgroups: grid(n, 256),
    });
  }
  return y;
}

/**
 * Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)`. The mask
 * depends only on `seed` (taken modulo 2^32) and the element's index, so equal seeds give
 * bitwise-equal results; derive a seed per layer and step with {@linkcode deriveSeed}.
 * With `p = 0` or `training = false` it returns a view of `x` (identity).
 *
 * @throws {RangeError} if `p` is not in [0, 1).
 * @example
 * ```ts
 * import { deriveSeed, dropout, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const x = Tensor.fromArray([1, 2, 3, 4]);
 * const y = dropout(x, 0.5, deriveSeed(42, 0, 0));
 * console.log(await y.toArray()); // each element is 0 or twice x
 * ```
 */
export function dropout(x: Tensor, p: number, seed: number, training = true): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (x.dtype !== "f32") throw new Error(`dropout: needs an f32 tensor, got ${x.dtype}`);
  if (p === 0 || !training) {
    return record(x.view(), [x], (g) => {
      if (x.requiresGrad) accumulateGrad(x, g.view());
    });
  }
  const s = seed >>> 0;
  const y = masked(x, p, s);
  return record(y, [x], (g) => {
    if (x.requiresGrad) accumulateGrad(x, masked(g, p, s));
  });
}

// murmur3's 32-bit finalizer: a bijection with full avalanche.
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A dropout seed for one call site at one training step, derived from a run's seed, so
 * that every layer and step draws a distinct mask and a rerun draws the same ones.
 * Arguments are taken modulo 2^32; the result is an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { deriveSeed } from "webgpu-bert";
 * const attentionSeed = deriveSeed(42, 1000, 3); // run seed 42, step 1000, site 3
 * console.log(attentionSeed === deriveSeed(42, 1000, 3)); // true
 * ```
 */
export function deriveSeed(seed: number, step: number, site: number): number {
  // Each stage is a bijection of the previous state xor one input, so for a fixed seed,
  // distinct steps give distinct states before the site is mixed in.
  let h = fmix32((seed ^ 0x6a09e667) >>> 0);
  h = fmix32((h ^ step) >>> 0);
  h = fmix32((Math.imul(h, 0x9e3779b9) ^ site) >>> 0);
  return h;
}
