import assert from "node:assert/strict";
import { assertClose } from "../_helpers.ts";
import { rankedSpans } from "./_answers.ts";
import { errorLines, quickTrain, runScript } from "./_run.ts";

Deno.test("predict prints the best answers, their scores and probabilities, then JSON", async () => {
  const model = await quickTrain();
  const question = "김민준은 어디에서 태어났나요?";
  const context = "김민준은 1987년에 부산에서 태어났다. 그는 작가로 일했다.";
  // 64 answers: the n-best size is max(20, top-k), and 64 covers every token of this one
  // window, so the candidates are every valid span and the host's ranking is the reference.
  const r = await runScript("predict", [
    "--model",
    model,
    "--question",
    question,
    "--context",
    context,
    "--top-k",
    "64",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const answers = r.last?.answers as { answer: string; probability: number; score: number }[];
  const spans = (await rankedSpans(model, [{
    id: "q",
    question,
    context,
    answers: { text: [], answer_start: [] },
  }], { maxLength: 384, stride: 128, maxAnswerLength: 30 })).get("q")!;
  assert.ok(spans.length > 3 && spans.every((s) => s.at[0] === 0), "one window, several spans");
  const top = spans.slice(0, 64);
  assert.equal(answers.length, top.length);
  assert.equal(answers[0].answer, top[0].text);
  assert.ok(top[1].score < top[0].score, "a tie would make the check moot");
  // Scores bit for bit (numpy sums float32 logits in float32), then the softmax over them.
  assert.deepEqual(answers.map((a) => Math.fround(a.score)), top.map((s) => s.score));
  const max = top[0].score;
  const z = top.reduce((acc, s) => acc + Math.exp(s.score - max), 0);
  assertClose(
    answers.map((a) => a.probability),
    top.map((s) => Math.exp(s.score - max) / z),
    { atol: 1e-15, rtol: 1e-12 },
    "probabilities",
  );
  for (const a of answers) assert.ok(context.includes(a.answer), a.answer);
  const first = r.stdout.split("\n").find((l) => l.startsWith("1. "));
  assert.ok(first?.startsWith(`1. ${top[0].text}  (probability `), first);
  const bad = await runScript("predict", [
    "--model",
    model,
    "--question",
    " ",
    "--context",
    context,
  ]);
  assert.equal(bad.code, 2);
  assert.equal(errorLines(bad.stderr).length, 1);
  await Deno.remove(model, { recursive: true });
});

Deno.test("predict says in words that no span is valid (a context of control characters)", async () => {
  const model = await quickTrain();
  const r = await runScript("predict", [
    ...["--model", model, "--question", "무엇인가?", "--context", "\u0001\u0002\u0003"],
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^no answer: no span of the context is a valid answer/m);
  assert.deepEqual(r.last, { answers: [] });
  await Deno.remove(model, { recursive: true });
});

Deno.test("a question that leaves no room for the context is one error naming it and the flags", async () => {
  const model = await quickTrain();
  const r = await runScript("predict", [
    ...["--model", model, "--max-seq-length", "8", "--doc-stride", "2"],
    ...["--question", "김민준은 1987년에 어디에서 누구와 무엇을 했나요?", "--context", "부산"],
  ]);
  assert.equal(r.code, 2, r.stderr);
  const errs = errorLines(r.stderr);
  assert.equal(errs.length, 1, r.stderr);
  assert.match(
    errs[0],
    /^error: --max-seq-length: question "q" leaves no room for one context token in a 8-token window/,
  );
  assert.match(errs[0], /raise --max-seq-length or lower --max-query-length \(64\)$/);
  await Deno.remove(model, { recursive: true });
});
