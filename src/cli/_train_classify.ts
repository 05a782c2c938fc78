// `train --task classify`: fine-tunes BertForSequenceClassification on TSV/JSONL texts, or, with no
// --model, trains a small BERT from scratch on a WordPiece vocabulary built from the training texts.

import { BertForSequenceClassification } from "../models/bert_classify.ts";
import { loadBertForSequenceClassification } from "../models/checkpoint.ts";
import type { SequenceClassifier } from "../models/heads/classification.ts";
import { readBertConfig } from "../models/config.ts";
import { type LabelSpec, loadTextDataset, type TextExample } from "../classify/dataset.ts";
import { type ClassificationEvaluation, ClassifyTask } from "../classify/task.ts";
import { loadTokenizerDir, tokenizerForModel } from "../text/tokenizer_dir.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { TrainerPointer } from "../train/checkpoint.ts";
import { type ResumeState, Trainer, type TrainerOptions } from "../train/trainer.ts";
import { DataError, UsageError } from "./_common.ts";
import { intFlag, RECIPE_KEYS, sessionFlags, trainerFlags } from "./_flags.ts";
import {
  checkFreshRun,
  type Flags,
  replaceOldRun,
  scratchConfig,
  scratchTokenizer,
  startGpu,
  timestamp,
} from "./_train_shared.ts";
import {
  adapterTask,
  attachLora,
  isLoraRun,
  loraFlags,
  type LoraOptions,
  resumedRun,
  writeMerged,
} from "./_lora.ts";

/** Options of a classification run: the Trainer's, and the window. */
export interface ClassifyOptions extends TrainerOptions, LoraOptions {
  /** Tokens per text, [CLS] and [SEP] included (HF's `max_length`). */
  maxSeqLength: number;
}

/** Where the data of a run comes from; saved with checkpoints so a resume reloads it. */
interface DataSpec {
  train: string;
  eval: string;
  maxTrain?: number;
  maxEval?: number;
}

/**
 * From scratch: BERT-tiny with a 256-wide FFN on an 8,000-piece vocabulary of the training texts,
 * tuned for a 2-core CPU. Large batches: a step's cost here is mostly per token, and 128 rows
 * of ~30 tokens learned as fast per token as 32 (measured on the NSMC split: accuracy 0.827 after
 * one epoch, halfway through a 3-epoch schedule).
 */
const SCRATCH = {
  epochs: 1.5,
  batchSize: 128,
  lr: 2e-3,
  beta2: 0.98,
  lengthBuckets: 6,
  maxSeqLength: 128,
  evalEvery: "epoch" as const,
  vocabSize: 8000,
  intermediateSize: 256,
};

/** Fine-tuning a pretrained --model: the notebook's recipe. */
const FINE_TUNE = {
  epochs: 3,
  batchSize: 32,
  lr: 5e-5,
  beta2: 0.999,
  lengthBuckets: 1,
  maxSeqLength: 128,
  evalEvery: "epoch" as const,
};

function recipe(f: Flags, usage: string): { opts: ClassifyOptions; spec: DataSpec } {
  if (!f.train) throw new UsageError("--task classify needs --train FILE and --eval FILE", usage);
  if (!f.eval) throw new UsageError("--eval is required with --train", usage);
  const d = f.model ? FINE_TUNE : SCRATCH;
  const opts: ClassifyOptions = {
    out: (f.out as string | undefined) ?? `runs/${timestamp()}`,
    ...trainerFlags(f, usage, d),
    maxSeqLength: intFlag(f["max-seq-length"] as string, "max-seq-length", usage, 3, 512) ??
      d.maxSeqLength,
    ...sessionFlags(f, usage),
    ...loraFlags(f, usage),
  };
  const spec: DataSpec = {
    train: f.train as string,
    eval: f.eval as string,
    maxTrain: intFlag(f["max-train-samples"] as string, "max-train-samples", usage),
    maxEval: intFlag(f["max-eval-samples"] as string, "max-eval-samples", usage),
  };
  return { opts, spec };
}

async function loadData(d: DataSpec, labels: LabelSpec) {
  const t = await loadTextDataset(d.train, labels);
  const e = await loadTextDataset(d.eval, labels);
  const train = d.maxTrain ? t.examples.slice(0, d.maxTrain) : t.examples;
  const evalSet = d.maxEval ? e.examples.slice(0, d.maxEval) : e.examples;
  console.error(
    `${d.train}: ${t.examples.length} texts (${t.skipped} empty skipped); ` +
      `${d.eval}: ${e.examples.length} texts (${e.skipped} empty skipped)`,
  );
  if (!train.length) throw new DataError(d.train, "no training texts");
  if (!evalSet.length) throw new DataError(d.eval, "no evaluation texts");
  return { train, evalSet, evalSkipped: e.skipped };
}

