// `odqa-eval`: open-setting EM/F1. The questions of a SQuAD-format file are answered from the
// passages of the whole file (retrieved, then read), scored by the same metric code as `eval`.

import { loadSquad } from "../qa/dataset.ts";
import { score } from "../qa/evaluate.ts";
import { loadQaModelDir } from "../qa/model_dir.ts";
import { truncateQuestions } from "../qa/features.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { ProgressBar } from "../io/progress.ts";
import { loadPassages } from "../retrieval/passages.ts";
import { bestSpans, type Candidate, readCandidates } from "../retrieval/read.ts";
import { loadRetrievedCsv } from "../retrieval/retrieved_csv.ts";
import { initGpu } from "../gpu/device.ts";
import { DataError, parseFlags, runCli, UsageError } from "./_common.ts";
import { intFlag, metricFlag, topKFlag } from "./_flags.ts";
import { checkOutputs, modelInputs } from "./_outputs.ts";
import { openRetriever, RETRIEVER_FLAGS, RETRIEVER_HELP } from "./_retrievers.ts";
import {
  checkRetrievedFlags,
  READER_FLAGS,
  READER_HELP,
  readerFlags,
  retrieveCandidates,
} from "./_odqa.ts";

const USAGE = "usage: deno task odqa-eval --model DIR --data FILE [--top-k K[,K...]] " +
  "[--retriever NAME | --retrieved FILE.csv] [--out predictions.json] [--metric korquad|squad]";

