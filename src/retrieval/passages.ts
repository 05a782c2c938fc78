// Passage collections for retrieval: the deduplicated contexts of a SQuAD-format file (with
// each question's own passage, which retrieval recall is measured against), or JSONL rows.

import { parseSquad } from "../qa/dataset.ts";
import { decodeUtf8, parseJson, readBytes } from "../io/text_file.ts";
import { DataError } from "../util/errors.ts";
import type { Passage } from "./retriever.ts";

/** A question of a SQuAD-format file and the index of its own passage. */
export interface PassageQuestion {
  /** The question id. */
  id: string;
  /** The question text. */
  question: string;
  /** Index into {@linkcode PassageCollection.passages} of the question's context. */
  passage: number;
  /** The gold answer texts. */
  answers: string[];
}

/** What {@linkcode loadPassages} reads. */
export interface PassageCollection {
  /** The passages, in first-occurrence order. */
  passages: Passage[];
  /** For a SQuAD-format file: its questions, in file order; absent for JSONL. */
  questions?: PassageQuestion[];
}

/** A parser of JSONL passage lines that remembers the ids it has seen. */
function passageLines(file: string): (line: string, n: number) => Passage | null {
  const seen = new Set<string>();
  return (line, n) => {
    if (!line.trim()) return null;
    const where = `line ${n}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new DataError(file, `${where}: invalid JSON (${(e as Error).message})`);
    }
    if (!row || typeof row !== "object" || Array.isArray(row)) {
      throw new DataError(file, `${where}: expected an object {"id", "title"?, "text"}`);
    }
    const r = row as Record<string, unknown>;
    if (typeof r.id !== "string" && typeof r.id !== "number") {
      throw new DataError(file, `${where}: "id" must be a string or a number`);
    }
    if (typeof r.text !== "string") throw new DataError(file, `${where}: "text" must be a string`);
    if (r.title !== undefined && typeof r.title !== "string") {
      throw new DataError(file, `${where}: "title" must be a string`);
    }
    const id = String(r.id);
    if (seen.has(id)) throw new DataError(file, `${where}: repeated id ${JSON.stringify(id)}`);
    seen.add(id);
    return r.title === undefined ? { id, text: r.text } : { id, title: r.title, text: r.text };
  };
}

/**
 * Parses JSONL passages: one `{"id", "title"?, "text"}` object a line (an id may be a number),
 * blank lines ignored; ids must be unique.
 *
 * @param text The file's text.
 * @param file The file name, for errors.
 * @returns The passages, in line order.
 * @throws {DataError} For a line that is not such an object, or a repeated id.
 * @example
 * ```ts
 * import { parsePassagesJsonl } from "webgpu-bert";
 * const ps = parsePassagesJsonl('{"id": 7, "title": "서울", "text": "서울은 수도이다."}\n', "x.jsonl");
 * console.log(ps); // [{ id: "7", title: "서울", text: "서울은 수도이다." }]
 * ```
 */
export function parsePassagesJsonl(text: string, file: string): Passage[] {
  const parse = passageLines(file);
  return text.split(/\r?\n/).flatMap((line, i) => parse(line, i + 1) ?? []);
}

/**
 * Reads a JSONL passages file of any size (as {@linkcode parsePassagesJsonl}), decoding one
 * line at a time: a million passages make a file longer than the longest string V8 allows.
 *
 * @param file The `.jsonl` file.
 * @returns The passages, in line order.
 * @throws {DataError} For a missing file, bad UTF-8 or a bad line.
 * @example
 * ```ts
 * import { readPassagesJsonl } from "webgpu-bert";
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, '{"id": "a", "text": "하나"}\n{"id": "b", "text": "둘"}\n');
 * console.log((await readPassagesJsonl(path)).map((p) => p.text)); // ["하나", "둘"]
 * ```
 */
export async function readPassagesJsonl(file: string): Promise<Passage[]> {
  const bytes = await readBytes(file);
  const parse = passageLines(file);
  const dec = new TextDecoder("utf-8", { fatal: true });
  const out: Passage[] = [];
  // A BOM is dropped by the decoder; "\r\n" endings leave a "\r" that JSON.parse skips.
  for (let at = 0, n = 1; at < bytes.length; n++) {
    let end = bytes.indexOf(0x0a, at);
    if (end < 0) end = bytes.length;
    let line: string;
    try {
      line = dec.decode(bytes.subarray(at, end));
    } catch {
      throw new DataError(file, `line ${n}: not valid UTF-8`);
    }
    const p = parse(line, n);
    if (p) out.push(p);
    at = end + 1;
  }
  return out;
}

/**
 * Loads a passage collection. A SQuAD-format file (a `.json` name) gives the distinct contexts of its questions, in first-occurrence order, each with the
 * id `${article}-${k}` (the k-th distinct context of article `article`, counted from 0) and the
 * article's title, plus every question with the index of its own passage (a context repeated
 * elsewhere in the file is one passage, the first). Any other name is read as JSONL
 * (see {@linkcode readPassagesJsonl}).
 *
 * @param file A SQuAD-format `.json` or a `.jsonl` file.
 * @returns The passages, and the questions for a SQuAD-format file.
 * @throws {DataError} For a missing, malformed or empty file.
 * @example
 * ```ts
 * import { generateKoreanQa, loadPassages } from "webgpu-bert";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, JSON.stringify(generateKoreanQa({ seed: 1, articles: 2 })));
 * const { passages, questions } = await loadPassages(path);
 * console.log(passages[0].id, questions![0].passage); // 0-0 0
 * ```
 */
export async function loadPassages(file: string): Promise<PassageCollection> {
  if (!file.endsWith(".json")) {
    const passages = await readPassagesJsonl(file);
    if (!passages.length) throw new DataError(file, "no passages");
    return { passages };
  }
  const text = decodeUtf8(await readBytes(file), file);
  const { examples } = parseSquad(parseJson(text, file), file);
  if (!examples.length) throw new DataError(file, "no questions");
  const passages: Passage[] = [];
  const index = new Map<string, number>();
  const perArticle = new Map<number, number>();
  const questions = examples.map((ex) => {
    let p = index.get(ex.context);
    if (p === undefined) {
      const k = perArticle.get(ex.article) ?? 0;
      perArticle.set(ex.article, k + 1);
      p = passages.length;
      index.set(ex.context, p);
      passages.push({ id: `${ex.article}-${k}`, title: ex.title, text: ex.context });
    }
    return { id: ex.id, question: ex.question, passage: p, answers: ex.answers.text };
  });
  return { passages, questions };
}
