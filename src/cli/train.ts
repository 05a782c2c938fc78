// `train`: fine-tunes (or trains from scratch) BertForQuestionAnswering on SQuAD-format data.
// With no --train it runs the embedded default: generated Korean QA, a vocabulary built from
// it, and a tiny BERT from scratch, all offline.

import type { QaModel } from "../models/heads/qa.ts";
import { QaLstmHead } from "../models/heads/qa_lstm.ts";
import { modelFor } from "../models/registry.ts";
import { loadSquad, parseSquad, type QAExample } from "../qa/dataset.ts";
import { defaultSplits } from "../qa/synthetic.ts";
import { EMBEDDED_QA, embeddedQaConfig, embeddedQaTexts } from "../qa/embedded.ts";
import { truncateQuestions } from "../qa/features.ts";
import { loadQaModelDir, type QaHeadChoice, withQaHead } from "../qa/model_dir.ts";
import { type TrainOptions, trainQa, type TrainSummary } from "../qa/task.ts";
import { type ResumeState, TrainingInterrupted } from "../train/trainer.ts";
import { readTrainerPointer, type TrainerPointer } from "../train/checkpoint.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { DataError, parseFlags, runCli, UsageError } from "./_common.ts";
import {
  checkTaskFlags,
  intFlag,
  metricFlag,
  numFlag,
  OPTIMIZER_FLAGS,
  PRECISION_FLAGS,
  PRECISION_HELP,
  READER_HELP,
  RECIPE_KEYS,
  RELIABILITY_FLAGS,
  RUN_FLAGS,
  sessionFlags,
  TASK_FLAGS,
  taskFlag,
  type TaskName,
  trainerFlags,
  WINDOW_FLAGS,
  windowFlags,
} from "./_flags.ts";
import {
  checkFreshRun,
  checkModelFlags,
  replaceOldRun,
  scratchConfig,
  scratchTokenizer,
  startGpu,
  timestamp,
} from "./_train_shared.ts";
import { resumeClassify, trainClassify } from "./_train_classify.ts";
import { resumeMlm, trainMlm } from "./_train_mlm.ts";
import { resumeDpr, trainDpr } from "./_train_dpr.ts";
import {
  adapterTask,
  attachLora,
  isLoraRun,
  LORA_FLAGS,
  LORA_HELP,
  loraFlags,
  type LoraOptions,
  resumedRun,
  writeMerged,
} from "./_lora.ts";

const USAGE = "usage: deno task train [--model DIR | --config tiny|mini|small|base " +
  "[--tokenizer FILE | --vocab FILE]] [--train FILE] [--eval FILE] [options]";

