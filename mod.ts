/**
 * A WebGPU deep-learning framework for Deno: tensors, reverse-mode autograd and
 * hand-written WGSL kernels for BERT.
 *
 * @example
 * ```ts
 * import { backward, initGpu, mean, mul, Tensor } from "./mod.ts";
 * await initGpu();
 * const w = Tensor.fromArray([1, 2, 3]);
 * w.requiresGrad = true;
 * backward(mean(mul(w, w)));
 * console.log(await w.grad!.toArray());
 * ```
 * @module
 */

export * from "./src/gpu/device.ts";
export * from "./src/gpu/errors.ts";
export type { PoolStats } from "./src/gpu/pool.ts";
export { counters, sync } from "./src/gpu/kernel.ts";
export * from "./src/tensor.ts";
export * from "./src/autograd.ts";
export * from "./src/ops/elementwise.ts";
export * from "./src/ops/reduce.ts";
