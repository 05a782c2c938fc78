// BM25 and TF-IDF cosine retrieval over an InvertedIndex. A question is scored by walking the
// postings of its terms and adding into one score per passage (only passages that share a
// term are touched), then a heap keeps the top k.
//
// BM25, with n(q) the times term q occurs in the question, N passages, df(q) the passages
// holding q, tf its count in the passage, dl the passage's length in terms, avgdl the mean:
//   score = sum_q n(q) * idf(q) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
//   idf(q) = ln(1 + (N - df + 0.5) / (df + 0.5))            (Lucene's: never negative)
// Lucene 8+ drops the (k1 + 1) factor; it scales every score alike, so rankings are the same.
// TF-IDF cosine, as scikit-learn's TfidfVectorizer with its defaults (smooth_idf, raw counts,
// l2 norm; question terms outside the index are ignored):
//   idf(q) = ln((1 + N) / (1 + df)) + 1,  score = cos(question tf*idf, passage tf*idf)
//
// An index directory holds index.json (the header below), terms.json and postings.bin
// (src/retrieval/inverted_index.ts) and passages.jsonl (one {id, title?, text} a line).

import { writeFileAtomic } from "../io/atomic.ts";
import { parseJson, readUtf8 } from "../io/text_file.ts";
import { DataError, UserError } from "../util/errors.ts";
import { type Analyzer, createAnalyzer, DEFAULT_ANALYZER } from "./analyzers.ts";
import { type IndexSizes, InvertedIndex } from "./inverted_index.ts";
import { readPassagesJsonl } from "./passages.ts";
import type { Hit, Passage, Retriever } from "./retriever.ts";

/** How a {@linkcode SparseRetriever} scores. */
export interface SparseOptions {
  /** BM25 or TF-IDF cosine. */
  scoring: "bm25" | "tfidf";
  /** BM25 term-frequency saturation (default {@linkcode BM25_K1}). */
  k1?: number;
  /** BM25 length normalization (default {@linkcode BM25_B}). */
  b?: number;
  /** Analyzer spec (default {@linkcode DEFAULT_ANALYZER}; see `createAnalyzer`). */
  analyzer?: string;
}

/**
 * Default BM25 k1: 0.9 (Anserini's). On KorQuAD dev with character n-grams, 0.9 beats Lucene's
 * 1.2 and lower values up to 0.3 do slightly better still (the sweep is in BENCHMARKS.md).
 */
export const BM25_K1 = 0.9;
/** Default BM25 b: 0.75 (Lucene's), measured above 0.3, 0.5 and 0.9 at k1 0.9 (BENCHMARKS.md). */
export const BM25_B = 0.75;

const FORMAT = "webgpu-bert/sparse-index";
const VERSION = 1;

/** The header of a saved index (`index.json`). */
interface Header extends IndexSizes {
  format: typeof FORMAT;
  version: number;
  scoring: "bm25" | "tfidf";
  k1: number;
  b: number;
  analyzer: string;
}

/** Keeps the k best of (score, index), ties to the lower index; a min-heap on "worse". */
function topK(scores: Float64Array, cand: ArrayLike<number>, n: number, k: number): Hit[] {
  const heap: number[] = [];
  // a is worse than b: lower score, or the same score and a higher index.
  const worse = (a: number, b: number) =>
    scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l], heap[m])) m = l;
      if (r < heap.length && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  const push = (d: number) => {
    if (heap.length < k) {
      heap.push(d);
      for (let i = heap.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i], heap[p])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    } else if (worse(heap[0], d)) {
      heap[0] = d;
      down(0);
    }
  };
  for (let i = 0; i < cand.length; i++) push(cand[i]);
  // Fewer matches than k: passages sharing no term tie at 0, lowest indices first.
  for (let d = 0; heap.length < k && d < n; d++) if (scores[d] === 0) push(d);
  return heap.sort((a, b) => worse(a, b) ? 1 : -1).map((index) => ({
    index,
    score: scores[index],
  }));
}

