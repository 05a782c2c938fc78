// Retrieve, then read: an extractive QA reader run over every window of each retrieved passage,
// through the same windows (features.ts), logits (evaluate.ts) and n-best rules (postprocess.ts)
// as the closed-setting `eval`; only the choice among passages is new here.

import type { QaModel } from "../models/heads/qa.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { prepareEvalFeatures } from "../qa/features.ts";
import { predictLogits } from "../qa/evaluate.ts";
import { postprocessQaPredictions } from "../qa/postprocess.ts";
import type { Passage } from "./retriever.ts";

/** A passage to read for one question, with the retriever's score for it (0 when none). */
export interface Candidate {
  /** The passage. */
  passage: Passage;
  /** The retriever's score; only {@linkcode ReadOptions.retrievalWeight} reads it. */
  score: number;
}

/** A span the reader found in one candidate passage. */
export interface Span {
  /** The answer text: the passage between the span's first and last token offsets. */
  text: string;
  /** Start logit of the span's first token. */
  start_logit: number;
  /** End logit of the span's last token. */
  end_logit: number;
  /** Index of the passage in the question's candidate list (its retrieval rank, from 0). */
  candidate: number;
}

/** Window, batch and n-best settings of {@linkcode readCandidates}, as `eval` takes them. */
export interface ReadOptions {
  /** Window length in tokens, question and special tokens included. */
  maxSeqLength: number;
  /** Tokens of overlap between consecutive windows of a long passage. */
  docStride: number;
  /** Tokens a question keeps; absent: whole questions. */
  maxQueryLength?: number;
  /** Start and end candidates per window, and spans kept per passage and per question. */
  nBest: number;
  /** Longest answer span, in tokens. */
  maxAnswerLength: number;
  /** Windows per forward pass. */
  batchSize: number;
  /** Weight of the retrieval score in a span's score (default 0: the reader alone). */
  retrievalWeight?: number;
}

// Questions read per forward sweep: bounds the features held at once (K passages × windows
// each) and paces the progress callback.
const QUESTIONS_PER_SWEEP = 16;

/**
 * Reads each question's candidate passages: every window of every passage goes through the
 * reader, and each passage keeps its `nBest` spans exactly as `eval` postprocesses one
 * context (n best starts × ends per window, valid spans only, best first). A passage with no
 * valid span keeps none.
 *
 * @param model A QA reader.
 * @param tokenizer Its tokenizer.
 * @param questions The questions (`id` is only carried along).
 * @param candidates Each question's passages, best retrieved first.
 * @param opts Windows, batch size, n-best and answer length.
 * @param onQuestions Called with the number of questions read so far.
 * @returns For each question, the spans of all its passages, each passage's best first.
 * @example
 * ```ts ignore
 * import { initGpu, loadQaModelDir, readCandidates } from "webgpu-bert";
 * await initGpu();
 * const { model, tokenizer } = await loadQaModelDir("runs/reader");
 * const spans = await readCandidates(model, tokenizer, [{ id: "q", question: "누가?" }],
 *   [[{ passage: { id: "p", text: "철수가 왔다." }, score: 3.2 }]],
 *   { maxSeqLength: 384, docStride: 128, nBest: 20, maxAnswerLength: 30, batchSize: 32 });
 * ```
 */
