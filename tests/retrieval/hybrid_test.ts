// HybridRetriever's documented rule: per-list min-max normalisation, weighted sum over the
// union of both top-N lists, ties to the lower index, and the two extremes of the weight.

import assert from "node:assert/strict";
import { type Hit, HybridRetriever, type Passage, type Retriever } from "../../mod.ts";

const passages: Passage[] = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}`, text: "" }));

/** A retriever returning `hits` (best first) cut to k, recording the k it was asked for. */
function fixed(hits: Hit[], asked: number[] = []): Retriever {
  return {
    passages,
    search: (q, k) => {
      asked.push(k);
      return Promise.resolve(q.map(() => hits.slice(0, k)));
    },
  };
}

const sparse = [{ index: 0, score: 12 }, { index: 3, score: 8 }, { index: 1, score: 2 }];
const dense = [{ index: 3, score: 0.5 }, { index: 4, score: 0.3 }, { index: 0, score: -0.5 }];

Deno.test("hybrid: min-max normalised weighted sum over the union of both lists", async () => {
  const asked: number[] = [];
  const h = new HybridRetriever(fixed(sparse, asked), fixed(dense, asked), {
    weight: 0.25,
    depth: 3,
  });
  const [hits] = await h.search(["q"], 4);
  // sparse: p0 1, p3 0.6, p1 0; dense: p3 1, p4 0.8, p0 0.
  const want = [
    { index: 0, score: 0.75 },
    { index: 3, score: 0.75 * 0.6 + 0.25 },
    { index: 4, score: 0.25 * 0.8 },
    { index: 1, score: 0 },
  ];
  assert.deepEqual(hits.map((x) => x.index), want.map((x) => x.index));
  hits.forEach((x, i) => assert.ok(Math.abs(x.score - want[i].score) < 1e-12));
  assert.deepEqual(asked, [4, 4], "each retriever asked for max(k, depth)");
});

Deno.test("hybrid: weight 0 ranks as sparse, 1 as dense; ties go to the lower index", async () => {
  const at = async (weight: number) =>
    (await new HybridRetriever(fixed(sparse), fixed(dense), { weight }).search(["q"], 2))[0]
      .map((x) => x.index);
  assert.deepEqual(await at(0), [0, 3]);
  assert.deepEqual(await at(1), [3, 4]);
  // Both lists flat: every passage scores 1 in its list; p0 and p3 are in both.
  const flat = new HybridRetriever(
    fixed([{ index: 3, score: 1 }, { index: 0, score: 1 }]),
    fixed([{ index: 0, score: 2 }, { index: 3, score: 2 }]),
  );
  assert.deepEqual((await flat.search(["q"], 2))[0].map((x) => x.index), [0, 3]);
  assert.throws(() => new HybridRetriever(fixed(sparse), fixed(dense), { weight: 2 }), /\[0, 1\]/);
});
