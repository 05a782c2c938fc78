import assert from "node:assert/strict";
import "../_helpers.ts";
import { batchOf, type EvalOptions, evaluateQa, score } from "../../src/qa/evaluate.ts";
import type { QaFeature } from "../../src/qa/features.ts";
import type { QAExample } from "../../src/qa/dataset.ts";
import { loadBertForQa } from "../../src/models/checkpoint.ts";
import { BertTokenizer } from "../../src/text/tokenizer.ts";

const ODD = new URL("../fixtures/bert_qa_odd", import.meta.url).pathname;

function feature(ids: number[], mask: number[], labels?: [number, number]): QaFeature {
  return {
    inputIds: Int32Array.from(ids),
    tokenTypeIds: Int32Array.from(ids, (_, i) => (i >= 2 && mask[i] ? 1 : 0)),
    attentionMask: Int32Array.from(mask),
    startPosition: labels?.[0],
    endPosition: labels?.[1],
    exampleIndex: 0,
    exampleId: "x",
  };
}

Deno.test("batchOf trims to the longest unpadded feature and keeps labels", () => {
  const fs = [
    feature([2, 5, 3, 7, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0], [3, 3]),
    feature([2, 6, 3, 8, 9, 3, 0], [1, 1, 1, 1, 1, 1, 0], [4, 5]),
    feature([2, 6, 3, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0]),
  ];
  const b = batchOf(fs, true);
  assert.equal(b.batch, 3);
  assert.equal(b.seq, 6);
  assert.deepEqual([...b.inputIds], [2, 5, 3, 7, 0, 0, 2, 6, 3, 8, 9, 3, 2, 6, 3, 0, 0, 0]);
  assert.deepEqual([...b.attentionMask], [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  assert.deepEqual([...b.tokenTypeIds], [0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0]);
  // A feature without labels (the answer outside training features) gets position 0.
  assert.deepEqual(b.startPositions, [3, 4, 0]);
  assert.deepEqual(b.endPositions, [3, 5, 0]);

  const u = batchOf(fs.slice(0, 1), false);
  assert.equal(u.seq, 4);
  assert.deepEqual([...u.inputIds], [2, 5, 3, 7]);
  assert.equal(u.startPositions, undefined);
  assert.equal(u.endPositions, undefined);

  // Unpadded features keep their full length; an all-padding one keeps one token.
  assert.equal(batchOf([feature([2, 5, 3], [1, 1, 1])], false).seq, 3);
  assert.equal(batchOf([feature([0, 0], [0, 0])], false).seq, 1);
});

Deno.test("score uses the KorQuAD or the SQuAD metric as asked", () => {
  const ex = (id: string, text: string): QAExample => ({
    id,
    title: "t",
    context: text,
    question: "?",
    answers: { text: [text], answer_start: [0] },
    article: 0,
  });
  const examples = [ex("en", "Eiffel Tower"), ex("ko", "서울")];
  const preds = { en: "the Eiffel Tower", ko: "서울에서" };
  // SQuAD drops the article (EM 1) but shares no whitespace token with "서울" (F1 0).
  const squad = score(examples, preds, "squad");
  assert.equal(squad.exact_match, 50);
  assert.equal(squad.f1, 50);
  // KorQuAD keeps "the" (EM 0; char F1 2·(11/14)·1/(11/14 + 1) = 22/25) and scores "서울에서"
  // against "서울" by characters (F1 2/3).
  const korquad = score(examples, preds, "korquad");
  assert.equal(korquad.exact_match, 0);
  assert.ok(Math.abs(korquad.f1 - 100 * (22 / 25 + 2 / 3) / 2) < 1e-9, `${korquad.f1}`);
  assert.equal(score(examples, { en: "Eiffel Tower" }, "korquad").missing, 1);
});

const VOCAB = [
  ..."[PAD] [UNK] [CLS] [SEP] [MASK] . , ? the a of in is was who what where".split(" "),
  ..."Seoul Paris Korea France city capital river park cat dog sat ran on mat".split(" "),
  ..."big day house book she it by".split(" "),
];

function example(id: string, question: string, context: string, answer: string): QAExample {
  const start = context.indexOf(answer);
  assert.ok(start >= 0, `${answer} not in ${context}`);
  return {
    id,
    title: "t",
    context,
    question,
    answers: { text: [answer], answer_start: [start] },
    article: 0,
  };
}

Deno.test("evaluateQa predicts a context span for every question, over every window", async () => {
  const tokenizer = BertTokenizer.fromVocabArray(VOCAB, { lowercase: false });
  const { model } = await loadBertForQa(ODD, { quiet: true });
  const examples = [
    example(
      "long",
      "who sat on the mat?",
      "the cat sat on the mat. the dog ran in the park. she read a book in the house. " +
        "it was a big day in Seoul.",
      "the cat",
    ),
    example("short", "what is the capital of Korea?", "Seoul is the capital of Korea.", "Seoul"),
    example("unk", "where is Paris?", "Paris is a zebra city in France, by the river.", "France"),
  ];
  const opts: EvalOptions = {
    maxSeqLength: 20,
    docStride: 4,
    nBest: 5,
    maxAnswerLength: 6,
    batchSize: 2,
    metric: "squad",
  };
  // Windows by the fast tokenizers' rule: budget = maxLength − question − 3 context tokens,
  // each next window advancing budget − stride tokens.
  let windows = 0;
  for (const e of examples) {
    const count = async (s: string) =>
      (await tokenizer.encode(s, { addSpecialTokens: false })).ids.length;
    const budget = opts.maxSeqLength - (await count(e.question)) - 3;
    const n = await count(e.context);
    windows += n <= budget ? 1 : 1 + Math.ceil((n - budget) / (budget - opts.docStride));
  }
  assert.ok(windows >= 5, `the long context should need several windows, got ${windows}`);

  const progress: [number, number][] = [];
  const r = await evaluateQa(model, tokenizer, examples, opts, (d, t) => progress.push([d, t]));
  assert.equal(r.examples, 3);
  assert.equal(r.features, windows);
  assert.deepEqual(progress.at(-1), [windows, windows]);
  assert.equal(progress.length, Math.ceil(windows / opts.batchSize));
  assert.deepEqual(Object.keys(r.predictions).sort(), ["long", "short", "unk"]);
  for (const e of examples) {
    const p = r.predictions[e.id];
    assert.ok(e.context.includes(p), `prediction ${JSON.stringify(p)} of ${e.id}`);
    assert.ok(r.nbest[e.id].length >= 1 && r.nbest[e.id].length <= opts.nBest);
  }
  for (const v of [r.exact_match, r.f1]) assert.ok(v >= 0 && v <= 100, `${v}`);
  const s = score(examples, r.predictions, "squad");
  assert.equal(r.exact_match, s.exact_match);
  assert.equal(r.f1, s.f1);
  assert.ok(Number.isFinite(r.evalLoss) && r.evalLoss > 0, `eval loss ${r.evalLoss}`);
  assert.ok(r.seconds >= 0);
  assert.equal(model.training, true, "evaluation restores training mode");
  model.dispose();
});
