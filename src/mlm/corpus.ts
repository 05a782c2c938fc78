// Pretraining text: plain text files (one document a line), SQuAD-format JSON (its contexts) or
// an NSMC-style TSV (its `document` column), and the deterministic hold-out of run_mlm.py's `validation_split_percentage`. Every problem
// with a file is one DataError naming it, so a bad corpus is a one-line error, never a trace.

import { DataError } from "../util/errors.ts";
import { parseJson, readUtf8 } from "../io/text_file.ts";

/** How one input file was read. */
export interface CorpusSource {
  /** The path as the caller gave it. */
  path: string;
  /** `"text"`: one document a line; `"squad"`: the paragraphs' contexts; `"tsv"`: a column. */
  format: "text" | "squad" | "tsv";
  /** Documents taken from this file. */
  documents: number;
  /** Lines, contexts or cells skipped for being empty or whitespace only. */
  blank: number;
  /** SQuAD contexts skipped because the file had already given the same text. */
  repeated: number;
}

/** Documents in file order, and what each file gave. */
export interface Corpus {
  /** Every document of every file, files in the order given. */
  docs: string[];
  /** One entry per file, in the order given. */
  sources: CorpusSource[];
}

/** What {@linkcode parseCorpus} finds in one file. */
export interface ParsedSource {
  /** The file's documents in order. */
  docs: string[];
  /** How it was read. */
  source: CorpusSource;
}

const isBlank = (s: string) => s.trim() === "";

/** Whether `text` is read as SQuAD JSON: a `.json` name, or an object with a `data` array. */
function squadValue(text: string, path: string): unknown | undefined {
  if (/\.json$/i.test(path)) return parseJson(text, path);
  if (text.trimStart()[0] !== "{") return undefined;
  try {
    const v = JSON.parse(text);
    return Array.isArray(v?.data) ? v : undefined;
  } catch {
    // Not JSON at all: a text file whose first line happens to start with "{".
    return undefined;
  }
}

function squadContexts(value: unknown, path: string): ParsedSource {
  const fail = (where: string, what: string): never => {
    throw new DataError(path, `${where}${what} (expected SQuAD format)`);
  };
  const data = (value as { data?: unknown } | null)?.data;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail("", "the top level is not an object");
  }
  if (!Array.isArray(data)) fail("", 'no "data" array');
  const seen = new Set<string>();
  const docs: string[] = [];
  let blank = 0, repeated = 0;
  (data as unknown[]).forEach((article, a) => {
    const paragraphs = (article as { paragraphs?: unknown } | null)?.paragraphs;
    if (!Array.isArray(paragraphs)) fail(`data[${a}]: `, 'no "paragraphs" array');
    (paragraphs as unknown[]).forEach((p, i) => {
      const context = (p as { context?: unknown } | null)?.context;
      if (typeof context !== "string") {
        fail(`data[${a}].paragraphs[${i}]: `, '"context" is not a string');
      }
      const c = context as string;
      if (isBlank(c)) blank++;
      else if (seen.has(c)) repeated++;
      else {
        seen.add(c);
        docs.push(c);
      }
    });
  });
  return { docs, source: { path, format: "squad", documents: docs.length, blank, repeated } };
}

/**
 * Reads the documents of one file's text: SQuAD JSON (a `.json` name, or text starting with
 * `{` that parses to an object with a `data` array) gives its paragraphs' contexts, each
 * distinct context once; a TSV (a `.tsv` name, or a first line of tab-separated names one of
 * which is `document`, as NSMC's `id document label`) gives its `document` column, so that ids
 * and labels never become text; anything else gives one document a line. Lines end at LF, CRLF
 * or CR; blank lines, cells and contexts are skipped and counted. A leading BOM is ignored.
 *
 * @param text The file's contents.
 * @param path The file's name, for errors and for the `.json` rule.
 * @returns The documents and how the file was read.
 * @throws {DataError} Invalid JSON or a JSON without SQuAD's shape in a `.json` file, a TSV
 * without a `document` column or with a row of another width, or a file with no document:
 * `<path>: no documents (N blank lines)`.
 * @example
 * ```ts
 * import { parseCorpus } from "webgpu-bert";
 * const { docs, source } = parseCorpus("첫 문서\r\n\n  \n둘째 문서\n", "ko.txt");
 * console.log(docs, source.blank); // ["첫 문서", "둘째 문서"] 2
 * ```
 */
export function parseCorpus(text: string, path: string): ParsedSource {
  const body = text.replace(/^\uFEFF/, "");
  const squad = squadValue(body, path);
  const parsed = squad !== undefined ? squadContexts(squad, path) : lineDocuments(body, path);
  if (parsed.docs.length === 0) {
    const what = { text: "blank line", tsv: "blank document", squad: "empty context" }[
      parsed.source.format
    ];
    const n = parsed.source.blank;
    throw new DataError(path, `no documents (${n} ${what}${n === 1 ? "" : "s"})`);
  }
  return parsed;
}

function lineDocuments(text: string, path: string): ParsedSource {
  // Universal newlines, as Python's text mode reads the files run_mlm.py is given.
  const lines = text === "" ? [] : text.split(/\r\n|\r|\n/);
  // A final newline ends the last line; it does not start a blank one.
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const header = lines.length > 0 ? lines[0].split("\t") : [];
  const tsv = /\.tsv$/i.test(path) || (header.length > 1 && header.includes("document"));
  const cells = tsv ? tsvColumn(lines, header, path) : lines;
  const docs = cells.filter((l) => !isBlank(l));
  const format: CorpusSource["format"] = tsv ? "tsv" : "text";
  const blank = cells.length - docs.length;
  return { docs, source: { path, format, documents: docs.length, blank, repeated: 0 } };
}