const HELP = `${USAGE}

Fine-tunes BertForQuestionAnswering (extractive QA, SQuAD v1.1 / KorQuAD v1.0 format).
With no --train, trains on the embedded default: a generated Korean QA set, a WordPiece
vocabulary built from it, and a tiny BERT from scratch (offline, a few minutes on a CPU;
without --config its model is BERT-tiny with a 256-wide FFN, --config tiny gives 512).

model
  --model DIR            HF-layout directory (config.json, model.safetensors, tokenizer)
  --config NAME          from scratch: tiny | mini | small | base
  --tokenizer FILE       tokenizer.json or SentencePiece .model for --config
  --vocab FILE           WordPiece vocab.txt for --config (cased; --lowercase to lowercase)
  --lowercase            lowercase and strip accents with --vocab (bert-base-uncased style)
data
  --train FILE           SQuAD-format training set (default: the generated set)
  --eval FILE            SQuAD-format evaluation set (default: the generated held-out set)
  --max-train-samples N  use the first N training examples
  --max-eval-samples N   use the first N evaluation examples
task
  --task NAME            qa | classify | mlm | dpr (default qa). classify: --train and --eval are NSMC
                         TSV (id, document, label) or JSONL {"id"?, "text", "label"}; each
                         text is [CLS] text [SEP] cut to --max-seq-length (default 128); the
                         best checkpoint is by accuracy; with no --model a WordPiece vocab is
                         built from the training texts and BERT-tiny (FFN 256) trains from
                         scratch (1.5 epochs of batch 128, lr 2e-3, β2 0.98, 6 length
                         buckets); --model fine-tunes (3 epochs of batch 32, lr 5e-5).
                         The last line is {"accuracy", "macro_f1", "examples", "skipped",
                         "seconds", "train_seconds"}.
                         mlm: masked-LM pretraining (run_mlm.py) on --text FILE... (text:
                         one document a line; SQuAD JSON: its contexts; TSV with a
                         document column: that column), packed into --max-seq-length
                         blocks (default 128); --mlm-probability X of the tokens chosen
                         (default 0.15: 80% [MASK], 10% random, 10% kept), masks fixed by
                         seed and step; held out: --eval-text FILE... or the first
                         --validation-split-percentage X of the documents (default 5);
                         best by held-out loss. With no --model a WordPiece vocab is
                         built from the text and BERT-tiny (FFN 256) trains from scratch
                         (1 epoch of batch 32, lr 1e-3, β2 0.98). The last line is
                         {"eval_loss", "perplexity", "accuracy", "masked_tokens",
                         "seconds", "train_seconds"}; the run loads as the backbone of
                         --task qa and classify (--model RUN_DIR)
                         dpr: a DPR bi-encoder (question and passage encoders, [CLS]
                         vectors, in-batch negatives) on --train's questions and their
                         contexts (SQuAD format; equal contexts are one passage, listed
                         once per batch); --hard-negatives N adds N BM25 passages per
                         question; passages cut to --max-seq-length (default 128),
                         questions to --max-query-length (default 64). Evaluation:
                         recall@1/5/20 of --eval's questions over its passages; best by
                         recall@5. With no --model two BERT-tiny (FFN 256) on a vocab of
                         the training text (1 epoch of batch 32, lr 1e-3, β2 0.98);
                         --model DIR (one encoder, or a dpr run) starts both sides (lr
                         5e-5). Saves q_encoder/ and p_encoder/ (HF layout). The last
                         line is {"recall@1", "recall@5", "recall@20", "eval_loss",
                         "questions", "passages", "seconds", "train_seconds"}
run
  --out DIR              run directory (default runs/<timestamp>); must be new or empty
  --overwrite-output-dir replace the old run in a non-empty --out as a whole (removed once
                         the data and model have loaded)
  --epochs N             epochs (default 2; embedded default 4)
  --max-steps N          optimizer steps; overrides --epochs
  --batch-size N         features per micro-batch (default 8; embedded default 32)
  --grad-accum N         micro-batches per optimizer step (default 1)
  --eval-every N|epoch   evaluate and checkpoint every N steps or every epoch (default: at
                         the end only; embedded default every epoch)
  --seed N               seed of init, dropout and data order (default 42)
optimizer (AdamW, eps 1e-8, no decay on biases and LayerNorm, clip 1.0)
  --lr X                 peak learning rate (default 3e-5; embedded default 1e-3)
  --adam-beta1 X         AdamW beta1 (default 0.9)
  --adam-beta2 X         AdamW beta2 (default 0.999; embedded default 0.98)
  --warmup-ratio X       linear warmup fraction of the steps (default 0.1)
  --warmup-steps N       linear warmup steps; overrides --warmup-ratio
  --head-lr X            peak learning rate of the task head (qa_outputs, classifier);
                         default --lr
  --weight-decay X       (default 0.01)
  --length-buckets N     batch windows within N equal-count length buckets, batches of all
                         buckets shuffled together: random batches of similar length, so
                         little padding (default 1: plain shuffle; embedded default 6)
  --group-by-length      batch windows of similar length (HF group_by_length): faster
                         steps, but batches of long windows are mostly [CLS]-labelled; on
                         an earlier embedded default it stopped learning (EM 2.0 after
                         1,316 steps). Overrides --length-buckets
reader options (every task; --label-smoothing: qa, classify and mlm)
${READER_HELP}
${PRECISION_HELP}
${LORA_HELP}
QA
  --max-seq-length N     window length in tokens (default 384; embedded default 96)
  --doc-stride N         overlap between windows (default 128; embedded default 32)
  --max-query-length N   a question keeps its first N tokens (run_squad.py; default 64);
                         the data summary counts the questions cut
  --n-best N             n-best size in postprocessing (default 20)
  --max-answer-length N  longest answer in tokens (default 30)
  --metric NAME          korquad | squad (default korquad)
  --head qa|lstm         the span head: qa (qa_outputs only; default, or --model's own) or
                         lstm (the ODQA project's LSTM-LayerNorm head: a bidirectional LSTM,
                         LayerNorm, dropout, qa_outputs; saved in config.json, so eval and
                         predict load it back)
  --head-dropout P       dropout before the LSTM head's qa_outputs (default 0.7, the
                         notebook's); with --head lstm
reliability
  --resume RUN_DIR       continue a stopped run in RUN_DIR (weights, AdamW moments, step,
                         LR schedule, dropout RNG and data order are restored; other
                         settings come from the run: a recipe flag given must agree with
                         it, else exit 2; --max-steps/--epochs may extend it)
  --save-every N         also write a resumable checkpoint every N steps
  --stop-after N         stop after N steps of this session with a resumable checkpoint
  --inject-nan-at N      testing aid: make the loss NaN at step N
  --help                 show this help

SIGINT (Ctrl-C) finishes the current step, saves a resumable checkpoint and exits 130.
A NaN/Inf loss or gradient norm skips that update and stops the run (exit 1), naming
the step; the last checkpoint stays intact.

The run directory holds the last checkpoint at its root (config.json, model.safetensors,
tokenizer files; with LoRA the adapter files instead of the first two), the best by EM in
best/, metrics.jsonl and plot.svg. The last line of
stdout is JSON: {"exact_match", "f1", "examples", "features", "seconds", "train_seconds"}.`;

