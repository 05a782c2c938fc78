import assert from "node:assert/strict";
import { bucketedEpochOrder, epochOrder, groupedEpochOrder, mulberry32 } from "../../mod.ts";

Deno.test("groupedEpochOrder: a permutation in length-sorted megabatches, longest first", () => {
  const r = mulberry32(9);
  const lengths = Array.from({ length: 1000 }, () => 1 + Math.floor(r() * 128));
  const o = groupedEpochOrder(lengths, 4, 3, 0);
  assert.deepEqual([...o].sort((a, b) => a - b), [...Array(1000).keys()]);
  assert.equal(lengths[o[0]], Math.max(...lengths));
  for (let m = 0; m < 1000; m += 200) {
    const g = [...o.subarray(m, m + 200)].map((i) => lengths[i]);
    assert.deepEqual(g, [...g].sort((a, b) => b - a), `megabatch at ${m}`);
  }
  assert.deepEqual(groupedEpochOrder(lengths, 4, 3, 0), o);
  assert.notDeepEqual(groupedEpochOrder(lengths, 4, 3, 1), o);
});

Deno.test("bucketedEpochOrder: whole batches from one length bucket each, in mixed order", () => {
  const r = mulberry32(5);
  const n = 1003, bs = 8, buckets = 4;
  const lengths = Array.from({ length: n }, () => 1 + Math.floor(r() * 96));
  const o = bucketedEpochOrder(lengths, bs, buckets, 3, 0);
  assert.deepEqual([...o].sort((a, b) => a - b), [...Array(n).keys()]);
  // Bucket b holds the ranks [b * size, (b + 1) * size) by length, whole batches each.
  const size = bs * Math.ceil(n / buckets / bs);
  const sorted = [...lengths].sort((a, b) => a - b);
  const range = (b: number) => [sorted[b * size], sorted[Math.min(n, (b + 1) * size) - 1]];
  const order: number[] = [];
  let spread = 0;
  for (let i = 0; i < n; i += bs) {
    const ls = [...o.subarray(i, i + bs)].map((f) => lengths[f]);
    const lo = Math.min(...ls), hi = Math.max(...ls);
    const b = [...Array(buckets).keys()].find((b) => range(b)[0] <= lo && hi <= range(b)[1]);
    assert.ok(b !== undefined, `batch at ${i} (${lo}..${hi}) spans buckets`);
    order.push(b);
    spread += hi - lo;
  }
  // Batches pad little (a random batch of 8 spans ~75) and the buckets interleave.
  assert.ok(spread / order.length < 30, `mean spread ${spread / order.length}`);
  assert.ok(new Set(order.slice(0, 8)).size > 1, "the first batches all come from one bucket");
  assert.deepEqual(bucketedEpochOrder(lengths, bs, buckets, 3, 0), o);
  assert.notDeepEqual(bucketedEpochOrder(lengths, bs, buckets, 3, 1), o);
});

Deno.test("epochOrder is a seeded permutation, different per epoch", () => {
  const a = epochOrder(50, 1, 0);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(epochOrder(50, 1, 0), a);
  assert.notDeepEqual(epochOrder(50, 1, 1), a);
  assert.notDeepEqual(epochOrder(50, 2, 0), a);
});
