// A retriever backed by an Elasticsearch or OpenSearch server, for collections too large for one
// process: the server holds the index (the `nori` Korean analyzer, BM25) and answers `match`
// queries; this client only creates the index, bulk-loads the passages and maps hits back.
// Only the REST calls below are used, all present in Elasticsearch 7/8 and OpenSearch 1/2.

import { UserError } from "../util/errors.ts";
import type { Hit, Passage, Retriever } from "./retriever.ts";

/**
 * A failed request to the search server: unreachable, or an error answer. The message is
 * `<url>: <what>`, one line.
 *
 * @example
 * ```ts
 * import { ElasticsearchError, UserError } from "webgpu-bert";
 * const e = new ElasticsearchError("http://localhost:9200", "cannot connect: refused");
 * console.log(e.message, e instanceof UserError); // http://localhost:9200: cannot connect: refused true
 * ```
 */
export class ElasticsearchError extends UserError {
  /** The server's URL, without any credentials it held. */
  readonly url: string;
  /** An error from the server at `url`; `what` says what failed. */
  constructor(url: string, readonly what: string) {
    const shown = withoutCredentials(url);
    super(`${shown}: ${what}`);
    this.url = shown;
    this.name = "ElasticsearchError";
  }
}

// Messages reach stderr and CI logs: a password in --es-url must not.
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = u.password = "";
    return u.href;
  } catch {
    return url;
  }
}

/** Options of {@linkcode ElasticsearchRetriever.open}. */
export interface ElasticsearchOptions {
  /** The server, e.g. `http://localhost:9200`; `http://user:pass@host:9200` sends basic auth. */
  url: string;
  /** The index name (default `webgpu-bert-passages`). */
  index?: string;
  /**
   * Use an existing index as it is when its document count equals the number of passages,
   * instead of replacing it (default false: an existing index of that name is deleted).
   */
  reuse?: boolean;
  /** BM25 `k1` (default 1.2, Elasticsearch's). */
  k1?: number;
  /** BM25 `b` (default 0.75, Elasticsearch's). */
  b?: number;
  /** Largest `_bulk` request body in bytes (default 5 MiB, Elastic's advice). */
  bulkBytes?: number;
  /** `_search` requests in flight at once (default 8). */
  concurrency?: number;
  /** Called after each `_bulk` request with the passages indexed so far and the total. */
  onIndexed?: (done: number, total: number) => void;
}

/** The default index name. */
export const DEFAULT_ES_INDEX = "webgpu-bert-passages";

/**
 * Why `name` cannot be an Elasticsearch index name, or undefined when it can: lowercase, at
 * most 255 bytes, none of `\ / * ? " < > | , # :` or spaces, not starting with `-`, `_` or `+`,
 * not `.` or `..`.
 *
 * @example
 * ```ts
 * import { indexNameProblem } from "webgpu-bert";
 * console.log(indexNameProblem("korquad"), indexNameProblem("KorQuAD")); // undefined "must be lowercase"
 * ```
 */
