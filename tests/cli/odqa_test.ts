// odqa end to end: --top-k 1 answers as predict does on the passage retrieved.

import assert from "node:assert/strict";
import { runScript } from "./_run.ts";
import { data, model, qas } from "./_odqa_fixture.ts";

Deno.test("odqa prints the answer, its passage and score; --top-k 1 answers as predict does", async () => {
  const q = qas[0];
  const r = await runScript("odqa", [
    "--model",
    model,
    "--corpus",
    data,
    "--question",
    q.question,
    "--top-k",
    "1",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = r.last as {
    answer: string;
    score: number;
    start_logit: number;
    end_logit: number;
    passage: { id: string; rank: number; text: string };
    retrieved: { id: string }[];
  };
  assert.equal(j.retrieved.length, 1);
  assert.equal(j.passage.rank, 1);
  assert.equal(j.passage.id, j.retrieved[0].id);
  assert.ok(j.passage.text.includes(j.answer));
  assert.equal(j.score, j.start_logit + j.end_logit);
  assert.match(r.stdout, /^answer: .*\nscore: .* = start .* \+ end .*\npassage: /m);
  const p = await runScript("predict", [
    "--model",
    model,
    "--question",
    q.question,
    "--context",
    j.passage.text,
  ]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal((p.last!.answers as { answer: string }[])[0].answer, j.answer);
});
