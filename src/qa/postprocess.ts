// Start/end logits to answer strings, as Hugging Face's utils_qa.py
// `postprocess_qa_predictions` does it with version_2_with_negative=False.

import { hostFiles } from "../io/files.ts";
import type { QAExample } from "./dataset.ts";
import type { QaFeature } from "./features.ts";

/** One of an example's n best answers. */
export interface NbestEntry {
  /** The answer: the context between the span's first and last token offsets. */
  text: string;
  /** Softmax of the score (start_logit + end_logit) over the example's n-best list. */
  probability: number;
  /** The start logit of the span's first token. */
  start_logit: number;
  /** The end logit of the span's last token. */
  end_logit: number;
  /** The answer's `[start, end)` in the context, with `withOffsets` (for highlighting it). */
  offsets?: [number, number];
}

/** What {@linkcode postprocessQaPredictions} returns. */
export interface QaPredictions {
  /** Example id to answer text. */
  predictions: Record<string, string>;
  /** Example id to its n best answers, best first. */
  nbest: Record<string, NbestEntry[]>;
}

/** Options of {@linkcode postprocessQaPredictions}. */
export interface PostprocessOptions {
  /** Start and end indexes tried per feature, and answers kept per example (default 20). */
  nBestSize?: number;
  /** Longest answer in tokens (default 30). */
  maxAnswerLength?: number;
  /**
   * The prediction when no span is valid (default ""). utils_qa.py then inserts a dummy
   * n-best entry with text "empty" and score 0 and predicts "empty"; pass "empty" to match.
   */
  emptyPrediction?: string;
  /**
   * Give each n-best entry its span in the context as `offsets` (default false: utils_qa.py
   * drops them, so its nbest_predictions.json has none).
   */
  withOffsets?: boolean;
}

// NaN sorts above every number, as in numpy.
function greater(a: number, b: number): boolean {
  return Number.isNaN(a) ? !Number.isNaN(b) : a > b;
}

/**
 * `np.argsort(x)[-1:-n-1:-1]`: the indexes of the n largest values, largest first. numpy's
 * default sort leaves the order of ties unspecified; here ties come higher index first,
 * which is what the stable `np.argsort(x, kind="stable")` reversed gives.
 */
function topIndexes(x: ArrayLike<number>, n: number): number[] {
  const idx = Array.from({ length: x.length }, (_, i) => i);
  idx.sort((i, j) => greater(x[j], x[i]) ? 1 : greater(x[i], x[j]) ? -1 : j - i);
  return idx.slice(0, n);
}

interface Prelim {
  /** The answer's span in the context. */
  span: [number, number];
  score: number;
  start_logit: number;
  end_logit: number;
}

/**
 * Turns per-feature start/end logits into one answer per example, exactly as utils_qa.py:
 * for each feature, every pair of its `nBestSize` best start and end indexes is a candidate
 * unless an index is past the offsets or outside the context (null offset), the end comes
 * before the start, or the span is longer than `maxAnswerLength` tokens; score = start logit
 * + end logit (summed in float32 when the logits are a Float32Array, as numpy does); the
 * `nBestSize` best candidates over all of an example's features are kept (a stable sort, so
 * equal scores keep feature and index order); the answer is
 * `context.slice(offsets[start][0], offsets[end][1])`; probabilities are the softmax of the
 * kept scores. With no valid candidate the n-best list holds utils_qa.py's dummy entry
 * `{text: "empty"}` and the prediction is `emptyPrediction`.
 *
 * @param examples The examples (id and context).
 * @param features Eval features (from {@linkcode prepareEvalFeatures}), each with offsets.
 * @param startLogits Start logits, one array per feature.
 * @param endLogits End logits, one array per feature.
 * @param opts n-best size, longest answer, the empty prediction.
 * @returns Predictions and n-best lists keyed by example id, in example order.
 * @throws When the logits do not match the features, or a feature's example is unknown.
 * @example
 * ```ts
 * import { postprocessQaPredictions } from "webgpu-bert";
 * const out = postprocessQaPredictions(
 *   [{ id: "q1", context: "Bob ran" }],
 *   [{ exampleId: "q1", offsets: [null, [0, 3], [4, 7], null] }],
 *   [[0, 5, 1, 0]],
 *   [[0, 4, 2, 0]],
 * );
 * console.log(out.predictions); // { q1: "Bob" }
 * ```
 */
