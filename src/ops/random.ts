// Seeded random tensors generated on the GPU from a counter-based hash of (seed, index):
// the same seed gives the same values on every run, whatever the tensor's size.

import { f32, grid, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { chunkElements } from "./elementwise.ts";

/** Overwrites `t` with `a + b * sample`, in ranges that one binding can cover. */
function fillRandom(t: Tensor, entry: string, seed: number, a: number, b: number): void {
  if (t.dtype !== "f32") throw new Error(`random fill needs an f32 tensor, got ${t.dtype}`);
  const chunk = chunkElements();
  for (let start = 0; start < t.size; start += chunk) {
    const n = Math.min(chunk, t.size - start);
    launch({
      shader: "random",
      entry,
      params: [u32(n), u32(start), u32(seed >>> 0), f32(a), f32(b)],
      bindings: [t.binding(start, n)],
      workgroups: grid(n, 256),
    });
  }
}

/**
 * Overwrites `t` with normal samples (Box-Muller on a hash of seed and index), e.g. to
 * initialize a model's weights in place. Tensors over one binding's size (mBERT's word
 * embedding is 350 MiB) are filled by ranges. `seed` is taken modulo 2^32.
 *
 * @example
 * ```ts
 * import { initGpu, randnInPlace, Tensor } from "webgpu-bert";
 * await initGpu();
 * const w = Tensor.empty([768, 768]);
 * randnInPlace(w, { seed: 1, std: 0.02 });
 * ```
 */
export function randnInPlace(
  t: Tensor,
  opts: { seed: number; mean?: number; std?: number },
): void {
  fillRandom(t, "fill_normal", opts.seed, opts.mean ?? 0, opts.std ?? 1);
}

/**
 * A tensor of normal samples with the given mean and standard deviation; see
 * {@linkcode randnInPlace}.
 *
 * @example
 * ```ts
 * import { initGpu, randn } from "webgpu-bert";
 * await initGpu();
 * const x = randn([2, 3], { seed: 7 });
 * console.log(await x.toArray()); // six standard normal samples, equal on every run
 * ```
 */
export function randn(
  shape: readonly number[],
  opts: { seed: number; mean?: number; std?: number },
): Tensor {
  const t = Tensor.empty(shape);
  randnInPlace(t, opts);
  return t;
}

/**
 * A tensor of uniform samples in [low, high) with 24 random bits each, from a hash of
 * seed and index. `seed` is taken modulo 2^32.
 *
 * @example
 * ```ts
 * import { initGpu, rand } from "webgpu-bert";
 * await initGpu();
 * const u = rand([4], { seed: 3, low: -1, high: 1 });
 * console.log(await u.toArray()); // four values in [-1, 1)
 * ```
 */
export function rand(
  shape: readonly number[],
  opts: { seed: number; low?: number; high?: number },
): Tensor {
  const t = Tensor.empty(shape);
  const low = opts.low ?? 0;
  fillRandom(t, "fill_uniform", opts.seed, low, (opts.high ?? 1) - low);
  return t;
}
