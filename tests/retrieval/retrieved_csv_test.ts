import assert from "node:assert/strict";
import { loadRetrievedCsv } from "../../src/retrieval/retrieved_csv.ts";
import { DataError } from "../../src/util/errors.ts";

async function csvFile(text: string): Promise<string> {
  const f = await Deno.makeTempFile({ suffix: ".csv" });
  await Deno.writeTextFile(f, text);
  return f;
}

Deno.test("loadRetrievedCsv: several rows per id, one joined context, extra columns ignored", async () => {
  const f = await csvFile(
    ",question,id,context,original_context\n" +
      '0,누가?,q1,"철수가 왔다.",x\n1,누가?,q1,"영희가\n갔다.",x\n' +
      '2,어디?,q2,"부산 항구 서울 수도",x\n',
  );
  const r = await loadRetrievedCsv(f);
  assert.deepEqual([...r.keys()], ["q1", "q2"]);
  assert.equal(r.get("q1")!.question, "누가?");
  assert.deepEqual(r.get("q1")!.passages, [
    { id: `${f}:2`, text: "철수가 왔다." },
    { id: `${f}:3`, text: "영희가\n갔다." },
  ]);
  assert.deepEqual(r.get("q2")!.passages.map((p) => p.text), ["부산 항구 서울 수도"]);
  await Deno.remove(f);
});

Deno.test("loadRetrievedCsv: a missing column, an empty id or context name file:line", async () => {
  const cases: [string, RegExp][] = [
    ["id,question\nq,w\n", /:1: no "context" column/],
    ["id,question,context\n,w,c\n", /:2: empty id$/],
    ['id,question,context\nq1,w,c\nq2,w," "\n', /:3: empty context$/],
    ["id,question,context\nq1,w\n", /:2: 2 fields, but the header has 3$/],
  ];
  for (const [text, msg] of cases) {
    const f = await csvFile(text);
    await assert.rejects(
      loadRetrievedCsv(f),
      (e) => e instanceof DataError && e.message.startsWith(f) && msg.test(e.message),
      text,
    );
    await Deno.remove(f);
  }
  await assert.rejects(loadRetrievedCsv("/nonexistent.csv"), /nonexistent\.csv: no such file/);
});
