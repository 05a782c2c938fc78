// Dense retrieval: passage vectors computed once by a bi-encoder's passage side (and saved),
// questions encoded by its question side, and exact inner-product search on the GPU: the
// scores of a batch of questions against each chunk of passages (a matmul), reduced to the top
// k per question by the top-k kernel and merged across chunks.
// Sizes: Q questions, P passages, H hidden.

import { noGrad } from "../autograd.ts";
import { chunkElements } from "../primitives.ts";
import { matmul } from "../ops/matmul.ts";
import { TopKMerge } from "../ops/topk.ts";
import { scopeAsync, Tensor } from "../tensor.ts";
import { openSafetensors, writeSafetensors } from "../io/safetensors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { textBatch } from "../classify/task.ts";
import { DataError } from "../util/errors.ts";
import { exists } from "../text/tokenizer_dir.ts";
import { type BiEncoder, type DprEncoder, loadBiEncoder } from "./dpr.ts";
import type { Hit, Passage, Retriever } from "./retriever.ts";

/** How texts are cut and batched when encoded. */
export interface EncodeTextOptions {
  /** Tokens per text, `[CLS]` and `[SEP]` included. */
  maxLength: number;
  /** Texts per forward pass. */
  batchSize: number;
  /** Called with the number of texts encoded so far. */
  onProgress?: (done: number) => void;
}

/**
 * The vectors [n, H] (row-major, in the order of `texts`) of `texts` by one side of a
 * bi-encoder, each `[CLS] text [SEP]` cut to `maxLength`, without a tape; batches hold texts of
 * similar length (sorted), so they pad little.
 *
 * @example
 * ```ts
 * import { BertTokenizer, bertConfig, DprEncoder, encodeTexts, initGpu } from "webgpu-bert";
 * await initGpu();
 * const side = new DprEncoder(bertConfig({ vocab_size: 6, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 }));
 * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"],
 *   { lowercase: true });
 * const v = await encodeTexts(side, tok, ["a b a", "b"], { maxLength: 8, batchSize: 2 });
 * console.log(v.length); // 16
 * ```
 */
export async function encodeTexts(
  side: DprEncoder,
  tokenizer: TextTokenizer,
  texts: readonly string[],
  o: EncodeTextOptions,
): Promise<Float32Array> {
  const ids: Int32Array[] = [];
  for (const t of texts) {
    ids.push(Int32Array.from((await tokenizer.encode(t, { maxLength: o.maxLength })).ids));
  }
  const h = side.config.hidden_size;
  const out = new Float32Array(texts.length * h);
  const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length || a - b);
  const wasTraining = side.training;
  side.train(false);
  try {
    for (let i = 0; i < order.length; i += o.batchSize) {
      const rows = order.slice(i, i + o.batchSize);
      const b = textBatch(rows.map((r) => ({ ids: ids[r], label: 0 })), tokenizer.padId);
      const v = await noGrad(() => scopeAsync(async () => await side.forward(b).toArray()));
      rows.forEach((r, j) => out.set(v.subarray(j * h, (j + 1) * h), r * h));
      o.onProgress?.(Math.min(i + o.batchSize, order.length));
    }
  } finally {
    side.train(wasTraining);
  }
  return out;
}

/** Questions scored per matmul when searching. */
const QUESTION_BATCH = 256;

/**
 * Passage vectors with exact inner-product search. The vectors live on the GPU in chunks of
 * rows, each chunk (and each [questions × chunk] score block) small enough for one storage
 * binding; a search is a matmul per chunk, the top-k kernel on its scores, and a merge of the
 * chunks' candidates ({@linkcode TopKMerge}), so only k hits per question are read back. Ties
 * go to the lower passage index; a NaN score (a broken vector) ranks first, as in
 * {@linkcode topk}.
 *
 * @example
 * ```ts
 * import { DenseIndex, initGpu } from "webgpu-bert";
 * await initGpu();
 * const index = new DenseIndex(["a", "b", "c"], new Float32Array([1, 0, 0, 1, 1, 1]), 2);
 * const [hits] = await index.search(new Float32Array([0, 2]), 2);
 * console.log(hits); // [{ index: 1, score: 2 }, { index: 2, score: 2 }]
 * index.dispose();
 * ```
 */
