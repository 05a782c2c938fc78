import assert from "node:assert/strict";
import { DataError } from "../../src/util/errors.ts";
import { loadPredictions, loadSquad, splitByArticle } from "../../src/qa/dataset.ts";
import { shared, withoutData } from "../_data.ts";

const dir = await Deno.makeTempDir({ prefix: "qa_dataset_test_" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

let n = 0;
/** Writes `content` (JSON-encoded unless a string or bytes) to a fresh temp file. */
async function file(content: unknown): Promise<string> {
  const path = `${dir}/f${n++}.json`;
  if (content instanceof Uint8Array) await Deno.writeFile(path, content);
  else {await Deno.writeTextFile(
      path,
      typeof content === "string" ? content : JSON.stringify(content),
    );}
  return path;
}

const qa = (id: string, question: string, answers: unknown[]) => ({ id, question, answers });
const ans = (text: string, answer_start: number) => ({ text, answer_start });

/** Asserts `p` rejects with a DataError whose message names the file and contains `parts`. */
async function rejectsData(p: Promise<unknown>, path: string, ...parts: string[]) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `not a DataError: ${e}`);
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    for (const s of parts) assert.ok(e.message.includes(s), `"${e.message}" lacks "${s}"`);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("loadSquad: fatal faults name the file and the place", async () => {
  const missing = `${dir}/nope.json`;
  await rejectsData(loadSquad(missing), missing, "no such file");
  // 0xff never occurs in UTF-8.
  const bin = await file(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]));
  await rejectsData(loadSquad(bin), bin, "not valid UTF-8", "offset 2");
  const bad = await file('{"data": [');
  await rejectsData(loadSquad(bad), bad, "invalid JSON");
  const arr = await file([]);
  await rejectsData(loadSquad(arr), arr, "top level");
  const noParas = await file({ data: [{ title: "t" }] });
  await rejectsData(loadSquad(noParas), noParas, "data[0]", '"paragraphs"');
  const noCtx = await file({ data: [{ title: "t", paragraphs: [{ qas: [] }] }] });
  await rejectsData(loadSquad(noCtx), noCtx, "data[0].paragraphs[0]", '"context"');
  const noQ = await file({
    data: [{ title: "t", paragraphs: [{ context: "c", qas: [{ id: "x1", answers: [] }] }] }],
  });
  await rejectsData(loadSquad(noQ), noQ, "qas[0]", 'id "x1"', '"question"');
  const badStart = await file({
    data: [{
      title: "t",
      paragraphs: [{
        context: "c",
        qas: [qa("x2", "q", [ans("c", 0)]), {
          id: "x3",
          question: "q",
          answers: [{ text: "c", answer_start: "0" }],
        }],
      }],
    }],
  });
  await rejectsData(loadSquad(badStart), badStart, "qas[1]", 'id "x3"', "answer_start");
  const noId = await file({ data: [{ title: "t", paragraphs: [{ context: "c", qas: [{}] }] }] });
  await rejectsData(loadSquad(noId), noId, "data[0].paragraphs[0].qas[0]", '"id"');
});

/** Two articles: one with each countable fault, one clean. */
const messy = {
  version: "test",
  data: [
    {
      title: "A",
      paragraphs: [
        {
          context: "  ",
          qas: [qa("empty-ctx-1", "q?", [ans("x", 0)]), qa("empty-ctx-2", "q?", [])],
        },
        {
          context: "서울은 한국의 수도이다.",
          qas: [
            qa("ok", "수도는?", [ans("서울", 0)]),
            qa("empty-q", " ", [ans("서울", 0)]),
            qa("no-answer", "무엇?", []),
            // One good answer, one at the wrong offset, one out of range.
            qa("partial", "어디?", [ans("한국", 4), ans("한국", 3), ans("수도", 99)]),
            qa("all-bad", "어디?", [ans("한국", 0)]),
          ],
        },
      ],
    },
    {
      title: "B",
      // An emoji is one code point in the file's offsets but two UTF-16 units in JS.
      paragraphs: [{ context: "😀 부산", qas: [qa("astral", "어디?", [ans("부산", 2)])] }],
    },
  ],
};

