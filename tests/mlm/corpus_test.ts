// Pretraining corpora: text lines and SQuAD contexts, the errors that name the file, and the
// deterministic hold-out.

import assert from "node:assert/strict";
import { type Corpus, holdOut, parseCorpus, readCorpus } from "../../src/mlm/corpus.ts";
import { DataError } from "../../src/util/errors.ts";
import { shared, withoutData } from "../_data.ts";

const squad = (contexts: unknown[][]) =>
  JSON.stringify({
    version: "x",
    data: contexts.map((cs) => ({
      title: "t",
      paragraphs: cs.map((context) => ({ context, qas: [] })),
    })),
  });

Deno.test("text: one document a line, CRLF and a BOM handled, blank lines skipped and counted", () => {
  const { docs, source } = parseCorpus("\uFEFF첫 문서\r\n\r\n \t\n둘째 문서\r\n셋째\n", "a.txt");
  assert.deepEqual(docs, ["첫 문서", "둘째 문서", "셋째"]);
  assert.deepEqual(source, { path: "a.txt", format: "text", documents: 3, blank: 2, repeated: 0 });
  // No final newline; the last line still counts.
  assert.deepEqual(parseCorpus("x\ny", "b.txt").docs, ["x", "y"]);
  // A lone CR ends a line too (universal newlines, as Python reads text).
  assert.deepEqual(parseCorpus("x\ry\r", "b.txt").docs, ["x", "y"]);
  // A text line starting with "{" that is not SQuAD JSON is a text document.
  assert.deepEqual(parseCorpus('{"id": 1}\n{"id": 2}\n', "c.jsonl").docs, [
    '{"id": 1}',
    '{"id": 2}',
  ]);
});

Deno.test("SQuAD: contexts by extension or by content, each distinct context once", () => {
  const text = squad([["가나다", " ", "라마"], ["가나다", "바사"]]);
  for (const path of ["d.json", "d.txt"]) {
    const { docs, source } = parseCorpus(text, path);
    assert.deepEqual(docs, ["가나다", "라마", "바사"]);
    assert.deepEqual(source, { path, format: "squad", documents: 3, blank: 1, repeated: 1 });
  }
  assert.deepEqual(parseCorpus("\uFEFF" + squad([["x"]]), "e.JSON").docs, ["x"]);
});

Deno.test("TSV: the document column, by extension or an NSMC-style header", () => {
  const nsmc = "id\tdocument\tlabel\r\n1\t좋아요\t1\n2\t \t0\n3\t별로\t0\n";
  for (const path of ["n.tsv", "n.txt"]) {
    const { docs, source } = parseCorpus(nsmc, path);
    assert.deepEqual(docs, ["좋아요", "별로"]);
    assert.deepEqual(source, { path, format: "tsv", documents: 2, blank: 1, repeated: 0 });
  }
  assert.deepEqual(parseCorpus("label\tdocument\n0\tx\n", "m.tsv").docs, ["x"]);
  // A tab in a text line without a "document" header is text.
  assert.deepEqual(parseCorpus("a\tb\nc\n", "t.txt").docs, ["a\tb", "c"]);
});

Deno.test("bad files are one-line DataErrors naming the file", () => {
  const cases: [string, string, string][] = [
    ["", "a.txt", "a.txt: no documents (0 blank lines)"],
    ["id\tdocument\tlabel\n", "n.tsv", "n.tsv: no documents (0 blank documents)"],
    ["id\tdocument\n1\t\n", "n.txt", "n.txt: no documents (1 blank document)"],
    ["id\ttext\n1\tx\n", "n.tsv", 'n.tsv: line 1: the TSV header names no "document" column'],
    ["id\tdocument\n1\tx\n2\n", "n.tsv", "n.tsv: line 3: 1 columns, but the header has 2"],
    ["\n", "a.txt", "a.txt: no documents (1 blank line)"],
    ["  \r\n\n\t\n", "a.txt", "a.txt: no documents (3 blank lines)"],
    [squad([[" ", ""]]), "s.json", "s.json: no documents (2 empty contexts)"],
    ['{"data": []}', "s.txt", "s.txt: no documents (0 empty contexts)"],
    ["[1, 2]", "s.json", "s.json: the top level is not an object (expected SQuAD format)"],
    ['{"version": 1}', "s.json", 's.json: no "data" array (expected SQuAD format)'],
    ['{"data": [{}]}', "s.json", 's.json: data[0]: no "paragraphs" array (expected SQuAD format)'],
    [
      squad([["ok"], ["ok", 7]]),
      "s.json",
      's.json: data[1].paragraphs[1]: "context" is not a string (expected SQuAD format)',
    ],
  ];
  for (const [text, path, message] of cases) {
    assert.throws(() => parseCorpus(text, path), (e) => {
      assert.ok(e instanceof DataError, String(e));
      assert.equal(e.message, message);
      assert.equal(e.file, path);
      return true;
    });
  }
  assert.throws(
    () => parseCorpus('{"data": [', "s.json"),
    (e) => e instanceof DataError && /^s\.json: invalid JSON: /.test(e.message),
  );
});

