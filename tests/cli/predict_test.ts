import assert from "node:assert/strict";
import { errorLines, quickTrain, runScript } from "./_run.ts";

Deno.test("predict prints the top-k answers with scores, then JSON", async () => {
  const model = await quickTrain();
  const context = "김민준은 1987년에 부산에서 태어났다. 그는 작가로 일했다.";
  const r = await runScript("predict", [
    "--model",
    model,
    "--question",
    "김민준은 어디에서 태어났나요?",
    "--context",
    context,
    "--top-k",
    "3",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const answers = r.last?.answers as { answer: string; probability: number; score: number }[];
  assert.equal(answers.length, 3);
  for (const a of answers) {
    assert.ok(context.includes(a.answer), a.answer);
    assert.ok(a.probability > 0 && a.probability <= 1);
  }
  assert.match(r.stdout, /^1\. .*probability/m);
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
