// Text-classification data: NSMC's TSV (`id`, `document`, `label`, with a header) or JSONL
// `{"id"?, "text", "label"}`. An empty document is skipped and counted; a malformed row is an
// error naming the file and the line.

import { DataError } from "../util/errors.ts";
import { readUtf8 } from "../io/text_file.ts";

/** One labelled text. */
export interface TextExample {
  /** The row's id (NSMC's `id`, JSONL's `id`, else the 1-based line number). */
  id: string;
  /** The text to classify. */
  text: string;
  /** The label's index. */
  label: number;
}

/** A loaded file: its examples and how many empty rows were skipped. */
export interface TextDataset {
  /** Examples in file order. */
  examples: TextExample[];
  /** Rows skipped because their text was empty. */
  skipped: number;
}

/**
 * How a label in the file maps to an index: integers are taken as they are (and must be below
 * `numLabels`), names through `label2id`.
 */
export interface LabelSpec {
  /** Label names to indices (config.json's `label2id`). */
  label2id?: Record<string, number>;
  /** The number of labels; an integer label must be in [0, numLabels). */
  numLabels?: number;
}

function labelOf(v: unknown, spec: LabelSpec, where: string, file: string): number {
  let n: number | undefined;
  if (typeof v === "number" || (typeof v === "string" && /^-?\d+$/.test(v.trim()))) {
    n = Number(v);
  } else if (typeof v === "string" && spec.label2id && v in spec.label2id) {
    n = spec.label2id[v];
  }
  if (n === undefined || !Number.isInteger(n) || n < 0) {
    const known = spec.label2id ? ` (known names: ${Object.keys(spec.label2id).join(", ")})` : "";
    throw new DataError(file, `${where}: label ${JSON.stringify(v)} is not a label index${known}`);
  }
  if (spec.numLabels !== undefined && n >= spec.numLabels) {
    throw new DataError(file, `${where}: label ${n} is not below num_labels ${spec.numLabels}`);
  }
  return n;
}

/**
 * Parses NSMC-style TSV text: a header naming `document` and `label` (and optionally `id`)
 * columns, then one row per line.
 *
 * @example
 * ```ts
 * import { parseTsvExamples } from "webgpu-bert";
 * const d = parseTsvExamples("id\tdocument\tlabel\n1\t좋아요\t1\n2\t\t0\n", "x.tsv");
 * console.log(d.examples, d.skipped); // [{ id: "1", text: "좋아요", label: 1 }] 1
 * ```
 */
export function parseTsvExamples(text: string, file: string, spec: LabelSpec = {}): TextDataset {
  const lines = text.split(/\r?\n/);
  const header = lines[0].replace(/^\uFEFF/, "").split("\t");
  const col = (name: string) => header.indexOf(name);
  const [iId, iDoc, iLabel] = [col("id"), col("document"), col("label")];
  if (iDoc < 0 || iLabel < 0) {
    throw new DataError(file, `line 1: the header must name "document" and "label" columns`);
  }
  const examples: TextExample[] = [];
  let skipped = 0;
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === "" && i === lines.length - 1) break;
    const cells = lines[i].split("\t");
    if (cells.length !== header.length) {
      throw new DataError(
        file,
        `line ${i + 1}: ${cells.length} columns, the header has ${header.length}`,
      );
    }
    const doc = cells[iDoc].trim();
    if (!doc) {
      skipped++;
      continue;
    }
    examples.push({
      id: iId >= 0 ? cells[iId] : String(i + 1),
      text: doc,
      label: labelOf(cells[iLabel], spec, `line ${i + 1}`, file),
    });
  }
  return { examples, skipped };
}

/**
 * Parses JSONL text: one `{"id"?, "text", "label"}` object per line, the label an index or a
 * name from `spec.label2id`. Blank lines are ignored.
 *
 * @example
 * ```ts
 * import { parseJsonlExamples } from "webgpu-bert";
 * const d = parseJsonlExamples('{"text": "good", "label": "pos"}\n', "x.jsonl", {
 *   label2id: { neg: 0, pos: 1 },
 * });
 * console.log(d.examples); // [{ id: "1", text: "good", label: 1 }]
 * ```
 */
export function parseJsonlExamples(text: string, file: string, spec: LabelSpec = {}): TextDataset {
  const examples: TextExample[] = [];
  let skipped = 0;
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const where = `line ${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new DataError(file, `${where}: invalid JSON (${(e as Error).message})`);
    }
    if (!row || typeof row !== "object" || Array.isArray(row)) {
      throw new DataError(file, `${where}: expected an object {"id"?, "text", "label"}`);
    }
    const r = row as Record<string, unknown>;
    if (typeof r.text !== "string") throw new DataError(file, `${where}: "text" must be a string`);
    if (r.id !== undefined && typeof r.id !== "string" && typeof r.id !== "number") {
      throw new DataError(file, `${where}: "id" must be a string or a number`);
    }
    if (!r.text.trim()) {
      skipped++;
      return;
    }
    examples.push({
      id: r.id === undefined ? String(i + 1) : String(r.id),
      text: r.text.trim(),
      label: labelOf(r.label, spec, where, file),
    });
  });
  return { examples, skipped };
}

/**
 * Loads a classification file: `.jsonl` (or content starting with `{`) as JSONL, anything else
 * as NSMC-style TSV. Duplicate ids are an error, so predictions keep every row.
 *
 * @example
 * ```ts
 * import { loadTextDataset } from "webgpu-bert";
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, '{"id": "a", "text": "fine", "label": 1}\n');
 * console.log((await loadTextDataset(path)).examples.length); // 1
 * ```
 */
export async function loadTextDataset(path: string, spec: LabelSpec = {}): Promise<TextDataset> {
  const text = await readUtf8(path);
  const jsonl = path.endsWith(".jsonl") || /^\s*\{/.test(text);
  const d = jsonl ? parseJsonlExamples(text, path, spec) : parseTsvExamples(text, path, spec);
  const seen = new Set<string>();
  for (const e of d.examples) {
    if (seen.has(e.id)) throw new DataError(path, `duplicate id ${JSON.stringify(e.id)}`);
    seen.add(e.id);
  }
  return d;
}
