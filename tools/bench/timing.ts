// Shared timing and data helpers: every measurement is a warm-up, then the median of N runs,
// each run ending when its GPU (or CPU) work has completed.

import { mulberry32 } from "../../src/util/rng.ts";

/** Median of the timed runs, in milliseconds, and the runs themselves. */
export interface Timing {
  /** Median run time. */
  ms: number;
  /** Every timed run, in order. */
  samples: number[];
}

/** Median of `xs` (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `run` `warmup` times untimed, then `n` times timed; `run` must await completion. */
export async function timeMedian(
  run: () => Promise<void>,
  warmup: number,
  n: number,
): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return { ms: median(samples), samples };
}

/** A seeded uniform [0, 1) generator (mulberry32), so both frameworks see the same data. */
export const rng: (seed: number) => () => number = mulberry32;

/** `n` values uniform in [-scale, scale), seeded. */
export function randomData(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * scale;
  return out;
}

/** The error message of anything thrown. */
export function reason(e: unknown): string {
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}