const FLAGS = {
  ...TASK_FLAGS,
  model: { type: "string" },
  config: { type: "string" },
  tokenizer: { type: "string" },
  vocab: { type: "string" },
  lowercase: { type: "boolean" },
  train: { type: "string" },
  eval: { type: "string" },
  "max-train-samples": { type: "string" },
  "max-eval-samples": { type: "string" },
  text: { type: "string", multiple: true },
  "eval-text": { type: "string", multiple: true },
  "validation-split-percentage": { type: "string" },
  "mlm-probability": { type: "string" },
  "hard-negatives": { type: "string" },
  ...RUN_FLAGS,
  ...OPTIMIZER_FLAGS,
  ...PRECISION_FLAGS,
  ...WINDOW_FLAGS,
  "n-best": { type: "string" },
  "max-answer-length": { type: "string" },
  metric: { type: "string" },
  head: { type: "string" },
  "head-dropout": { type: "string" },
  ...RELIABILITY_FLAGS,
  ...LORA_FLAGS,
  help: { type: "boolean" },
} as const;

/** QA's recipe flags, by their option keys: the shared ones and the windows' and answers'. */
const QA_RECIPE_KEYS = {
  ...RECIPE_KEYS,
  "doc-stride": "docStride",
  "max-query-length": "maxQueryLength",
  "n-best": "nBest",
  "max-answer-length": "maxAnswerLength",
  metric: "metric",
  head: "head",
  "head-dropout": "headDropout",
};

type QaFlags = ReturnType<typeof parseFlags<typeof FLAGS>>;

