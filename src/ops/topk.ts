// Row-wise top-k (shaders/topk.wgsl), for exact inner-product search: the scores of a batch of
// questions against a chunk of passages are reduced to k candidates per question on the GPU,
// and the candidates of every chunk are merged by the same kernel, so a search reads back
// k values per question whatever the collection's size.

import { grid, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { byRowRange } from "./_rows.ts";

/** The k best entries of each row: values (f32) and column indices (i32), both `[N, k]`. */
export interface TopK {
  /** `[N, k]`, best first. */
  values: Tensor;
  /** `[N, k]` column indices (i32) of `values`. */
  indices: Tensor;
}

function checkK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 1) throw new Error(`topk: k must be a positive integer`);
}

function checkScores(x: Tensor, what: string): [number, number] {
  if (x.shape.length !== 2 || x.dtype !== "f32") {
    throw new Error(`${what}: x must be f32 [N, C], got ${x.dtype} [${x.shape}]`);
  }
  if (x.shape[1] === 0) throw new Error(`${what}: rows are empty`);
  return x.shape as [number, number];
}

// One kernel call over every row range of x [n, c]: k entries per row into columns col.. of
// `out` (rows `out.values.shape[1]` wide); indices are columns + idxBase, or read from xi.
function select(
  x: Tensor,
  xi: Tensor | null,
  k: number,
  idxBase: number,
  out: TopK,
  col: number,
): void {
  const [n, c] = x.shape;
  const stride = out.values.shape[1];
  // Without xi the kernel still binds something there; it reads it only when has_idx is 1.
  const dummy = xi ? null : Tensor.empty([1], "i32");
  byRowRange(n, c, "topk", (r0, rows) =>
    launch({
      shader: "topk",
      entry: "rows",
      params: [
        u32(rows),
        u32(c),
        u32(r0),
        u32(k),
        u32(xi ? 1 : 0),
        u32(idxBase),
        u32(stride),
        u32(col),
      ],
      bindings: [
        x.binding(r0 * c, rows * c),
        xi ? xi.binding(r0 * c, rows * c) : dummy!.binding(),
        out.values.binding(),
        out.indices.binding(),
      ],
      workgroups: grid(rows, 1),
    }));
  dummy?.dispose();
}

function emptyTopK(n: number, k: number): TopK {
  return { values: Tensor.empty([n, k]), indices: Tensor.empty([n, k], "i32") };
}

/**
 * The `k` largest values of each row of `x` (f32 `[N, C]`) and their column indices, best
 * first, as `[N, min(k, C)]` tensors: when `k` exceeds a row's length every column is
 * returned, sorted. Equal values come in order of their index (lower first); a NaN ranks above
 * every number, +Infinity included, as in `torch.topk` (NaNs among themselves by index).
 *
 * It has no backward: the indices are piecewise constant in `x` and the values are a gather
 * that retrieval never differentiates, so it records nothing on the tape. One workgroup per
 * row makes one pass per result (O(k·C) per row), which suits the small k of retrieval.
 *
 * @example
 * ```ts
 * import { initGpu, Tensor, topk } from "webgpu-bert";
 * await initGpu();
 * const { values, indices } = topk(Tensor.fromArray([1, 5, 3, 5, 0, -1], [2, 3]), 2);
 * console.log(await values.toArray(), await indices.toArray()); // [5, 3, 5, 0] [1, 2, 0, 1]
 * ```
 */
export function topk(x: Tensor, k: number): TopK {
  checkK(k);
  const [n, c] = checkScores(x, "topk");
  const out = emptyTopK(n, Math.min(k, c));
  select(x, null, out.values.shape[1], 0, out, 0);
  return out;
}

/**
 * Top-k over rows whose columns come in chunks, e.g. the scores of a batch of questions
 * against each chunk of a passage collection too large to score at once: {@linkcode add} each
 * chunk's `[N, width]` scores in turn (each may be freed right after), then
 * {@linkcode TopKMerge.result} gives what {@linkcode topk} would on the whole rows, with
 * column indices counted from the first chunk's first column. Ties and NaNs rank as in
 * {@linkcode topk}.
 *
 * @example
 * ```ts
 * import { initGpu, Tensor, TopKMerge } from "webgpu-bert";
 * await initGpu();
 * const m = new TopKMerge(1, [2, 3], 2); // one row of 5 columns, in chunks of 2 and 3
 * m.add(0, Tensor.fromArray([4, 1], [1, 2]));
 * m.add(1, Tensor.fromArray([0, 4, 9], [1, 3]));
 * const { values, indices } = m.result();
 * console.log(await values.toArray(), await indices.toArray()); // [9, 4] [4, 0]
 * ```
 */
export class TopKMerge {
  readonly #k: number;
  readonly #cols: number[] = [];
  readonly #starts: number[] = [];
  readonly #added: boolean[];
  readonly #candidates: TopK;

  /** Rows of `n`, columns in chunks of `widths`, the best `k` kept. */
  constructor(readonly n: number, readonly widths: readonly number[], k: number) {
    checkK(k);
    if (!widths.length || widths.some((w) => !Number.isSafeInteger(w) || w < 1)) {
      throw new Error(`TopKMerge: chunk widths must be positive integers, got [${widths}]`);
    }
    this.#k = k;
    let col = 0, start = 0;
    for (const w of widths) {
      this.#cols.push(col);
      this.#starts.push(start);
      col += Math.min(k, w);
      start += w;
    }
    this.#added = widths.map(() => false);
    this.#candidates = emptyTopK(n, col);
  }

  /** The scores `x` (`[n, widths[i]]`) of chunk `i`. */
  add(i: number, x: Tensor): void {
    const [n, c] = checkScores(x, "TopKMerge.add");
    if (n !== this.n || c !== this.widths[i]) {
      throw new Error(
        `TopKMerge.add: chunk ${i} must be [${this.n}, ${this.widths[i]}], got [${x.shape}]`,
      );
    }
    if (this.#added[i]) throw new Error(`TopKMerge.add: chunk ${i} added twice`);
    this.#added[i] = true;
    select(x, null, Math.min(this.#k, c), this.#starts[i], this.#candidates, this.#cols[i]);
  }

  /** The merged top-k, `[n, min(k, Σ widths)]`; frees the candidates. */
  result(): TopK {
    const missing = this.#added.indexOf(false);
    if (missing >= 0) throw new Error(`TopKMerge.result: chunk ${missing} was never added`);
    const { values, indices } = this.#candidates;
    const out = emptyTopK(this.n, Math.min(this.#k, values.shape[1]));
    select(values, indices, out.values.shape[1], 0, out, 0);
    values.dispose();
    indices.dispose();
    return out;
  }
}