export class DenseIndex {
  /** Passages per GPU chunk. */
  readonly chunkRows: number;
  #chunks: Tensor[] | null = null;

  /**
   * What the vectors were computed from (a hash of the passage encoder's weights, the passage
   * length and the passage texts; "" when unknown), saved with them and checked on load.
   */
  readonly source: string;

  /**
   * The vectors `embeddings` ([P, dim], row-major) of the passages `ids`; `chunkRows` sets
   * the passages per chunk (default: as many as one binding holds); `source` says what
   * computed them.
   */
  constructor(
    readonly ids: readonly string[],
    readonly embeddings: Float32Array,
    readonly dim: number,
    opts: { chunkRows?: number; source?: string } = {},
  ) {
    this.source = opts.source ?? "";
    if (embeddings.length !== ids.length * dim) {
      throw new Error(
        `DenseIndex: ${ids.length} passages of ${dim} need ${ids.length * dim} values`,
      );
    }
    this.chunkRows = opts.chunkRows ??
      Math.max(1, Math.floor(chunkElements() / Math.max(dim, QUESTION_BATCH)));
  }

  /** Passages indexed. */
  get size(): number {
    return this.ids.length;
  }

  #gpuChunks(): Tensor[] {
    if (this.#chunks) return this.#chunks;
    this.#chunks = [];
    for (let p0 = 0; p0 < this.size; p0 += this.chunkRows) {
      const rows = Math.min(this.chunkRows, this.size - p0);
      this.#chunks.push(
        Tensor.fromArray(this.embeddings.subarray(p0 * this.dim, (p0 + rows) * this.dim), [
          rows,
          this.dim,
        ]),
      );
    }
    return this.#chunks;
  }

  /** The top `k` passages of each query vector (`queries` [Q, dim], row-major), best first. */
  async search(queries: Float32Array, k: number): Promise<Hit[][]> {
    const q = queries.length / this.dim;
    if (!Number.isInteger(q)) {
      throw new Error(`DenseIndex.search: queries are not rows of ${this.dim}`);
    }
    if (!this.size) return Array.from({ length: q }, () => []);
    const chunks = this.#gpuChunks();
    const widths = chunks.map((c) => c.shape[0]);
    const out: Hit[][] = [];
    for (let q0 = 0; q0 < q; q0 += QUESTION_BATCH) {
      const n = Math.min(QUESTION_BATCH, q - q0);
      const { values, indices } = await noGrad(() =>
        scopeAsync(async () => {
          const x = Tensor.fromArray(queries.subarray(q0 * this.dim, (q0 + n) * this.dim), [
            n,
            this.dim,
          ]);
          const merge = new TopKMerge(n, widths, k);
          chunks.forEach((c, i) => {
            const s = matmul(x, c, { transB: true });
            merge.add(i, s);
            s.dispose();
          });
          const r = merge.result();
          return { values: await r.values.toArray(), indices: await r.indices.toArray() };
        })
      );
      const kk = values.length / n;
      for (let r = 0; r < n; r++) {
        out.push(
          Array.from({ length: kk }, (_, j) => ({
            index: indices[r * kk + j],
            score: values[r * kk + j],
          })),
        );
      }
    }
    return out;
  }

  /**
   * Mean over queries of the softmax cross-entropy of each query's scores against all passages,
   * its own passage `targets[i]` the label: DPR's loss with the whole collection as negatives.
   */
  async crossEntropy(queries: Float32Array, targets: ArrayLike<number>): Promise<number> {
    const q = targets.length;
    const chunks = this.#gpuChunks();
    let sum = 0;
    for (let q0 = 0; q0 < q; q0 += QUESTION_BATCH) {
      const n = Math.min(QUESTION_BATCH, q - q0);
      const max = new Float64Array(n).fill(-Infinity), acc = new Float64Array(n);
      const own = new Float64Array(n);
      let p0 = 0;
      for (const c of chunks) {
        const w = c.shape[0];
        const s = await noGrad(() =>
          scopeAsync(async () => {
            const x = Tensor.fromArray(queries.subarray(q0 * this.dim, (q0 + n) * this.dim), [
              n,
              this.dim,
            ]);
            return await matmul(x, c, { transB: true }).toArray();
          })
        );
        for (let r = 0; r < n; r++) {
          const t = targets[q0 + r] - p0;
          if (t >= 0 && t < w) own[r] = s[r * w + t];
          for (let j = 0; j < w; j++) {
            // Online log-sum-exp over the chunks.
            const v = s[r * w + j];
            if (v > max[r]) {
              acc[r] = acc[r] * Math.exp(max[r] - v) + 1;
              max[r] = v;
            } else acc[r] += Math.exp(v - max[r]);
          }
        }
        p0 += w;
      }
      for (let r = 0; r < n; r++) sum += max[r] + Math.log(acc[r]) - own[r];
    }
    return sum / q;
  }

  /**
   * Writes `embeddings.safetensors` (tensor `embeddings` [P, dim]) and `passage_ids.json`
   * into `dir`, both atomically.
   */
  async save(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    await writeSafetensors(`${dir}/embeddings.safetensors`, [{
      name: "embeddings",
      dtype: "F32",
      shape: [this.size, this.dim],
      data: this.embeddings,
    }], { passages: String(this.size), dim: String(this.dim), source: this.source });
    await writeFileAtomic(
      `${dir}/passage_ids.json`,
      new TextEncoder().encode(JSON.stringify(this.ids) + "\n"),
    );
  }

  /**
   * Reads an index saved by {@linkcode DenseIndex.save}, checking that it holds exactly the
   * passages `ids` (same count and order) and vectors of `dim`; a mismatch is a
   * {@linkcode DataError} naming the file. With `source`, the saved vectors must also come
   * from that source (the same encoder, passage length and texts).
   */
  static async load(
    dir: string,
    ids: readonly string[],
    dim: number,
    source?: string,
  ): Promise<DenseIndex> {
    const path = `${dir}/embeddings.safetensors`;
    const r = await openSafetensors(path);
    let embeddings: Float32Array;
    try {
      const info = r.tensors.get("embeddings");
      if (!info) throw new DataError(path, "has no tensor `embeddings`");
      const [p, h] = info.shape;
      if (info.shape.length !== 2 || p !== ids.length || h !== dim) {
        throw new DataError(
          path,
          `holds [${info.shape}] vectors but the collection has ${ids.length} passages and the ` +
            `encoder ${dim} dimensions; rebuild the index`,
        );
      }
      if (source !== undefined && r.metadata.source !== source) {
        throw new DataError(
          path,
          "was encoded by another passage encoder, --max-passage-length or passage texts; " +
            "delete it to rebuild the index",
        );
      }
      embeddings = await r.readFloat32("embeddings");
    } finally {
      r.close();
    }
    const idsPath = `${dir}/passage_ids.json`;
    let saved: unknown;
    try {
      saved = JSON.parse(await Deno.readTextFile(idsPath));
    } catch (e) {
      throw new DataError(idsPath, `unreadable (${(e as Error).message.split("\n")[0]})`);
    }
    if (!Array.isArray(saved) || saved.length !== ids.length) {
      throw new DataError(idsPath, `does not list the collection's ${ids.length} passage ids`);
    }
    const bad = ids.findIndex((id, i) => saved[i] !== id);
    if (bad >= 0) {
      throw new DataError(
        idsPath,
        `passage ${bad} is ${JSON.stringify(saved[bad])}, the collection's is ` +
          `${JSON.stringify(ids[bad])}; rebuild the index`,
      );
    }
    return new DenseIndex(ids, embeddings, dim, { source: source ?? r.metadata.source ?? "" });
  }

  /** Frees the GPU copy of the vectors (a later search uploads them again). */
  dispose(): void {
    this.#chunks?.forEach((c) => c.dispose());
    this.#chunks = null;
  }
}

