// Pretrain a small BERT on Korean text with masked-LM, then fine-tune it on NSMC sentiment, and
// compare with the same fine-tuning from random init given as many steps in all (pretraining
// plus fine-tuning). Offline, on the NSMC test file split into disjoint row ranges:
//   fine-tuning reviews: rows [0, finetune-rows), their labels used;
//   pretraining text:    the next pretrain-rows reviews' documents (labels never read), the
//                        last 2% of them held out to measure the masked LM;
//   evaluation reviews:  rows [40000, 40000 + eval-rows), seen by neither.
// Run: deno run -A examples/pretrain_then_finetune.ts [--pretrain-rows 10000]
//   [--pretrain-steps 150] [--finetune-rows 3000] [--eval-rows 1000] [--epochs 2] [--out DIR]
// (measured on 2 idle CPU cores, lavapipe, default size: 5 min 25 s wall; masked accuracy 0.074
// after 150 steps; accuracy 0.7320 pretrained + 188 steps vs 0.7590 random init + 338 steps.
// The test's size, 20 + 19 steps, takes about 80 s)
// (reads ../shared/data/nsmc/ratings_test.txt, or --data FILE in the same TSV layout)
// The printed accuracies are what this run measured; on a budget this small pretraining may
// help little or not at all, and the example says so rather than picking a winner.

import { parseArgs } from "node:util";
import {
  type BertConfig,
  bertConfig,
  BertForMaskedLM,
  BertForSequenceClassification,
  BertTokenizer,
  buildWordPieceVocab,
  ClassifyTask,
  initGpu,
  loadBertForSequenceClassification,
  loadTextDataset,
  MlmTask,
  packDocuments,
  type SequenceClassifier,
  Trainer,
  type TrainerOptions,
} from "webgpu-bert";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/nsmc/ratings_test.txt" },
    "pretrain-rows": { type: "string", default: "10000" },
    "pretrain-steps": { type: "string", default: "150" },
    "finetune-rows": { type: "string", default: "3000" },
    "eval-rows": { type: "string", default: "1000" },
    epochs: { type: "string", default: "2" },
    out: { type: "string" },
  },
});
const nFinetune = Number(values["finetune-rows"]);
const nPretrain = Number(values["pretrain-rows"]);
const pretrainSteps = Number(values["pretrain-steps"]);
const nEval = Number(values["eval-rows"]);
const EVAL_START = 40000;
if (nFinetune + nPretrain > EVAL_START) {
  throw new Error(`--finetune-rows + --pretrain-rows must stay below row ${EVAL_START}`);
}
const out = values.out ?? await Deno.makeTempDir({ prefix: "pretrain_finetune_" });

const gpu = await initGpu();
console.log(`adapter: ${gpu.info.name} (${gpu.info.backend})`);
const all = (await loadTextDataset(values.data!)).examples;
const finetune = all.slice(0, nFinetune);
const pretrainDocs = all.slice(nFinetune, nFinetune + nPretrain).map((e) => e.text);
const evalSet = all.slice(EVAL_START, EVAL_START + nEval);
const nHeld = Math.max(50, Math.round(pretrainDocs.length * 0.02));
console.log(
  `${pretrainDocs.length} pretraining documents (${nHeld} held out), ` +
    `${finetune.length} fine-tuning reviews, ${evalSet.length} evaluation reviews`,
);

// One vocabulary for both models, from the pretraining text only, so the comparison differs
// in the initial weights alone.
const tokenizer = BertTokenizer.fromVocabArray(
  buildWordPieceVocab(pretrainDocs, { size: 4000 }),
  { lowercase: false, stripAccents: false },
);
const LABELS = ["negative", "positive"];
const config: BertConfig = bertConfig({
  vocab_size: tokenizer.vocabSize,
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 256,
  max_position_embeddings: 128,
  num_labels: 2,
  id2label: { "0": LABELS[0], "1": LABELS[1] },
  label2id: { [LABELS[0]]: 0, [LABELS[1]]: 1 },
});

