import assert from "node:assert/strict";
import { DataError, loadPassages, parsePassagesJsonl, readPassagesJsonl } from "../../mod.ts";

const squad = {
  data: [
    {
      title: "A",
      paragraphs: [
        {
          context: "one",
          qas: [{ id: "q1", question: "1?", answers: [{ text: "one", answer_start: 0 }] }],
        },
        {
          context: "two",
          qas: [{ id: "q2", question: "2?", answers: [{ text: "two", answer_start: 0 }] }],
        },
      ],
    },
    {
      title: "B",
      paragraphs: [
        // The same context as A's first: one passage.
        {
          context: "one",
          qas: [{ id: "q3", question: "3?", answers: [{ text: "on", answer_start: 0 }] }],
        },
        { context: "three", qas: [{ id: "q4", question: "4?", answers: [] }] },
      ],
    },
  ],
};

Deno.test("SQuAD: distinct contexts in first-occurrence order, each question's own passage", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(squad));
  const { passages, questions } = await loadPassages(path);
  assert.deepEqual(passages, [
    { id: "0-0", title: "A", text: "one" },
    { id: "0-1", title: "A", text: "two" },
  ]);
  // q4 has no answer and is skipped (as eval does), so "three" is no passage.
  assert.deepEqual(questions, [
    { id: "q1", question: "1?", passage: 0, answers: ["one"] },
    { id: "q2", question: "2?", passage: 1, answers: ["two"] },
    { id: "q3", question: "3?", passage: 0, answers: ["on"] },
  ]);
});

Deno.test("JSONL: rows {id, title?, text}; numeric ids become strings", async () => {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeTextFile(
    path,
    '{"id": 1, "text": "a"}\n\n{"id": "x", "title": "T", "text": "b"}\n',
  );
  assert.deepEqual(await loadPassages(path), {
    passages: [{ id: "1", text: "a" }, { id: "x", title: "T", text: "b" }],
  });
});

Deno.test("bad passage files are DataErrors naming the file and line", async () => {
  const bad = [
    ['{"id": 1}', /line 1: "text" must be a string/],
    ['{"text": "a"}', /line 1: "id" must be/],
    ['{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}', /line 2: repeated id/],
    ['{"id": 1, "text": "a", "title": 3}', /"title" must be a string/],
    ["[1]", /expected an object/],
    ["{nope", /invalid JSON/],
  ] as const;
  for (const [text, re] of bad) {
    assert.throws(
      () => parsePassagesJsonl(text, "p.jsonl"),
      (e) => e instanceof DataError && re.test(e.message),
    );
  }
  const empty = await Deno.makeTempFile({ suffix: ".jsonl" });
  await assert.rejects(loadPassages(empty), /no passages/);
  await assert.rejects(loadPassages("/no/such.json"), DataError);
});

Deno.test("readPassagesJsonl: line by line from bytes; CRLF and a BOM are fine, bad UTF-8 names its line", async () => {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  const enc = new TextEncoder();
  const rows = '\uFEFF{"id": "a", "text": "하나"}\r\n\r\n{"id": "b", "text": "둘"}';
  await Deno.writeFile(path, enc.encode(rows));
  assert.deepEqual(await readPassagesJsonl(path), [{ id: "a", text: "하나" }, {
    id: "b",
    text: "둘",
  }]);
  await Deno.writeFile(
    path,
    new Uint8Array([...enc.encode('{"id": 1, "text": "x"}\n'), 0xff, 0x0a]),
  );
  await assert.rejects(readPassagesJsonl(path), /line 2: not valid UTF-8/);
});