const HELP = `${USAGE}

Open-domain QA on a SQuAD-format file: only its questions are used; the passages of the
whole file (its deduplicated contexts) form the corpus. Each question's top K passages are
retrieved, every window of each is read (the windows, logits and n-best rules of eval), and
the answer is the span of highest score over all of them. EM/F1 come from the same metric
code as eval; retrieval recall@K (the question's own passage among the K read) is reported
beside them. With several K (--top-k 1,5,20), the passages are read once, for the largest
K, and each K is scored on its first K passages.

  --model DIR            the reader: an HF-layout QA model directory
  --data FILE            SQuAD-format file: the questions, and the corpus
  --top-k K[,K...]       passages read per question (default 5)
  --max-questions N      only the first N questions (the corpus stays whole)
${RETRIEVER_HELP}
  --retrieved FILE.csv   passages retrieved elsewhere instead of --retriever: columns id,
                         question, context (the ODQA notebook's get_retrieved_df saved with
                         pandas' to_csv; an unnamed index column and other columns are
                         ignored). Rows sharing an id are that question's passages, in file
                         order; a context that joins several passages is read as one long
                         passage. recall@K: the question's own context appears inside one of
                         its first K contexts. Every question of --data needs a row
${READER_HELP}
                         (a comma list scores each weight from the same reading)
  --out FILE             predictions {id: answer} (default predictions.json); the n-best
                         list (with each answer's passage) goes beside it as
                         nbest_predictions.json
  --metric NAME          korquad | squad (default: korquad when contexts contain Hangul)
  --help                 show this help

The last line of stdout is JSON: {"exact_match", "f1", "recall@K" for each K, "top_k",
"retrieval_weight", "questions", "passages", "seconds", "results": [{"top_k",
"retrieval_weight", "exact_match", "f1", "recall"}, ...]}; the top-level EM/F1 are those of the
largest K and the first weight, which is also what --out holds.`;

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    model: { type: "string" },
    data: { type: "string" },
    "top-k": { type: "string" },
    "max-questions": { type: "string" },
    ...RETRIEVER_FLAGS,
    retrieved: { type: "string" },
    ...READER_FLAGS,
    out: { type: "string" },
    metric: { type: "string" },
    help: { type: "boolean" },
  }, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  if (!f.model) throw new UsageError("--model is required", USAGE);
  if (!f.data) throw new UsageError("--data is required", USAGE);
  checkRetrievedFlags(f, [...Object.keys(RETRIEVER_FLAGS), "retrieval-weight"], USAGE);
  const ks = topKFlag(f["top-k"], USAGE, [5]);
  const maxK = ks.at(-1)!;
  const maxQuestions = intFlag(f["max-questions"], "max-questions", USAGE, 1);
  const { read, weights } = readerFlags(f, USAGE);
  let metric = metricFlag(f.metric, USAGE);
  const out = f.out ?? "predictions.json";
  const nbestPath = out.replace(/[^/]*$/, "nbest_predictions.json");
  await checkOutputs([
    { flag: "--out", path: out, kind: "file", what: "the predictions" },
    { flag: "--out", path: nbestPath, kind: "file", what: "the n-best list" },
  ], [
    { flag: "--data", path: f.data },
    { flag: "--retrieved", path: f.retrieved },
    ...modelInputs(f.model),
  ]);
  const t0 = performance.now();
  const data = await loadSquad(f.data, { mode: "eval" });
  const examples = data.examples.slice(0, maxQuestions);
  const { passages } = await loadPassages(f.data);
  console.error(`${data.summary()}; ${examples.length} questions over ${passages.length} passages`);
  metric ??= examples.some((e) => /\p{Script=Hangul}/u.test(e.context)) ? "korquad" : "squad";

  await initGpu();
  const { model, tokenizer } = await loadQaModelDir(f.model, { quiet: true });

  let candidates: Candidate[][];
  if (f.retrieved) {
    const csv = await loadRetrievedCsv(f.retrieved);
    candidates = examples.map((e) => {
      const row = csv.get(e.id);
      if (!row) throw new DataError(f.retrieved!, `no row for question id ${JSON.stringify(e.id)}`);
      return row.passages.slice(0, maxK).map((passage) => ({ passage, score: 0 }));
    });
  } else {
    const retriever = await openRetriever(f, passages, USAGE);
    candidates = await retrieveCandidates(retriever, examples.map((e) => e.question), maxK);
  }

  const cut = await truncateQuestions(examples, tokenizer, read.maxQueryLength);
  console.error(
    `${cut.truncated} questions truncated to --max-query-length ${read.maxQueryLength}`,
  );
  const bar = new ProgressBar(examples.length, "read");
  const spans = await readCandidates(
    model,
    tokenizer,
    cut.examples,
    candidates,
    read,
    (d) => bar.update(d),
  );
  bar.done();

  // The question's own passage is among its first k: for a retriever, its context itself (the
  // passages are the file's distinct contexts, as retrieve-eval counts); for --retrieved, its
  // context inside one of them, since a row may join several passages into one.
  const own = f.retrieved
    ? (c: Candidate, context: string) => c.passage.text.includes(context)
    : (c: Candidate, context: string) => c.passage.text === context;
  const recallAt = new Map(ks.map((k) => [
    k,
    examples.filter((e, i) => candidates[i].slice(0, k).some((c) => own(c, e.context))).length /
    Math.max(1, examples.length),
  ]));
  const recall = (k: number) => recallAt.get(k)!;
  const results = [];
  let kept: { predictions: Record<string, string>; nbest: Record<string, unknown[]> } | null = null;
  for (const k of ks) {
    for (const w of weights) {
      const predictions: Record<string, string> = {};
      const nbest: Record<string, unknown[]> = {};
      examples.forEach((e, i) => {
        const ranked = bestSpans(spans[i], candidates[i], k, {
          nBest: read.nBest,
          retrievalWeight: w,
        });
        predictions[e.id] = ranked[0]?.text ?? "";
        nbest[e.id] = ranked.map((s) => ({
          text: s.text,
          probability: s.probability,
          start_logit: s.start_logit,
          end_logit: s.end_logit,
          score: s.score,
          passage: candidates[i][s.candidate].passage.id,
          retrieval_rank: s.candidate + 1,
          retrieval_score: candidates[i][s.candidate].score,
        }));
      });
      const s = score(examples, predictions, metric);
      results.push({
        top_k: k,
        retrieval_weight: w,
        exact_match: s.exact_match,
        f1: s.f1,
        recall: recall(k),
      });
      console.error(
        `top-${k}${weights.length > 1 || w ? `, retrieval weight ${w}` : ""}: ` +
          `EM ${s.exact_match.toFixed(2)} F1 ${s.f1.toFixed(2)}, recall@${k} ${
            recall(k).toFixed(4)
          }`,
      );
      if (k === maxK && w === weights[0]) kept = { predictions, nbest };
    }
  }
  const enc = new TextEncoder();
  await writeFileAtomic(out, enc.encode(JSON.stringify(kept!.predictions, null, 2) + "\n"));
  await writeFileAtomic(nbestPath, enc.encode(JSON.stringify(kept!.nbest, null, 2) + "\n"));
  console.error(`wrote ${out} and ${nbestPath} (${metric} metric)`);
  const main = results.find((r) => r.top_k === maxK && r.retrieval_weight === weights[0])!;
  console.log(JSON.stringify({
    exact_match: main.exact_match,
    f1: main.f1,
    ...Object.fromEntries(ks.map((k) => [`recall@${k}`, recall(k)])),
    top_k: maxK,
    retrieval_weight: weights[0],
    questions: examples.length,
    passages: passages.length,
    seconds: +((performance.now() - t0) / 1000).toFixed(2),
    results,
  }));
}

if (import.meta.main) await runCli(main);
