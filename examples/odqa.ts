// Retrieve, then read, small and offline: a BM25 index over the passages of a slice of KorQuAD
// v1.0 dev, a tiny BERT reader trained here from scratch on the slice's questions, and a few of
// those questions answered from the whole slice: each is retrieved (hit or miss: is its own
// passage in the top K?) and its K passages are read; the best span over them is the answer.
//   The reader is trained on the very questions it is then asked: a model this small, trained
//   for minutes from nothing, does not generalize (BENCHMARKS.md, "KorQuAD v1.0 from scratch").
//   What the example shows is the pipeline: which passages come back and what the reader makes
//   of K passages instead of its own one.
// Run: deno run -A examples/odqa.ts [--articles 4] [--steps 80] [--questions 6] [--top-k 5]
//   [--data FILE] (reads ../shared/data/korquad/KorQuAD_v1.0_dev.json by default)
// (the test's size, 2 articles and 10 steps, took 43 s on 2 shared CPU cores; a step of 16
// windows of 192 tokens takes about 3 s there, so the default 80 steps about 4 minutes; not timed)

import { parseArgs } from "node:util";
import {
  bertConfig,
  BertForQuestionAnswering,
  BertTokenizer,
  bestSpans,
  buildWordPieceVocab,
  type EvalOptions,
  initGpu,
  loadPassages,
  loadSquad,
  QaTask,
  readCandidates,
  score,
  SparseRetriever,
  Trainer,
} from "webgpu-bert";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/korquad/KorQuAD_v1.0_dev.json" },
    articles: { type: "string", default: "4" },
    steps: { type: "string", default: "80" },
    questions: { type: "string", default: "6" },
    "top-k": { type: "string", default: "5" },
  },
});
const nArticles = Number(values.articles);
const steps = Number(values.steps);
const nAsk = Number(values.questions);
const k = Number(values["top-k"]);

const gpu = await initGpu();
console.log(`adapter: ${gpu.info.name} (${gpu.info.backend})`);

// 1. The slice, and its passages (deduplicated contexts) as loadPassages reads any SQuAD file.
const dev = JSON.parse(await Deno.readTextFile(values.data!));
const dir = await Deno.makeTempDir({ prefix: "odqa_" });
const slice = `${dir}/slice.json`;
await Deno.writeTextFile(slice, JSON.stringify({ ...dev, data: dev.data.slice(0, nArticles) }));
const { passages, questions } = await loadPassages(slice);
const examples = (await loadSquad(slice, { mode: "eval" })).examples;
const train = (await loadSquad(slice, { mode: "train" })).examples;
console.log(`${nArticles} articles: ${passages.length} passages, ${examples.length} questions`);

// 2. BM25 over the passages (the default analyzer).
const bm25 = await SparseRetriever.build(passages, { scoring: "bm25" });

// 3. The reader: BERT-tiny from scratch, its WordPiece vocabulary built from the passages.
const tokenizer = BertTokenizer.fromVocabArray(
  buildWordPieceVocab(passages.map((p) => p.text), { size: 4000 }),
  { lowercase: false },
);
const config = bertConfig({
  vocab_size: tokenizer.vocabSize,
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 256,
  max_position_embeddings: 256,
});
const model = new BertForQuestionAnswering(config, { seed: 0 });
const qa: EvalOptions = {
  maxSeqLength: 192,
  docStride: 64,
  maxQueryLength: 48,
  nBest: 20,
  maxAnswerLength: 30,
  batchSize: 32,
  metric: "korquad",
};
const task = await QaTask.create(model, tokenizer, train, examples.slice(0, 32), qa);
const trainer = new Trainer(task, {
  out: `${dir}/reader`,
  epochs: 1,
  maxSteps: steps,
  batchSize: 16,
  gradAccum: 1,
  evalEvery: Number.MAX_SAFE_INTEGER,
  seed: 0,
  lr: 2e-3,
  warmupRatio: 0.1,
  weightDecay: 0.01,
  adamBetas: [0.9, 0.98],
  logEvery: 25,
});
const { trainSeconds } = await trainer.fit();
trainer.dispose();
console.log(`reader: ${steps} steps in ${trainSeconds.toFixed(0)} s`);

// 4. A few questions, spread over the slice: retrieve K passages, read them all.
const asked = Array.from(
  { length: Math.min(nAsk, examples.length) },
  (_, i) => Math.floor(i * examples.length / Math.min(nAsk, examples.length)),
);
const own = new Map(questions!.map((q) => [q.id, q.passage]));
const hits = await bm25.search(asked.map((i) => examples[i].question), k);
const candidates = hits.map((hs) =>
  hs.map((h) => ({ passage: passages[h.index], score: h.score }))
);
const spans = await readCandidates(
  model,
  tokenizer,
  asked.map((i) => examples[i]),
  candidates,
  { ...qa, retrievalWeight: 0 },
);
const predictions: Record<string, string> = {};
let retrieved = 0;
asked.forEach((qi, n) => {
  const ex = examples[qi];
  const rank = hits[n].findIndex((h) => h.index === own.get(ex.id)) + 1;
  if (rank) retrieved++;
  const best = bestSpans(spans[n], candidates[n], k, { nBest: qa.nBest })[0];
  predictions[ex.id] = best?.text ?? "";
  console.log(`Q: ${ex.question}`);
  console.log(
    `   retrieval: ${
      rank ? `hit (own passage at rank ${rank} of ${k})` : `miss (not in the top ${k})`
    }`,
  );
  console.log(
    `   answer: ${
      best
        ? `${JSON.stringify(best.text)} from passage ${candidates[n][best.candidate].passage.id}` +
          ` (score ${best.score.toFixed(2)})`
        : "none"
    }; gold ${JSON.stringify(ex.answers.text[0])}`,
  );
});
const s = score(asked.map((i) => examples[i]), predictions, "korquad");
model.dispose();
await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify({
  passages: passages.length,
  questions: asked.length,
  retrieval_hits: retrieved,
  top_k: k,
  exact_match: s.exact_match,
  f1: s.f1,
  train_steps: steps,
  train_seconds: +trainSeconds.toFixed(1),
}));
