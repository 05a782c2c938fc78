// `browser-eval`: `eval` inside the web page, in the system's headless Chromium: the page
// tokenizes with the TypeScript WordPiece tokenizer and runs the model on the browser's WebGPU.

import { parseFlags, runCli, UsageError } from "./_common.ts";
import { intFlag, metricFlag, WINDOW_FLAGS, windowFlags } from "./_flags.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { parseJson, readUtf8 } from "../io/text_file.ts";
import { parseSquad } from "../qa/dataset.ts";
import { checkOutputs, modelInputs } from "./_outputs.ts";
import { launchPage, MODEL_PATH, type PageSession } from "./_web.ts";

const USAGE = "usage: deno task browser-eval --model DIR --data FILE --out FILE " +
  "[--metric korquad|squad] [--batch-size N] [--chromium PATH]";

const HELP = `${USAGE}

Serves the page (as deno task serve) with the model, opens it in headless Chromium with WebGPU
through puppeteer-core, and runs the QA evaluation inside it: the page tokenizes, windows,
runs the model and postprocesses exactly as deno task eval does.

  --model DIR            HF-layout model directory (tokenizer.json or vocab.txt)
  --data FILE            SQuAD-format dataset
  --out FILE             predictions {id: answer}
  --metric NAME          korquad | squad (default: korquad when contexts contain Hangul)
  --batch-size N         windows per forward pass (default 32)
  --max-seq-length N     window length (default 384)
  --doc-stride N         window overlap (default 128)
  --max-query-length N   a question keeps its first N tokens (default 64)
  --n-best N             (default 20)
  --max-answer-length N  (default 30)
  --chromium PATH        the browser (default /usr/bin/chromium, or $CHROMIUM)
  --help                 show this help

The last line of stdout is JSON, as eval's:
{"exact_match", "f1", "examples", "features" (windows), "seconds"}.`;

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    model: { type: "string" },
    data: { type: "string" },
    out: { type: "string" },
    metric: { type: "string" },
    "batch-size": { type: "string" },
    ...WINDOW_FLAGS,
    "n-best": { type: "string" },
    "max-answer-length": { type: "string" },
    chromium: { type: "string" },
    help: { type: "boolean" },
  }, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  if (!f.model) throw new UsageError("--model is required", USAGE);
  if (!f.data) throw new UsageError("--data is required", USAGE);
  if (!f.out) throw new UsageError("--out is required", USAGE);
  const settings = {
    ...windowFlags(f, USAGE, { maxSeqLength: 384, docStride: 128 }),
    batchSize: intFlag(f["batch-size"], "batch-size", USAGE, 1, 4096),
    nBest: intFlag(f["n-best"], "n-best", USAGE, 1, 1000),
    maxAnswerLength: intFlag(f["max-answer-length"], "max-answer-length", USAGE, 1, 512),
    metric: metricFlag(f.metric, USAGE),
  };
  await checkOutputs(
    [{ flag: "--out", path: f.out, kind: "file", what: "the predictions" }],
    [{ flag: "--data", path: f.data }, ...modelInputs(f.model)],
  );
  // Checked here first, so that a bad file is one error line before any browser starts.
  const dataText = await readUtf8(f.data);
  parseSquad(parseJson(dataText, f.data), f.data, { mode: "eval" });
  const page: PageSession = await launchPage({ model: f.model, chromium: f.chromium });
  try {
    console.error(`page: ${page.url} (${page.adapter}), model ${f.model} at ${MODEL_PATH}`);
    const r = await page.call<{
      predictions: Record<string, string>;
      exact_match: number;
      f1: number;
      examples: number;
      features: number;
      seconds: number;
    }>("evaluate", dataText, f.data, settings);
    await writeFileAtomic(
      f.out,
      new TextEncoder().encode(JSON.stringify(r.predictions, null, 2) + "\n"),
    );
    console.error(`wrote ${f.out}`);
    console.log(JSON.stringify({
      exact_match: r.exact_match,
      f1: r.f1,
      examples: r.examples,
      features: r.features,
      seconds: +r.seconds.toFixed(2),
    }));
  } finally {
    await page.close();
  }
}

if (import.meta.main) await runCli(main);