/** A QA run's options: the task's, LoRA's, and the head (filled in from the model built). */
type QaOptions = TrainOptions & LoraOptions & Partial<QaHeadChoice>;

/** Where the data of a run comes from; saved with checkpoints so a resume reloads it. */
interface DataSpec {
  train?: string;
  eval?: string;
  maxTrain?: number;
  maxEval?: number;
  seed: number;
}

/** The loaded splits; each file's summary line waits for the count of cut questions. */
interface QaData {
  train: QAExample[];
  evalSet: QAExample[];
  generated: boolean;
  /** null for a generated split. */
  summaries: { train: string | null; eval: string | null };
}

async function loadData(d: DataSpec): Promise<QaData> {
  let train: QAExample[];
  let evalSet: QAExample[];
  const generated = d.train ? null : defaultSplits(d.seed);
  const summaries: QaData["summaries"] = { train: null, eval: null };
  if (generated) {
    train = asExamples(generated.train, "<generated train>");
    if (d.eval) {
      const e = await loadSquad(d.eval, { mode: "eval" });
      summaries.eval = e.summary();
      evalSet = e.examples;
    } else evalSet = asExamples(generated.eval, "<generated eval>");
  } else {
    const t = await loadSquad(d.train!, { mode: "train" });
    summaries.train = t.summary();
    train = t.examples;
    if (!train.length) {
      console.error(t.summary());
      throw new DataError(d.train!, "no usable training examples (see above)");
    }
    if (!d.eval) throw new UsageError("--eval is required with --train", USAGE);
    const e = await loadSquad(d.eval, { mode: "eval" });
    summaries.eval = e.summary();
    evalSet = e.examples;
  }
  if (d.maxTrain) train = train.slice(0, d.maxTrain);
  if (d.maxEval) evalSet = evalSet.slice(0, d.maxEval);
  if (!train.length) {
    throw new DataError(d.train ?? "<generated train>", "no usable training examples");
  }
  if (!evalSet.length) throw new DataError(d.eval ?? "<generated eval>", "no evaluation examples");
  return { train, evalSet, generated: !!generated, summaries };
}

/**
 * Cuts long questions to `--max-query-length` tokens and prints each split's summary with the
 * count (a generated split's line only when a question was cut). Runs saved before the flag
 * existed have no `maxQueryLength`: their questions stay whole.
 */
async function cutQuestions(
  data: QaData,
  tokenizer: TextTokenizer,
  maxQueryLength: number | undefined,
): Promise<{ train: QAExample[]; evalSet: QAExample[] }> {
  const cut = async (xs: QAExample[], summary: string | null, name: string) => {
    const r = maxQueryLength === undefined
      ? null
      : await truncateQuestions(xs, tokenizer, maxQueryLength);
    const count = r && `${r.truncated} questions truncated to --max-query-length ${maxQueryLength}`;
    if (summary) console.error(count ? `${summary}; ${count}` : summary);
    else if (r?.truncated) console.error(`${name}: ${count}`);
    return r?.examples ?? xs;
  };
  return {
    train: await cut(data.train, data.summaries.train, "<generated train>"),
    evalSet: await cut(data.evalSet, data.summaries.eval, "<generated eval>"),
  };
}

/** Continues the QA run in `dir` from its last verified checkpoint `p`. */
async function resumeQa(dir: string, f: QaFlags, p: TrainerPointer & { dir: string }) {
  const { o, data: spec, resume } = resumedRun<QaOptions, DataSpec>(
    dir,
    f,
    p,
    USAGE,
    () => recipe(f),
    QA_RECIPE_KEYS,
  );
  const data = await loadData(spec);
  o.precision = await startGpu(o.precision ?? "f32");
  // A LoRA run's checkpoints hold the adapter only: the base comes from where it came from.
  const lora = isLoraRun(o);
  const { model, tokenizer } = await loadQaModelDir(lora ? o.base! : p.dir, {
    quiet: true,
    seed: o.seed,
  });
  if (lora) await attachLora(model, o, o.seed, p.dir);
  const { train, evalSet } = await cutQuestions(data, tokenizer, o.maxQueryLength);
  console.error(`resuming ${dir} after step ${p.step}`);
  await trainAndReport(model, tokenizer, train, evalSet, o, spec, resume);
}

