// `retrieve-eval`: retrieval recall@k of a SQuAD-format file's questions against all of its
// passages. Prints a summary, then ends with one JSON line for scripts to parse.

import { loadPassages } from "../retrieval/passages.ts";
import { ProgressBar } from "../io/progress.ts";
import { DataError, parseFlags, runCli, UsageError } from "./_common.ts";
import { openRetriever, RETRIEVER_FLAGS, RETRIEVER_HELP } from "./_retrievers.ts";
import { topKFlag } from "./_flags.ts";

const USAGE = "usage: deno task retrieve-eval --data FILE [--retriever bm25|tfidf|dense|hybrid] " +
  "[--top-k 1,5,20] [--k1 X] [--b X] [--analyzer SPEC] [--index DIR] [--dense-model DIR]";

const HELP = `${USAGE}

For every question of FILE, retrieves from all the passages of FILE (its distinct contexts)
and counts how often the question's own passage is among the top k.

  --data FILE         SQuAD-format dataset (KorQuAD v1.0, SQuAD v1.1)
  --top-k LIST        comma-separated k values (default 1,5,20)
${RETRIEVER_HELP}
  --help              show this help

The last line of stdout is JSON: {"recall@1": .., "recall@5": .., "recall@20": ..,
"questions": N, "passages": P, "seconds": S, "median_query_ms": M} (one recall key per k;
seconds: the whole run, loading and indexing included; median_query_ms: one question's search).
Bad input exits with code 2 and one line "error: <file or flag>: <what>".`;

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const start = performance.now();
  const f = parseFlags(args, {
    data: { type: "string" },
    "top-k": { type: "string" },
    help: { type: "boolean" },
    ...RETRIEVER_FLAGS,
  }, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  if (!f.data) throw new UsageError("--data is required", USAGE);
  const ks = topKFlag(f["top-k"], USAGE, [1, 5, 20]);
  const { passages, questions } = await loadPassages(f.data);
  if (!questions) {
    throw new DataError(f.data, "not a SQuAD-format file: retrieve-eval needs questions");
  }
  const retriever = await openRetriever(f, passages, USAGE);
  const maxK = ks.at(-1)!;
  const found = new Array<number>(ks.length).fill(0);
  const ms: number[] = [];
  const bar = new ProgressBar(questions.length, "retrieve");
  for (const [i, q] of questions.entries()) {
    const t0 = performance.now();
    const [hits] = await retriever.search([q.question], maxK);
    ms.push(performance.now() - t0);
    const rank = hits.findIndex((h) => h.index === q.passage);
    ks.forEach((k, j) => {
      if (rank >= 0 && rank < k) found[j]++;
    });
    bar.update(i + 1, { "recall@1": found[0] / (i + 1) });
  }
  bar.done();
  ms.sort((a, b) => a - b);
  const median = ms.length % 2
    ? ms[ms.length >> 1]
    : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
  const result: Record<string, number> = {};
  ks.forEach((k, j) => result[`recall@${k}`] = found[j] / questions.length);
  const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
  Object.assign(result, {
    questions: questions.length,
    passages: passages.length,
    seconds: round((performance.now() - start) / 1000, 2),
    median_query_ms: round(median, 3),
  });
  const name = f.retriever ?? "bm25";
  console.log(
    `${name}: ${
      ks.map((k, j) => `recall@${k} ${(found[j] / questions.length).toFixed(4)}`)
        .join("  ")
    } over ${questions.length} questions, ${passages.length} passages`,
  );
  console.log(JSON.stringify(result));
}

if (import.meta.main) await runCli(main);
