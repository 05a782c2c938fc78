import assert from "node:assert/strict";
import "../_helpers.ts";
import { bestSpans, type Candidate, readCandidates } from "../../src/retrieval/read.ts";
import { evaluateQa } from "../../src/qa/evaluate.ts";
import { loadBertForQa } from "../../src/models/checkpoint.ts";
import { BertTokenizer } from "../../src/text/tokenizer.ts";
import type { QAExample } from "../../src/qa/dataset.ts";

const ODD = new URL("../fixtures/bert_qa_odd", import.meta.url).pathname;
const VOCAB = [
  ..."[PAD] [UNK] [CLS] [SEP] [MASK] . , ? the a of in is was who what where".split(" "),
  ..."Seoul Paris Korea France city capital river park cat dog sat ran on mat".split(" "),
  ..."big day house book she it by".split(" "),
];
const tokenizer = BertTokenizer.fromVocabArray(VOCAB, { lowercase: false });
const TEXTS = [
  "the cat sat on the mat. the dog ran in the park. she read a book in the house. " +
  "it was a big day in Seoul.",
  "Seoul is the capital of Korea.",
  "Paris is a zebra city in France, by the river.",
];
const OPTS = { maxSeqLength: 20, docStride: 4, nBest: 20, maxAnswerLength: 6, batchSize: 3 };

Deno.test("readCandidates reads every passage exactly as eval reads one context", async () => {
  const { model } = await loadBertForQa(ODD, { quiet: true });
  const asks = ["who sat on the mat?", "what is the capital of Korea?", "where is Paris?"];
  // 18 questions: more than one sweep of 16; each gets the three passages in a rotated order.
  const questions = Array.from({ length: 18 }, (_, i) => ({ id: `q${i}`, question: asks[i % 3] }));
  const candidates: Candidate[][] = questions.map((_, i) =>
    [0, 1, 2].map((c) => ({
      passage: { id: `p${(c + i) % 3}`, text: TEXTS[(c + i) % 3] },
      score: c,
    }))
  );
  const done: number[] = [];
  const spans = await readCandidates(
    model,
    tokenizer,
    questions,
    candidates,
    OPTS,
    (n) => done.push(n),
  );
  assert.deepEqual(done, [16, 18]);
  // The reference: eval's pipeline on each (question, passage) pair as its own example.
  const pairs: QAExample[] = questions.flatMap((q, i) =>
    candidates[i].map((c, j) => ({
      id: `${i}/${j}`,
      title: "t",
      question: q.question,
      context: c.passage.text,
      answers: { text: [], answer_start: [] },
      article: 0,
    }))
  );
  const ref = await evaluateQa(model, tokenizer, pairs, { ...OPTS, metric: "squad" });
  questions.forEach((_, i) => {
    const want = candidates[i].flatMap((_, j) =>
      ref.predictions[`${i}/${j}`] === "" ? [] : ref.nbest[`${i}/${j}`].map((e) => ({
        text: e.text,
        start_logit: e.start_logit,
        end_logit: e.end_logit,
        candidate: j,
      }))
    );
    assert.deepEqual(spans[i], want, `question ${i}`);
    // The best answer over all passages is the highest start + end logit among them.
    const best = bestSpans(spans[i], candidates[i], 3, { nBest: 20 })[0];
    const top = Math.max(...want.map((s) => s.start_logit + s.end_logit));
    assert.equal(best.score, top);
  });
  model.dispose();
});

Deno.test("bestSpans: first k passages only, retrieval weight, n-best cut and probabilities", () => {
  const c = (score: number): Candidate => ({ passage: { id: "x", text: "" }, score });
  const cands = [c(10), c(4), c(0)];
  const spans = [
    { text: "a", start_logit: 1, end_logit: 1, candidate: 0 },
    { text: "b", start_logit: 2, end_logit: 2, candidate: 1 },
    { text: "c", start_logit: 3, end_logit: 3, candidate: 2 },
    { text: "d", start_logit: 0, end_logit: 2, candidate: 0 },
  ];
  assert.deepEqual(bestSpans(spans, cands, 3, { nBest: 20 }).map((s) => s.text), [
    "c",
    "b",
    "a",
    "d",
  ]);
  assert.deepEqual(bestSpans(spans, cands, 2, { nBest: 2 }).map((s) => s.text), ["b", "a"]);
  // Weight 0.5: a 2 + 5 = 7, d 2 + 5 = 7 (a first: postprocessing order), b 4 + 2 = 6, c 6.
  const w = bestSpans(spans, cands, 3, { nBest: 20, retrievalWeight: 0.5 });
  assert.deepEqual(w.map((s) => [s.text, s.score]), [["a", 7], ["d", 7], ["b", 6], ["c", 6]]);
  const p = w.map((s) => s.probability);
  assert.ok(Math.abs(p.reduce((x, y) => x + y) - 1) < 1e-12);
  assert.ok(Math.abs(p[0] / p[2] - Math.E) < 1e-9);
  assert.deepEqual(bestSpans([], cands, 3, { nBest: 20 }), []);
});