/** Options of {@linkcode DenseRetriever.open}. */
export interface DenseRetrieverOptions {
  /** Directory of the saved passage vectors: loaded when present, else built and saved there. */
  index?: string;
  /** Tokens per passage (default 128, as `train --task dpr`). */
  maxPassageLength?: number;
  /** Tokens per question (default 64). */
  maxQueryLength?: number;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** Called with (texts encoded, total) while the passages are encoded. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * A trained bi-encoder as a {@linkcode Retriever}: the passages encoded once by its passage
 * side (or loaded from `opts.index`), questions by its question side, exact inner-product
 * search ({@linkcode DenseIndex}). Scores are inner products.
 *
 * @example
 * ```ts
 * import { BertTokenizer, BiEncoder, bertConfig, DenseRetriever, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 8, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const tok = BertTokenizer.fromVocabArray(
 *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "cats", "dogs", "purr", "bark"], { lowercase: true });
 * const dir = await Deno.makeTempDir();
 * await new BiEncoder(cfg, cfg, 0).save(dir, tok);
 * const r = await DenseRetriever.open(dir, [{ id: "a", text: "cats purr" },
 *   { id: "b", text: "dogs bark" }]);
 * console.log((await r.search(["dogs"], 2))[0].length); // 2
 * ```
 */
export class DenseRetriever implements Retriever {
  private constructor(
    readonly passages: readonly Passage[],
    readonly model: BiEncoder,
    readonly tokenizer: TextTokenizer,
    readonly index: DenseIndex,
    readonly o: { maxQueryLength: number; batchSize: number },
  ) {}

