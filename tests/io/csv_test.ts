import assert from "node:assert/strict";
import { parseCsv } from "../../src/io/csv.ts";
import { DataError } from "../../src/util/errors.ts";

Deno.test("parseCsv reads what pandas' to_csv writes: an unnamed index, quotes, commas, newlines", () => {
  // pandas: df.to_csv("r.csv") for a context holding a comma, a quote and a CRLF line break.
  const text = ',id,question,context\r\n0,q1,"Who, then?","He said ""hi""\r\nand left."\r\n' +
    "1,q2,Where?,Busan\r\n";
  const csv = parseCsv(text, "r.csv");
  assert.deepEqual(csv.header, ["", "id", "question", "context"]);
  assert.deepEqual(csv.rows, [
    { line: 2, fields: ["0", "q1", "Who, then?", 'He said "hi"\r\nand left.'] },
    { line: 4, fields: ["1", "q2", "Where?", "Busan"] },
  ]);
});

Deno.test("parseCsv: empty fields, a quoted empty field, no final newline, BOM, blank lines", () => {
  const csv = parseCsv('\ufeffa,b\n,\n\n""\u002c"x"\n"",""', "f.csv");
  assert.deepEqual(csv.header, ["a", "b"]);
  assert.deepEqual(csv.rows.map((r) => r.fields), [["", ""], ["", "x"], ["", ""]]);
  assert.deepEqual(csv.rows.map((r) => r.line), [2, 4, 5]);
  // A one-column file keeps a row whose only field is a quoted empty string.
  assert.deepEqual(parseCsv('a\n""\n', "g.csv").rows, [{ line: 2, fields: [""] }]);
});

Deno.test("parseCsv: bad rows are DataErrors naming file:line", () => {
  const cases: [string, RegExp][] = [
    ['a,b\n1,"open\n\n', /^r\.csv:2: a quoted field is never closed$/],
    ['a,b\n1,2\nx"y,3\n', /^r\.csv:3: a quote inside an unquoted field$/],
    ['a,b\n1,"q"z\n', /^r\.csv:2: text after a closing quote: "z"$/],
    ['a,b\n"multi\nline",2\n3\n', /^r\.csv:4: 1 fields, but the header has 2$/],
    ["", /^r\.csv: no header row$/],
  ];
  for (const [text, msg] of cases) {
    assert.throws(
      () => parseCsv(text, "r.csv"),
      (e) => e instanceof DataError && msg.test(e.message),
      text,
    );
  }
});
