// The retriever flags and their opening, shared by every CLI that retrieves (retrieve-eval,
// odqa, odqa-eval): `--retriever` picks the backend; each backend reads its own flags.

import { AnalyzerSpecError, DEFAULT_ANALYZER } from "../retrieval/analyzers.ts";
import type { Passage, Retriever } from "../retrieval/retriever.ts";
import { BM25_B, BM25_K1, SparseRetriever } from "../retrieval/sparse.ts";
import { DenseRetriever } from "../retrieval/dense.ts";
import { HybridRetriever } from "../retrieval/hybrid.ts";
import { ProgressBar } from "../io/progress.ts";
import { initGpu } from "../gpu/device.ts";
import { exists } from "../text/tokenizer_dir.ts";
import { DataError, UsageError } from "./_common.ts";
import { OutputError } from "../util/errors.ts";
import { intFlag, numFlag } from "./_flags.ts";
import {
  DEFAULT_ES_INDEX,
  ElasticsearchError,
  ElasticsearchRetriever,
  indexNameProblem,
} from "../retrieval/elasticsearch.ts";
import { UserError } from "../util/errors.ts";

/** Flag values as parseFlags returns them. */
export type Flags = Record<string, string | string[] | boolean | undefined>;

/** The retriever flags, for parseFlags. */
export const RETRIEVER_FLAGS = {
  retriever: { type: "string" },
  k1: { type: "string" },
  b: { type: "string" },
  analyzer: { type: "string" },
  index: { type: "string" },
  "dense-model": { type: "string" },
  "dense-index": { type: "string" },
  "max-passage-length": { type: "string" },
  "hybrid-weight": { type: "string" },
  "hybrid-depth": { type: "string" },
  "es-url": { type: "string" },
  "es-index": { type: "string" },
  "es-reuse": { type: "boolean" },
} as const;

/** The retrievers `--retriever` takes. */
export const RETRIEVER_NAMES = ["bm25", "tfidf", "dense", "hybrid", "elasticsearch"] as const;

/** Help text of the retriever flags. */
export const RETRIEVER_HELP = `  --retriever NAME    ${RETRIEVER_NAMES.join(" | ")} (default bm25)
  --k1 X              BM25 term-frequency saturation (default ${BM25_K1})
  --b X               BM25 length normalization in [0, 1] (default ${BM25_B})
  --analyzer SPEC     terms of bm25/tfidf (default ${DEFAULT_ANALYZER}): words, charN, charA-B,
                      pieces:VOCAB (vocab.txt, tokenizer.json or *.model), kiwi:MODEL_DIR,
                      or several joined by + (each in its own term namespace)
  --index DIR         bm25/tfidf index directory: loaded when it holds one (built from the
                      same passages), else built and saved there
  --dense-model DIR   dense/hybrid: a DPR run (q_encoder/, p_encoder/; train --task dpr)
  --dense-index DIR   dense/hybrid: passage vectors, loaded when there (checked against the
                      passages), else encoded once and saved there
  --max-passage-length N  dense/hybrid: tokens per passage (default 128, train's default)
  --hybrid-weight X   hybrid: weight of the dense score in [0, 1] (default 0.5); each
                      retriever's top --hybrid-depth scores (default 100) are min-max
                      normalised per question and summed, absent ones counting 0
  --es-url URL        elasticsearch: the Elasticsearch/OpenSearch server (needs the
                      analysis-nori plugin); http://user:pass@host:9200 sends basic auth
  --es-index NAME     elasticsearch: the index (default ${DEFAULT_ES_INDEX}); an existing
                      index of that name is replaced by the passages
  --es-reuse          elasticsearch: keep an existing index that holds as many documents
                      as there are passages instead of re-indexing`;

function sameCollection(a: readonly Passage[], b: readonly Passage[]): boolean {
  return a.length === b.length && a.every((p, i) => p.id === b[i].id && p.text === b[i].text);
}

