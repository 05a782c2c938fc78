import assert from "node:assert/strict";
import { defaultSplits } from "../../mod.ts";
import { errorLines, quickTrain, runScript } from "./_run.ts";

Deno.test("eval writes {id: answer} and ends with the EM/F1/examples/features/seconds line", async () => {
  const model = await quickTrain();
  const dir = await Deno.makeTempDir();
  const data = defaultSplits(5).eval;
  data.data = data.data.slice(0, 2);
  await Deno.writeTextFile(`${dir}/data.json`, JSON.stringify(data));
  const r = await runScript("eval", [
    "--model",
    model,
    "--data",
    `${dir}/data.json`,
    "--out",
    `${dir}/pred.json`,
    "--max-seq-length",
    "128",
    "--doc-stride",
    "48",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const ids = data.data.flatMap((a) => a.paragraphs.flatMap((p) => p.qas.map((q) => q.id)));
  const preds = JSON.parse(await Deno.readTextFile(`${dir}/pred.json`));
  assert.deepEqual(Object.keys(preds).sort(), [...ids].sort());
  await Deno.stat(`${dir}/nbest_predictions.json`);
  assert.equal(r.last?.examples, ids.length);
  assert.ok((r.last?.features as number) >= ids.length);
  for (const k of ["exact_match", "f1", "seconds"]) assert.equal(typeof r.last?.[k], "number");
  // f16 matmuls: the same questions answered; on GL (no shader-f16) a warning, then f32.
  for (const env of [{}, { DENO_WEBGPU_BACKEND: "gl" }] as Record<string, string>[]) {
    const h = await runScript("eval", [
      "--model",
      model,
      "--data",
      `${dir}/data.json`,
      "--out",
      `${dir}/pred16.json`,
      "--max-seq-length",
      "128",
      "--doc-stride",
      "48",
      "--precision",
      "f16",
    ], env);
    assert.equal(h.code, 0, h.stderr);
    const pred16 = JSON.parse(await Deno.readTextFile(`${dir}/pred16.json`));
    assert.deepEqual(Object.keys(pred16).sort(), [...ids].sort());
    if ("DENO_WEBGPU_BACKEND" in env) {
      assert.match(h.stderr, /^warning: shader-f16 not available on .+; using f32$/m);
    }
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