/** The Trainer's options shared by every phase; each phase sets its own length and rate. */
function options(dir: string, more: Partial<TrainerOptions>): TrainerOptions {
  return {
    out: dir,
    epochs: 1,
    batchSize: 32,
    gradAccum: 1,
    evalEvery: "epoch",
    seed: 0,
    lr: 1e-3,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    adamBetas: [0.9, 0.98],
    logEvery: 10,
    ...more,
  };
}

// 1. Masked-LM pretraining: documents packed into blocks of 64 tokens, 15% masked.
const mlm = new BertForMaskedLM({ ...config, architectures: ["BertForMaskedLM"] }, { seed: 0 });
const pack = (docs: string[]) => packDocuments(tokenizer, docs, { maxSeqLength: 64 });
const mlmTask = new MlmTask(
  mlm,
  tokenizer,
  await pack(pretrainDocs.slice(0, -nHeld)),
  await pack(pretrainDocs.slice(-nHeld)),
  { batchSize: 32, seed: 0 },
);
console.log(`pretraining: ${mlmTask.summary}, ${pretrainSteps} steps`);
const pretrained = `${out}/pretrain`;
const mlmTrainer = new Trainer(
  mlmTask,
  options(pretrained, { maxSteps: pretrainSteps, evalEvery: pretrainSteps }),
);
const { final: lm } = await mlmTrainer.fit();
mlmTrainer.dispose();
mlm.dispose();
console.log(`masked LM: ${mlmTask.describe(lm)}`);

// 2. Fine-tuning: the same recipe from the pretrained encoder and from random init.
async function fineTune(model: SequenceClassifier, dir: string, more: Partial<TrainerOptions>) {
  const task = await ClassifyTask.create(model, tokenizer, finetune, evalSet, {
    maxSeqLength: 64,
    batchSize: 32,
  });
  const trainer = new Trainer(task, options(dir, { lengthBuckets: 4, ...more }));
  const r = await trainer.fit();
  trainer.dispose();
  model.dispose();
  return { accuracy: r.final.metrics.accuracy, steps: r.steps };
}

const epochs = Number(values.epochs);
// The pretrained run's root holds its last checkpoint in HF layout: the encoder loads, the
// pooler and classifier are new (the loader says so, as HF does).
const { model: fromPretrained } = await loadBertForSequenceClassification(pretrained, {
  labels: LABELS,
});
const withPretraining = await fineTune(fromPretrained, `${out}/finetune_pretrained`, { epochs });
const totalSteps = pretrainSteps + withPretraining.steps;
const scratch = await fineTune(
  new BertForSequenceClassification(config, { seed: 0 }),
  `${out}/finetune_scratch`,
  { maxSteps: totalSteps },
);

console.log(
  `accuracy on ${evalSet.length} held-out reviews: ` +
    `pretrained then fine-tuned ${withPretraining.accuracy.toFixed(4)} ` +
    `(${pretrainSteps} + ${withPretraining.steps} steps); ` +
    `random init ${scratch.accuracy.toFixed(4)} (${scratch.steps} steps)`,
);
const diff = withPretraining.accuracy - scratch.accuracy;
console.log(
  diff > 0
    ? `pretraining helped by ${(100 * diff).toFixed(1)} points on this budget`
    : `pretraining did not help on this budget (${(100 * diff).toFixed(1)} points)`,
);
console.log(JSON.stringify({
  mlm_eval_loss: lm.loss,
  mlm_accuracy: lm.metrics.accuracy,
  pretrain_steps: pretrainSteps,
  finetune_steps: withPretraining.steps,
  scratch_steps: scratch.steps,
  pretrained_accuracy: withPretraining.accuracy,
  scratch_accuracy: scratch.accuracy,
  examples: evalSet.length,
}));
