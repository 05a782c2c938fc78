// `predict`: answers one question about one context, with scores.

import { ADAPTER_FLAG, ADAPTER_HELP, notAnAdapter, withAdapter } from "./_lora.ts";
import { initGpu } from "../gpu/device.ts";
import { prepareEvalFeatures, truncateQuestions } from "../qa/features.ts";
import { predictLogits } from "../qa/evaluate.ts";
import { postprocessQaPredictions } from "../qa/postprocess.ts";
import { loadQaModelDir } from "../qa/model_dir.ts";
import { parseFlags, runCli, UsageError } from "./_common.ts";
import {
  checkTaskFlags,
  inferenceTaskFlag,
  intFlag,
  TASK_FLAGS,
  WINDOW_FLAGS,
  windowFlags,
} from "./_flags.ts";
import { predictClassify } from "./_classify.ts";

const USAGE = "usage: deno task predict --model DIR [--adapter DIR] --question Q --context C " +
  "[--top-k K] | --task classify --model DIR [--adapter DIR] --text T";

const HELP = `${USAGE}

Prints the K best answer spans with their probabilities (softmax over the n-best scores)
and start+end logit scores, then one JSON line with all of them.

  --task NAME            qa | classify (default qa)
  --text T               classify: the text; prints the label name and its probability
  --model DIR            HF-layout model directory
${ADAPTER_HELP}
  --question Q           the question
  --context C            the passage to answer from (long passages are windowed)
  --top-k K              answers to print (default 1)
  --max-seq-length N     window length (default 384)
  --doc-stride N         window overlap (default 128)
  --max-query-length N   a longer question keeps its first N tokens (default 64)
  --max-answer-length N  (default 30)
  --help                 show this help`;

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    ...TASK_FLAGS,
    model: { type: "string" },
    ...ADAPTER_FLAG,
    question: { type: "string" },
    text: { type: "string" },
    context: { type: "string" },
    "top-k": { type: "string" },
    ...WINDOW_FLAGS,
    "max-answer-length": { type: "string" },
    help: { type: "boolean" },
  }, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  const task = inferenceTaskFlag(f.task, USAGE);
  checkTaskFlags(f, task, USAGE);
  if (task === "classify") return await predictClassify(f, USAGE);
  if (!f.model) throw new UsageError("--model is required", USAGE);
  if (!f.question?.trim()) {
    throw new UsageError("--question is required and must not be empty", USAGE);
  }
  if (!f.context?.trim()) {
    throw new UsageError("--context is required and must not be empty", USAGE);
  }
  const topK = intFlag(f["top-k"], "top-k", USAGE, 1, 1000) ?? 1;
  const win = windowFlags(f, USAGE, { maxSeqLength: 384, docStride: 128 });
  const maxAnswerLength = intFlag(f["max-answer-length"], "max-answer-length", USAGE, 1, 512) ?? 30;
  await notAnAdapter(f.model);
  await initGpu();
  const { model, tokenizer } = await loadQaModelDir(f.model, { quiet: true });
  await withAdapter(model, f.adapter);
  const example = {
    id: "q",
    question: f.question,
    context: f.context,
    answers: { text: [], answer_start: [] },
  };
  const cut = await truncateQuestions([example], tokenizer, win.maxQueryLength);
  if (cut.truncated) {
    console.error(
      `the question is cut to its first ${win.maxQueryLength} tokens (--max-query-length)`,
    );
  }
  const features = await prepareEvalFeatures(cut.examples, tokenizer, {
    maxLength: win.maxSeqLength,
    stride: win.docStride,
    maxQueryLength: win.maxQueryLength,
  });
  const logits = await predictLogits(model, features, 16);
  const post = postprocessQaPredictions([example], features, logits.start, logits.end, {
    nBestSize: Math.max(20, topK),
    maxAnswerLength,
  });
  // HF's postprocessing stands in "empty" (probability 1) when no span is valid; say so in words.
  const none = post.predictions.q === "";
  const answers = (none ? [] : post.nbest.q ?? []).slice(0, topK).map((a) => ({
    answer: a.text,
    probability: a.probability,
    score: a.start_logit + a.end_logit,
  }));
  answers.forEach((a, i) =>
    console.log(
      `${i + 1}. ${a.answer}  (probability ${a.probability.toFixed(4)}, score ${
        a.score.toFixed(3)
      })`,
    )
  );
  if (!answers.length) {
    console.log(
      "no answer: no span of the context is a valid answer (within --max-answer-length, " +
        "start before end, inside the context)",
    );
  }
  console.log(JSON.stringify({ answers }));
}

if (import.meta.main) await runCli(main);
