// Embedding lookup. The table may be larger than one storage binding (mBERT's word
// embeddings are 350 MiB), so every kernel runs once per row range of the table.

import { accumulateGrad, record } from "../autograd.ts";
import { grid, i32, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { chunkElements, fillInPlace } from "./elementwise.ts";

/**
 * Rows of a `[v, d]` table bound per dispatch: all of them when they fit one chunk, else
 * a multiple of 64 rows, so every range starts on a 256-byte binding offset.
 */
export function tableChunkRows(v: number, d: number): number {
  const max = chunkElements();
  if (v * d <= max) return Math.max(1, v);
  const rows = Math.floor(max / d / 64) * 64;
  if (rows === 0) throw new Error(`embedding: rows of ${d} floats are too wide to bind`);
  return rows;
}

function byRowRange(v: number, d: number, f: (r0: number, rows: number) => void): void {
  const step = tableChunkRows(v, d);
  for (let r0 = 0; r0 < v; r0 += step) f(r0, Math.min(step, v - r0));
}

/**
 * Gathers rows of `table` (f32 `[V, D]`) at `ids` (i32, any shape): the result has shape
 * `[...ids.shape, D]`. Ids outside `[0, V)` are skipped, not clamped: their output row is
 * zero and they contribute no gradient. The gradient of `table` is a dense `[V, D]` tensor
 * (zero except rows that were looked up), summed over tokens in order, so it is
 * deterministic. Rows equal to `paddingIdx` get no gradient, as torch's `padding_idx`.
 *
 * @example
 * ```ts
 * import { embedding, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const table = Tensor.fromArray([0, 1, 10, 11, 20, 21], [3, 2]);
 * const ids = Tensor.fromArray(new Int32Array([2, 0, 2]), [1, 3]);
 * const y = embedding(ids, table);
 * console.log(y.shape, await y.toArray()); // [1, 3, 2] [20, 21, 0, 1, 20, 21]
 * ```
 */
export function embedding(ids: Tensor, table: Tensor, paddingIdx = -1): Tensor {
  if (ids.dtype !== "i32") throw new Error(`embedding: ids must be i32, got ${ids.dtype}`);
  if (table.shape.length !== 2 || table.dtype !== "f32") {
    throw new Error(`embedding: table must be f32 [V, D], got ${table.dtype} [${table.shape}]`);
  }
  const [v, d] = table.shape;
  const n = ids.size;
  const y = Tensor.empty([...ids.shape, d]);
  if (n === 0 || d === 0) return y;
  if (v === 0) fillInPlace(y, 0);
  byRowRange(v, d, (r0, rows) =>
    launch({
      shader: "embedding",
      entry: "gather",
      params: [
        u32(n * d),
        u32(n),
        u32(d),
        i32(r0),
        i32(rows),
        i32(v),
        u32(r0 === 0 ? 1 : 0),
        i32(-1),
      ],
      bindings: [ids.binding(), table.binding(r0 * d, rows * d), y.binding()],
      workgroups: grid(n * d, 256),
    }));
  return record(y, [table], (g) => {
    if (!table.requiresGrad) return;
    const gt = Tensor.empty(table.shape);
    fillInPlace(gt, 0);
    byRowRange(v, d, (r0, rows) =>
      launch({
        shader: "embedding",
        entry: "scatter",
        params: [u32(n * d), u32(n), u32(d), i32(r0), i32(rows), i32(v), u32(0), i32(paddingIdx)],
        bindings: [ids.binding(), g.binding(), gt.binding(r0 * d, rows * d)],
        workgroups: grid(d, 64),
      }));
    accumulateGrad(table, gt);
  });
}
