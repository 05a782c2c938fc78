// argmaxRows against a host reference: odd shapes, ties to the first index, NaN, and rows
// beyond one binding.

import assert from "node:assert/strict";
import { argmaxRows, chunkElements, initGpu, scopeAsync, Tensor } from "../../mod.ts";
import { randn } from "../_helpers.ts";

await initGpu();

function argmax64(x: ArrayLike<number>, n: number, c: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let j = 1; j < c; j++) {
      const v = x[r * c + j], b = x[r * c + best];
      if (Number.isNaN(b)) break;
      if (Number.isNaN(v) || v > b) best = j;
    }
    out.push(best);
  }
  return out;
}

Deno.test("argmaxRows matches the reference on odd shapes, with ties and NaN", async () => {
  for (const [n, c] of [[1, 1], [3, 7], [5, 257], [13, 1000], [2, 35000]]) {
    const x = Float32Array.from(randn(n * c, n + c));
    // Ties: the first occurrence wins; a NaN wins over everything.
    if (c > 3) x[2] = x[1] = 9;
    if (n > 2 && c > 5) x[2 * c + 5] = NaN;
    const got = await scopeAsync(async () =>
      await argmaxRows(Tensor.fromArray(x, [n, c])).toArray()
    );
    assert.deepEqual(Array.from(got), argmax64(x, n, c), `[${n}, ${c}]`);
  }
});

Deno.test("argmaxRows: rows beyond one binding run in ranges", async () => {
  const c = 30_011; // odd width: ranges must start on 256-byte offsets
  const n = Math.ceil(chunkElements() / c) + 3;
  const x = new Float32Array(n * c);
  const want = Array.from({ length: n }, (_, r) => (r * 7919) % c);
  want.forEach((j, r) => x[r * c + j] = 1 + r);
  const got = await scopeAsync(async () => await argmaxRows(Tensor.fromArray(x, [n, c])).toArray());
  assert.deepEqual(Array.from(got), want);
});
