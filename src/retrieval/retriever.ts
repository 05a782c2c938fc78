// The seam every retriever sits behind (in-process BM25/TF-IDF, dense DPR, hybrid, a search
// server, or passages retrieved elsewhere), so retrieve-eval, odqa and odqa-eval never know
// which one answers.

/** One passage of a collection: a SQuAD context, or a JSONL row `{id, title?, text}`. */
export interface Passage {
  /** Unique in the collection. */
  id: string;
  /** The article's title, when known. */
  title?: string;
  /** The passage text. */
  text: string;
}

/** One retrieved passage: its index in the retriever's collection and its score (higher wins). */
export interface Hit {
  /** Index into {@linkcode Retriever.passages}. */
  index: number;
  /** The retriever's score; comparable only within one retriever. */
  score: number;
}

/**
 * A passage retriever: the top `k` passages for each question, best first, ties broken by the
 * lower passage index so results are deterministic.
 *
 * @example
 * ```ts
 * import type { Hit, Passage, Retriever } from "webgpu-bert";
 * // The smallest retriever: every passage, scored by shared lowercase words.
 * class Overlap implements Retriever {
 *   constructor(readonly passages: Passage[]) {}
 *   search(questions: string[], k: number): Promise<Hit[][]> {
 *     return Promise.resolve(questions.map((q) => {
 *       const words = new Set(q.toLowerCase().split(/\s+/));
 *       return this.passages
 *         .map((p, index) => ({
 *           index,
 *           score: p.text.toLowerCase().split(/\s+/).filter((w) => words.has(w)).length,
 *         }))
 *         .sort((a, b) => b.score - a.score || a.index - b.index)
 *         .slice(0, k);
 *     }));
 *   }
 * }
 * const r = new Overlap([{ id: "a", text: "cats purr" }, { id: "b", text: "dogs bark" }]);
 * console.log((await r.search(["why do dogs bark"], 1))[0][0].index); // 1
 * ```
 */
export interface Retriever {
  /** The collection searched; hits index into it. */
  readonly passages: readonly Passage[];
  /** The top `k` hits of each question, best first. */
  search(questions: string[], k: number): Promise<Hit[][]>;
}
