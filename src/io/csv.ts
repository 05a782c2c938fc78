// RFC 4180 CSV, as pandas' `DataFrame.to_csv` writes it: comma-separated, a field quoted when it
// holds a comma, a quote or a line break, quotes doubled inside quotes, rows ended by LF or CRLF.
// Strict: anything else (a stray quote, a row of the wrong width) is a DataError at file:line.

import { DataError } from "../util/errors.ts";

/** One data row of a CSV file. */
export interface CsvRow {
  /** The 1-based line the row starts on (a quoted field may span several lines). */
  line: number;
  /** The row's fields, as many as the header's. */
  fields: string[];
}

/** What {@linkcode parseCsv} returns. */
export interface Csv {
  /** The first row's fields. */
  header: string[];
  /** The other rows, in file order. */
  rows: CsvRow[];
}

/**
 * Parses RFC 4180 CSV text. The first row is the header; every row must have as many fields
 * as the header; a blank line between rows is skipped (pandas writes none, editors add them
 * at the end). A leading BOM is dropped.
 *
 * @param text The file's text.
 * @param file The file's name, for errors.
 * @returns The header and the rows, each with the line it starts on.
 * @throws {DataError} `file:line: what` for an unterminated quoted field, a quote inside an
 * unquoted field, text after a closing quote, a row of the wrong width, or no header.
 * @example
 * ```ts
 * import { parseCsv } from "webgpu-bert";
 * const csv = parseCsv(',id,context\n0,q1,"a ""quoted"",\nmultiline text"\n', "r.csv");
 * console.log(csv.header, csv.rows[0].fields[2]); // ["", "id", "context"] 'a "quoted",\nmultiline text'
 * ```
 */
export function parseCsv(text: string, file: string): Csv {
  const records: CsvRow[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let rowLine = 1;
  // A quoted empty field makes a row even when it is the row's only, empty field.
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = () => {
    fields.push(field);
    // A blank line is one empty field: skip it rather than call it a row of the wrong width.
    if (fields.length > 1 || fields[0] !== "" || quoted) records.push({ line: rowLine, fields });
    fields = [];
    field = "";
    quoted = false;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      if (field !== "") {
        throw new DataError(`${file}:${line}`, "a quote inside an unquoted field");
      }
      const opened = line;
      quoted = true;
      i++;
      for (;;) {
        if (i >= text.length) {
          throw new DataError(`${file}:${opened}`, "a quoted field is never closed");
        }
        const q = text[i];
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === "\n") line++;
        field += q;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        throw new DataError(
          `${file}:${line}`,
          `text after a closing quote: ${JSON.stringify(next)}`,
        );
      }
      continue;
    }
    if (c === ",") {
      fields.push(field);
      field = "";
      i++;
    } else if (c === "\r" && text[i + 1] === "\n") {
      i++;
    } else if (c === "\n") {
      endRow();
      line++;
      rowLine = line;
      i++;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== "" || fields.length || quoted) endRow();
  if (!records.length) throw new DataError(file, "no header row");
  const [head, ...rows] = records;
  for (const r of rows) {
    if (r.fields.length !== head.fields.length) {
      throw new DataError(
        `${file}:${r.line}`,
        `${r.fields.length} fields, but the header has ${head.fields.length}`,
      );
    }
  }
  return { header: head.fields, rows };
}
