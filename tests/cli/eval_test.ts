import assert from "node:assert/strict";
import { defaultSplits } from "../../mod.ts";
import { loadSquad } from "../../src/qa/dataset.ts";
import { assertClose, HAS_F16 } from "../_helpers.ts";
import { rankedSpans } from "./_answers.ts";
import { errorLines, quickTrain, runScript } from "./_run.ts";

// f16 matmul operands (f32 accumulation) against f32, on the quick-trained default's n-best
// logits: measured on lavapipe, at most 1.9e-4 apart (over 2 questions' 128-span lists).
// 10x that here.
const TOL16 = { atol: 2e-3, rtol: 0 };

Deno.test("eval answers as the host's best span; score agrees; f16 close to f32 on values", async () => {
  const model = await quickTrain();
  const dir = await Deno.makeTempDir();
  const data = defaultSplits(5).eval;
  data.data = data.data.slice(0, 2);
  await Deno.writeTextFile(`${dir}/data.json`, JSON.stringify(data));
  // --n-best 128 covers every token of a 128-token window: utils_qa.py's candidates are every
  // valid span, so the host's exhaustive ranking is the reference.
  const evalArgs = (out: string, extra: string[] = []) => [
    "--model",
    model,
    "--data",
    `${dir}/data.json`,
    "--out",
    `${dir}/${out}`,
    "--max-seq-length",
    "128",
    "--doc-stride",
    "48",
    "--n-best",
    "128",
    ...extra,
  ];
  const r = await runScript("eval", evalArgs("pred.json"));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\(korquad metric\)/);
  const { examples } = await loadSquad(`${dir}/data.json`, { mode: "eval" });
  const ids = examples.map((e) => e.id);
  const preds = JSON.parse(await Deno.readTextFile(`${dir}/pred.json`));
  assert.deepEqual(Object.keys(preds).sort(), [...ids].sort());
  const ranked = await rankedSpans(model, examples, {
    maxLength: 128,
    stride: 48,
    maxAnswerLength: 30,
  });
  for (const id of ids) {
    const [best, next] = ranked.get(id)!;
    assert.equal(preds[id], best.text, `${id}: best span ${best.at}`);
    assert.ok(next.score < best.score, `${id}: a tie would make the check moot`);
  }
  assert.equal(r.last?.examples, ids.length);
  assert.ok((r.last?.features as number) >= ids.length);
  // EM/F1 as the score CLI (the official metric) gives them for the written predictions.
  const s = await runScript("score", [
    "--data",
    `${dir}/data.json`,
    "--predictions",
    `${dir}/pred.json`,
    "--metric",
    "korquad",
  ]);
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual([r.last?.exact_match, r.last?.f1], [s.last?.exact_match, s.last?.f1]);
  assert.equal(typeof r.last?.seconds, "number");

  const nbest32 = JSON.parse(await Deno.readTextFile(`${dir}/nbest_predictions.json`));
  // f16 matmuls; on GL (no shader-f16) a warning, then f32: the same answers either way.
  for (const env of [{}, { DENO_WEBGPU_BACKEND: "gl" }] as Record<string, string>[]) {
    const h = await runScript("eval", evalArgs("pred16.json", ["--precision", "f16"]), env);
    assert.equal(h.code, 0, h.stderr);
    const pred16 = JSON.parse(await Deno.readTextFile(`${dir}/pred16.json`));
    assert.deepEqual(pred16, preds);
    assert.deepEqual([h.last?.exact_match, h.last?.f1], [r.last?.exact_match, r.last?.f1]);
    if ("DENO_WEBGPU_BACKEND" in env) {
      assert.match(h.stderr, /^warning: shader-f16 not available on .+; using f32$/m);
      continue;
    }
    assert.equal(/^warning: shader-f16/m.test(h.stderr), !HAS_F16, "f16 ran where it can");
    // Logits of the spans whose text is unique in both n-best lists (a text found in two
    // windows has two sets of logits, and f16 may rank them the other way round).
    const nbest16 = JSON.parse(await Deno.readTextFile(`${dir}/nbest_predictions.json`));
    const got: number[] = [], want: number[] = [];
    for (const id of ids) {
      type Entry = { text: string; start_logit: number; end_logit: number };
      const unique = (l: Entry[]) => {
        const n = new Map<string, number>();
        for (const e of l) n.set(e.text, (n.get(e.text) ?? 0) + 1);
        return new Map(l.filter((e) => n.get(e.text) === 1).map((e) => [e.text, e]));
      };
      const a = unique(nbest32[id]), b = unique(nbest16[id]);
      for (const [text, e] of a) {
        const f = b.get(text);
        if (!f) continue;
        got.push(f.start_logit, f.end_logit);
        want.push(e.start_logit, e.end_logit);
      }
    }
    assert.ok(got.length > 100, `${got.length / 2} spans compared`);
    assertClose(got, want, TOL16, "f16 n-best logits");
  }
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("eval refuses a missing model dir and a malformed checkpoint with one line, exit 2", async () => {
  const model = await quickTrain();
  const r1 = await runScript("eval", ["--model", "/nonexistent", "--data", "x.json"]);
  assert.equal(r1.code, 2);
  await Deno.writeTextFile(`${model}/model.safetensors`, "garbage!");
  const data = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(data, JSON.stringify(defaultSplits(1).eval));
  const r2 = await runScript("eval", ["--model", model, "--data", data]);
  assert.equal(r2.code, 2, r2.stderr);
  const errs = errorLines(r2.stderr);
  assert.equal(errs.length, 1, r2.stderr);
  assert.match(errs[0], /model\.safetensors/);
  await Deno.remove(model, { recursive: true });
  await Deno.remove(data);
});

Deno.test("--max-query-length: eval counts the cut questions in its summary; a resume keeps the run's", async () => {
  const run = await quickTrain();
  const dir = await Deno.makeTempDir();
  const dev = defaultSplits(5).eval as {
    data: { paragraphs: { qas: { question: string }[] }[] }[];
  };
  const q = dev.data[0].paragraphs[0].qas[0];
  q.question = Array(40).fill(q.question).join(" ");
  await Deno.writeTextFile(`${dir}/dev.json`, JSON.stringify(dev));
  const args = ["--model", run, "--data", `${dir}/dev.json`, "--out", `${dir}/p.json`];
  for (const [extra, n] of [[[], 64], [["--max-query-length", "100000"], -1]] as const) {
    const r = await runScript("eval", [...args, ...extra]);
    if (n < 0) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(errorLines(r.stderr)[0], /^error: --max-query-length: must be an integer/);
    } else {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`; 1 questions truncated to --max-query-length ${n}\n`));
    }
  }
  const resumed = await runScript("train", ["--resume", run, "--max-query-length", "32"]);
  assert.equal(resumed.code, 2, resumed.stderr);
  assert.match(
    errorLines(resumed.stderr)[0],
    /--max-query-length 32 disagrees with the run .*\(64\)/,
  );
  await Deno.remove(run, { recursive: true });
  await Deno.remove(dir, { recursive: true });
});