export function indexNameProblem(name: string): string | undefined {
  if (!name) return "must not be empty";
  if (name !== name.toLowerCase()) return "must be lowercase";
  if (/[\\/*?"<>|,#: ]/.test(name)) return 'must not contain \\ / * ? " < > | , # : or spaces';
  if (/^[-_+]/.test(name)) return "must not start with -, _ or +";
  if (name === "." || name === "..") return "must not be . or ..";
  if (new TextEncoder().encode(name).length > 255) return "must be at most 255 bytes";
  return undefined;
}

/** An index-creation request body: settings (analysis, similarity) and field mappings. */
export interface EsIndexBody {
  /** Index settings: the similarity and the analysis chain. */
  settings: Record<string, unknown>;
  /** Field mappings. */
  mappings: { properties: Record<string, { type: string; analyzer?: string; index?: boolean }> };
}

/**
 * The index body: passages analyzed by a custom analyzer of the `nori_tokenizer` (the
 * `analysis-nori` plugin; compounds decompounded with the original kept, `mixed`) and the
 * `lowercase` filter, for Latin words in Korean text; BM25 with the given `k1` and `b`. The
 * passage's position in the collection is stored (not indexed) to map hits back.
 *
 * @example
 * ```ts
 * import { noriIndexBody } from "webgpu-bert";
 * const body = noriIndexBody(1.2, 0.75);
 * console.log(body.mappings.properties.text.analyzer); // korean
 * ```
 */
export function noriIndexBody(k1: number, b: number): EsIndexBody {
  return {
    settings: {
      index: { similarity: { default: { type: "BM25", k1, b } } },
      analysis: {
        tokenizer: { nori_mixed: { type: "nori_tokenizer", decompound_mode: "mixed" } },
        analyzer: { korean: { type: "custom", tokenizer: "nori_mixed", filter: ["lowercase"] } },
      },
    },
    mappings: {
      properties: {
        text: { type: "text", analyzer: "korean" },
        title: { type: "text", analyzer: "korean" },
        passage: { type: "integer", index: false },
      },
    },
  };
}

interface EsHit {
  _id: string;
  _score: number;
  _source?: { passage?: number };
}

/**
 * Passages in an Elasticsearch/OpenSearch index, searched with a BM25 `match` query on the
 * passage text. Hits come back as indexes into `passages` (the document `_id`), best first, ties
 * by the lower index.
 *
 * @example
 * ```ts ignore
 * import { ElasticsearchRetriever } from "webgpu-bert";
 * const passages = [{ id: "a", text: "부산은 항구 도시이다." }, { id: "b", text: "서울은 수도이다." }];
 * const es = await ElasticsearchRetriever.open(passages, { url: "http://localhost:9200" });
 * console.log(await es.search(["대한민국의 수도는?"], 1)); // [[{ index: 1, score: ... }]]
 * ```
 */
export class ElasticsearchRetriever implements Retriever {
  readonly #base: string;
  readonly #auth?: string;

  /** The server, without the credentials of the URL it was opened with. */
  readonly url: string;

  private constructor(
    readonly passages: readonly Passage[],
    url: string,
    readonly index: string,
    readonly concurrency: number,
  ) {
    this.url = withoutCredentials(url);
    const u = new URL(url);
    if (u.username || u.password) {
      this.#auth = "Basic " +
        btoa(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`);
      u.username = u.password = "";
    }
    this.#base = u.href.replace(/\/+$/, "");
  }

  /**
   * Connects to the server and makes the index searchable: creates it with
   * {@linkcode noriIndexBody} (replacing an index of the same name unless `reuse` applies),
   * bulk-indexes the passages in `_bulk` requests of at most `bulkBytes`, and refreshes it.
   *
   * @param passages The collection; hits index into it.
   * @param opts Server, index, BM25 parameters, batching and progress.
   * @returns The retriever.
   * @throws {ElasticsearchError} The server is unreachable or answers an error (a missing
   * `analysis-nori` plugin, a document the server refused).
   */
  static async open(
    passages: readonly Passage[],
    opts: ElasticsearchOptions,
  ): Promise<ElasticsearchRetriever> {
    const index = opts.index ?? DEFAULT_ES_INDEX;
    const problem = indexNameProblem(index);
    if (problem) throw new RangeError(`index name ${JSON.stringify(index)} ${problem}`);
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new ElasticsearchError(opts.url, "not a URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ElasticsearchError(opts.url, "must be an http:// or https:// URL");
    }
    const es = new ElasticsearchRetriever(passages, opts.url, index, opts.concurrency ?? 8);
    const path = `/${encodeURIComponent(index)}`;
    if (await es.#request("HEAD", path, undefined, [404])) {
      if (opts.reuse) {
        const { count } = await es.#request("GET", `${path}/_count`) as { count: number };
        if (count === passages.length) return es;
      }
      await es.#request("DELETE", path);
    }
    await es.#request("PUT", path, JSON.stringify(noriIndexBody(opts.k1 ?? 1.2, opts.b ?? 0.75)));
    await es.#bulk(opts.bulkBytes ?? 5 * 2 ** 20, opts.onIndexed);
    await es.#request("POST", `${path}/_refresh`);
    return es;
  }

  /** The top `k` passages of each question by the server's BM25 `match` score. */
  async search(questions: string[], k: number): Promise<Hit[][]> {
    const out: Hit[][] = new Array(questions.length);
    let next = 0;
    const worker = async () => {
      while (next < questions.length) {
        const i = next++;
        out[i] = await this.#searchOne(questions[i], k);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, questions.length) }, worker));
    return out;
  }

  /** Deletes the index from the server. */
  async deleteIndex(): Promise<void> {
    await this.#request("DELETE", `/${encodeURIComponent(this.index)}`);
  }

  async #searchOne(question: string, k: number): Promise<Hit[]> {
    const body = { size: k, query: { match: { text: question } }, _source: ["passage"] };
    const r = await this.#request(
      "POST",
      `/${encodeURIComponent(this.index)}/_search`,
      JSON.stringify(body),
    ) as { hits?: { hits?: EsHit[] } };
    const hits = (r.hits?.hits ?? []).map((h) => {
      const index = h._source?.passage ?? Number(h._id);
      if (!Number.isInteger(index) || index < 0 || index >= this.passages.length) {
        throw new ElasticsearchError(
          this.url,
          `index ${this.index} holds document ${h._id}, which is not one of the ` +
            `${this.passages.length} passages (an index of another collection?)`,
        );
      }
      return { index, score: h._score };
    });
    return hits.sort((a, b) => b.score - a.score || a.index - b.index).slice(0, k);
  }

  async #bulk(maxBytes: number, onIndexed?: (done: number, total: number) => void) {
    const enc = new TextEncoder();
    let lines: string[] = [];
    let bytes = 0;
    let first = 0;
    const send = async (end: number) => {
      if (!lines.length) return;
      const r = await this.#request(
        "POST",
        "/_bulk",
        lines.join(""),
        [],
        "application/x-ndjson",
      ) as {
        errors?: boolean;
        items?: Record<
          string,
          { _id?: string; status?: number; error?: { type?: string; reason?: string } }
        >[];
      };
      if (r.errors) {
        const failed = (r.items ?? []).map((it) => Object.values(it)[0]).filter((x) => x?.error);
        const f = failed[0];
        throw new ElasticsearchError(
          this.url,
          `_bulk: ${failed.length} of ${end - first} passages refused; passage ${f?._id}: ` +
            `${f?.error?.type}: ${f?.error?.reason}`,
        );
      }
      onIndexed?.(end, this.passages.length);
      lines = [];
      bytes = 0;
      first = end;
    };
    for (const [i, p] of this.passages.entries()) {
      const action = JSON.stringify({ index: { _index: this.index, _id: String(i) } }) + "\n";
      const doc = JSON.stringify({ text: p.text, title: p.title, passage: i }) + "\n";
      const n = enc.encode(action).length + enc.encode(doc).length;
      if (bytes && bytes + n > maxBytes) await send(i);
      lines.push(action, doc);
      bytes += n;
    }
    await send(this.passages.length);
  }

  /**
   * One REST call; returns the parsed JSON answer, or null for a HEAD or an `allowed` status.
   * An unreachable server or any other non-2xx status is an ElasticsearchError.
   */
  async #request(
    method: string,
    path: string,
    body?: string,
    allowed: number[] = [],
    contentType = "application/json",
  ): Promise<unknown> {
    const headers: Record<string, string> = { "content-type": contentType };
    if (this.#auth) headers.authorization = this.#auth;
    let res: Response;
    try {
      res = await fetch(this.#base + path, { method, headers, body });
    } catch (e) {
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      throw new ElasticsearchError(this.url, `cannot connect (${method} ${path}): ${why}`);
    }
    const text = await res.text();
    if (allowed.includes(res.status)) return null;
    if (!res.ok) {
      throw new ElasticsearchError(this.url, `${method} ${path}: ${describe(res, text)}`);
    }
    if (method === "HEAD") return true;
    try {
      return JSON.parse(text);
    } catch {
      throw new ElasticsearchError(this.url, `${method} ${path}: the answer is not JSON`);
    }
  }
}

/** An error answer in one line: status, Elasticsearch's error type and reason, and a hint. */
function describe(res: Response, text: string): string {
  let what = text.slice(0, 200).replace(/\s+/g, " ");
  try {
    const err = JSON.parse(text)?.error;
    if (err?.type) what = `${err.type}: ${err.reason ?? ""}`;
  } catch {
    // Not JSON (a proxy's page): the start of the body says enough.
  }
  const hint = /nori/.test(what) ? " (install the analysis-nori plugin on the server)" : "";
  return `HTTP ${res.status} ${what}${hint}`;
}