/** The `document` cell of every row after the header. */
function tsvColumn(lines: string[], header: string[], path: string): string[] {
  const col = header.indexOf("document");
  if (col < 0) throw new DataError(path, 'line 1: the TSV header names no "document" column');
  return lines.slice(1).map((line, i) => {
    const row = line.split("\t");
    if (row.length !== header.length) {
      throw new DataError(
        path,
        `line ${i + 2}: ${row.length} columns, but the header has ${header.length}`,
      );
    }
    return row[col];
  });
}

/**
 * Reads pretraining documents from text, TSV and SQuAD-format JSON files (see
 * {@linkcode parseCorpus} for the rules), in the order given.
 *
 * @param paths The files; at least one.
 * @returns All documents in order, and what each file gave.
 * @throws {DataError} Naming the file: missing, a directory, not UTF-8, invalid JSON, not
 * SQuAD's shape, a malformed TSV, or without a single document.
 * @example
 * ```ts
 * import { readCorpus } from "webgpu-bert";
 * const path = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeTextFile(path, "one document\nanother one\n");
 * const corpus = await readCorpus([path]);
 * console.log(corpus.docs.length, corpus.sources[0].format); // 2 "text"
 * ```
 */
export async function readCorpus(paths: readonly string[]): Promise<Corpus> {
  if (paths.length === 0) throw new Error("readCorpus: no files given");
  const docs: string[] = [];
  const sources: CorpusSource[] = [];
  for (const path of paths) {
    const parsed = parseCorpus(await readUtf8(path), path);
    for (const d of parsed.docs) docs.push(d);
    sources.push(parsed.source);
  }
  return { docs, sources };
}

/** Documents to train on and documents to evaluate on. */
export interface HeldOut {
  /** Training documents, in corpus order. */
  train: string[];
  /** Evaluation documents, in corpus order. */
  eval: string[];
  /** Training documents dropped because the same text is an evaluation document. */
  overlap: number;
}

/** How {@linkcode holdOut} chooses evaluation documents. */
export type HoldOutOptions =
  /** The first `percent`% of the corpus evaluates (run_mlm.py's default is 5). */
  | { percent?: number }
  /** Separate evaluation documents (their own files, read with {@linkcode readCorpus}). */
  | { eval: Corpus };

/** Python's `round` (half to even), which the `datasets` library's percent slices use. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}

const filesOf = (c: Corpus) => c.sources.map((s) => s.path).join(", ");

/**
 * Splits a corpus into training and evaluation documents, deterministically. By default, as
 * run_mlm.py's `validation_split_percentage` does with the `datasets` slices
 * `train[:p%]` / `train[p%:]`: the first `round(p · n / 100)` documents evaluate and the rest
 * train. With `{ eval }`, the whole corpus trains and the given corpus evaluates. Either way a
 * training document whose exact text is also an evaluation document is dropped (and
 * counted), so that evaluation text is never trained on.
 *
 * @param corpus The corpus read with {@linkcode readCorpus}.
 * @param opts `{ percent }` (default 5, in (0, 100)) or `{ eval }`.
 * @returns The two sides and the number of training documents dropped as overlap.
 * @throws {DataError} Naming the files, when either side would be empty.
 * @example
 * ```ts
 * import { holdOut } from "webgpu-bert";
 * const docs = Array.from({ length: 40 }, (_, i) => `document ${i}`);
 * const corpus = { docs, sources: [] };
 * const { train, eval: held } = holdOut(corpus, { percent: 5 });
 * console.log(held, train.length); // ["document 0", "document 1"] 38
 * ```
 */
export function holdOut(corpus: Corpus, opts: HoldOutOptions = {}): HeldOut {
  let train: string[], evalDocs: string[], evalFiles: string;
  if ("eval" in opts) {
    [train, evalDocs, evalFiles] = [corpus.docs, opts.eval.docs, filesOf(opts.eval)];
  } else {
    const p = opts.percent ?? 5;
    if (!(p > 0 && p < 100)) throw new RangeError(`holdOut: percent ${p} is not in (0, 100)`);
    const n = roundHalfEven(p * corpus.docs.length / 100);
    [train, evalDocs, evalFiles] = [corpus.docs.slice(n), corpus.docs.slice(0, n), ""];
    if (n === 0 || n === corpus.docs.length) {
      throw new DataError(
        filesOf(corpus),
        `${corpus.docs.length} documents: a ${p}% hold-out leaves ` +
          `${n === 0 ? "no evaluation" : "no training"} document; ` +
          "use more text, another percentage or separate evaluation files",
      );
    }
  }
  const held = new Set(evalDocs);
  const kept = train.filter((d) => !held.has(d));
  if (evalDocs.length === 0) throw new DataError(evalFiles, "no evaluation documents");
  if (kept.length === 0) {
    throw new DataError(
      filesOf(corpus),
      `all ${train.length} training documents are also evaluation documents`,
    );
  }
  return { train: kept, eval: evalDocs, overlap: train.length - kept.length };
}
