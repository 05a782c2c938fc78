// odqa-eval end to end, checked against the closed-setting eval it shares code with: with perfect
// retrieval of one passage, odqa-eval is eval. Bad input of both odqa CLIs is checked here too.

import assert from "node:assert/strict";
import { errorLines, runScript } from "./_run.ts";
import { startEsDouble } from "../retrieval/_es_double.ts";
import { data, dir, model, qas, toCsv } from "./_odqa_fixture.ts";

Deno.test("odqa-eval with each question's own passage as the only one retrieved equals eval", async () => {
  const csv = `${dir}/own.csv`;
  await Deno.writeTextFile(
    csv,
    toCsv(qas.map((q) => ({ id: q.id, question: q.question, context: q.context }))),
  );
  const open = await runScript("odqa_eval", [
    ...["--model", model, "--data", data, "--retrieved", csv, "--top-k", "1"],
    ...["--out", `${dir}/open/predictions.json`],
  ]);
  assert.equal(open.code, 0, open.stderr);
  const closed = await runScript("eval", [
    "--model",
    model,
    "--data",
    data,
    "--out",
    `${dir}/closed/p.json`,
  ]);
  assert.equal(closed.code, 0, closed.stderr);
  assert.equal(open.last!["recall@1"], 1);
  assert.equal(open.last!.exact_match, closed.last!.exact_match);
  assert.equal(open.last!.f1, closed.last!.f1);
  assert.deepEqual(
    JSON.parse(await Deno.readTextFile(`${dir}/open/predictions.json`)),
    JSON.parse(await Deno.readTextFile(`${dir}/closed/p.json`)),
  );
  const nbest = JSON.parse(await Deno.readTextFile(`${dir}/open/nbest_predictions.json`));
  assert.equal(nbest[qas[0].id][0].retrieval_rank, 1);
});
Deno.test("odqa-eval: BM25 at several K and weights from one reading; a joined CSV context", async () => {
  const r = await runScript("odqa_eval", [
    ...["--model", model, "--data", data, "--top-k", "3,1", "--retrieval-weight", "0,1"],
    ...["--out", `${dir}/bm25/predictions.json`],
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = r.last!;
  assert.equal(j.top_k, 3);
  assert.equal(j.questions, qas.length);
  assert.ok((j["recall@1"] as number) <= (j["recall@3"] as number));
  assert.ok((j["recall@3"] as number) > 0.5, JSON.stringify(j));
  const results = j.results as { top_k: number; retrieval_weight: number; recall: number }[];
  assert.deepEqual(results.map((x) => [x.top_k, x.retrieval_weight]), [[1, 0], [1, 1], [3, 0], [
    3,
    1,
  ]]);
  assert.match(r.stderr, /retrieve \[/);
  assert.match(r.stderr, /read \[/);
  // The notebook's shape: one row per question whose context joins its top passages.
  const others = [...new Set(qas.map((q) => q.context))];
  const csv = `${dir}/joined.csv`;
  await Deno.writeTextFile(
    csv,
    toCsv(qas.map((q, i) => ({
      id: q.id,
      question: q.question,
      context: [others[(i + 1) % others.length], q.context].join(" "),
    }))),
  );
  const joined = await runScript("odqa_eval", [
    ...["--model", model, "--data", data, "--retrieved", csv, "--out", `${dir}/joined/p.json`],
  ]);
  assert.equal(joined.code, 0, joined.stderr);
  assert.equal(joined.last!["recall@5"], 1, "the own context is inside the joined one");
});
Deno.test("odqa-eval --retriever elasticsearch against the TEST DOUBLE server", async () => {
  const es = startEsDouble();
  try {
    const r = await runScript("odqa_eval", [
      ...["--model", model, "--data", data, "--top-k", "2", "--retriever", "elasticsearch"],
      ...["--es-url", es.url, "--es-index", "odqa-test", "--out", `${dir}/es/p.json`],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.last!.questions, qas.length);
    const searches = es.requests.filter((q) => q.path === "/odqa-test/_search");
    assert.equal(searches.length, qas.length);
  } finally {
    await es.close();
  }
});
Deno.test("odqa and odqa-eval: bad input is one error line, exit 2", async () => {
  const bad = `${dir}/bad.csv`;
  await Deno.writeTextFile(bad, 'id,question,context\nq1,"unclosed,c\n');
  const partial = `${dir}/partial.csv`;
  await Deno.writeTextFile(partial, toCsv([{ id: qas[0].id, question: "?", context: "c" }]));
  const cases: [string, string[], string][] = [
    [
      "odqa_eval",
      ["--data", data, "--retrieved", bad],
      `error: ${bad}:2: a quoted field is never closed`,
    ],
    [
      "odqa_eval",
      ["--data", data, "--retrieved", partial],
      `error: ${partial}: no row for question id`,
    ],
    [
      "odqa_eval",
      ["--data", data, "--retrieved", partial, "--retriever", "bm25"],
      "error: --retriever: not used with --retrieved",
    ],
    ["odqa_eval", ["--data", data, "--top-k", "0"], "error: --top-k: must be an integer"],
    ["odqa_eval", [
      "--data",
      data,
      "--retriever",
      "elasticsearch",
      "--es-url",
      "http://127.0.0.1:9",
    ], "error: --es-url: http://127.0.0.1:9: cannot connect"],
    ["odqa_eval", ["--data", data, "--retriever", "elasticsearch"], "error: --es-url: required"],
    ["odqa", ["--corpus", data, "--question", " "], "error: --question is required"],
    [
      "odqa",
      ["--corpus", `${dir}/none.json`, "--question", "누구?"],
      `error: ${dir}/none.json: no such file`,
    ],
    [
      "odqa",
      ["--corpus", data, "--question", "누구?", "--retrieval-weight", "x"],
      "error: --retrieval-weight: must be a number",
    ],
  ];
  for (const [cli, args, want] of cases) {
    const out = cli === "odqa_eval" ? ["--out", `${dir}/never/p.json`] : [];
    const r = await runScript(cli, ["--model", model, ...args, ...out]);
    const errs = errorLines(r.stderr);
    assert.equal(r.code, 2, `${cli} ${args.join(" ")}: ${r.stderr}`);
    assert.equal(errs.length, 1, r.stderr);
    assert.ok(errs[0].startsWith(want), `${errs[0]} should start with ${want}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  }
  await assert.rejects(Deno.stat(`${dir}/never/p.json`), Deno.errors.NotFound);
});
