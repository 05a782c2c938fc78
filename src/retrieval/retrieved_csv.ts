// Passages retrieved elsewhere: the CSV the ODQA notebook's `get_retrieved_df` makes (a pandas
// DataFrame saved with `to_csv`), read in place of a retriever.

import { parseCsv } from "../io/csv.ts";
import { readUtf8 } from "../io/text_file.ts";
import { DataError } from "../util/errors.ts";
import type { Passage } from "./retriever.ts";

/** One question's passages from a retrieved CSV. */
export interface RetrievedQuestion {
  /** The question text of the question's first row. */
  question: string;
  /** Its contexts in file order, each a passage with id `<file>:<line>`. */
  passages: Passage[];
}

/**
 * Reads a retrieved-passages CSV: columns `id`, `question` and `context` in any order; others
 * (pandas' unnamed index column, the notebook's `original_context` or `answers`) are ignored.
 * Rows with the same `id` give that question several contexts, in file order; a row whose
 * context joins several passages into one text (the notebook's `" ".join(top-k)`) is one long
 * passage, which the reader windows like any other.
 *
 * @param file The CSV file.
 * @returns Question id to its question and passages, in first-appearance order.
 * @throws {DataError} A missing column, an empty id or context, or a malformed row, naming
 * `file:line`.
 * @example
 * ```ts
 * import { loadRetrievedCsv } from "webgpu-bert";
 * const f = await Deno.makeTempFile({ suffix: ".csv" });
 * await Deno.writeTextFile(f, ',question,id,context\n0,Who?,q1,"Bob ran."\n1,Who?,q1,Ann sat.\n');
 * const r = await loadRetrievedCsv(f);
 * console.log(r.get("q1")!.passages.map((p) => p.text)); // ["Bob ran.", "Ann sat."]
 * ```
 */
export async function loadRetrievedCsv(file: string): Promise<Map<string, RetrievedQuestion>> {
  const { header, rows } = parseCsv(await readUtf8(file), file);
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) {
      throw new DataError(
        `${file}:1`,
        `no "${name}" column (the header has ${
          JSON.stringify(header)
        }; need id, question, context)`,
      );
    }
    return i;
  };
  const [id, question, context] = [col("id"), col("question"), col("context")];
  const out = new Map<string, RetrievedQuestion>();
  for (const r of rows) {
    const qid = r.fields[id];
    if (!qid) throw new DataError(`${file}:${r.line}`, "empty id");
    if (!r.fields[context].trim()) throw new DataError(`${file}:${r.line}`, "empty context");
    let q = out.get(qid);
    if (!q) out.set(qid, q = { question: r.fields[question], passages: [] });
    q.passages.push({ id: `${file}:${r.line}`, text: r.fields[context] });
  }
  return out;
}
