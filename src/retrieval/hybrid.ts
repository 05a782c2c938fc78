// Hybrid retrieval: a sparse (BM25) and a dense retriever's scores combined per question.

import type { Hit, Passage, Retriever } from "./retriever.ts";

/** Options of {@linkcode HybridRetriever}. */
export interface HybridOptions {
  /** Weight of the dense score in [0, 1]; the sparse one gets 1 - weight (default 0.5). */
  weight?: number;
  /** Hits each retriever contributes per question before fusion (default 100, at least k). */
  depth?: number;
}

/**
 * Fuses two retrievers over the same passages. The rule, per question:
 *
 * 1. each retriever returns its top N (N = max(k, `depth`));
 * 2. each list's scores are min-max normalised to [0, 1] over that list (a list whose scores
 *    are all equal scores 1), since BM25 and inner-product scales are unrelated;
 * 3. every passage of the union gets `(1 - weight) · sparse + weight · dense`, a retriever's
 *    term being 0 where the passage is not in its top N (it scored at most that list's minimum);
 * 4. the top k by that sum, ties to the lower passage index.
 *
 * With `weight` 0 it ranks as the sparse retriever does, with 1 as the dense one (within their
 * top N).
 *
 * @example
 * ```ts
 * import type { Hit, Passage, Retriever } from "webgpu-bert";
 * import { HybridRetriever } from "webgpu-bert";
 * const passages: Passage[] = [{ id: "a", text: "" }, { id: "b", text: "" }, { id: "c", text: "" }];
 * const fixed = (hits: Hit[]): Retriever => ({ passages, search: async (q) => q.map(() => hits) });
 * const sparse = fixed([{ index: 0, score: 9 }, { index: 1, score: 5 }, { index: 2, score: 1 }]);
 * const dense = fixed([{ index: 1, score: 0.9 }, { index: 2, score: 0.8 }, { index: 0, score: 0.1 }]);
 * const h = new HybridRetriever(sparse, dense, { weight: 0.5 });
 * console.log((await h.search(["q"], 1))[0][0].index); // 1: 0.5·0.5 + 0.5·1 beats 0.5·1 + 0
 * ```
 */
export class HybridRetriever implements Retriever {
  /** The dense score's weight. */
  readonly weight: number;
  /** Hits taken from each retriever per question. */
  readonly depth: number;

  /** Fuses `sparse` and `dense`, which must hold the same passages in the same order. */
  constructor(readonly sparse: Retriever, readonly dense: Retriever, opts: HybridOptions = {}) {
    this.weight = opts.weight ?? 0.5;
    this.depth = opts.depth ?? 100;
    if (!(this.weight >= 0 && this.weight <= 1)) throw new Error("hybrid weight must be in [0, 1]");
    const a = sparse.passages, b = dense.passages;
    if (a.length !== b.length || a.some((p, i) => p.id !== b[i].id)) {
      throw new Error("hybrid: the sparse and dense retrievers hold different passages");
    }
  }

  /** The passages both retrievers search. */
  get passages(): readonly Passage[] {
    return this.sparse.passages;
  }

  /** The top `k` passages of each question by the fused score, best first. */
  async search(questions: string[], k: number): Promise<Hit[][]> {
    const n = Math.max(k, this.depth);
    const [s, d] = await Promise.all([
      this.sparse.search(questions, n),
      this.dense.search(questions, n),
    ]);
    return questions.map((_, i) => {
      const fused = new Map<number, number>();
      for (const [hits, w] of [[s[i], 1 - this.weight], [d[i], this.weight]] as const) {
        for (const [index, v] of normalised(hits)) {
          fused.set(index, (fused.get(index) ?? 0) + w * v);
        }
      }
      return [...fused].map(([index, score]) => ({ index, score }))
        .sort((a, b) => b.score - a.score || a.index - b.index)
        .slice(0, k);
    });
  }
}

function normalised(hits: Hit[]): [number, number][] {
  const scores = hits.map((h) => h.score);
  const lo = Math.min(...scores), hi = Math.max(...scores);
  return hits.map((h) => [h.index, hi > lo ? (h.score - lo) / (hi - lo) : 1]);
}
