// `deno task merge` and `train --merge`, as a user runs them: the plain checkpoint they write
// answers as the base with the adapter does (eval's n-best logits within 1e-5, predict's
// answers), and merge's own refusals.

import assert from "node:assert/strict";
import { defaultSplits } from "../../mod.ts";
import { assertClose } from "../_helpers.ts";
import { errorLines, quickTrain, runScript } from "./_run.ts";

const base = await quickTrain();
const dir = await Deno.makeTempDir({ prefix: "merge_cli_" });
addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
  Deno.removeSync(base, { recursive: true });
});
const data = defaultSplits(5).eval;
data.data = data.data.slice(0, 2);
const DATA = `${dir}/data.json`;
await Deno.writeTextFile(DATA, JSON.stringify(data));

const LORA = [
  ...["--model", base, "--lora-r", "4", "--lora-alpha", "16"],
  ...["--lora-targets", "query,value,intermediate.dense", "--max-train-samples", "24"],
  ...["--max-eval-samples", "8", "--batch-size", "4", "--max-steps", "6", "--lr", "1e-2"],
];

const bytes = (p: string) => Deno.readFile(p);
const files = (d: string) => [...Deno.readDirSync(d)].map((e) => e.name).sort();

type Entry = { text: string; start_logit: number; end_logit: number };

async function nbestLogits(path: string): Promise<Map<string, number[]>> {
  const n: Record<string, Entry[]> = JSON.parse(await Deno.readTextFile(path));
  const m = new Map<string, number[]>();
  // Spans whose text is unique in the list: a text found in two windows has two sets of logits.
  for (const [id, l] of Object.entries(n)) {
    const count = new Map<string, number>();
    for (const e of l) count.set(e.text, (count.get(e.text) ?? 0) + 1);
    for (const e of l) {
      if (count.get(e.text) === 1) m.set(`${id}\t${e.text}`, [e.start_logit, e.end_logit]);
    }
  }
  return m;
}

Deno.test("--merge and `deno task merge` write a plain checkpoint that answers as --adapter (n-best logits within 1e-5); predict --adapter", async () => {
  const run = `${dir}/m`;
  const t = await runScript("train", [...LORA, "--out", run, "--merge"]);
  assert.equal(t.code, 0, t.stderr);
  assert.deepEqual(
    files(`${run}/merged`).filter((f) =>
      !f.startsWith("tok") && f !== "vocab.txt" && f !== "special_tokens_map.json"
    ),
    ["config.json", "model.safetensors"],
  );
  const m = await runScript("merge", ["--model", base, "--adapter", run, "--out", `${dir}/merged`]);
  assert.equal(m.code, 0, m.stderr);
  assert.deepEqual(m.last, {
    out: `${dir}/merged`,
    merged: 6,
    architecture: "BertForQuestionAnswering",
  });
  assert.deepEqual(
    await bytes(`${dir}/merged/model.safetensors`),
    await bytes(`${run}/merged/model.safetensors`),
  );

  const evalOf = async (name: string, model: string[]) => {
    const r = await runScript("eval", [
      ...model,
      "--data",
      DATA,
      "--out",
      `${dir}/${name}/pred.json`,
      ...["--max-seq-length", "128", "--doc-stride", "48", "--n-best", "64"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    return { r, logits: await nbestLogits(`${dir}/${name}/nbest_predictions.json`) };
  };
  const withAdapter = await evalOf("ad", ["--model", base, "--adapter", run]);
  const merged = await evalOf("mg", ["--model", `${dir}/merged`]);
  const plain = await evalOf("pl", ["--model", base]);
  const keys = [...withAdapter.logits.keys()].filter((k) => merged.logits.has(k));
  assert.ok(keys.length > 20, `${keys.length} spans compared`);
  assertClose(
    keys.flatMap((k) => merged.logits.get(k)!),
    keys.flatMap((k) => withAdapter.logits.get(k)!),
    { atol: 1e-5, rtol: 0 },
    "merged vs adapter",
  );
  const same = keys.filter((k) => plain.logits.has(k));
  assert.ok(
    same.some((k) => Math.abs(plain.logits.get(k)![0] - withAdapter.logits.get(k)![0]) > 1e-3),
    "the adapter changes the logits",
  );

  const q = data.data[0].paragraphs[0];
  const ask = ["--question", q.qas[0].question, "--context", q.context, "--top-k", "3"];
  const pa = await runScript("predict", ["--model", base, "--adapter", run, ...ask]);
  const pm = await runScript("predict", ["--model", `${dir}/merged`, ...ask]);
  assert.equal(pa.code, 0, pa.stderr);
  const answers = (r: typeof pa) => (r.last!.answers as { answer: string; score: number }[]);
  assert.deepEqual(answers(pa).map((x) => x.answer), answers(pm).map((x) => x.answer));
  assertClose(answers(pa).map((x) => x.score), answers(pm).map((x) => x.score), {
    atol: 2e-5,
    rtol: 0,
  }, "predict scores");
});

Deno.test("merge refuses a non-empty --out and an --out holding the adapter, one line, exit 2", async () => {
  await Deno.mkdir(`${dir}/full`);
  await Deno.writeTextFile(`${dir}/full/x`, "x");
  const run = `${dir}/m`;
  for (const [out, re] of [[`${dir}/full`, /is not empty/], [dir, /holds --adapter/]] as const) {
    const r = await runScript("merge", ["--model", base, "--adapter", run, "--out", out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(errorLines(r.stderr)[0], re);
  }
  assert.deepEqual(files(`${dir}/full`), ["x"]);
  const h = await runScript("merge", ["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^usage: deno task merge --model DIR --adapter DIR --out DIR/);
});