/**
 * BM25 or TF-IDF cosine retrieval over an inverted index of analyzed passages, saved to and
 * loaded from a directory.
 *
 * @example
 * ```ts
 * import { SparseRetriever } from "webgpu-bert";
 * const r = await SparseRetriever.build([
 *   { id: "a", text: "서울은 대한민국의 수도이다." },
 *   { id: "b", text: "부산은 항구 도시이다." },
 * ], { scoring: "bm25" });
 * const [hits] = await r.search(["대한민국의 수도는?"], 1);
 * console.log(r.passages[hits[0].index].id); // a
 * ```
 */
export class SparseRetriever implements Retriever {
  /** The options in force, defaults filled in. */
  readonly options: Required<SparseOptions>;
  #idf: Float64Array;
  #docWeight: Float64Array; // BM25: k1*(1-b+b*dl/avgdl); TF-IDF: the passage vector's norm
  #scores: Float64Array;

  private constructor(
    readonly passages: readonly Passage[],
    readonly index: InvertedIndex,
    readonly analyzer: Analyzer,
    opts: SparseOptions,
  ) {
    this.options = {
      scoring: opts.scoring,
      k1: opts.k1 ?? BM25_K1,
      b: opts.b ?? BM25_B,
      analyzer: analyzer.spec,
    };
    const { k1, b } = this.options;
    const { docs: N, terms: T } = index.sizes;
    this.#idf = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const df = index.starts[t + 1] - index.starts[t];
      this.#idf[t] = opts.scoring === "bm25"
        ? Math.log(1 + (N - df + 0.5) / (df + 0.5))
        : Math.log((1 + N) / (1 + df)) + 1;
    }
    this.#docWeight = new Float64Array(N);
    if (opts.scoring === "bm25") {
      let sum = 0;
      for (const dl of index.docLengths) sum += dl;
      const avgdl = sum / Math.max(1, N) || 1;
      index.docLengths.forEach((dl, d) => this.#docWeight[d] = k1 * (1 - b + b * dl / avgdl));
    } else {
      for (let t = 0; t < T; t++) {
        for (let p = index.starts[t]; p < index.starts[t + 1]; p++) {
          this.#docWeight[index.docs[p]] += (index.tfs[p] * this.#idf[t]) ** 2;
        }
      }
      this.#docWeight.forEach((s, d) => this.#docWeight[d] = Math.sqrt(s) || 1);
    }
    this.#scores = new Float64Array(N);
  }

  /**
   * Analyzes and indexes `passages`.
   *
   * @param passages The collection; hits index into it.
   * @param opts Scoring, BM25 parameters and analyzer.
   * @param progress Show a progress bar on stderr.
   * @returns The retriever.
   * @throws {AnalyzerSpecError} For a bad analyzer spec; {@linkcode DataError} for its files.
   * @example
   * ```ts
   * import { SparseRetriever } from "webgpu-bert";
   * const r = await SparseRetriever.build([{ id: "x", text: "hello world" }], {
   *   scoring: "tfidf",
   *   analyzer: "words",
   * });
   * console.log(r.index.sizes); // { docs: 1, terms: 2, postings: 2 }
   * ```
   */
  static async build(
    passages: Passage[],
    opts: SparseOptions,
    progress = false,
  ): Promise<SparseRetriever> {
    checkOptions(opts);
    const analyzer = await createAnalyzer(opts.analyzer ?? DEFAULT_ANALYZER);
    const index = await InvertedIndex.build(
      passages.length,
      (from, to) => analyzer.analyze(passages.slice(from, to).map((p) => p.text)),
      progress,
    );
    return new SparseRetriever(passages, index, analyzer, opts);
  }