Deno.test("readCorpus: files in order; missing, directory and bad UTF-8 name the file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/a.txt`, "one\ntwo\n");
  await Deno.writeTextFile(`${dir}/b.json`, squad([["three"]]));
  await Deno.writeFile(`${dir}/bad.txt`, new Uint8Array([0x61, 0x0a, 0xc3, 0x28]));
  await Deno.writeFile(`${dir}/bom.txt`, new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0x0a]));
  const c = await readCorpus([`${dir}/a.txt`, `${dir}/b.json`, `${dir}/bom.txt`]);
  assert.deepEqual(c.docs, ["one", "two", "three", "a"]);
  assert.deepEqual(c.sources.map((s) => [s.format, s.documents]), [
    ["text", 2],
    ["squad", 1],
    ["text", 1],
  ]);
  const refused: [string, RegExp][] = [
    [`${dir}/none.txt`, /none\.txt: no such file$/],
    [dir, /: is a directory$/],
    [`${dir}/bad.txt`, /bad\.txt: not valid UTF-8 \(bad byte at offset \d+\)$/],
  ];
  for (const [path, re] of refused) {
    await assert.rejects(
      () => readCorpus([`${dir}/a.txt`, path]),
      (e) => e instanceof DataError && e.file === path && re.test(e.message),
      path,
    );
  }
  await Deno.remove(dir, { recursive: true });
});

const corpusOf = (n: number): Corpus => ({
  docs: Array.from({ length: n }, (_, i) => `doc ${i}`),
  sources: [{ path: "c.txt", format: "text", documents: n, blank: 0, repeated: 0 }],
});

Deno.test("holdOut: the first p% evaluate (rounded half to even, as datasets' slices)", () => {
  const h = holdOut(corpusOf(40));
  assert.deepEqual(h.eval, ["doc 0", "doc 1"]);
  assert.equal(h.train.length, 38);
  assert.equal(h.train[0], "doc 2");
  assert.equal(h.overlap, 0);
  // round(1.5) = 2, round(2.5) = 2, as Python rounds.
  assert.equal(holdOut(corpusOf(30)).eval.length, 2);
  assert.equal(holdOut(corpusOf(50)).eval.length, 2);
  assert.equal(holdOut(corpusOf(10), { percent: 25 }).eval.length, 2);
  // Deterministic: the same corpus splits the same way.
  assert.deepEqual(holdOut(corpusOf(1000)), holdOut(corpusOf(1000)));
});

Deno.test("holdOut: training documents equal to an evaluation document are dropped", () => {
  const c: Corpus = { docs: ["a", "b", "a", "c", "b", "d"], sources: [] };
  assert.deepEqual(holdOut(c, { percent: 30 }), {
    train: ["c", "d"],
    eval: ["a", "b"],
    overlap: 2,
  });
  const evalCorpus: Corpus = { docs: ["d", "e"], sources: [] };
  assert.deepEqual(holdOut(c, { eval: evalCorpus }), {
    train: ["a", "b", "a", "c", "b"],
    eval: ["d", "e"],
    overlap: 1,
  });
});

Deno.test("holdOut: an empty side is a DataError naming the files", () => {
  assert.throws(
    () => holdOut(corpusOf(10)),
    (e) =>
      e instanceof DataError &&
      e.message === "c.txt: 10 documents: a 5% hold-out leaves no evaluation document; " +
          "use more text, another percentage or separate evaluation files",
  );
  assert.throws(() => holdOut(corpusOf(3), { percent: 90 }), /leaves no training document/);
  const same: Corpus = { docs: ["x", "y"], sources: [] };
  assert.throws(
    () => holdOut({ ...same, sources: corpusOf(1).sources }, { eval: same }),
    (e) =>
      e instanceof DataError &&
      e.message === "c.txt: all 2 training documents are also evaluation documents",
  );
  assert.throws(() => holdOut(corpusOf(100), { percent: 0 }), RangeError);
  assert.throws(() => holdOut(corpusOf(100), { percent: 100 }), RangeError);
});

Deno.test({
  name: "NSMC test file: 50,000 documents, 3 blank",
  ignore: withoutData("nsmc/ratings_test.txt"),
  async fn() {
    const c = await readCorpus([shared("nsmc/ratings_test.txt")]);
    assert.deepEqual(c.sources.map((s) => [s.format, s.documents, s.blank]), [["tsv", 49997, 3]]);
    assert.ok(c.docs.every((d) => !d.includes("\t")));
  },
});

Deno.test({
  name: "KorQuAD dev: 964 paragraphs give 961 distinct contexts",
  ignore: withoutData("korquad/KorQuAD_v1.0_dev.json"),
  async fn() {
    const c = await readCorpus([shared("korquad/KorQuAD_v1.0_dev.json")]);
    assert.deepEqual(c.sources.map((s) => [s.format, s.documents, s.blank, s.repeated]), [
      ["squad", 961, 0, 3],
    ]);
    assert.equal(new Set(c.docs).size, 961);
  },
});
