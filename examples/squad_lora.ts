// LoRA on SQuAD v1.1, small and offline: pretrain a tiny BERT with masked-LM on the contexts of
// a slice of SQuAD v1.1 dev, then fine-tune it for QA twice at equal steps: with LoRA (PEFT's
// recipe: r 8 on query and value, the qa_outputs head trained in full, the rest frozen) and in
// full. The LoRA run saves PEFT's adapter files only; the adapter is reloaded over the saved base
// and evaluated (EM/F1, the official SQuAD metric) on questions of other articles.
//   training questions: the first --train-questions of the file (their articles' contexts are
//                       also the pretraining text and the vocabulary's);
//   evaluation:         the last --eval-questions of the file, from articles never seen.
// Run: deno run -A examples/squad_lora.ts [--train-questions 1000] [--eval-questions 150]
//   [--pretrain-steps 40] [--steps 80] [--out DIR]
// (reads ../shared/data/squad/dev-v1.1.json, or --data FILE in SQuAD format)
// On a budget this small EM/F1 stay low for both runs and LoRA may trail full fine-tuning: the
// example prints what it measured, not a winner. (On 2 CPU cores busy with other jobs, lavapipe:
// a QA step of 16 windows of 128 tokens takes about 1.5 s; the test's size, 10 + 2 × 12 steps,
// 96 s in all; the defaults, 40 + 2 × 80 steps, about 6 minutes by that step time (not run here).)

import { parseArgs } from "node:util";
import {
  applyLora,
  bertConfig,
  BertForMaskedLM,
  BertTokenizer,
  buildWordPieceVocab,
  type EvalOptions,
  evaluateQa,
  initGpu,
  loadAdapter,
  loadQaModelDir,
  loadSquad,
  MlmTask,
  packDocuments,
  QaTask,
  saveAdapter,
  saveModel,
  trainableParametersLine,
  Trainer,
  type TrainerOptions,
} from "webgpu-bert";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/squad/dev-v1.1.json" },
    "train-questions": { type: "string", default: "1000" },
    "eval-questions": { type: "string", default: "150" },
    "pretrain-steps": { type: "string", default: "40" },
    steps: { type: "string", default: "80" },
    out: { type: "string" },
  },
});
const nTrain = Number(values["train-questions"]);
const nEval = Number(values["eval-questions"]);
const pretrainSteps = Number(values["pretrain-steps"]);
const steps = Number(values.steps);
const out = values.out ?? await Deno.makeTempDir({ prefix: "squad_lora_" });

const gpu = await initGpu();
console.log(`adapter: ${gpu.info.name} (${gpu.info.backend})`);
const all = (await loadSquad(values.data!, { mode: "eval" })).examples;
const train = all.slice(0, nTrain);
const seen = new Set(train.map((e) => e.title));
const evalSet = all.filter((e) => !seen.has(e.title)).slice(-nEval);
const contexts = [...new Set(train.map((e) => e.context))];
console.log(
  `${train.length} training questions (${seen.size} articles, ${contexts.length} contexts), ` +
    `${evalSet.length} evaluation questions from other articles`,
);

// bert-base-uncased style: lowercased, accents stripped, English (no Korean particles).
const tokenizer = BertTokenizer.fromVocabArray(
  buildWordPieceVocab(contexts.map((c) => c.toLowerCase()), { size: 4000, suffixes: [] }),
  { lowercase: true },
);
const config = bertConfig({
  vocab_size: tokenizer.vocabSize,
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 512,
  max_position_embeddings: 128,
});

function options(dir: string, more: Partial<TrainerOptions>): TrainerOptions {
  return {
    out: dir,
    epochs: 1,
    batchSize: 16,
    gradAccum: 1,
    evalEvery: Number.MAX_SAFE_INTEGER,
    seed: 0,
    lr: 1e-3,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    adamBetas: [0.9, 0.98],
    logEvery: 10,
    ...more,
  };
}