  /**
   * Every passage's score for one question (0 where no term is shared), for checks and
   * debugging; {@linkcode SparseRetriever.search} touches only the matching passages.
   *
   * @example
   * ```ts
   * import { SparseRetriever } from "webgpu-bert";
   * const r = await SparseRetriever.build(
   *   [{ id: "x", text: "a b" }, { id: "y", text: "c" }],
   *   { scoring: "tfidf", analyzer: "words" },
   * );
   * console.log((await r.scores("a b"))[1]); // 0
   * ```
   */
  async scores(question: string): Promise<Float64Array> {
    const [terms] = await this.analyzer.analyze([question]);
    const touched = this.#accumulate(terms);
    const out = this.#scores.slice();
    for (const d of touched) this.#scores[d] = 0;
    return out;
  }

  /** Adds the question's contributions into #scores; returns the passages touched. */
  #accumulate(terms: readonly string[]): number[] {
    const qtf = new Map<number, number>();
    for (const term of terms) {
      const t = this.index.termIds.get(term);
      if (t !== undefined) qtf.set(t, (qtf.get(t) ?? 0) + 1);
    }
    const { starts, docs, tfs } = this.index;
    const scores = this.#scores;
    const w = this.#docWeight;
    const touched: number[] = [];
    const bm25 = this.options.scoring === "bm25";
    const k1 = this.options.k1;
    let qNorm = 0;
    for (const [t, n] of qtf) qNorm += (n * this.#idf[t]) ** 2;
    qNorm = Math.sqrt(qNorm);
    for (const [t, n] of qtf) {
      const idf = this.#idf[t];
      for (let p = starts[t]; p < starts[t + 1]; p++) {
        const d = docs[p];
        const tf = tfs[p];
        // Every contribution is positive (idf > 0, tf >= 1), so 0 means "not touched yet".
        if (scores[d] === 0) touched.push(d);
        scores[d] += bm25
          ? n * idf * tf * (k1 + 1) / (tf + w[d])
          : n * idf * idf * tf / (w[d] * qNorm);
      }
    }
    return touched;
  }

