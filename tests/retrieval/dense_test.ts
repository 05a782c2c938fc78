// DenseIndex search against a host brute force (chunked, odd shapes, ties, k beyond the
// collection), its full-collection cross-entropy, saving and the checks on loading, and
// DenseRetriever over the golden bi-encoder.

import assert from "node:assert/strict";
import { DenseIndex, DenseRetriever, encodeTexts, loadBiEncoder } from "../../mod.ts";
import { randn } from "../_helpers.ts";
import { FIXTURES } from "../models/_parity.ts";

function brute(e: Float32Array, q: Float32Array, dim: number, k: number) {
  const p = e.length / dim;
  const out = [];
  for (let r = 0; r < q.length / dim; r++) {
    const s = Array.from({ length: p }, (_, j) => {
      let v = 0;
      for (let d = 0; d < dim; d++) v += q[r * dim + d] * e[j * dim + d];
      return { index: j, score: Math.fround(v) };
    });
    out.push(s.sort((a, b) => b.score - a.score || a.index - b.index).slice(0, k));
  }
  return out;
}

Deno.test("DenseIndex.search equals a brute force, across chunks and with ties", async () => {
  for (
    const [p, dim, q, k, chunkRows] of [[1, 3, 2, 5, 1], [37, 5, 3, 4, 8], [300, 7, 261, 20, 97]]
  ) {
    // Integer vectors: exact scores, so ties are real and the order is checkable exactly.
    const e = Float32Array.from(randn(p * dim, p), (v) => Math.round(v * 2));
    const qs = Float32Array.from(randn(q * dim, q + 1), (v) => Math.round(v * 2));
    const index = new DenseIndex(Array.from({ length: p }, (_, i) => `p${i}`), e, dim, {
      chunkRows,
    });
    const got = await index.search(qs, k);
    index.dispose();
    assert.deepEqual(got, brute(e, qs, dim, k), `P ${p} dim ${dim} Q ${q} k ${k}`);
  }
});

Deno.test("DenseIndex.crossEntropy is the softmax loss over the whole collection", async () => {
  const [p, dim, q] = [11, 4, 5];
  const e = Float32Array.from(randn(p * dim, 3));
  const qs = Float32Array.from(randn(q * dim, 4));
  const targets = [0, 10, 3, 3, 7];
  let want = 0;
  for (let r = 0; r < q; r++) {
    const s = Array.from({ length: p }, (_, j) => {
      let v = 0;
      for (let d = 0; d < dim; d++) v += qs[r * dim + d] * e[j * dim + d];
      return v;
    });
    want += Math.log(s.reduce((a, v) => a + Math.exp(v), 0)) - s[targets[r]];
  }
  const index = new DenseIndex(Array.from({ length: p }, (_, i) => `${i}`), e, dim, {
    chunkRows: 3,
  });
  const got = await index.crossEntropy(qs, targets);
  assert.ok(Math.abs(got - want / q) < 1e-5, `${got} vs ${want / q}`);
});

Deno.test("DenseIndex saves and loads; a stale index is refused, naming its file", async () => {
  const dir = await Deno.makeTempDir();
  const ids = ["a", "b", "c"];
  const index = new DenseIndex(ids, new Float32Array([1, 2, 3, 4, 5, 6]), 2);
  await index.save(dir);
  const back = await DenseIndex.load(dir, ids, 2);
  assert.deepEqual(back.embeddings, index.embeddings);
  await assert.rejects(
    DenseIndex.load(dir, ["a", "b"], 2),
    new RegExp(`${dir}/embeddings.safetensors: holds \\[3,2\\] vectors but the collection has 2`),
  );
  await assert.rejects(
    DenseIndex.load(dir, ids, 3),
    /embeddings.safetensors: .* encoder 3 dimensions/,
  );
  await assert.rejects(
    DenseIndex.load(dir, ["a", "x", "c"], 2),
    /passage_ids.json: passage 1 is "b"/,
  );
  // Same ids and shape, other vectors: only the saved source tells them apart.
  const other = await Deno.makeTempDir();
  await new DenseIndex(ids, new Float32Array(6), 2, { source: "model-a" }).save(other);
  assert.equal((await DenseIndex.load(other, ids, 2, "model-a")).source, "model-a");
  await assert.rejects(
    DenseIndex.load(other, ids, 2, "model-b"),
    /embeddings.safetensors: was encoded by another passage encoder/,
  );
  await Deno.remove(other, { recursive: true });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DenseRetriever: passages encoded once and saved, questions by the question side", async () => {
  const model = `${FIXTURES}dpr_odd`;
  const passages = ["t5 t6 t7", "t8 t9", "t10 t11 t12 t13", "t7 t7"].map((text, i) => ({
    id: `p${i}`,
    text,
  }));
  const dir = await Deno.makeTempDir();
  const r = await DenseRetriever.open(model, passages, { index: `${dir}/index`, batchSize: 3 });
  const hits = await r.search(["t5 t9", "t12"], 3);
  // The same search by hand: encode both sides, inner products, sorted.
  const { model: m, tokenizer } = await loadBiEncoder(model);
  const o = { maxLength: 64, batchSize: 1 };
  const pv = await encodeTexts(m.p, tokenizer, passages.map((p) => p.text), {
    ...o,
    maxLength: 256,
  });
  const qv = await encodeTexts(m.q, tokenizer, ["t5 t9", "t12"], o);
  const want = brute(pv, qv, 24, 3);
  assert.deepEqual(hits.map((h) => h.map((x) => x.index)), want.map((h) => h.map((x) => x.index)));
  hits.flat().forEach((h, i) => assert.ok(Math.abs(h.score - want.flat()[i].score) < 1e-4));
  // Reopened, it reads the saved vectors instead of encoding again.
  const again = await DenseRetriever.open(model, passages, { index: `${dir}/index` });
  assert.deepEqual(again.index.embeddings, r.index.embeddings);
  await assert.rejects(
    DenseRetriever.open(model, passages.slice(1), { index: `${dir}/index` }),
    /embeddings.safetensors: holds \[4,24\] vectors but the collection has 3 passages/,
  );
  await Deno.remove(dir, { recursive: true });
});
