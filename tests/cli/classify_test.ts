// The classification CLIs end to end on a toy TSV, as a user runs them: train --task classify
// from scratch, eval and predict on its run dir, resume bit-exact, and bad input as one line.

import assert from "node:assert/strict";
import { readTrainerPointer } from "../../mod.ts";
import { toySentiment } from "../_data.ts";
import { errorLines, runScript } from "./_run.ts";

const dir = await Deno.makeTempDir({ prefix: "classify_cli_" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

async function tsv(name: string, rows: { id: string; text: string; label: number }[]) {
  const body = rows.map((r) => `${r.id}\t${r.text}\t${r.label}`).join("\n");
  await Deno.writeTextFile(`${dir}/${name}`, `id\tdocument\tlabel\n${body}\n`);
  return `${dir}/${name}`;
}

const TRAIN = await tsv("train.tsv", toySentiment(96, 1));
const EVAL = await tsv("eval.tsv", [...toySentiment(24, 2), { id: "empty", text: " ", label: 0 }]);
const RECIPE = [
  ...["--task", "classify", "--train", TRAIN, "--eval", EVAL, "--config", "tiny"],
  ...["--batch-size", "16", "--epochs", "4", "--seed", "2", "--max-seq-length", "16"],
];

Deno.test("train --task classify from scratch learns the toy set; eval and predict read its run", async () => {
  const out = `${dir}/run`;
  const r = await runScript("train", [...RECIPE, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(Object.keys(r.last!), [
    "accuracy",
    "macro_f1",
    "examples",
    "skipped",
    "seconds",
    "train_seconds",
  ]);
  assert.equal(r.last!.examples, 24);
  assert.equal(r.last!.skipped, 1);
  assert.ok((r.last!.accuracy as number) >= 0.9, r.stdout);
  const lines = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n");
  assert.equal(lines.filter((l) => "accuracy" in JSON.parse(l)).length, 4, "one eval per epoch");

  const preds = `${dir}/preds.json`;
  const e = await runScript("eval", [
    "--task",
    "classify",
    "--model",
    out,
    "--data",
    EVAL,
    "--out",
    preds,
  ]);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(e.last!.accuracy, r.last!.accuracy, "eval of the saved last checkpoint");
  const p = JSON.parse(await Deno.readTextFile(preds));
  assert.equal(Object.keys(p).length, 24);
  assert.deepEqual(Object.keys(p["t2-0"]), ["label", "label_name", "score"]);

  const one = await runScript("predict", [
    "--task",
    "classify",
    "--model",
    out,
    "--text",
    "great film",
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.last!.label, 1);
  assert.equal(one.last!.label_name, "LABEL_1");
  assert.match(one.stdout, /^LABEL_1 {2}\(probability 0\.\d{4}\)$/m);
});

Deno.test("classify: a stop and a resume give the same bytes as a straight run", async () => {
  const a = `${dir}/a`, b = `${dir}/b`;
  const stop = await runScript("train", [...RECIPE, "--out", a, "--stop-after", "7"]);
  assert.equal(stop.code, 130, stop.stderr);
  assert.equal((await readTrainerPointer(a)).state.task, "classify");
  const bad = await runScript("train", ["--resume", a, "--lr", "0.5"]);
  assert.equal(bad.code, 2);
  assert.match(errorLines(bad.stderr)[0], /--lr 0\.5 disagrees with the run being resumed/);
  const resumed = await runScript("train", ["--resume", a]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const straight = await runScript("train", [...RECIPE, "--out", b]);
  assert.equal(straight.code, 0, straight.stderr);
  assert.deepEqual(
    await Deno.readFile(`${a}/model.safetensors`),
    await Deno.readFile(`${b}/model.safetensors`),
  );
});

Deno.test("classify: bad input is one error line naming the file and the line, exit 2", async () => {
  const bad = `${dir}/bad.tsv`;
  await Deno.writeTextFile(bad, "id\tdocument\tlabel\n1\tgood\t1\n2\tbad\n");
  const cases: [string[], RegExp][] = [
    [["--task", "classify", "--train", bad, "--eval", EVAL], /bad\.tsv: line 3: 2 columns/],
    [["--task", "classify", "--train", TRAIN], /--eval is required/],
    [
      ["--task", "classify", "--train", TRAIN, "--eval", EVAL, "--doc-stride", "8"],
      /--doc-stride is a qa flag/,
    ],
    [["--task", "classify", "--eval", EVAL], /needs --train FILE and --eval FILE/],
  ];
  for (const [args, re] of cases) {
    const r = await runScript("train", args);
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, r.stderr);
    assert.match(errs[0], re);
  }
  const p = await runScript("predict", ["--task", "classify", "--model", dir, "--question", "q"]);
  assert.equal(p.code, 2);
  assert.match(errorLines(p.stderr)[0], /--question is a qa flag/);
});