  /** The bi-encoder saved in `modelDir` over `passages`. */
  static async open(
    modelDir: string,
    passages: readonly Passage[],
    opts: DenseRetrieverOptions = {},
  ): Promise<DenseRetriever> {
    const { model, tokenizer } = await loadBiEncoder(modelDir);
    const batchSize = opts.batchSize ?? 32;
    const dim = model.p.config.hidden_size;
    const ids = passages.map((p) => p.id);
    const maxLength = opts.maxPassageLength ?? 128;
    const source = opts.index ? await indexSource(modelDir, maxLength, passages) : "";
    let index: DenseIndex | null = null;
    if (opts.index && await exists(`${opts.index}/embeddings.safetensors`)) {
      index = await DenseIndex.load(opts.index, ids, dim, source);
    }
    if (!index) {
      const v = await encodeTexts(model.p, tokenizer, passages.map((p) => p.text), {
        maxLength,
        batchSize,
        onProgress: (d) => opts.onProgress?.(d, passages.length),
      });
      index = new DenseIndex(ids, v, dim, { source });
      if (opts.index) await index.save(opts.index);
    }
    return new DenseRetriever(passages, model, tokenizer, index, {
      maxQueryLength: opts.maxQueryLength ?? 64,
      batchSize,
    });
  }

  /** The question vectors [Q, H] of `questions`. */
  async encodeQuestions(questions: readonly string[]): Promise<Float32Array> {
    return await encodeTexts(this.model.q, this.tokenizer, questions, {
      maxLength: this.o.maxQueryLength,
      batchSize: this.o.batchSize,
    });
  }

  /** The top `k` passages of each question by inner product, best first. */
  async search(questions: string[], k: number): Promise<Hit[][]> {
    return await this.index.search(await this.encodeQuestions(questions), k);
  }
}

// SHA-256 of the passage encoder's weights file, the passage length and every passage text:
// ids alone ("3-1") say nothing of the text, and vectors of another model look just as valid.
async function indexSource(
  modelDir: string,
  maxPassageLength: number,
  passages: readonly Passage[],
): Promise<string> {
  const own = `${modelDir}/p_encoder/model.safetensors`;
  const weights = await Deno.readFile(
    await exists(own) ? own : `${modelDir}/model.safetensors`,
  );
  const rest = new TextEncoder().encode(
    `\0${maxPassageLength}\0${passages.map((p) => p.text).join("\0")}`,
  );
  const all = new Uint8Array(weights.length + rest.length);
  all.set(weights);
  all.set(rest, weights.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
