// `odqa`: answers one question from a passage collection: retrieve the top K passages, read
// each with an extractive QA model, print the best span with its passage and score.

import { loadQaModelDir } from "../qa/model_dir.ts";
import { truncateQuestions } from "../qa/features.ts";
import { loadPassages } from "../retrieval/passages.ts";
import { bestSpans, readCandidates } from "../retrieval/read.ts";
import { initGpu } from "../gpu/device.ts";
import { parseFlags, runCli, UsageError } from "./_common.ts";
import { intFlag } from "./_flags.ts";
import { openRetriever, RETRIEVER_FLAGS, RETRIEVER_HELP } from "./_retrievers.ts";
import { READER_FLAGS, READER_HELP, readerFlags, retrieveCandidates } from "./_odqa.ts";

const USAGE = "usage: deno task odqa --model DIR --corpus FILE --question Q " +
  "[--retriever NAME] [--top-k K]";

const HELP = `${USAGE}

Open-domain QA for one question: the retriever finds the top K passages of the corpus, the
reader reads every window of each (as eval and predict do), and the span of highest score
over all of them is the answer. Prints the answer, its score and its passage, then one JSON
line {"answer", "score", "start_logit", "end_logit", "passage": {"id", "title", "rank",
"retrieval_score", "text"}, "retrieved": [{"id", "score"}, ...]} ("answer": null when no
passage holds a valid span).

  --model DIR            the reader: an HF-layout QA model directory
  --corpus FILE          the passages: a SQuAD-format file (its deduplicated contexts) or
                         JSONL, one {"id", "title"?, "text"} a line
  --question Q           the question
  --top-k K              passages read (default 5)
${RETRIEVER_HELP}
${READER_HELP}
  --help                 show this help`;

// Characters of the passage shown on each side of the answer.
const EXCERPT = 120;

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    model: { type: "string" },
    corpus: { type: "string" },
    question: { type: "string" },
    "top-k": { type: "string" },
    ...RETRIEVER_FLAGS,
    ...READER_FLAGS,
    help: { type: "boolean" },
  }, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  if (!f.model) throw new UsageError("--model is required", USAGE);
  if (!f.corpus) throw new UsageError("--corpus is required", USAGE);
  if (!f.question?.trim()) {
    throw new UsageError("--question is required and must not be empty", USAGE);
  }
  const k = intFlag(f["top-k"], "top-k", USAGE, 1, 10000) ?? 5;
  const { read, weights } = readerFlags(f, USAGE);
  if (weights.length > 1) {
    throw new UsageError("--retrieval-weight: one weight here (odqa-eval compares several)", USAGE);
  }
  await initGpu();
  const { model, tokenizer } = await loadQaModelDir(f.model, { quiet: true });
  const { passages } = await loadPassages(f.corpus);
  const retriever = await openRetriever(f, passages, USAGE);
  const [candidates] = await retrieveCandidates(retriever, [f.question], k);
  const question = { id: "q", question: f.question };
  const cut = await truncateQuestions(
    [{ ...question, context: "", answers: { text: [], answer_start: [] } }],
    tokenizer,
    read.maxQueryLength,
  );
  if (cut.truncated) {
    console.error(
      `the question is cut to its first ${read.maxQueryLength} tokens (--max-query-length)`,
    );
  }
  const [spans] = await readCandidates(model, tokenizer, cut.examples, [candidates], read);
  const [best] = bestSpans(spans, candidates, k, {
    nBest: read.nBest,
    retrievalWeight: weights[0],
  });
  const retrieved = candidates.map((c) => ({ id: c.passage.id, score: c.score }));
  if (!best) {
    console.log(
      `no answer: none of the ${candidates.length} passages retrieved holds a valid span ` +
        "(within --max-answer-length, start before end, inside the passage)",
    );
    console.log(JSON.stringify({ answer: null, retrieved }));
    return;
  }
  const c = candidates[best.candidate];
  const at = c.passage.text.indexOf(best.text);
  const from = Math.max(0, at - EXCERPT);
  const to = Math.min(c.passage.text.length, at + best.text.length + EXCERPT);
  const excerpt = (from > 0 ? "…" : "") + c.passage.text.slice(from, to).replace(/\s+/g, " ") +
    (to < c.passage.text.length ? "…" : "");
  const w = weights[0];
  console.log(`answer: ${best.text}`);
  console.log(
    `score: ${best.score.toFixed(3)} = start ${best.start_logit.toFixed(3)} + end ` +
      `${best.end_logit.toFixed(3)}${w ? ` + ${w} x retrieval ${c.score.toFixed(3)}` : ""}`,
  );
  console.log(
    `passage: ${c.passage.id}${c.passage.title ? ` (${c.passage.title})` : ""}, retrieval rank ` +
      `${best.candidate + 1} of ${candidates.length}, retrieval score ${c.score.toFixed(3)}`,
  );
  console.log(`  ${excerpt}`);
  console.log(JSON.stringify({
    answer: best.text,
    score: best.score,
    start_logit: best.start_logit,
    end_logit: best.end_logit,
    passage: {
      id: c.passage.id,
      title: c.passage.title,
      rank: best.candidate + 1,
      retrieval_score: c.score,
      text: c.passage.text,
    },
    retrieved,
  }));
}

if (import.meta.main) await runCli(main);
