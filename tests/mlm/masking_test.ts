// BERT masking with torch_mask_tokens' semantics: the proportions on 200k tokens within tight
// statistical bounds, specials never chosen, and masks that depend on (seed, step, index) only.

import assert from "node:assert/strict";
import {
  IGNORE_INDEX,
  maskBatch,
  type MaskOptions,
  maskTokens,
  maskTokensForEval,
} from "../../src/mlm/masking.ts";
import type { PackedBlocks } from "../../src/mlm/packing.ts";
import { mulberry32 } from "../../src/util/rng.ts";

const VOCAB = 32000;
const MASK = 4;
const L = 128;
const base: MaskOptions = { seed: 42, step: 0, index: 0, vocabSize: VOCAB, maskId: MASK };

/** `count` blocks of random ids in [5, VOCAB), every 10th token special. */
function corpus(count: number): PackedBlocks {
  const r = mulberry32(9);
  const ids = new Int32Array(count * L).map(() => 5 + Math.floor(r() * (VOCAB - 5)));
  const special = new Uint8Array(count * L).map((_, i) => (i % 10 === 0 ? 1 : 0));
  special.forEach((s, i) => s && (ids[i] = i % 20 === 0 ? 2 : 3));
  return { seqLength: L, count, ids, special, totalTokens: count * L, dropped: 0 };
}

/** |x - n·p| ≤ 5 standard deviations of a binomial. */
function assertBinomial(x: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(x - n * p) <= 5 * sd, `${what}: ${x} of ${n}, expected ${n * p} ± ${5 * sd}`);
}

Deno.test("200k tokens: 15% of non-special tokens chosen; of those 80% [MASK], 10% random, 10% kept", () => {
  const packed = corpus(1600); // 204,800 tokens
  const blocks = Array.from({ length: packed.count }, (_, i) => i);
  const { inputIds, labels } = maskBatch(packed, blocks, { ...base, step: 3 });
  let candidates = 0, chosen = 0, masked = 0, random = 0, kept = 0;
  const buckets = new Array(16).fill(0);
  for (let i = 0; i < packed.ids.length; i++) {
    if (packed.special[i]) {
      assert.equal(labels[i], IGNORE_INDEX);
      assert.equal(inputIds[i], packed.ids[i]);
      continue;
    }
    candidates++;
    if (labels[i] === IGNORE_INDEX) {
      assert.equal(inputIds[i], packed.ids[i]);
      continue;
    }
    chosen++;
    assert.equal(labels[i], packed.ids[i]);
    if (inputIds[i] === MASK) masked++;
    else if (inputIds[i] === packed.ids[i]) kept++;
    else {
      random++;
      assert.ok(inputIds[i] >= 0 && inputIds[i] < VOCAB);
      buckets[Math.floor(inputIds[i] / (VOCAB / 16))]++;
    }
  }
  assert.equal(candidates, 184320);
  assertBinomial(chosen, candidates, 0.15, "chosen");
  assertBinomial(masked, chosen, 0.8, "[MASK]");
  assertBinomial(random, chosen, 0.1, "random");
  assertBinomial(kept, chosen, 0.1, "kept");
  // Random replacements are uniform over the vocabulary: 16 equal buckets.
  for (const b of buckets) assertBinomial(b, random, 1 / 16, "random-id bucket");
});

Deno.test("probability 0 chooses nothing, 1 every non-special token", () => {
  const ids = [2, 7, 8, 9, 3, 0];
  const special = [1, 0, 0, 0, 1, 1];
  const none = maskTokens(ids, special, { ...base, probability: 0 });
  assert.deepEqual([...none.labels], new Array(6).fill(IGNORE_INDEX));
  assert.deepEqual([...none.inputIds], ids);
  const all = maskTokens(ids, special, { ...base, probability: 1 });
  assert.deepEqual([...all.labels], [IGNORE_INDEX, 7, 8, 9, IGNORE_INDEX, IGNORE_INDEX]);
  assert.throws(() => maskTokens(ids, special, { ...base, probability: 1.5 }), RangeError);
  assert.throws(() => maskTokens(ids, special, { ...base, step: -1 }), RangeError);
  assert.throws(() => maskTokens(ids, special.slice(1), base), RangeError);
});

Deno.test("masks depend on (seed, step, index) only: not on call or batch order", () => {
  const packed = corpus(8);
  const one = (index: number, step: number) => {
    const L0 = index * L;
    const ids = packed.ids.subarray(L0, L0 + L);
    return maskTokens(ids, packed.special.subarray(L0, L0 + L), { ...base, step, index });
  };
  const forward = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => one(i, 9));
  const backward = [7, 6, 5, 4, 3, 2, 1, 0].map((i) => one(i, 9)).reverse();
  assert.deepEqual(forward, backward);
  // A batch is its blocks' masks, in batch order.
  const b = maskBatch(packed, [5, 2], { ...base, step: 9 });
  assert.deepEqual(b.labels.subarray(0, L), forward[5].labels);
  assert.deepEqual(b.inputIds.subarray(L), forward[2].inputIds);
  // The same call again gives the same masks (a resumed run re-creates them).
  assert.deepEqual(one(3, 9), forward[3]);
});

Deno.test("different steps, indices and seeds give different, uncorrelated masks", () => {
  const packed = corpus(1);
  const chosen = (o: Partial<MaskOptions>) =>
    maskTokens(packed.ids, packed.special, { ...base, ...o }).labels.map((l) =>
      l === IGNORE_INDEX ? 0 : 1
    );
  const a = chosen({ step: 1 });
  for (const o of [{ step: 2 }, { index: 1 }, { seed: 43 }, { step: 1, probability: 0.3 }]) {
    assert.notDeepEqual(chosen({ step: 1, ...o }), a, JSON.stringify(o));
  }
  // Over many steps, a token chosen at step s is chosen at step s+1 as often as any (p²).
  let both = 0, pairs = 0;
  let prev = chosen({ step: 0 });
  for (let s = 1; s <= 400; s++) {
    const cur = chosen({ step: s });
    for (let i = 0; i < L; i++) {
      if (packed.special[i]) continue;
      pairs++;
      both += prev[i] & cur[i];
    }
    prev = cur;
  }
  assertBinomial(both, pairs, 0.15 * 0.15, "chosen at consecutive steps");
});

Deno.test("evaluation masks are fixed per (seed, index) and unlike any training step's", () => {
  const packed = corpus(4);
  const evalA = maskBatch(packed, [0, 1, 2, 3], { ...base, step: "eval" });
  const evalB = maskBatch(packed, [0, 1, 2, 3], { ...base, step: "eval" });
  assert.deepEqual(evalA, evalB);
  const ids = packed.ids.subarray(L, 2 * L);
  const special = packed.special.subarray(L, 2 * L);
  const single = maskTokensForEval(ids, special, { ...base, index: 1 });
  assert.deepEqual(single.labels, evalA.labels.subarray(L, 2 * L));
  for (const step of [0, 1, 0xffffffff]) {
    const train = maskTokens(ids, special, { ...base, step, index: 1 });
    assert.notDeepEqual(train.labels, single.labels, `step ${step}`);
  }
});
