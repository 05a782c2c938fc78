import assert from "node:assert/strict";
import { assertClose, withoutF16 } from "../_helpers.ts";
import { spansByScore } from "../_ref.ts";
import {
  batchOf,
  type EvalOptions,
  evaluateQa,
  predictLogits,
  score,
} from "../../src/qa/evaluate.ts";
import { prepareEvalFeatures, type QaFeature } from "../../src/qa/features.ts";
import { setMatmulPrecision } from "../../src/ops/matmul.ts";
import type { QAExample } from "../../src/qa/dataset.ts";
import { loadBertForQa } from "../../src/models/checkpoint.ts";
import { BertTokenizer } from "../../src/text/tokenizer.ts";

const ODD = new URL("../fixtures/bert_qa_odd", import.meta.url).pathname;
const NO_F16 = withoutF16("evaluation in f16");
// f16 matmul operands (f32 accumulation) against f32, on the odd fixture's logits (up to 3.7 in
// magnitude): measured on lavapipe, at most 2.0e-3 apart (start; 1.0e-3 end), about one f16
// ulp of the largest logit. 10x that here.
const TOL16 = { atol: 2e-2, rtol: 0 };

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

const tokenizer = BertTokenizer.fromVocabArray(VOCAB, { lowercase: false });
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
// nBest covers every token of a 20-token window, so utils_qa.py's candidates are every valid
// span and the host's exhaustive search is its reference.
const opts: EvalOptions = {
  maxSeqLength: 20,
  docStride: 4,
  nBest: 20,
  maxAnswerLength: 6,
  batchSize: 2,
  metric: "squad",
};

Deno.test("evaluateQa predicts the best valid span of every question, over every window", async () => {
  const { model } = await loadBertForQa(ODD, { quiet: true });
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
  // The reference: the same windows' logits, every valid span scored on the host.
  const features = await prepareEvalFeatures(examples, tokenizer, {
    maxLength: opts.maxSeqLength,
    stride: opts.docStride,
  });
  const logits = await predictLogits(model, features, opts.batchSize);
  for (const e of examples) {
    const mine = features.flatMap((f, i) => f.exampleId === e.id ? [i] : []);
    const spans = spansByScore(
      e.context,
      mine.map((i) => features[i]),
      mine.map((i) => logits.start[i]),
      mine.map((i) => logits.end[i]),
      opts.maxAnswerLength,
    );
    assert.equal(r.predictions[e.id], spans[0].text, `${e.id}: best span ${spans[0].at}`);
    assert.ok(spans[1].score < spans[0].score, `${e.id}: a tie would make the check moot`);
    // The n-best list is the top of the same ranking, scores bit for bit.
    const nb = r.nbest[e.id];
    assert.equal(nb.length, Math.min(opts.nBest, spans.length));
    assert.deepEqual(
      nb.map((n) => Math.fround(n.start_logit + n.end_logit)),
      spans.slice(0, nb.length).map((sp) => sp.score),
      e.id,
    );
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

Deno.test({
  name: "evaluateQa in f16 matches f32 on logits, answers and EM/F1",
  ignore: NO_F16,
}, async () => {
  const { model } = await loadBertForQa(ODD, { quiet: true });
  const features = await prepareEvalFeatures(examples, tokenizer, {
    maxLength: opts.maxSeqLength,
    stride: opts.docStride,
  });
  const f32 = await predictLogits(model, features, opts.batchSize);
  const r32 = await evaluateQa(model, tokenizer, examples, opts);
  setMatmulPrecision("f16");
  try {
    const f16 = await predictLogits(model, features, opts.batchSize);
    const r16 = await evaluateQa(model, tokenizer, examples, opts);
    assertClose(f16.start.flatMap((a) => [...a]), f32.start.flatMap((a) => [...a]), TOL16, "start");
    assertClose(f16.end.flatMap((a) => [...a]), f32.end.flatMap((a) => [...a]), TOL16, "end");
    assert.deepEqual(r16.predictions, r32.predictions);
    assert.deepEqual([r16.exact_match, r16.f1], [r32.exact_match, r32.f1]);
  } finally {
    setMatmulPrecision("f32");
    model.dispose();
  }
});
