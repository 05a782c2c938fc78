/**
 * HF's `get_linear_schedule_with_warmup` as a multiplier of the base lr: rises linearly from 0
 * over `warmup` steps, then falls linearly to 0 at `total`. `step` counts optimizer steps from 0.
 *
 * @example
 * ```ts
 * import { linearWarmupDecay } from "webgpu-bert";
 * console.log(linearWarmupDecay(5, 10, 110)); // 0.5
 * ```
 */
export function linearWarmupDecay(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}
