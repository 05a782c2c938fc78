// `eval`: predictions and the official EM/F1 of a QA model on a SQuAD-format file.

import { loadSquad } from "../qa/dataset.ts";
import { defaultMetric, evaluateQa } from "../qa/evaluate.ts";
import { truncateQuestions } from "../qa/features.ts";
import { loadQaModelDir } from "../qa/model_dir.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { ProgressBar } from "../io/progress.ts";
import { parseFlags, runCli, UsageError } from "./_common.ts";
import {
  checkTaskFlags,
  inferenceTaskFlag,
  intFlag,
  metricFlag,
  PRECISION_FLAGS,
  precisionFlag,
  TASK_FLAGS,
  WINDOW_FLAGS,
  windowFlags,
} from "./_flags.ts";
import { setMatmulPrecision } from "../ops/matmul.ts";
import { startGpu } from "./_train_shared.ts";
import { evalClassify } from "./_classify.ts";
import { checkOutputs, modelInputs } from "./_outputs.ts";
import { ADAPTER_FLAG, ADAPTER_HELP, adapterInputs, notAnAdapter, withAdapter } from "./_lora.ts";

const USAGE =
  "usage: deno task eval [--task qa|classify] --model DIR [--adapter DIR] --data FILE " +
  "[--out predictions.json] " +
  "[--metric korquad|squad] [--batch-size N]";

const HELP = `${USAGE}

Runs BertForQuestionAnswering over every window of every question, postprocesses as HF
run_qa.py (n-best, max answer length) and scores with the official metric.

  --task NAME            qa | classify (default qa). classify: --data is NSMC TSV or JSONL
                         {"id"?, "text", "label"}; --out gets {id: {"label", "label_name",
                         "score"}} and eval_results.json (with the confusion matrix) goes
                         beside it; the last line is {"accuracy", "macro_f1", "examples",
                         "skipped", "seconds"}; --max-seq-length defaults to 128
  --model DIR            HF-layout model directory
${ADAPTER_HELP}
  --data FILE            SQuAD-format dataset
  --out FILE             predictions {id: answer} (default predictions.json); the n-best
                         list goes beside it as nbest_predictions.json
  --metric NAME          korquad | squad (default: korquad when contexts contain Hangul)
  --batch-size N         windows per forward pass (default 32)
  --max-seq-length N     window length (default 384)
  --doc-stride N         window overlap (default 128)
  --max-query-length N   a question keeps its first N tokens (run_squad.py; default 64);
                         the data summary counts the questions cut
  --n-best N             (default 20)
  --max-answer-length N  (default 30)
  --precision P          f32 | f16 (default f32): f16 rounds matmul operands to f16 (f32
                         accumulation); needs the adapter feature shader-f16, else a
                         warning and f32
  --help                 show this help

The last line of stdout is JSON:
{"exact_match", "f1", "examples", "features" (windows), "seconds"}.`;

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    ...TASK_FLAGS,
    model: { type: "string" },
    ...ADAPTER_FLAG,
    data: { type: "string" },
    out: { type: "string" },
    metric: { type: "string" },
    "batch-size": { type: "string" },
    ...WINDOW_FLAGS,
    "n-best": { type: "string" },
    "max-answer-length": { type: "string" },
    ...PRECISION_FLAGS,
    help: { type: "boolean" },
  }, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  const task = inferenceTaskFlag(f.task, USAGE);
  checkTaskFlags(f, task, USAGE);
  if (task === "classify") return await evalClassify(f, USAGE);
  if (!f.model) throw new UsageError("--model is required", USAGE);
  if (!f.data) throw new UsageError("--data is required", USAGE);
  const win = windowFlags(f, USAGE, { maxSeqLength: 384, docStride: 128 });
  const batchSize = intFlag(f["batch-size"], "batch-size", USAGE, 1, 4096) ?? 32;
  const nBest = intFlag(f["n-best"], "n-best", USAGE, 1, 1000) ?? 20;
  const maxAnswerLength = intFlag(f["max-answer-length"], "max-answer-length", USAGE, 1, 512) ?? 30;
  const precision = precisionFlag(f.precision, USAGE) ?? "f32";
  let metric = metricFlag(f.metric, USAGE);
  const out = f.out ?? "predictions.json";
  const nbestPath = out.replace(/[^/]*$/, "nbest_predictions.json");
  await checkOutputs([
    { flag: "--out", path: out, kind: "file", what: "the predictions" },
    { flag: "--out", path: nbestPath, kind: "file", what: "the n-best list" },
  ], [{ flag: "--data", path: f.data }, ...modelInputs(f.model), ...adapterInputs(f.adapter)]);
  await notAnAdapter(f.model);
  const data = await loadSquad(f.data, { mode: "eval" });
  metric ??= defaultMetric(data.examples);
  setMatmulPrecision(await startGpu(precision));
  const { model, tokenizer } = await loadQaModelDir(f.model, { quiet: !!f.adapter });
  await withAdapter(model, f.adapter);
  const cut = await truncateQuestions(data.examples, tokenizer, win.maxQueryLength);
  console.error(
    `${data.summary()}; ${cut.truncated} questions truncated to ` +
      `--max-query-length ${win.maxQueryLength}`,
  );
  let bar: ProgressBar | null = null;
  const r = await evaluateQa(model, tokenizer, cut.examples, {
    ...win,
    batchSize,
    nBest,
    maxAnswerLength,
    metric,
  }, (done, total) => {
    bar ??= new ProgressBar(total, "eval");
    bar.update(done);
  });
  (bar as ProgressBar | null)?.done();
  const enc = new TextEncoder();
  await writeFileAtomic(out, enc.encode(JSON.stringify(r.predictions, null, 2) + "\n"));
  await writeFileAtomic(nbestPath, enc.encode(JSON.stringify(r.nbest, null, 2) + "\n"));
  console.error(`wrote ${out} and ${nbestPath} (${metric} metric)`);
  console.log(JSON.stringify({
    exact_match: r.exact_match,
    f1: r.f1,
    examples: r.examples,
    features: r.features,
    seconds: +r.seconds.toFixed(2),
  }));
}

if (import.meta.main) await runCli(main);