/** Trains (a LoRA run saving its adapter), merges with --merge, and reports. */
async function trainAndReport(
  model: QaModel,
  tokenizer: TextTokenizer,
  train: QAExample[],
  evalSet: QAExample[],
  o: QaOptions,
  spec: DataSpec,
  resume?: ResumeState,
): Promise<void> {
  const lora = isLoraRun(o);
  const s = await trainQa(
    model,
    tokenizer,
    train,
    evalSet,
    o,
    resume,
    { task: "qa", data: spec },
    lora ? (t) => adapterTask(t, model, tokenizer, o.base) : undefined,
  );
  if (lora && o.merge) {
    await writeMerged(model, model.config, tokenizer, `${o.out}/merged`);
    console.error(`merged: ${o.out}/merged (the last checkpoint's adapters folded into the base)`);
  }
  report(s, o.out);
}

function report(s: TrainSummary, out: string): void {
  console.error(`saved: ${out} (best by EM in ${out}/best)`);
  console.log(JSON.stringify({
    exact_match: s.exact_match,
    f1: s.f1,
    examples: s.examples,
    features: s.features,
    seconds: +s.seconds.toFixed(2),
    train_seconds: +s.train_seconds.toFixed(2),
  }));
}

/** Defaults with --train: HF run_qa.py's usual fine-tuning recipe. */
const FILE_RECIPE = {
  epochs: 2,
  batchSize: 8,
  lr: 3e-5,
  maxSeqLength: 384,
  docStride: 128,
  lengthBuckets: 1,
  beta2: 0.999,
};

function asExamples(json: unknown, name: string): QAExample[] {
  return parseSquad(json, name, { mode: "eval" }).examples;
}

/** The run's options and data spec from the flags, over the embedded or the file recipe. */
function recipe(f: QaFlags): { opts: QaOptions; spec: DataSpec } {
  const d = f.train ? FILE_RECIPE : EMBEDDED_QA;
  const t = trainerFlags(f, USAGE, d);
  const opts: QaOptions = {
    out: f.out ?? `runs/${timestamp()}`,
    ...t,
    ...windowFlags(f, USAGE, d),
    nBest: intFlag(f["n-best"], "n-best", USAGE, 1, 1000) ?? 20,
    maxAnswerLength: intFlag(f["max-answer-length"], "max-answer-length", USAGE, 1, 512) ?? 30,
    metric: metricFlag(f.metric, USAGE) ?? "korquad",
    ...sessionFlags(f, USAGE),
    ...loraFlags(f, USAGE),
    ...headFlags(f),
  };
  const spec: DataSpec = {
    train: f.train,
    eval: f.eval,
    maxTrain: intFlag(f["max-train-samples"], "max-train-samples", USAGE),
    maxEval: intFlag(f["max-eval-samples"], "max-eval-samples", USAGE),
    seed: t.seed,
  };
  return { opts, spec };
}

/** `--head` and `--head-dropout` (which needs `--head lstm`); neither combines with LoRA yet. */
function headFlags(f: QaFlags): Partial<QaHeadChoice> {
  const head = f.head;
  if (head !== undefined && head !== "qa" && head !== "lstm") {
    throw new UsageError(`--head: must be qa or lstm, got "${head}"`, USAGE);
  }
  const headDropout = numFlag(f["head-dropout"], "head-dropout", USAGE, 0, 0.99);
  if (headDropout !== undefined && head !== "lstm") {
    throw new UsageError("--head-dropout goes with --head lstm", USAGE);
  }
  if (
    head === "lstm" && (f.lora || f.adapter || Object.keys(f).some((k) => k.startsWith("lora-")))
  ) {
    throw new UsageError("--head lstm does not combine with LoRA", USAGE);
  }
  return { head, headDropout };
}

