// Row kernels (LayerNorm and its fused forms): which entry point, over which grid.

import { grid } from "../gpu/kernel.ts";
import { chunkElements } from "../primitives.ts";

/**
 * Rows up to this long run one thread per row (the `*_rows` entries); longer rows one workgroup
 * per row with a tree reduction. On lavapipe a workgroup barrier costs more than a short row's
 * arithmetic: at 1024 x 128 the per-row-workgroup forwards took 19.2 ms (layerNorm) and 10.1 ms
 * (biasResidualLayerNorm), the per-thread ones 1.25 and 1.7 ms.
 */
export const ROW_THREAD_MAX = 256;

/** Entry name and grid of a row kernel: `name_rows` over threads, or `name` over workgroups. */
export function rowKernel(
  name: string,
  rows: number,
  h: number,
): { entry: string; workgroups: [number, number, number] } {
  return h <= ROW_THREAD_MAX
    ? { entry: `${name}_rows`, workgroups: grid(rows, 64) }
    : { entry: name, workgroups: grid(rows, 1) };
}

function gcd(a: number, b: number): number {
  return b ? gcd(b, a % b) : a;
}

/**
 * Calls `f` for row ranges of an `[n, c]` tensor small enough to bind, each starting at a
 * 256-byte offset (vocabulary-wide logits exceed one binding).
 */
export function byRowRange(
  n: number,
  c: number,
  what: string,
  f: (r0: number, rows: number) => void,
): void {
  const max = chunkElements();
  let step = n;
  if (n * c > max) {
    const align = 64 / gcd(c, 64); // rows whose elements are a multiple of 64 (256 bytes)
    step = Math.floor(max / c / align) * align;
    if (step === 0) throw new Error(`${what}: rows of ${c} classes are too wide to bind`);
  }
  for (let r0 = 0; r0 < n; r0 += step) f(r0, Math.min(step, n - r0));
}