/** The labels of a from-scratch run: 0..max of the labels in its files (at least 2). */
function labelsOf(examples: readonly TextExample[]): number {
  return Math.max(2, ...examples.map((e) => e.label + 1));
}

async function run(
  model: SequenceClassifier,
  tokenizer: TextTokenizer,
  data: Awaited<ReturnType<typeof loadData>>,
  o: ClassifyOptions,
  spec: DataSpec,
  resume?: ResumeState,
): Promise<void> {
  const task = await ClassifyTask.create(model, tokenizer, data.train, data.evalSet, {
    maxSeqLength: o.maxSeqLength,
    batchSize: o.batchSize,
    evalSkipped: data.evalSkipped,
    labelSmoothing: o.labelSmoothing,
  });
  const lora = isLoraRun(o);
  const trainer = new Trainer(lora ? adapterTask(task, model, tokenizer, o.base) : task, o);
  let r: { final: ClassificationEvaluation; trainSeconds: number };
  try {
    r = await trainer.fit(resume, { task: "classify", data: spec });
  } finally {
    trainer.dispose();
  }
  if (lora && o.merge) {
    await writeMerged(model, model.config, tokenizer, `${o.out}/merged`);
    console.error(`merged: ${o.out}/merged (the last checkpoint's adapters folded into the base)`);
  }
  console.error(`saved: ${o.out} (best by accuracy in ${o.out}/best)`);
  console.log(JSON.stringify({
    accuracy: r.final.accuracy,
    macro_f1: r.final.macro_f1,
    examples: r.final.examples,
    skipped: r.final.skipped,
    seconds: +r.final.seconds.toFixed(2),
    train_seconds: +r.trainSeconds.toFixed(2),
  }));
}

/** `train --task classify` with these flags. */
export async function trainClassify(f: Flags, usage: string): Promise<void> {
  const { opts, spec } = recipe(f, usage);
  await checkFreshRun(f, opts.out);
  // Data first: a bad file fails before the GPU or the model is touched. A --model's labels
  // decide how the files' labels read, so its config is read before them.
  let labels: LabelSpec = {};
  if (f.model) {
    const c = await readBertConfig(`${f.model}/config.json`);
    labels = { label2id: c.label2id, numLabels: c.num_labels };
  }
  const data = await loadData(spec, labels);
  opts.precision = await startGpu(opts.precision ?? "f32");
  let model: SequenceClassifier;
  let tokenizer: TextTokenizer;
  if (f.model) {
    const loaded = await loadTokenizerDir(f.model as string);
    ({ model } = await loadBertForSequenceClassification(f.model as string, { seed: opts.seed }));
    tokenizer = tokenizerForModel(f.model as string, loaded, model.config);
  } else {
    tokenizer = await scratchTokenizer(f, usage, data.train.map((e) => e.text), SCRATCH.vocabSize);
    const n = labelsOf([...data.train, ...data.evalSet]);
    const config = scratchConfig(f, tokenizer, {
      architectures: ["BertForSequenceClassification"],
      num_labels: n,
      id2label: Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`])),
      label2id: Object.fromEntries(Array.from({ length: n }, (_, i) => [`LABEL_${i}`, i])),
      ...(f.config ? {} : { intermediate_size: SCRATCH.intermediateSize }),
    });
    model = new BertForSequenceClassification(config, { seed: opts.seed });
  }
  if (isLoraRun(opts)) await attachLora(model, opts, opts.seed);
  await replaceOldRun(f, opts.out);
  await run(model, tokenizer, data, opts, spec);
}

/** Continues the classification run in `dir` from its last verified checkpoint `p`. */
export async function resumeClassify(
  dir: string,
  f: Flags,
  p: TrainerPointer & { dir: string },
  usage: string,
): Promise<void> {
  const { o, data: spec, resume } = resumedRun<ClassifyOptions, DataSpec>(
    dir,
    f,
    p,
    usage,
    (d) => recipe({ train: d.train, eval: d.eval, ...f }, usage),
    RECIPE_KEYS,
  );
  o.precision = await startGpu(o.precision ?? "f32");
  // A LoRA run's checkpoints hold the adapter only: the base comes from where it came from.
  const lora = isLoraRun(o);
  const from = lora ? o.base! : p.dir;
  const loaded = await loadTokenizerDir(from);
  const { model } = await loadBertForSequenceClassification(from, { quiet: true, seed: o.seed });
  const tokenizer = tokenizerForModel(from, loaded, model.config);
  if (lora) await attachLora(model, o, o.seed, p.dir);
  const data = await loadData(spec, {
    label2id: model.config.label2id,
    numLabels: model.config.num_labels,
  });
  console.error(`resuming ${dir} after step ${p.step}`);
  await run(model, tokenizer, data, o, spec, resume);
}