// `--text a.txt b.json` names several files, as `--text a.txt --text b.json` does.
function fileLists(args: string[]): string[] {
  const out: string[] = [];
  let list: string | null = null; // the list flag the last arguments belong to
  let fresh = false; // whether the next argument is that flag's own value
  for (const a of args) {
    if (a.startsWith("-")) {
      const name = a.split("=")[0];
      list = name === "--text" || name === "--eval-text" ? name : null;
      fresh = list !== null && !a.includes("=");
    } else if (list && !fresh) {
      out.push(list);
    } else {
      fresh = false;
    }
    out.push(a);
  }
  return out;
}

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const f = parseFlags(fileLists(args), FLAGS, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  const task = taskFlag(f.task, USAGE);
  if (f.resume) {
    const p = await readTrainerPointer(f.resume);
    // Runs saved before `task` was recorded are QA runs.
    const saved = (p.state.task as TaskName | undefined) ?? "qa";
    if (f.task !== undefined && task !== saved) {
      throw new UsageError(`--task ${task} disagrees with the run being resumed (${saved})`, USAGE);
    }
    checkTaskFlags(f, saved, USAGE);
    if (saved === "classify") return await resumeClassify(f.resume, f, p, USAGE);
    if (saved === "mlm") return await resumeMlm(f.resume, f, p, USAGE);
    if (saved === "dpr") return await resumeDpr(f.resume, f, p, USAGE);
    return await resumeQa(f.resume, f, p);
  }
  checkModelFlags(f, USAGE);
  checkTaskFlags(f, task, USAGE);
  if (task === "classify") return await trainClassify(f, USAGE);
  if (task === "mlm") return await trainMlm(f, USAGE);
  if (task === "dpr") return await trainDpr(f, USAGE);
  const { opts, spec } = recipe(f);
  const seed = opts.seed;
  await checkFreshRun(f, opts.out);

  // Data first: a bad file fails before the GPU or the model is touched.
  const data = await loadData(spec);
  const generated = data.generated;
  opts.precision = await startGpu(opts.precision!);
  let model: QaModel;
  let tokenizer: TextTokenizer;
  const head = opts.head ? { head: opts.head, headDropout: opts.headDropout } : undefined;
  if (f.model) {
    ({ model, tokenizer } = await loadQaModelDir(f.model, { seed, head }));
  } else {
    const texts = generated ? embeddedQaTexts(data.train) : null;
    tokenizer = await scratchTokenizer(f, USAGE, texts, EMBEDDED_QA.vocabSize);
    const config = generated
      ? embeddedQaConfig(tokenizer.vocabSize, f.config as string | undefined)
      : scratchConfig(f, tokenizer, { architectures: ["BertForQuestionAnswering"] });
    const qaConfig = head ? withQaHead(config, head) : config;
    model = modelFor(qaConfig, { task: "question-answering", seed }).model as QaModel;
  }
  // The run records the head it trains, whichever way it was chosen.
  opts.head = model.head instanceof QaLstmHead ? "lstm" : "qa";
  if (model.head instanceof QaLstmHead) opts.headDropout = model.head.dropout;
  if (isLoraRun(opts)) await attachLora(model, opts, seed);
  const { train, evalSet } = await cutQuestions(data, tokenizer, opts.maxQueryLength);
  await replaceOldRun(f, opts.out);
  await trainAndReport(model, tokenizer, train, evalSet, opts, spec);
}

if (import.meta.main) {
  await runCli(async (args) => {
    try {
      await main(args);
    } catch (e) {
      if (e instanceof TrainingInterrupted) {
        console.error(e.message);
        Deno.exit(130);
      }
      throw e;
    }
  });
}
