// topk and TopKMerge against a host reference: odd shapes, k beyond the row, ties to the lower
// index, NaN above everything, rows beyond one binding, and chunked rows merged.

import assert from "node:assert/strict";
import { chunkElements, initGpu, scopeAsync, Tensor, topk, TopKMerge } from "../../mod.ts";
import { randn } from "../_helpers.ts";

await initGpu();

/** Per row: the min(k, c) best (value, index) pairs; NaN first, then larger, ties by index. */
function topk64(x: ArrayLike<number>, n: number, c: number, k: number) {
  const values: number[] = [], indices: number[] = [];
  const rank = (v: number) => Number.isNaN(v) ? Infinity : v;
  for (let r = 0; r < n; r++) {
    const cols = Array.from({ length: c }, (_, j) => j);
    cols.sort((a, b) => {
      const va = x[r * c + a], vb = x[r * c + b];
      const na = Number.isNaN(va), nb = Number.isNaN(vb);
      if (na !== nb) return na ? -1 : 1;
      return rank(vb) - rank(va) || a - b;
    });
    for (const j of cols.slice(0, k)) {
      values.push(x[r * c + j]);
      indices.push(j);
    }
  }
  return { values, indices };
}

async function read(t: { values: Tensor; indices: Tensor }) {
  return {
    values: Array.from(await t.values.toArray()),
    indices: Array.from(await t.indices.toArray()),
  };
}

function withTiesAndNaN(n: number, c: number, seed: number): Float32Array {
  // Rounded to a few levels so that ties are common; -Infinity and Infinity appear too.
  const x = Float32Array.from(randn(n * c, seed), (v) => Math.round(v * 2) / 2);
  if (c > 4) {
    x[1] = Infinity;
    x[3] = -Infinity;
  }
  if (n > 1 && c > 6) x[c + 6] = x[c + 2] = NaN;
  return x;
}

Deno.test("topk matches the reference on odd shapes, ties, NaN and k beyond the row", async () => {
  for (
    const [n, c, k] of [[1, 1, 1], [1, 1, 5], [3, 7, 3], [2, 7, 9], [5, 257, 20], [4, 1000, 1], [
      7,
      300,
      37,
    ]]
  ) {
    const x = withTiesAndNaN(n, c, n * 31 + c + k);
    const got = await scopeAsync(async () => await read(topk(Tensor.fromArray(x, [n, c]), k)));
    const want = topk64(x, n, c, k);
    assert.deepEqual(got.indices, want.indices, `indices [${n}, ${c}] k ${k}`);
    assert.deepEqual(
      got.values,
      want.values.map((v) => Math.fround(v)),
      `values [${n}, ${c}] k ${k}`,
    );
  }
});

Deno.test("TopKMerge over column chunks equals topk over whole rows", async () => {
  for (
    const [n, widths, k] of [[3, [5], 2], [4, [7, 1, 13, 3], 5], [2, [2, 3], 9], [
      6,
      [300, 77, 260],
      20,
    ]] as const
  ) {
    const c = widths.reduce((a, b) => a + b, 0);
    const x = withTiesAndNaN(n, c, c + k);
    const got = await scopeAsync(async () => {
      const m = new TopKMerge(n, widths, k);
      let c0 = 0;
      widths.forEach((w, i) => {
        const chunk = new Float32Array(n * w);
        for (let r = 0; r < n; r++) chunk.set(x.subarray(r * c + c0, r * c + c0 + w), r * w);
        const t = Tensor.fromArray(chunk, [n, w]);
        m.add(i, t);
        t.dispose();
        c0 += w;
      });
      return await read(m.result());
    });
    const want = topk64(x, n, c, k);
    assert.deepEqual(got.indices, want.indices, `indices [${widths}] k ${k}`);
    assert.deepEqual(
      got.values,
      want.values.map((v) => Math.fround(v)),
      `values [${widths}] k ${k}`,
    );
  }
});

Deno.test("TopKMerge refuses a chunk of the wrong shape, twice, or missing", () => {
  const m = new TopKMerge(2, [3, 4], 2);
  assert.throws(
    () => m.add(0, Tensor.fromArray(new Float32Array(8), [2, 4])),
    /chunk 0 must be \[2, 3\]/,
  );
  m.add(0, Tensor.fromArray(new Float32Array(6), [2, 3]));
  assert.throws(() => m.add(0, Tensor.fromArray(new Float32Array(6), [2, 3])), /twice/);
  assert.throws(() => m.result(), /chunk 1 was never added/);
  assert.throws(() => topk(Tensor.fromArray([1], [1, 1]), 0), /positive integer/);
});

Deno.test("topk: rows beyond one binding run in ranges", async () => {
  const c = 30_011;
  const n = Math.ceil(chunkElements() / c) + 3;
  const x = new Float32Array(n * c);
  const want = Array.from({ length: n }, (_, r) => (r * 7919) % c);
  want.forEach((j, r) => x[r * c + j] = 1 + r);
  const got = await scopeAsync(async () => await read(topk(Tensor.fromArray(x, [n, c]), 2)));
  // Each row: its one positive value, then the first zero (lowest index that is not it).
  assert.deepEqual(got.indices, want.flatMap((j) => [j, j === 0 ? 1 : 0]));
});
