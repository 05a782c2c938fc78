// `train --task mlm`: masked-LM pretraining (run_mlm.py without --line_by_line) on text files,
// SQuAD contexts or an NSMC TSV's documents, packed into blocks; from scratch on a WordPiece
// vocabulary built from the corpus, or continuing a --model.

import { BertForMaskedLM } from "../models/masked_lm.ts";
import { loadMaskedLmDir } from "../mlm/fill_mask.ts";
import type { MaskedLmModel } from "../models/masked_lm.ts";
import { type Corpus, holdOut, readCorpus } from "../mlm/corpus.ts";
import { packDocuments, type PackedBlocks } from "../mlm/packing.ts";
import { MlmTask } from "../mlm/task.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { TrainerPointer } from "../train/checkpoint.ts";
import { type ResumeState, Trainer, type TrainerOptions } from "../train/trainer.ts";
import { ProgressBar } from "../io/progress.ts";
import { UsageError } from "./_common.ts";
import { intFlag, numFlag, RECIPE_KEYS, sessionFlags, trainerFlags } from "./_flags.ts";
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

/** Options of a pretraining run: the Trainer's, the block length and the masking. */
export interface MlmOptions extends TrainerOptions, LoraOptions {
  /** Tokens per packed block (run_mlm.py's `max_seq_length`). */
  maxSeqLength: number;
  /** Chance that a token is chosen for prediction. */
  mlmProbability: number;
}

/** Where the text of a run comes from; saved with checkpoints so a resume re-reads it. */
interface DataSpec {
  text: string[];
  evalText?: string[];
  validationSplitPercentage: number;
}

/** mlm's own recipe flags, by their option keys. */
export const MLM_RECIPE_KEYS: Record<string, string> = {
  ...RECIPE_KEYS,
  "mlm-probability": "mlmProbability",
  "validation-split-percentage": "data.validationSplitPercentage",
  // Without these, a resume given other text would silently train on the run's own.
  text: "data.text",
  "eval-text": "data.evalText",
};

/**
 * From scratch: BERT-tiny with a 256-wide FFN on an 8,000-piece vocabulary of the corpus,
 * blocks of 128 tokens, sized for a 2-core CPU (the classification recipe's model).
 */
const SCRATCH = {
  epochs: 1,
  batchSize: 32,
  lr: 1e-3,
  beta2: 0.98,
  lengthBuckets: 1,
  maxSeqLength: 128,
  evalEvery: "epoch" as const,
  vocabSize: 8000,
  intermediateSize: 256,
};

/** Continuing a pretrained --model: run_mlm.py's usual fine-tuning rate. */
const CONTINUE = {
  epochs: 1,
  batchSize: 16,
  lr: 5e-5,
  beta2: 0.999,
  lengthBuckets: 1,
  maxSeqLength: 128,
  evalEvery: "epoch" as const,
};

const files = (v: unknown): string[] => [v ?? []].flat() as string[];

function recipe(f: Flags, usage: string): { opts: MlmOptions; spec: DataSpec } {
  const text = files(f.text);
  if (!text.length) throw new UsageError("--task mlm needs --text FILE...", usage);
  const d = f.model ? CONTINUE : SCRATCH;
  const evalText = files(f["eval-text"]);
  const pct = numFlag(
    f["validation-split-percentage"] as string | undefined,
    "validation-split-percentage",
    usage,
    0.01,
    99.99,
  );
  if (pct !== undefined && evalText.length) {
    throw new UsageError("give --eval-text or --validation-split-percentage, not both", usage);
  }
  const opts: MlmOptions = {
    out: (f.out as string | undefined) ?? `runs/${timestamp()}`,
    ...trainerFlags(f, usage, d),
    maxSeqLength: intFlag(f["max-seq-length"] as string, "max-seq-length", usage, 8, 512) ??
      d.maxSeqLength,
    mlmProbability: numFlag(
      f["mlm-probability"] as string | undefined,
      "mlm-probability",
      usage,
      0.001,
      1,
    ) ?? 0.15,
    ...sessionFlags(f, usage),
    ...loraFlags(f, usage),
  };
  const spec: DataSpec = {
    text,
    evalText: evalText.length ? evalText : undefined,
    validationSplitPercentage: pct ?? 5,
  };
  return { opts, spec };
}

