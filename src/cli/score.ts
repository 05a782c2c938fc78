// `score`: the official KorQuAD v1.0 / SQuAD v1.1 EM and F1 of a predictions file.
// Prints a short summary, then ends with one JSON line for scripts to parse.

import { loadPredictions, loadSquad, type QAExample } from "../qa/dataset.ts";
import { korquadScore, squadScore } from "../qa/metrics.ts";
import { DataError, parseFlags, runCli, UsageError } from "./_common.ts";

const USAGE =
  "usage: deno run -A src/cli/score.ts --data FILE --predictions FILE [--metric korquad|squad]";

const HELP = `${USAGE}

Scores extractive-QA predictions with the official metric.

  --data FILE         SQuAD-format dataset (SQuAD v1.1, KorQuAD v1.0)
  --predictions FILE  JSON object {question id: answer text}
  --metric NAME       korquad: KorQuAD v1.0 evaluate-v1.0.py (character-level F1)
                      squad:   SQuAD v1.1 evaluate-v1.1.py (token-level F1, articles removed)
                      default: korquad if the data file name contains "korquad" (any case)
                      or any context contains Hangul, else squad
  --help              show this help

A question without a prediction scores 0 and is counted as missing. The last line of
stdout is JSON: {"exact_match": .., "f1": .., "examples": N, "missing": M} (0-100 scale).
Bad input exits with code 2 and one line "error: <file>: <what>".`;

const HANGUL = /\p{Script=Hangul}/u;

/** The `--metric` default: KorQuAD when the file name or the contexts say Korean. */
function guessMetric(path: string, examples: readonly QAExample[]): ["korquad" | "squad", string] {
  const base = path.split(/[\\/]/).pop() ?? path;
  if (/korquad/i.test(base)) return ["korquad", "file name contains korquad"];
  let last = "";
  for (const ex of examples) {
    if (ex.context === last) continue;
    last = ex.context;
    if (HANGUL.test(ex.context)) return ["korquad", "Hangul in contexts"];
  }
  return ["squad", "no Hangul in contexts"];
}

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, {
    data: { type: "string" },
    predictions: { type: "string" },
    metric: { type: "string" },
    help: { type: "boolean" },
  }, USAGE);
  if (flags.help) {
    console.log(HELP);
    return;
  }
  if (!flags.data) throw new UsageError("--data is required", USAGE);
  if (!flags.predictions) throw new UsageError("--predictions is required", USAGE);
  if (flags.metric !== undefined && flags.metric !== "korquad" && flags.metric !== "squad") {
    throw new UsageError(`--metric: must be korquad or squad, got "${flags.metric}"`, USAGE);
  }
  // Every question counts, whatever its text, as in the official scripts.
  const data = await loadSquad(flags.data, { mode: "score" });
  if (!data.examples.length) throw new DataError(flags.data, "no questions to score");
  const preds = await loadPredictions(flags.predictions);
  const [metric, why] = flags.metric
    ? [flags.metric as "korquad" | "squad", "--metric"]
    : guessMetric(flags.data, data.examples);
  const s = (metric === "korquad" ? korquadScore : squadScore)(data.examples, preds);

  const ids = new Set(data.examples.map((e) => e.id));
  const unknown = Object.keys(preds).filter((id) => !ids.has(id)).length;
  console.log(`data: ${data.summary()}`);
  console.log(
    `predictions: ${flags.predictions}: ${Object.keys(preds).length} answers` +
      (unknown ? `, ${unknown} for ids not in the data (ignored)` : ""),
  );
  if (s.missing) {
    const more = s.missing > s.missingIds.length ? ", ..." : "";
    console.error(
      `warning: ${s.missing} questions have no prediction and score 0 ` +
        `(${s.missingIds.join(", ")}${more})`,
    );
  }
  console.log(
    `${metric} (${why}): EM ${s.exact_match.toFixed(2)}  F1 ${s.f1.toFixed(2)}  ` +
      `over ${s.total} questions, ${s.missing} missing`,
  );
  console.log(JSON.stringify({
    exact_match: s.exact_match,
    f1: s.f1,
    examples: s.total,
    missing: s.missing,
  }));
}

if (import.meta.main) await runCli(main);