  /**
   * The top `k` passages of each question, best first, ties to the lower index; when fewer
   * than `k` passages share a term with a question, zero-score passages fill the list in
   * index order.
   *
   * @example
   * ```ts
   * import { SparseRetriever } from "webgpu-bert";
   * const r = await SparseRetriever.build(
   *   [{ id: "x", text: "cats purr" }, { id: "y", text: "dogs bark" }],
   *   { scoring: "bm25", analyzer: "words" },
   * );
   * console.log((await r.search(["dogs"], 2))[0].map((h) => h.index)); // [1, 0]
   * ```
   */
  async search(questions: string[], k: number): Promise<Hit[][]> {
    const n = this.passages.length;
    const kk = Math.min(Math.max(0, Math.floor(k)), n);
    const analyzed = await this.analyzer.analyze(questions);
    return analyzed.map((terms) => {
      const touched = this.#accumulate(terms);
      const hits = topK(this.#scores, touched, n, kk);
      for (const d of touched) this.#scores[d] = 0;
      return hits;
    });
  }

  /**
   * Saves the index into `dir` (created if needed): `index.json`, `terms.json`,
   * `postings.bin`, `passages.jsonl`, each written atomically, the header last.
   *
   * @example
   * ```ts
   * import { SparseRetriever } from "webgpu-bert";
   * const r = await SparseRetriever.build([{ id: "x", text: "hello" }], { scoring: "bm25" });
   * const dir = await Deno.makeTempDir();
   * await r.save(dir);
   * console.log((await SparseRetriever.load(dir)).options.scoring); // bm25
   * ```
   */
  async save(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    await this.index.save(dir);
    const enc = new TextEncoder();
    const passages = this.passages;
    async function* lines() {
      for (let i = 0; i < passages.length; i += 4096) {
        const chunk = passages.slice(i, i + 4096).map((p) => JSON.stringify(p) + "\n").join("");
        yield enc.encode(chunk);
      }
    }
    await writeFileAtomic(`${dir}/passages.jsonl`, lines());
    const header: Header = {
      format: FORMAT,
      version: VERSION,
      ...this.options,
      ...this.index.sizes,
    };
    await writeFileAtomic(`${dir}/index.json`, enc.encode(JSON.stringify(header, null, 2) + "\n"));
  }

  /**
   * Loads an index that {@linkcode SparseRetriever.save} wrote, checking every file against
   * the header.
   *
   * @param dir The index directory.
   * @param scoring Scoring and BM25 parameters to use instead of the saved ones (the postings
   * serve both BM25 and TF-IDF; only the analyzer is fixed by the index).
   * @returns The retriever, with the saved analyzer.
   * @throws {DataError} Naming the file that is missing, corrupt or inconsistent.
   * @example
   * ```ts
   * import { SparseRetriever } from "webgpu-bert";
   * const dir = await Deno.makeTempDir();
   * await (await SparseRetriever.build([{ id: "x", text: "hi" }], { scoring: "tfidf" })).save(dir);
   * console.log((await SparseRetriever.load(dir)).passages); // [{ id: "x", text: "hi" }]
   * ```
   */
  static async load(
    dir: string,
    scoring: Partial<Omit<SparseOptions, "analyzer">> = {},
  ): Promise<SparseRetriever> {
    const file = `${dir}/index.json`;
    const h = parseJson(await readUtf8(file), file) as Partial<Header> | null;
    const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (!h || typeof h !== "object" || h.format !== FORMAT) {
      throw new DataError(file, `not a sparse index (format must be "${FORMAT}")`);
    }
    if (h.version !== VERSION) {
      throw new DataError(file, `version ${h.version}; this build reads version ${VERSION}`);
    }
    if (
      !isCount(h.docs) || !isCount(h.terms) || !isCount(h.postings) ||
      typeof h.analyzer !== "string" || typeof h.k1 !== "number" || typeof h.b !== "number" ||
      (h.scoring !== "bm25" && h.scoring !== "tfidf")
    ) {
      throw new DataError(file, "missing or mistyped fields (docs, terms, postings, ...)");
    }
    try {
      checkOptions({ scoring: h.scoring, k1: h.k1, b: h.b });
    } catch (e) {
      throw new DataError(file, (e as Error).message);
    }
    const opts: SparseOptions = {
      scoring: scoring.scoring ?? h.scoring,
      k1: scoring.k1 ?? h.k1,
      b: scoring.b ?? h.b,
      analyzer: h.analyzer,
    };
    checkOptions(opts);
    const sizes = { docs: h.docs!, terms: h.terms!, postings: h.postings! };
    const index = await InvertedIndex.load(dir, sizes);
    const pfile = `${dir}/passages.jsonl`;
    const passages = await readPassagesJsonl(pfile);
    if (passages.length !== sizes.docs) {
      throw new DataError(pfile, `${passages.length} passages; index.json says ${sizes.docs}`);
    }
    let analyzer: Analyzer;
    try {
      analyzer = await createAnalyzer(h.analyzer);
    } catch (e) {
      if (e instanceof DataError || !(e instanceof UserError)) throw e;
      throw new DataError(file, `analyzer ${(e as Error).message}`);
    }
    return new SparseRetriever(passages, index, analyzer, opts);
  }
}

/** Rejects parameters BM25 and the analyzers cannot take. */
function checkOptions(opts: SparseOptions): void {
  if (opts.scoring !== "bm25" && opts.scoring !== "tfidf") {
    throw new RangeError(`scoring must be bm25 or tfidf, got ${opts.scoring}`);
  }
  if (opts.k1 !== undefined && !(opts.k1 >= 0 && Number.isFinite(opts.k1))) {
    throw new RangeError(`k1 must be a finite number >= 0, got ${opts.k1}`);
  }
  if (opts.b !== undefined && !(opts.b >= 0 && opts.b <= 1)) {
    throw new RangeError(`b must be in [0, 1], got ${opts.b}`);
  }
}
