// Row kernels (LayerNorm and its fused forms): which entry point, over which grid.

import { grid } from "../gpu/kernel.ts";

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
