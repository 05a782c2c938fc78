// What odqa and odqa-eval share: the reader's flags and retrieving each question's passages,
// from a retriever or from a CSV of passages retrieved elsewhere.

import { ProgressBar } from "../io/progress.ts";
import type { Candidate, ReadOptions } from "../retrieval/read.ts";
import type { Retriever } from "../retrieval/retriever.ts";
import { intFlag, numFlag, WINDOW_FLAGS, windowFlags } from "./_flags.ts";
import { UsageError } from "./_common.ts";

/** The reader's flags, for parseFlags. */
export const READER_FLAGS = {
  ...WINDOW_FLAGS,
  "batch-size": { type: "string" },
  "n-best": { type: "string" },
  "max-answer-length": { type: "string" },
  "retrieval-weight": { type: "string" },
} as const;

/** Help text of the reader's flags. */
export const READER_HELP = `  --batch-size N         windows per forward pass (default 32)
  --max-seq-length N     window length (default 384)
  --doc-stride N         window overlap (default 128)
  --max-query-length N   a longer question keeps its first N tokens (default 64)
  --n-best N             spans kept per window, passage and question (default 20)
  --max-answer-length N  (default 30)
  --retrieval-weight W   a span's score is start logit + end logit + W x its passage's
                         retrieval score (default 0: the reader alone; retrieval only
                         picks the passages read)`;

/** Parses the reader's flags; `weights` parses a comma list of retrieval weights. */
export function readerFlags(
  f: Record<string, unknown>,
  usage: string,
): { read: ReadOptions & { maxQueryLength: number }; weights: number[] } {
  const s = (k: string) => f[k] as string | undefined;
  const win = windowFlags(f, usage, { maxSeqLength: 384, docStride: 128 });
  const weights = (s("retrieval-weight") ?? "0").split(",").map((w) =>
    numFlag(w, "retrieval-weight", usage, -1e6, 1e6)!
  );
  return {
    read: {
      ...win,
      batchSize: intFlag(s("batch-size"), "batch-size", usage, 1, 4096) ?? 32,
      nBest: intFlag(s("n-best"), "n-best", usage, 1, 1000) ?? 20,
      maxAnswerLength: intFlag(s("max-answer-length"), "max-answer-length", usage, 1, 512) ?? 30,
    },
    weights,
  };
}

// Questions per search call: keeps the progress bar moving on a large set.
const SEARCH_CHUNK = 64;

/** The top `k` passages of each question from `retriever`, with a progress bar. */
export async function retrieveCandidates(
  retriever: Retriever,
  questions: readonly string[],
  k: number,
): Promise<Candidate[][]> {
  const bar = new ProgressBar(questions.length, "retrieve");
  const out: Candidate[][] = [];
  for (let i = 0; i < questions.length; i += SEARCH_CHUNK) {
    const hits = await retriever.search(questions.slice(i, i + SEARCH_CHUNK), k);
    for (const hs of hits) {
      out.push(hs.map((h) => ({ passage: retriever.passages[h.index], score: h.score })));
    }
    bar.update(out.length);
  }
  bar.done();
  return out;
}

/** `--retrieved` excludes the retriever's flags: they would be silently ignored. */
export function checkRetrievedFlags(f: Record<string, unknown>, names: string[], usage: string) {
  const given = names.filter((n) => f[n] !== undefined);
  if (f.retrieved !== undefined && given.length) {
    throw new UsageError(
      `--${given[0]}: not used with --retrieved (its passages were retrieved elsewhere)`,
      usage,
    );
  }
}
