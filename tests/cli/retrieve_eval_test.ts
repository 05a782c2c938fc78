import assert from "node:assert/strict";
import { generateKoreanQa } from "../../mod.ts";
import { errorLines, runScript } from "./_run.ts";

const dir = await Deno.makeTempDir({ prefix: "retrieve_eval_" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const data = `${dir}/dev.json`;
const squad = generateKoreanQa({ seed: 3, articles: 4 });
await Deno.writeTextFile(data, JSON.stringify(squad));
const nQuestions = squad.data.flatMap((a) => a.paragraphs.flatMap((p) => p.qas)).length;
const nContexts = new Set(squad.data.flatMap((a) => a.paragraphs.map((p) => p.context))).size;

Deno.test("retrieve-eval ends with one JSON line of recall@k, counts and timings", async () => {
  const r = await runScript("retrieve_eval", ["--data", data, "--top-k", "1,3"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(Object.keys(r.last!), [
    "recall@1",
    "recall@3",
    "questions",
    "passages",
    "seconds",
    "median_query_ms",
  ]);
  assert.equal(r.last!.questions, nQuestions);
  assert.equal(r.last!.passages, nContexts);
  const [r1, r3] = [r.last!["recall@1"] as number, r.last!["recall@3"] as number];
  assert.ok(r1 > 0 && r1 <= r3 && r3 <= 1, `${r1} ${r3}`);
  assert.match(r.stderr, /retrieve \[/);
});

Deno.test("retrieve-eval --index: built and saved once, then loaded with the same result", async () => {
  const index = `${dir}/index`;
  const args = ["--data", data, "--retriever", "tfidf", "--index", index];
  const first = await runScript("retrieve_eval", args);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /index \[/);
  const second = await runScript("retrieve_eval", args);
  assert.equal(second.code, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /index \[/, "loaded, not rebuilt");
  assert.equal(second.last!["recall@20"], first.last!["recall@20"]);
  const clash = await runScript("retrieve_eval", [...args, "--analyzer", "words"]);
  assert.equal(clash.code, 2);
  assert.match(errorLines(clash.stderr)[0], /^error: --analyzer: the index at .* was built with/);
});

Deno.test("retrieve-eval: bad flags are one error line and exit 2", async () => {
  for (
    const [args, re] of [
      [["--data", data, "--retriever", "dense2"], /^error: --retriever: unknown retriever/],
      [["--data", data, "--analyzer", "char9"], /^error: --analyzer: "char9"/],
      [["--data", data, "--b", "2"], /^error: --b: must be a number in \[0, 1\]/],
      [["--data", data, "--top-k", "1,x"], /^error: --top-k:/],
      [[], /^error: --data is required/],
    ] as const
  ) {
    const r = await runScript("retrieve_eval", [...args]);
    assert.equal(r.code, 2, r.stderr);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, r.stderr);
    assert.match(errs[0], re);
  }
});