/** The documents of a run, split into training and held-out ones. */
async function loadText(d: DataSpec): Promise<{ train: string[]; held: string[] }> {
  const corpus = await readCorpus(d.text);
  const evalCorpus: Corpus | undefined = d.evalText ? await readCorpus(d.evalText) : undefined;
  for (const s of [...corpus.sources, ...(evalCorpus?.sources ?? [])]) {
    console.error(
      `${s.path}: ${s.documents} documents (${s.format}; ${s.blank} blank` +
        (s.repeated ? `, ${s.repeated} repeated contexts` : "") + " skipped)",
    );
  }
  const split = holdOut(
    corpus,
    evalCorpus ? { eval: evalCorpus } : { percent: d.validationSplitPercentage },
  );
  console.error(
    `${split.train.length} documents train, ${split.eval.length} evaluate` +
      (split.overlap
        ? ` (${split.overlap} training documents equal to held-out ones dropped)`
        : ""),
  );
  return { train: split.train, held: split.eval };
}

async function pack(tok: TextTokenizer, docs: string[], len: number, what: string) {
  const bar = new ProgressBar(docs.length, `tokenize ${what}`);
  const p = await packDocuments(tok, docs, {
    maxSeqLength: len,
    onProgress: (done) => bar.update(done),
  });
  bar.done();
  return p;
}

async function run(
  model: MaskedLmModel,
  tokenizer: TextTokenizer,
  text: { train: string[]; held: string[] },
  o: MlmOptions,
  spec: DataSpec,
  resume?: ResumeState,
): Promise<void> {
  const train: PackedBlocks = await pack(tokenizer, text.train, o.maxSeqLength, "train");
  const held: PackedBlocks = await pack(tokenizer, text.held, o.maxSeqLength, "held-out");
  console.error(
    `${train.totalTokens} training tokens → ${train.count} blocks of ${train.seqLength} ` +
      `(${train.dropped} dropped); ${held.count} held-out blocks`,
  );
  const task = new MlmTask(model, tokenizer, train, held, {
    probability: o.mlmProbability,
    batchSize: o.batchSize,
    seed: o.seed,
    labelSmoothing: o.labelSmoothing,
  });
  const lora = isLoraRun(o);
  const trainer = new Trainer(lora ? adapterTask(task, model, tokenizer, o.base) : task, o);
  let r;
  try {
    r = await trainer.fit(resume, { task: "mlm", data: spec });
  } finally {
    trainer.dispose();
  }
  if (lora && o.merge) {
    await writeMerged(model, model.config, tokenizer, `${o.out}/merged`);
    console.error(`merged: ${o.out}/merged (the last checkpoint's adapters folded into the base)`);
  }
  console.error(`saved: ${o.out} (best by held-out loss in ${o.out}/best)`);
  console.log(JSON.stringify({
    eval_loss: r.final.loss,
    perplexity: r.final.metrics.perplexity,
    accuracy: r.final.metrics.accuracy,
    masked_tokens: r.final.maskedTokens,
    seconds: +r.final.seconds.toFixed(2),
    train_seconds: +r.trainSeconds.toFixed(2),
  }));
}

/** `train --task mlm` with these flags. */
export async function trainMlm(f: Flags, usage: string): Promise<void> {
  const { opts, spec } = recipe(f, usage);
  await checkFreshRun(f, opts.out);
  // Text first: a bad file fails before the GPU or the model is touched.
  const text = await loadText(spec);
  opts.precision = await startGpu(opts.precision ?? "f32");
  let model: MaskedLmModel;
  let tokenizer: TextTokenizer;
  if (f.model) {
    ({ model, tokenizer } = await loadMaskedLmDir(f.model as string));
  } else {
    tokenizer = await scratchTokenizer(f, usage, text.train, SCRATCH.vocabSize);
    const config = scratchConfig(f, tokenizer, {
      architectures: ["BertForMaskedLM"],
      ...(f.config ? {} : { intermediate_size: SCRATCH.intermediateSize }),
    });
    model = new BertForMaskedLM(config, { seed: opts.seed });
  }
  if (isLoraRun(opts)) await attachLora(model, opts, opts.seed);
  await replaceOldRun(f, opts.out);
  await run(model, tokenizer, text, opts, spec);
}

/** Continues the pretraining run in `dir` from its last verified checkpoint `p`. */
export async function resumeMlm(
  dir: string,
  f: Flags,
  p: TrainerPointer & { dir: string },
  usage: string,
): Promise<void> {
  const { o, data: spec, resume } = resumedRun<MlmOptions, DataSpec>(
    dir,
    f,
    p,
    usage,
    (d) => recipe({ text: d.text, ...f }, usage),
    MLM_RECIPE_KEYS,
  );
  const text = await loadText(spec);
  o.precision = await startGpu(o.precision ?? "f32");
  // A LoRA run's checkpoints hold the adapter only: the base comes from where it came from.
  const lora = isLoraRun(o);
  const { model, tokenizer } = await loadMaskedLmDir(lora ? o.base! : p.dir, { quiet: true });
  if (lora) await attachLora(model, o, o.seed, p.dir);
  console.error(`resuming ${dir} after step ${p.step}`);
  await run(model, tokenizer, text, o, spec, resume);
}
