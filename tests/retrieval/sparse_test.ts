import assert from "node:assert/strict";
import { DataError, loadPassages, SparseRetriever } from "../../mod.ts";
import { shared, withoutData } from "../_data.ts";

const PASSAGES = [
  { id: "p0", text: "the cat sat on the mat" },
  { id: "p1", text: "the dog sat" },
  { id: "p2", text: "cat cat cat dog" },
  { id: "p3", text: "a bird" },
];
const QUESTION = "cat dog the cat";

/** Terms of each passage, split by hand, as the "words" analyzer gives them here. */
const TERMS = PASSAGES.map((p) => p.text.split(" "));
const Q = QUESTION.split(" ");
const count = (ts: string[], t: string) => ts.filter((x) => x === t).length;
const df = (t: string) => TERMS.filter((ts) => ts.includes(t)).length;
const N = TERMS.length;

/** BM25 by its formula: Lucene's idf, Robertson's (k1 + 1), repeated question terms add up. */
function bm25(k1: number, b: number): number[] {
  const avgdl = TERMS.reduce((s, ts) => s + ts.length, 0) / N;
  return TERMS.map((ts) =>
    Q.reduce((s, t) => {
      const tf = count(ts, t);
      if (tf === 0) return s; // k1 = 0 would make it 0/0
      const idf = Math.log(1 + (N - df(t) + 0.5) / (df(t) + 0.5));
      return s + idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * ts.length / avgdl));
    }, 0)
  );
}

/** scikit-learn's TfidfVectorizer defaults: smooth idf + 1, raw counts, l2 norm; cosine. */
function tfidf(): number[] {
  const vocab = [...new Set(TERMS.flat())];
  const idf = (t: string) => Math.log((1 + N) / (1 + df(t))) + 1;
  const vec = (ts: string[]) => {
    const v = vocab.map((t) => count(ts, t) * idf(t));
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const q = vec(Q);
  return TERMS.map((ts) => vec(ts).reduce((s, x, i) => s + x * q[i], 0));
}

function close(got: ArrayLike<number>, want: number[]): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) < 1e-12, `${i}: ${got[i]} vs ${want[i]}`);
  }
}

Deno.test("BM25 scores match the formula, for several k1 and b", async () => {
  for (const [k1, b] of [[0.9, 0.75], [1.2, 0.4], [2, 1], [0, 0]]) {
    const r = await SparseRetriever.build(PASSAGES, { scoring: "bm25", analyzer: "words", k1, b });
    close(await r.scores(QUESTION), bm25(k1, b));
  }
});

Deno.test("TF-IDF cosine matches scikit-learn's formula", async () => {
  const r = await SparseRetriever.build(PASSAGES, { scoring: "tfidf", analyzer: "words" });
  close(await r.scores(QUESTION), tfidf());
});

Deno.test("search: the formula's order, zero-score passages last in index order", async () => {
  const r = await SparseRetriever.build(PASSAGES, { scoring: "bm25", analyzer: "words" });
  const want = bm25(0.9, 0.75).map((score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score || a.index - b.index);
  const [hits] = await r.search([QUESTION], 10);
  assert.deepEqual(hits.map((h) => h.index), want.map((h) => h.index));
  close(hits.map((h) => h.score), want.map((h) => h.score));
  assert.deepEqual((await r.search(["nothing matches"], 2))[0], [
    { index: 0, score: 0 },
    { index: 1, score: 0 },
  ]);
});

Deno.test("ties go to the lower passage index", async () => {
  const same = Array.from({ length: 7 }, (_, i) => ({ id: `p${i}`, text: "x y" }));
  const r = await SparseRetriever.build(same, { scoring: "bm25", analyzer: "words" });
  assert.deepEqual((await r.search(["x"], 3))[0].map((h) => h.index), [0, 1, 2]);
});

Deno.test("save/load: same hits; scoring can change on load, the analyzer cannot", async () => {
  const r = await SparseRetriever.build(PASSAGES, { scoring: "bm25", analyzer: "char1-2" });
  const dir = await Deno.makeTempDir();
  await r.save(dir);
  const back = await SparseRetriever.load(dir);
  assert.deepEqual(back.options, r.options);
  assert.deepEqual(back.passages, PASSAGES);
  assert.deepEqual(await back.search([QUESTION], 4), await r.search([QUESTION], 4));
  const t = await SparseRetriever.load(dir, { scoring: "tfidf" });
  const direct = await SparseRetriever.build(PASSAGES, { scoring: "tfidf", analyzer: "char1-2" });
  close(await t.scores(QUESTION), [...await direct.scores(QUESTION)]);
});

Deno.test("load: a corrupt or mismatched file is a DataError naming it", async () => {
  const r = await SparseRetriever.build(PASSAGES, { scoring: "bm25" });
  const dir = await Deno.makeTempDir();
  await r.save(dir);
  const head = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  const expectFile = async (file: string) =>
    await assert.rejects(
      SparseRetriever.load(dir),
      (e) => e instanceof DataError && e.file === file,
    );
  await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify({ ...head, docs: 5 }));
  await expectFile(`${dir}/postings.bin`);
  await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify({ ...head, analyzer: "char0" }));
  await expectFile(`${dir}/index.json`);
  await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify({ ...head, format: "x" }));
  await expectFile(`${dir}/index.json`);
  await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify(head));
  await Deno.writeTextFile(`${dir}/passages.jsonl`, '{"id": "only", "text": "one"}\n');
  await expectFile(`${dir}/passages.jsonl`);
});

Deno.test({
  name: "KorQuAD v1.0 dev: the default BM25 reaches recall@1 >= 0.90 and recall@5 >= 0.98",
  ignore: withoutData("korquad/KorQuAD_v1.0_dev.json"),
  async fn() {
    const { passages, questions } = await loadPassages(shared("korquad/KorQuAD_v1.0_dev.json"));
    const r = await SparseRetriever.build(passages, { scoring: "bm25" });
    const hits = await r.search(questions!.map((q) => q.question), 5);
    const recall = (k: number) =>
      hits.filter((h, i) => h.slice(0, k).some((x) => x.index === questions![i].passage)).length /
      questions!.length;
    assert.ok(recall(1) >= 0.90, `recall@1 ${recall(1)}`);
    assert.ok(recall(5) >= 0.98, `recall@5 ${recall(5)}`);
  },
});