Deno.test("loadSquad eval mode: counts skips, keeps mismatched answers", async () => {
  const path = await file(messy);
  const r = await loadSquad(path);
  assert.equal(r.articles, 2);
  assert.equal(r.questions, 8);
  assert.deepEqual(r.skipped, { emptyContext: 2, emptyQuestion: 1, noAnswer: 1, noValidAnswer: 0 });
  assert.equal(r.mismatched, 3);
  assert.deepEqual(r.examples.map((e) => e.id), ["ok", "partial", "all-bad", "astral"]);
  const partial = r.examples[1];
  assert.deepEqual(partial.answers, { text: ["한국", "한국", "수도"], answer_start: [4, 3, 99] });
  assert.equal(partial.title, "A");
  assert.equal(partial.article, 0);
  const astral = r.examples[3];
  assert.deepEqual(astral.answers.answer_start, [3]); // code point 2 -> UTF-16 index 3
  assert.equal(astral.context.slice(3, 5), "부산");
  assert.equal(astral.article, 1);
  const line = r.summary();
  assert.ok(!line.includes("\n") && line.startsWith(path), line);
  assert.match(line, /4 of 8 questions loaded \(2 articles, 3 paragraphs\); skipped 4 /);
  assert.match(line, /3 answers do not match their context \(kept/);
});

Deno.test("loadSquad train mode: drops mismatched answers and answerless questions", async () => {
  const r = await loadSquad(await file(messy), { mode: "train" });
  assert.deepEqual(r.skipped, { emptyContext: 2, emptyQuestion: 1, noAnswer: 1, noValidAnswer: 1 });
  assert.equal(r.mismatched, 3);
  assert.deepEqual(r.examples.map((e) => e.id), ["ok", "partial", "astral"]);
  assert.deepEqual(r.examples[1].answers, { text: ["한국"], answer_start: [4] });
  for (const e of r.examples) {
    const [t, s] = [e.answers.text[0], e.answers.answer_start[0]];
    assert.equal(e.context.slice(s, s + t.length), t);
  }
  assert.match(r.summary(), /\(dropped\)$/);
});

Deno.test("splitByArticle: first N articles train, the rest eval, in file order", () => {
  const ex = [0, 0, 1, 2, 2, 2].map((article, i) => ({ article, id: `q${i}` }));
  const ids = (xs: { id: string }[]) => xs.map((x) => x.id);
  const s2 = splitByArticle(ex, 2);
  assert.deepEqual(ids(s2.train), ["q0", "q1", "q2"]);
  assert.deepEqual(ids(s2.eval), ["q3", "q4", "q5"]);
  assert.equal(splitByArticle(ex, 0).train.length, 0);
  assert.equal(splitByArticle(ex, 3).eval.length, 0);
  assert.throws(() => splitByArticle(ex, 4), RangeError);
  assert.throws(() => splitByArticle(ex, 1.5), RangeError);
  assert.throws(() => splitByArticle(ex, -1), RangeError);
});

Deno.test("loadPredictions validates {id: string}", async () => {
  const ok = await file({ a: "서울", b: "" });
  assert.deepEqual(await loadPredictions(ok), { a: "서울", b: "" });
  const arr = await file(["서울"]);
  await rejectsData(loadPredictions(arr), arr, "expected an object");
  const num = await file({ a: "x", q7: 3 });
  await rejectsData(loadPredictions(num), num, 'id "q7"', "must be a string");
  const bad = await file("{a: 1}");
  await rejectsData(loadPredictions(bad), bad, "invalid JSON");
});

Deno.test({
  name: "the real KorQuAD v1.0 dev set loads: 140 articles, 5,774 questions",
  ignore: withoutData("korquad/KorQuAD_v1.0_dev.json"),
}, async () => {
  const r = await loadSquad(shared("korquad/KorQuAD_v1.0_dev.json"), { mode: "train" });
  assert.equal(r.articles, 140);
  assert.equal(r.questions, 5774);
  assert.equal(r.examples.length, 5774);
  assert.equal(r.mismatched, 0);
  assert.match(r.summary(), /964 paragraphs/);
  assert.equal(new Set(r.examples.map((e) => e.id)).size, 5774);
  const { train, eval: held } = splitByArticle(r.examples, 120);
  assert.equal(new Set(train.map((e) => e.article)).size, 120);
  assert.equal(new Set(held.map((e) => e.article)).size, 20);
  assert.equal(train.length + held.length, 5774);
});