async function openSparse(
  f: Flags,
  passages: Passage[],
  usage: string,
  scoring: "bm25" | "tfidf",
): Promise<Retriever> {
  const k1 = numFlag(f.k1 as string | undefined, "k1", usage, 0, 100);
  const b = numFlag(f.b as string | undefined, "b", usage, 0, 1);
  const analyzer = f.analyzer as string | undefined;
  const dir = f.index as string | undefined;
  if (dir && await exists(`${dir}/index.json`)) {
    const r = await SparseRetriever.load(dir, { scoring, k1, b });
    if (analyzer !== undefined && analyzer !== r.options.analyzer) {
      throw new UsageError(
        `--analyzer: the index at ${dir} was built with "${r.options.analyzer}"; ` +
          "leave --analyzer out or give another --index",
        usage,
      );
    }
    if (!sameCollection(r.passages, passages)) {
      throw new DataError(dir, "the index was built from other passages; give another --index");
    }
    return r;
  }
  const st = dir ? await Deno.stat(dir).catch(() => null) : null;
  if (st && !st.isDirectory) throw new OutputError(dir!, "--index must be a directory");
  let r: SparseRetriever;
  try {
    r = await SparseRetriever.build(passages, { scoring, k1, b, analyzer }, true);
  } catch (e) {
    if (e instanceof AnalyzerSpecError) {
      throw new UsageError(`--analyzer: ${e.message}`, usage);
    }
    throw e;
  }
  if (dir) await r.save(dir);
  return r;
}

async function openDense(f: Flags, passages: Passage[], usage: string): Promise<Retriever> {
  const model = f["dense-model"] as string | undefined;
  if (!model) throw new UsageError(`--retriever ${f.retriever} needs --dense-model DIR`, usage);
  const maxPassageLength = intFlag(
    f["max-passage-length"] as string | undefined,
    "max-passage-length",
    usage,
    4,
    512,
  );
  await initGpu();
  const bar = new ProgressBar(passages.length, "encode passages");
  const r = await DenseRetriever.open(model, passages, {
    index: f["dense-index"] as string | undefined,
    maxPassageLength: maxPassageLength ?? 128,
    onProgress: (done) => bar.update(done),
  });
  bar.done();
  return r;
}

/**
 * Opens the retriever that `--retriever` names over `passages`, with its flags.
 *
 * @throws {UsageError} For an unknown retriever or a bad flag value.
 */
export async function openRetriever(
  f: Flags,
  passages: Passage[],
  usage: string,
): Promise<Retriever> {
  const name = (f.retriever as string | undefined) ?? "bm25";
  switch (name) {
    case "bm25":
    case "tfidf":
      return await openSparse(f, passages, usage, name);
    case "dense":
      return await openDense(f, passages, usage);
    case "hybrid":
      return new HybridRetriever(
        await openSparse(f, passages, usage, "bm25"),
        await openDense(f, passages, usage),
        {
          weight: numFlag(f["hybrid-weight"] as string | undefined, "hybrid-weight", usage, 0, 1),
          depth: intFlag(f["hybrid-depth"] as string | undefined, "hybrid-depth", usage, 1, 1e5),
        },
      );
    case "elasticsearch":
      return await openElasticsearch(f, passages, usage);
    default:
      throw new UsageError(
        `--retriever: unknown retriever "${name}"; known: ${RETRIEVER_NAMES.join(", ")}`,
        usage,
      );
  }
}

/** A server error as `--es-url: <url>: <what>`, so the user knows which flag to look at. */
function esFlagged(e: unknown): never {
  if (e instanceof ElasticsearchError) throw new UserError(`--es-url: ${e.message}`);
  throw e;
}

async function openElasticsearch(
  f: Flags,
  passages: Passage[],
  usage: string,
): Promise<Retriever> {
  const url = f["es-url"] as string | undefined;
  if (!url) throw new UsageError("--es-url: required with --retriever elasticsearch", usage);
  const index = (f["es-index"] as string | undefined) ?? DEFAULT_ES_INDEX;
  const problem = indexNameProblem(index);
  if (problem) throw new UsageError(`--es-index: "${index}" ${problem}`, usage);
  const bar = new ProgressBar(passages.length, "index");
  const es = await ElasticsearchRetriever.open(passages, {
    url,
    index,
    // The server's BM25 takes the same constants as ours, and the same defaults.
    k1: numFlag(f.k1 as string | undefined, "k1", usage, 0, 100) ?? BM25_K1,
    b: numFlag(f.b as string | undefined, "b", usage, 0, 1) ?? BM25_B,
    reuse: !!f["es-reuse"],
    onIndexed: (done) => bar.update(done),
  }).catch(esFlagged);
  bar.done();
  return { passages, search: (q, k) => es.search(q, k).catch(esFlagged) };
}
