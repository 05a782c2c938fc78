// The Retriever contract, checked on every in-process retriever: k hits (or every passage),
// best first, ties to the lower index, indices into `passages`.

import assert from "node:assert/strict";
import { type Retriever, SparseRetriever } from "../../mod.ts";

const PASSAGES = Array.from({ length: 9 }, (_, i) => ({
  id: `p${i}`,
  text: [
    "서울 수도",
    "부산 항구",
    "서울 강",
    "대전",
    "서울 서울 수도",
    "광주",
    "수도 이전",
    "x",
    "x",
  ][i],
}));

async function checkContract(r: Retriever): Promise<void> {
  const questions = ["서울의 수도", "항구", "없는 말", "x"];
  for (const k of [1, 4, 9, 20]) {
    const all = await r.search(questions, k);
    assert.equal(all.length, questions.length);
    for (const hits of all) {
      assert.equal(hits.length, Math.min(k, r.passages.length));
      assert.equal(new Set(hits.map((h) => h.index)).size, hits.length, "no repeats");
      for (const [i, h] of hits.entries()) {
        assert.ok(Number.isInteger(h.index) && h.index >= 0 && h.index < r.passages.length);
        if (i > 0) {
          const p = hits[i - 1];
          assert.ok(p.score > h.score || (p.score === h.score && p.index < h.index), "order");
        }
      }
    }
  }
  // One question at a time gives what a batch gives.
  const batch = await r.search(questions, 5);
  for (const [i, q] of questions.entries()) assert.deepEqual((await r.search([q], 5))[0], batch[i]);
}

for (const scoring of ["bm25", "tfidf"] as const) {
  Deno.test(`SparseRetriever (${scoring}) keeps the Retriever contract`, async () => {
    await checkContract(await SparseRetriever.build(PASSAGES, { scoring }));
  });
}
