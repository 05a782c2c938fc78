// `train --task dpr`: a DPR bi-encoder on SQuAD-format questions and their contexts, from
// scratch (a WordPiece vocabulary of the training text, two BERT-tiny encoders) or from one
// pretrained --model initializing both sides; recall@k on --eval's questions over its passages.

import { loadSquad, type QAExample } from "../qa/dataset.ts";
import { BiEncoder, loadBiEncoder } from "../retrieval/dpr.ts";
import { type DprSet, dprSet, DprTask, hardNegativeLists } from "../retrieval/dpr_task.ts";
import { SparseRetriever } from "../retrieval/sparse.ts";
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
import { resumedRun } from "./_lora.ts";

/** Options of a DPR run: the Trainer's, the two windows and the hard negatives. */
export interface DprOptions extends TrainerOptions {
  /** Tokens per passage. */
  maxSeqLength: number;
  /** Tokens per question. */
  maxQueryLength: number;
  /** BM25 hard negatives per question (0: in-batch negatives only). */
  hardNegatives: number;
}

/** Where the data of a run comes from; saved with checkpoints so a resume reloads it. */
interface DataSpec {
  train: string;
  eval: string;
}

/** dpr's own recipe flags, by their option keys. */
const DPR_RECIPE_KEYS: Record<string, string> = {
  ...RECIPE_KEYS,
  "max-query-length": "maxQueryLength",
  "hard-negatives": "hardNegatives",
};

/**
 * From scratch: two BERT-tiny encoders (FFN 256) on an 8,000-piece vocabulary of the training
 * text; passages cut to 128 tokens, sized for a 2-core CPU.
 */
const SCRATCH = {
  epochs: 1,
  batchSize: 32,
  lr: 1e-3,
  beta2: 0.98,
  lengthBuckets: 1,
  evalEvery: "epoch" as const,
  maxSeqLength: 128,
  vocabSize: 8000,
  intermediateSize: 256,
};

/** From a pretrained --model: DPR's fine-tuning rate. */
const PRETRAINED = { ...SCRATCH, lr: 5e-5, beta2: 0.999 };

function recipe(f: Flags, usage: string): { opts: DprOptions; spec: DataSpec } {
  if (!f.train || !f.eval) {
    throw new UsageError("--task dpr needs --train FILE and --eval FILE", usage);
  }
  const d = f.model ? PRETRAINED : SCRATCH;
  const s = (k: string) => f[k] as string | undefined;
  const opts: DprOptions = {
    out: s("out") ?? `runs/${timestamp()}`,
    ...trainerFlags(f, usage, d),
    maxSeqLength: intFlag(s("max-seq-length"), "max-seq-length", usage, 8, 512) ?? d.maxSeqLength,
    maxQueryLength: intFlag(s("max-query-length"), "max-query-length", usage, 4, 512) ?? 64,
    hardNegatives: intFlag(s("hard-negatives"), "hard-negatives", usage, 0, 64) ?? 0,
    ...sessionFlags(f, usage),
  };
  return { opts, spec: { train: s("train")!, eval: s("eval")! } };
}

async function loadData(d: DataSpec): Promise<{ train: DprSet; held: DprSet; texts: string[] }> {
  const load = async (path: string, mode: "train" | "eval") => {
    const l = await loadSquad(path, { mode });
    console.error(l.summary());
    if (!l.examples.length) throw new DataError(path, "no usable questions");
    return l.examples;
  };
  const train: QAExample[] = await load(d.train, "train");
  const held: QAExample[] = await load(d.eval, "eval");
  const t = dprSet(train);
  return {
    train: t,
    held: dprSet(held),
    texts: [...t.passages, ...t.questions.map((q) => q.question)],
  };
}

// BM25 over the training passages (the sparse retriever's default tokenization), ranked once.
async function bm25Negatives(set: DprSet, n: number): Promise<Int32Array[]> {
  const passages = set.passages.map((text, i) => ({ id: String(i), text }));
  return await hardNegativeLists(
    await SparseRetriever.build(passages, { scoring: "bm25" }),
    set,
    n,
  );
}

async function run(
  model: BiEncoder,
  tokenizer: TextTokenizer,
  data: { train: DprSet; held: DprSet },
  o: DprOptions,
  spec: DataSpec,
  resume?: ResumeState,
): Promise<void> {
  const ranked = o.hardNegatives ? await bm25Negatives(data.train, o.hardNegatives) : undefined;
  const task = await DprTask.create(model, tokenizer, data.train, data.held, {
    maxPassageLength: o.maxSeqLength,
    maxQueryLength: o.maxQueryLength,
    evalBatchSize: o.batchSize,
    hardNegatives: ranked ? { perQuestion: o.hardNegatives, ranked } : undefined,
  });
  const trainer = new Trainer(task, o);
  let r;
  try {
    r = await trainer.fit(resume, { task: "dpr", data: spec });
  } finally {
    trainer.dispose();
  }
  console.error(`saved: ${o.out} (q_encoder/, p_encoder/; best by recall@5 in ${o.out}/best)`);
  console.log(JSON.stringify({
    ...r.final.metrics,
    eval_loss: r.final.loss,
    questions: r.final.questions,
    passages: r.final.passages,
    seconds: +r.final.seconds.toFixed(2),
    train_seconds: +r.trainSeconds.toFixed(2),
  }));
}

/** `train --task dpr` with these flags. */
export async function trainDpr(f: Flags, usage: string): Promise<void> {
  const { opts, spec } = recipe(f, usage);
  await checkFreshRun(f, opts.out);
  // Data first: a bad file fails before the GPU or the model is touched.
  const data = await loadData(spec);
  opts.precision = await startGpu(opts.precision ?? "f32");
  let model: BiEncoder;
  let tokenizer: TextTokenizer;
  if (f.model) {
    ({ model, tokenizer } = await loadBiEncoder(f.model as string, { seed: opts.seed }));
  } else {
    tokenizer = await scratchTokenizer(f, usage, data.texts, SCRATCH.vocabSize);
    const config = scratchConfig(f, tokenizer, {
      architectures: ["BertModel"],
      ...(f.config ? {} : { intermediate_size: SCRATCH.intermediateSize }),
    });
    model = new BiEncoder(config, config, opts.seed);
  }
  await replaceOldRun(f, opts.out);
  await run(model, tokenizer, data, opts, spec);
}

/** Continues the DPR run in `dir` from its last verified checkpoint `p`. */
export async function resumeDpr(
  dir: string,
  f: Flags,
  p: TrainerPointer & { dir: string },
  usage: string,
): Promise<void> {
  const { o, data: spec, resume } = resumedRun<DprOptions, DataSpec>(
    dir,
    f,
    p,
    usage,
    (d) => recipe({ train: d.train, eval: d.eval, ...f }, usage),
    DPR_RECIPE_KEYS,
  );
  const data = await loadData(spec);
  o.precision = await startGpu(o.precision ?? "f32");
  const { model, tokenizer } = await loadBiEncoder(p.dir, { seed: o.seed });
  console.error(`resuming ${dir} after step ${p.step}`);
  await run(model, tokenizer, data, o, spec, resume);
}