export function postprocessQaPredictions(
  examples: readonly Pick<QAExample, "id" | "context">[],
  features: readonly Pick<QaFeature, "exampleId" | "offsets">[],
  startLogits: readonly ArrayLike<number>[],
  endLogits: readonly ArrayLike<number>[],
  opts: PostprocessOptions = {},
): QaPredictions {
  const nBest = opts.nBestSize ?? 20;
  const maxLen = opts.maxAnswerLength ?? 30;
  if (startLogits.length !== features.length || endLogits.length !== features.length) {
    throw new Error(
      `Got ${startLogits.length} start and ${endLogits.length} end logit arrays ` +
        `for ${features.length} features.`,
    );
  }
  const exampleIndex = new Map<string, number>();
  examples.forEach((ex, i) => exampleIndex.set(ex.id, i));
  const perExample: number[][] = examples.map(() => []);
  features.forEach((f, i) => {
    const k = exampleIndex.get(f.exampleId);
    if (k === undefined) throw new Error(`feature ${i}: unknown example id ${f.exampleId}`);
    perExample[k].push(i);
  });

  const predictions: Record<string, string> = {};
  const nbest: Record<string, NbestEntry[]> = {};
  examples.forEach((ex, k) => {
    const prelim: Prelim[] = [];
    for (const fi of perExample[k]) {
      const s = startLogits[fi], e = endLogits[fi];
      const off = features[fi].offsets;
      if (!off) throw new Error(`feature ${fi} has no offsets (use prepareEvalFeatures)`);
      const f32 = s instanceof Float32Array && e instanceof Float32Array;
      const ends = topIndexes(e, nBest);
      for (const i of topIndexes(s, nBest)) {
        for (const j of ends) {
          if (i >= off.length || j >= off.length || !off[i] || !off[j]) continue;
          if (j < i || j - i + 1 > maxLen) continue;
          const score = f32 ? Math.fround(s[i] + e[j]) : s[i] + e[j];
          const span: [number, number] = [off[i]![0], off[j]![1]];
          prelim.push({ span, score, start_logit: s[i], end_logit: e[j] });
        }
      }
    }
    // Array.prototype.sort is stable, as Python's sorted(reverse=True) is for equal keys.
    const best = prelim.sort((a, b) =>
      greater(b.score, a.score) ? 1 : greater(a.score, b.score) ? -1 : 0
    ).slice(0, nBest);
    const scores = best.map((p) => p.score);
    const entries: Omit<NbestEntry, "probability">[] = best.map((p) => ({
      start_logit: p.start_logit,
      end_logit: p.end_logit,
      text: ex.context.slice(...p.span),
      ...(opts.withOffsets ? { offsets: p.span } : {}),
    }));
    let empty = false;
    if (entries.length === 0 || (entries.length === 1 && entries[0].text === "")) {
      entries.unshift({ text: "empty", start_logit: 0, end_logit: 0 });
      scores.unshift(0);
      empty = true;
    }
    const max = Math.max(...scores);
    const exps = scores.map((x) => Math.exp(x - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    nbest[ex.id] = entries.map((en, i) => ({ ...en, probability: exps[i] / sum }));
    predictions[ex.id] = empty ? (opts.emptyPrediction ?? "") : entries[0].text;
  });
  return { predictions, nbest };
}

/**
 * Writes `predictions.json` and `nbest_predictions.json` (4-space indented, as utils_qa.py;
 * UTF-8 text where Python would write `\uXXXX` escapes), each atomically.
 *
 * @param to A directory (created if needed), or the two file paths.
 * @param result The output of {@linkcode postprocessQaPredictions}.
 * @returns The paths written.
 * @example
 * ```ts
 * import { writePredictions } from "webgpu-bert";
 * const dir = await Deno.makeTempDir();
 * console.log(await writePredictions(dir, { predictions: { q1: "Bob" }, nbest: {} }));
 * ```
 */
export async function writePredictions(
  to: string | { predictions: string; nbest: string },
  result: QaPredictions,
): Promise<{ predictions: string; nbest: string }> {
  const files = await hostFiles();
  let paths: { predictions: string; nbest: string };
  if (typeof to === "string") {
    await files.mkdir(to);
    paths = { predictions: `${to}/predictions.json`, nbest: `${to}/nbest_predictions.json` };
  } else paths = to;
  const enc = new TextEncoder();
  await files.writeAtomic(
    paths.predictions,
    enc.encode(JSON.stringify(result.predictions, null, 4) + "\n"),
  );
  await files.writeAtomic(paths.nbest, enc.encode(JSON.stringify(result.nbest, null, 4) + "\n"));
  return paths;
}
