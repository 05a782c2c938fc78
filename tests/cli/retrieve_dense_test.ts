// retrieve-eval --retriever dense|hybrid over the golden bi-encoder (tests/fixtures/dpr_odd,
// whose vocabulary is t5..t49): the JSON line, vectors saved once and reused, and bad input.

import assert from "node:assert/strict";
import { errorLines, runScript } from "./_run.ts";

const MODEL = new URL("../fixtures/dpr_odd", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "retrieve_dense_" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const DATA = `${dir}/data.json`;
const paragraphs = Array.from({ length: 6 }, (_, p) => {
  const words = Array.from({ length: 8 }, (_, i) => `t${5 + ((p * 7 + i * 3) % 45)}`);
  return {
    context: words.join(" "),
    qas: [0, 1].map((i) => ({
      id: `p${p}q${i}`,
      question: `${words[i]} ${words[i + 4]}`,
      answers: [{ text: words[0], answer_start: 0 }],
    })),
  };
});
await Deno.writeTextFile(
  DATA,
  JSON.stringify({ version: "1", data: [{ title: "t", paragraphs }] }),
);

Deno.test("retrieve-eval --retriever dense and hybrid: recall line, vectors saved once", async () => {
  const args = ["--data", DATA, "--dense-model", MODEL, "--dense-index", `${dir}/vectors`];
  const first = await runScript("retrieve_eval", [...args, "--retriever", "dense"]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(Object.keys(first.last!).slice(0, 5), [
    "recall@1",
    "recall@5",
    "recall@20",
    "questions",
    "passages",
  ]);
  assert.deepEqual([first.last!.questions, first.last!.passages], [12, 6]);
  assert.equal(first.last!["recall@20"], 1);
  assert.ok((await Deno.stat(`${dir}/vectors/embeddings.safetensors`)).isFile);
  const again = await runScript("retrieve_eval", [...args, "--retriever", "dense"]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /encode passages/);
  assert.equal(again.last!["recall@1"], first.last!["recall@1"]);
  // Weight 1 ranks as dense does (within the top --hybrid-depth).
  const hybrid = await runScript("retrieve_eval", [
    ...args,
    ...["--retriever", "hybrid", "--hybrid-weight", "1", "--hybrid-depth", "6"],
  ]);
  assert.equal(hybrid.code, 0, hybrid.stderr);
  assert.equal(hybrid.last!["recall@1"], first.last!["recall@1"]);
});

Deno.test("retrieve-eval dense: bad input is one error line, exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--retriever", "dense"], /--retriever dense needs --dense-model DIR/],
    [["--retriever", "dense", "--dense-model", `${dir}/none`], /none: neither a bi-encoder/],
    [
      ["--retriever", "hybrid", "--dense-model", MODEL, "--hybrid-weight", "3"],
      /--hybrid-weight: must be a number in \[0, 1\]/,
    ],
  ];
  for (const [extra, want] of cases) {
    const res = await runScript("retrieve_eval", ["--data", DATA, ...extra]);
    assert.equal(res.code, 2, res.stderr);
    const errs = errorLines(res.stderr);
    assert.equal(errs.length, 1, res.stderr);
    assert.match(errs[0], want);
  }
});
