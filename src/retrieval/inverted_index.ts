// An inverted index in compressed-sparse-row form: for term t, its postings are
// docs[starts[t] .. starts[t+1]) (ascending passage indices) with their term frequencies in
// tfs at the same positions. Six bytes a posting and four a passage, in typed arrays, so a
// million passages of KorQuAD length (~300M postings) fit in about 2 GB.
//
// Built in two passes over the texts: the first assigns term ids and counts each term's
// document frequency, the second analyzes again and writes every posting straight into its
// final slot. Analyzing twice costs time, but the peak memory is the finished index plus one
// batch of terms, never a forward index beside the inverted one.
//
// On disk (all integers little-endian):
//   terms.json    JSON array of the terms, in term-id order
//   postings.bin  starts u32[T+1] | docs u32[P] | tfs u16[P] | 0-2 zero bytes to a multiple of 4
//                 | docLengths u32[N]
// T, P and N come from the caller's header (index.json for SparseRetriever); load checks the
// file size and the structure against them, so a torn or corrupted file is a DataError.

import { writeFileAtomic } from "../io/atomic.ts";
import { ProgressBar } from "../io/progress.ts";
import { parseJson, readUtf8 } from "../io/text_file.ts";
import { DataError } from "../util/errors.ts";

/** The largest term frequency stored; more repeats of a term in one passage count as this. */
export const MAX_TF = 65535;

/** Sizes of an index, as its header records them. */
export interface IndexSizes {
  /** Passages (documents). */
  docs: number;
  /** Distinct terms. */
  terms: number;
  /** Postings: (term, passage) pairs with a non-zero frequency. */
  postings: number;
}

const BATCH = 256;

class Growable {
  a: Uint32Array = new Uint32Array(1024);
  grow(n: number): void {
    if (n <= this.a.length) return;
    const b = new Uint32Array(Math.max(n, this.a.length * 2));
    b.set(this.a);
    this.a = b;
  }
}

/**
 * Term dictionary, CSR postings and passage lengths of a collection.
 *
 * @example
 * ```ts
 * import { InvertedIndex } from "webgpu-bert";
 * const texts = [["a", "b", "a"], ["b", "c"]];
 * const index = await InvertedIndex.build(2, (from, to) => Promise.resolve(texts.slice(from, to)));
 * const b = index.termIds.get("b")!;
 * console.log(index.postingsOf(b)); // { docs: Uint32Array [0, 1], tfs: Uint16Array [1, 1] }
 * console.log(index.docLengths); // Uint32Array [3, 2]
 * ```
 */
export class InvertedIndex {
  /** Term id of each term. */
  readonly termIds: Map<string, number>;

  /** An index from its arrays (as {@linkcode InvertedIndex.build} and `load` make them). */
  constructor(
    readonly terms: readonly string[],
    readonly starts: Uint32Array,
    readonly docs: Uint32Array,
    readonly tfs: Uint16Array,
    readonly docLengths: Uint32Array,
  ) {
    this.termIds = new Map(terms.map((t, i) => [t, i]));
  }

  /** The sizes recorded in a header. */
  get sizes(): IndexSizes {
    return { docs: this.docLengths.length, terms: this.terms.length, postings: this.docs.length };
  }

  /** Postings of term `t`: passage indices (ascending) and term frequencies. */
  postingsOf(t: number): { docs: Uint32Array; tfs: Uint16Array } {
    const s = this.starts[t];
    const e = this.starts[t + 1];
    return { docs: this.docs.subarray(s, e), tfs: this.tfs.subarray(s, e) };
  }

  /**
   * Indexes `numDocs` texts whose terms `termsOf(from, to)` returns, batch by batch; it is
   * called twice for every batch and must return the same terms both times.
   *
   * @param numDocs Number of passages.
   * @param termsOf Terms of passages `[from, to)`.
   * @param progress Show a progress bar on stderr (two steps a passage: count, then fill).
   * @returns The index.
   * @example
   * ```ts
   * import { InvertedIndex } from "webgpu-bert";
   * const index = await InvertedIndex.build(1, () => Promise.resolve([["x", "x"]]));
   * console.log(index.sizes); // { docs: 1, terms: 1, postings: 1 }
   * ```
   */
  static async build(
    numDocs: number,
    termsOf: (from: number, to: number) => Promise<string[][]>,
    progress = false,
  ): Promise<InvertedIndex> {
    const bar = progress ? new ProgressBar(2 * numDocs, "index") : null;
    const ids = new Map<string, number>();
    const terms: string[] = [];
    const df = new Growable();
    const last = new Growable(); // 1 + the last passage that counted the term
    const docLengths = new Uint32Array(numDocs);
    for (let from = 0; from < numDocs; from += BATCH) {
      const batch = await termsOf(from, Math.min(numDocs, from + BATCH));
      for (const [i, ts] of batch.entries()) {
        const d = from + i;
        docLengths[d] = ts.length;
        for (const term of ts) {
          let t = ids.get(term);
          if (t === undefined) {
            t = terms.length;
            ids.set(term, t);
            terms.push(term);
            df.grow(t + 1);
            last.grow(t + 1);
          }
          if (last.a[t] !== d + 1) {
            last.a[t] = d + 1;
            df.a[t]++;
          }
        }
      }
      bar?.update(from + batch.length, { terms: terms.length });
    }
    const T = terms.length;
    const starts = new Uint32Array(T + 1);
    let total = 0;
    for (let t = 0; t < T; t++) {
      starts[t] = total;
      total += df.a[t];
    }
    if (total > 0xffffffff) {
      throw new RangeError(`InvertedIndex: ${total} postings exceed the u32 limit of one index`);
    }
    starts[T] = total;
    const docs = new Uint32Array(total);
    const tfs = new Uint16Array(total);
    const cursor = starts.slice(0, T);
    const tf = last; // reused: per-passage counts, zeroed after each passage
    tf.a.fill(0);
    const touched: number[] = [];
    for (let from = 0; from < numDocs; from += BATCH) {
      const batch = await termsOf(from, Math.min(numDocs, from + BATCH));
      for (const [i, ts] of batch.entries()) {
        const d = from + i;
        for (const term of ts) {
          const t = ids.get(term);
          if (t === undefined) {
            throw new Error(`InvertedIndex.build: terms of passage ${d} changed`);
          }
          if (tf.a[t]++ === 0) touched.push(t);
        }
        for (const t of touched) {
          docs[cursor[t]] = d;
          tfs[cursor[t]++] = Math.min(tf.a[t], MAX_TF);
          tf.a[t] = 0;
        }
        touched.length = 0;
      }
      bar?.update(numDocs + from + batch.length, { terms: T, postings: total });
    }
    bar?.done();
    return new InvertedIndex(terms, starts, docs, tfs, docLengths);
  }