export async function readCandidates(
  model: QaModel,
  tokenizer: TextTokenizer,
  questions: readonly { id: string; question: string }[],
  candidates: readonly (readonly Candidate[])[],
  opts: ReadOptions,
  onQuestions?: (done: number) => void,
): Promise<Span[][]> {
  if (candidates.length !== questions.length) {
    throw new Error(`${candidates.length} candidate lists for ${questions.length} questions`);
  }
  const out: Span[][] = [];
  for (let q0 = 0; q0 < questions.length; q0 += QUESTIONS_PER_SWEEP) {
    // One example per (question, passage) pair, keyed by their indexes.
    const pairs = [];
    for (let q = q0; q < Math.min(q0 + QUESTIONS_PER_SWEEP, questions.length); q++) {
      for (const [c, cand] of candidates[q].entries()) {
        pairs.push({
          id: `${q}:${c}`,
          question: questions[q].question,
          context: cand.passage.text,
          answers: { text: [], answer_start: [] },
        });
      }
    }
    const features = await prepareEvalFeatures(pairs, tokenizer, {
      maxLength: opts.maxSeqLength,
      stride: opts.docStride,
      maxQueryLength: opts.maxQueryLength,
    });
    const logits = await predictLogits(model, features, opts.batchSize);
    const post = postprocessQaPredictions(pairs, features, logits.start, logits.end, {
      nBestSize: opts.nBest,
      maxAnswerLength: opts.maxAnswerLength,
    });
    for (let q = q0; q < Math.min(q0 + QUESTIONS_PER_SWEEP, questions.length); q++) {
      const spans: Span[] = [];
      candidates[q].forEach((_, c) => {
        const id = `${q}:${c}`;
        // "" is postprocessing's word for "no valid span" (its n-best holds a dummy entry).
        if (post.predictions[id] === "") return;
        for (const e of post.nbest[id]) {
          spans.push({
            text: e.text,
            start_logit: e.start_logit,
            end_logit: e.end_logit,
            candidate: c,
          });
        }
      });
      out.push(spans);
    }
    onQuestions?.(Math.min(q0 + QUESTIONS_PER_SWEEP, questions.length));
  }
  return out;
}

/** One answer of {@linkcode bestSpans}' n-best list. */
export interface RankedSpan extends Span {
  /** start_logit + end_logit + retrievalWeight × the passage's retrieval score. */
  score: number;
  /** Softmax of `score` over the kept list. */
  probability: number;
}

/**
 * Ranks a question's spans over its first `k` passages: score = start logit + end logit (the
 * reader's span score, as in `eval`'s postprocessing) + `retrievalWeight` × the passage's
 * retrieval score. Raw logits are compared across passages as they are within one passage's
 * windows; with weight 0 (the default) retrieval only decides which passages are read. Ties keep
 * the earlier passage, then postprocessing's order.
 *
 * @param spans The question's spans, from {@linkcode readCandidates}.
 * @param candidates The question's candidates (for their retrieval scores).
 * @param k Passages to consider: the first `k` candidates.
 * @param opts `nBest` answers to keep and the retrieval weight.
 * @returns The kept answers, best first; empty when no passage has a valid span.
 * @example
 * ```ts
 * import { bestSpans } from "webgpu-bert";
 * const spans = [
 *   { text: "Bob", start_logit: 2, end_logit: 1, candidate: 0 },
 *   { text: "Ann", start_logit: 2, end_logit: 2, candidate: 1 },
 * ];
 * const cands = [{ passage: { id: "a", text: "Bob" }, score: 9 }, {
 *   passage: { id: "b", text: "Ann" },
 *   score: 1,
 * }];
 * console.log(bestSpans(spans, cands, 2, { nBest: 5 })[0].text); // Ann
 * console.log(bestSpans(spans, cands, 2, { nBest: 5, retrievalWeight: 0.5 })[0].text); // Bob
 * console.log(bestSpans(spans, cands, 1, { nBest: 5 })[0].text); // Bob
 * ```
 */
export function bestSpans(
  spans: readonly Span[],
  candidates: readonly Candidate[],
  k: number,
  opts: { nBest: number; retrievalWeight?: number },
): RankedSpan[] {
  const w = opts.retrievalWeight ?? 0;
  const kept = spans
    .filter((s) => s.candidate < k)
    .map((s) => ({
      ...s,
      score: s.start_logit + s.end_logit + (w ? w * candidates[s.candidate].score : 0),
    }))
    // Array.prototype.sort is stable: equal scores keep passage order.
    .sort((a, b) => b.score - a.score)
    .slice(0, opts.nBest);
  if (!kept.length) return [];
  const max = kept[0].score;
  const exps = kept.map((s) => Math.exp(s.score - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return kept.map((s, i) => ({ ...s, probability: exps[i] / sum }));
}