// 1. The base: masked-LM pretraining on the training articles' contexts, saved in HF layout.
const mlm = new BertForMaskedLM({ ...config, architectures: ["BertForMaskedLM"] }, { seed: 0 });
const pack = (docs: string[]) => packDocuments(tokenizer, docs, { maxSeqLength: 128 });
const nHeld = Math.max(2, Math.round(contexts.length * 0.05));
const mlmTask = new MlmTask(
  mlm,
  tokenizer,
  await pack(contexts.slice(0, -nHeld)),
  await pack(contexts.slice(-nHeld)),
  { batchSize: 16, seed: 0 },
);
const mlmTrainer = new Trainer(
  mlmTask,
  options(`${out}/pretrain`, { maxSteps: pretrainSteps, evalEvery: pretrainSteps }),
);
const { final: lm } = await mlmTrainer.fit();
mlmTrainer.dispose();
console.log(`masked LM after ${pretrainSteps} steps: ${mlmTask.describe(lm)}`);
const base = `${out}/base`;
await saveModel(mlm, mlm.config, base);
await tokenizer.save(base);
mlm.dispose();

// 2. QA fine-tuning at equal steps: LoRA, then full. The base loads with a new qa_outputs head.
const qa: EvalOptions = {
  maxSeqLength: 128,
  docStride: 48,
  maxQueryLength: 48,
  nBest: 20,
  maxAnswerLength: 30,
  batchSize: 32,
  metric: "squad",
};
async function fineTune(lora: boolean) {
  const { model } = await loadQaModelDir(base, { seed: 0, quiet: true });
  if (lora) {
    applyLora(model, { r: 8, alpha: 16, targets: ["query", "value"], seed: 0 });
    console.log(trainableParametersLine(model));
  }
  const task = await QaTask.create(model, tokenizer, train, evalSet, qa);
  const trainer = new Trainer(
    task,
    // LoRA's usual rate is higher: only the small update and the head move.
    options(`${out}/${lora ? "lora" : "full"}`, { maxSteps: steps, lr: lora ? 3e-3 : 1e-3 }),
  );
  const { final, trainSeconds } = await trainer.fit();
  trainer.dispose();
  console.log(
    `${lora ? "LoRA" : "full"}: ${steps} steps in ${trainSeconds.toFixed(0)} s, ` +
      `EM ${final.result.exact_match.toFixed(2)} F1 ${final.result.f1.toFixed(2)}`,
  );
  if (lora) await saveAdapter(model, `${out}/adapter`, { baseModel: base });
  model.dispose();
  return final.result;
}
const lora = await fineTune(true);
const full = await fineTune(false);

// 3. The adapter alone, over a fresh copy of the base: it answers as the trained model did.
const adapterFiles = [...Deno.readDirSync(`${out}/adapter`)].map((e) => e.name).sort();
console.log(`saved ${out}/adapter: ${adapterFiles.join(", ")}`);
const { model: reloaded } = await loadQaModelDir(base, { seed: 0, quiet: true });
await loadAdapter(reloaded, `${out}/adapter`);
const again = await evaluateQa(reloaded, tokenizer, evalSet, qa);
reloaded.dispose();
console.log(
  `on ${evalSet.length} questions of unseen articles (SQuAD metric): ` +
    `LoRA (reloaded adapter) EM ${again.exact_match.toFixed(2)} F1 ${again.f1.toFixed(2)}; ` +
    `full fine-tuning EM ${full.exact_match.toFixed(2)} F1 ${full.f1.toFixed(2)} ` +
    `(${steps} steps each)`,
);
console.log(JSON.stringify({
  pretrain_steps: pretrainSteps,
  steps,
  examples: evalSet.length,
  lora_exact_match: again.exact_match,
  lora_f1: again.f1,
  lora_trained_f1: lora.f1,
  full_exact_match: full.exact_match,
  full_f1: full.f1,
  adapter_files: adapterFiles,
}));
