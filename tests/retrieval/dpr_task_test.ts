// DprTask's batches (a shared passage listed once, hard negatives appended, own passage never
// its own negative) and its evaluation against a host recount of recall@k.

import assert from "node:assert/strict";
import {
  bertConfig,
  BertTokenizer,
  BiEncoder,
  DenseIndex,
  dprSet,
  DprTask,
  encodeTexts,
  hardNegativeLists,
  initGpu,
  type Retriever,
} from "../../mod.ts";

await initGpu();

const WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b", "c", "d", "e", "f", "g", "h"];
const tok = BertTokenizer.fromVocabArray(WORDS, { lowercase: true });
const cfg = bertConfig({
  vocab_size: WORDS.length,
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 16,
  max_position_embeddings: 32,
});
// Passages P0..P3; questions 0 and 2 share P0.
const set = dprSet([
  { question: "a", context: "a b c" },
  { question: "b", context: "d e" },
  { question: "c", context: "a b c" },
  { question: "d", context: "f g h" },
  { question: "e", context: "h h" },
]);
const O = { maxPassageLength: 16, maxQueryLength: 8, evalBatchSize: 2 };

Deno.test("DprTask.batch: a shared passage is one column, the target of both its questions", async () => {
  const task = await DprTask.create(new BiEncoder(cfg, cfg, 0), tok, set, set, O);
  const b = task.batch(Int32Array.from([0, 1, 2]));
  assert.equal(b.passages.batch, 2);
  assert.deepEqual([...b.targets], [0, 1, 0]);
  assert.equal(b.questions.batch, 3);
  // Row 1 of the passages is P1 "d e": [CLS] d e [SEP] then padding to P0's 5 tokens.
  assert.deepEqual([...b.passages.inputIds.slice(5, 10)], [2, 7, 8, 3, 0]);
});

Deno.test("DprTask.batch: hard negatives skip the question's own passage and are listed once", async () => {
  // Every question's BM25 list: P0, P3, P1, P2 (P0 is questions 0 and 2's own).
  const ranked = set.questions.map(() => Int32Array.from([0, 3, 1, 2]));
  const task = await DprTask.create(new BiEncoder(cfg, cfg, 0), tok, set, set, {
    ...O,
    hardNegatives: { perQuestion: 1, ranked },
  });
  const b = task.batch(Int32Array.from([0, 1]));
  // Own: P0 (col 0), P1 (col 1); negatives: q0 takes P3 (skips its P0), q1 takes P0 (present).
  assert.deepEqual([...b.targets], [0, 1]);
  assert.equal(b.passages.batch, 3);
  const loss = await task.loss(b).item();
  assert.ok(Number.isFinite(loss));
  const retriever: Retriever = {
    passages: set.passages.map((text, i) => ({ id: `${i}`, text })),
    search: (qs, k) =>
      Promise.resolve(qs.map(() => [3, 2, 1, 0].slice(0, k).map((index) => ({ index, score: 1 })))),
  };
  const lists = await hardNegativeLists(retriever, set, 2);
  assert.deepEqual(lists.map((l) => [...l]), set.questions.map(() => [3, 2, 1]));
  await assert.rejects(hardNegativeLists({ ...retriever, passages: [] }, set, 1), /not the set's/);
});

Deno.test("DprTask.evaluate: recall@k and the loss as a host recount over the same vectors", async () => {
  const model = new BiEncoder(cfg, cfg, 5);
  const task = await DprTask.create(model, tok, set, set, O);
  const e = await task.evaluate();
  const pv = await encodeTexts(model.p, tok, set.passages, { maxLength: 16, batchSize: 4 });
  const qv = await encodeTexts(model.q, tok, set.questions.map((q) => q.question), {
    maxLength: 8,
    batchSize: 4,
  });
  const index = new DenseIndex(set.passages.map((_, i) => `${i}`), pv, 8);
  const hits = await index.search(qv, 4);
  const want = (k: number) =>
    set.questions.filter((q, i) => hits[i].slice(0, k).some((h) => h.index === q.passage)).length /
    set.questions.length;
  assert.equal(e.metrics["recall@1"], want(1));
  assert.equal(e.metrics["recall@5"], 1); // 4 passages: every one is in the top 5
  assert.equal(e.metrics["recall@20"], 1);
  assert.ok(
    Math.abs(e.loss - await index.crossEntropy(qv, set.questions.map((q) => q.passage))) < 1e-6,
  );
  assert.deepEqual([e.questions, e.passages], [5, 4]);
});
