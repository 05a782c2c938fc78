// Classification files: NSMC TSV and JSONL, empty rows skipped and counted, labels by index or
// by name, and every malformed row an error naming the file and the line.

import assert from "node:assert/strict";
import {
  loadTextDataset,
  parseJsonlExamples,
  parseTsvExamples,
} from "../../src/classify/dataset.ts";
import { DataError } from "../../src/util/errors.ts";
import { shared, withoutData } from "../_data.ts";

Deno.test("NSMC TSV: header columns in any order, empty documents skipped and counted", () => {
  const d = parseTsvExamples(
    "label\tid\tdocument\n1\t7\t좋다 \n0\t8\t   \n0\t9\t별로\n",
    "x.tsv",
  );
  assert.deepEqual(d.examples, [{ id: "7", text: "좋다", label: 1 }, {
    id: "9",
    text: "별로",
    label: 0,
  }]);
  assert.equal(d.skipped, 1);
});

Deno.test("JSONL: ids optional (the line number), labels by index or label2id name", () => {
  const spec = { label2id: { neg: 0, pos: 1 }, numLabels: 2 };
  const d = parseJsonlExamples(
    '{"text": "a", "label": "pos"}\n\n{"id": 5, "text": "b", "label": 0}\n{"text": " ", "label": 1}\n',
    "x.jsonl",
    spec,
  );
  assert.deepEqual(d.examples, [{ id: "1", text: "a", label: 1 }, {
    id: "5",
    text: "b",
    label: 0,
  }]);
  assert.equal(d.skipped, 1);
});

Deno.test("malformed rows are DataErrors naming the file and the line", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => parseTsvExamples("id\ttext\n1\tx\n", "a.tsv"), /^a\.tsv: line 1: the header/],
    [() => parseTsvExamples("id\tdocument\tlabel\n1\tx\n", "a.tsv"), /^a\.tsv: line 2: 2 columns/],
    [() => parseTsvExamples("id\tdocument\tlabel\n1\tx\tgood\n", "a.tsv"), /line 2: label "good"/],
    [
      () => parseTsvExamples("document\tlabel\nx\t3\n", "a.tsv", { numLabels: 2 }),
      /line 2: label 3 is not below num_labels 2/,
    ],
    [() => parseJsonlExamples('{"text": "x"', "b.jsonl"), /^b\.jsonl: line 1: invalid JSON/],
    [() => parseJsonlExamples("[1]", "b.jsonl"), /line 1: expected an object/],
    [() => parseJsonlExamples('{"text": 3, "label": 0}', "b.jsonl"), /"text" must be a string/],
    [
      () => parseJsonlExamples('{"text": "x", "label": "meh"}', "b.jsonl", { label2id: { ok: 0 } }),
      /line 1: label "meh" is not a label index \(known names: ok\)/,
    ],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e) => e instanceof DataError && re.test(e.message), String(re));
  }
});

Deno.test("loadTextDataset: by extension or content; duplicate ids refused", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/a.txt`, '{"id": "x", "text": "t", "label": 1}\n');
  assert.equal((await loadTextDataset(`${dir}/a.txt`)).examples.length, 1);
  await Deno.writeTextFile(`${dir}/d.tsv`, "id\tdocument\tlabel\n1\ta\t0\n1\tb\t1\n");
  await assert.rejects(() => loadTextDataset(`${dir}/d.tsv`), /duplicate id "1"/);
  await assert.rejects(() => loadTextDataset(`${dir}/none.tsv`), /none\.tsv: no such file/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "NSMC test file: 50,000 rows, 3 empty documents skipped",
  ignore: withoutData("nsmc/ratings_test.txt"),
  async fn() {
    const d = await loadTextDataset(shared("nsmc/ratings_test.txt"));
    assert.equal(d.examples.length + d.skipped, 50000);
    assert.equal(d.skipped, 3);
    assert.deepEqual(new Set(d.examples.map((e) => e.label)), new Set([0, 1]));
  },
});