  /** Writes `terms.json` and `postings.bin` into `dir`, each atomically. */
  async save(dir: string): Promise<void> {
    await writeFileAtomic(
      `${dir}/terms.json`,
      new TextEncoder().encode(JSON.stringify(this.terms)),
    );
    const bytes = (a: Uint32Array | Uint16Array) =>
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const pad = new Uint8Array((4 - (this.tfs.byteLength % 4)) % 4);
    await writeFileAtomic(`${dir}/postings.bin`, [
      bytes(this.starts),
      bytes(this.docs),
      bytes(this.tfs),
      pad,
      bytes(this.docLengths),
    ]);
  }

  /**
   * Reads what {@linkcode InvertedIndex.save} wrote and checks it against `sizes` (from the
   * header): file sizes, ordered term offsets, passage indices in range and ascending within a
   * term, frequencies that add up to each passage's length, distinct terms.
   *
   * @throws {DataError} Naming the file that is missing, torn or inconsistent.
   */
  static async load(dir: string, sizes: IndexSizes): Promise<InvertedIndex> {
    const { docs: N, terms: T, postings: P } = sizes;
    const termsFile = `${dir}/terms.json`;
    const terms = parseJson(await readUtf8(termsFile), termsFile);
    if (!Array.isArray(terms) || terms.length !== T || terms.some((t) => typeof t !== "string")) {
      throw new DataError(termsFile, `expected a JSON array of ${T} strings (see index.json)`);
    }
    if (new Set(terms).size !== T) throw new DataError(termsFile, "repeated terms");
    const binFile = `${dir}/postings.bin`;
    let bin: Uint8Array;
    try {
      bin = await Deno.readFile(binFile);
    } catch (e) {
      throw new DataError(binFile, e instanceof Deno.errors.NotFound ? "not found" : String(e));
    }
    const tfBytes = 2 * P + ((4 - (2 * P) % 4) % 4);
    const want = 4 * (T + 1) + 4 * P + tfBytes + 4 * N;
    if (bin.byteLength !== want) {
      throw new DataError(
        binFile,
        `${bin.byteLength} bytes, expected ${want} for ${T} terms, ${P} postings, ${N} passages`,
      );
    }
    // Deno.readFile returns a fresh, 0-offset buffer; every section starts at a multiple of 4.
    let at = 0;
    const take = <A>(
      make: (buf: ArrayBuffer, off: number, n: number) => A,
      n: number,
      w: number,
    ) => {
      const a = make(bin.buffer as ArrayBuffer, at, n);
      at += n * w;
      return a;
    };
    const starts = take((b, o, n) => new Uint32Array(b, o, n), T + 1, 4);
    const docs = take((b, o, n) => new Uint32Array(b, o, n), P, 4);
    const tfs = take((b, o, n) => new Uint16Array(b, o, n), P, 2);
    at += tfBytes - 2 * P;
    const docLengths = take((b, o, n) => new Uint32Array(b, o, n), N, 4);
    const bad = (what: string): never => {
      throw new DataError(binFile, `corrupt: ${what}`);
    };
    if (starts[0] !== 0 || starts[T] !== P) bad("term offsets do not span the postings");
    const sums = new Float64Array(N);
    const saturated = new Uint8Array(N);
    for (let t = 0; t < T; t++) {
      const s = starts[t];
      const e = starts[t + 1];
      if (e <= s) bad(`term ${t} has no postings or its offsets go backwards`);
      for (let p = s; p < e; p++) {
        const d = docs[p];
        if (d >= N || (p > s && d <= docs[p - 1])) bad(`term ${t}: passage indices out of order`);
        if (tfs[p] === 0) bad(`term ${t}: a zero frequency`);
        sums[d] += tfs[p];
        if (tfs[p] === MAX_TF) saturated[d] = 1;
      }
    }
    for (let d = 0; d < N; d++) {
      if (saturated[d] ? sums[d] > docLengths[d] : sums[d] !== docLengths[d]) {
        bad(`passage ${d}: term frequencies add up to ${sums[d]}, its length is ${docLengths[d]}`);
      }
    }
    return new InvertedIndex(terms as string[], starts, docs, tfs, docLengths);
  }
}
