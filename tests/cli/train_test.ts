import assert from "node:assert/strict";
import { errorLines, quickTrain, runScript } from "./_run.ts";

Deno.test("train on the embedded default writes a full HF-layout run dir and ends with JSON", async () => {
  const out = await Deno.makeTempDir();
  const r = await runScript("train", [
    "--max-steps",
    "3",
    "--eval-every",
    "2",
    "--max-train-samples",
    "24",
    "--max-eval-samples",
    "8",
    "--batch-size",
    "4",
    "--out",
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (const k of ["exact_match", "f1", "examples", "features", "seconds", "train_seconds"]) {
    assert.equal(typeof r.last?.[k], "number", `${k} in ${r.stdout}`);
  }
  assert.equal(r.last!.examples, 8);
  for (
    const f of [
      "config.json",
      "model.safetensors",
      "tokenizer.json",
      "vocab.txt",
      "metrics.jsonl",
      "plot.svg",
    ]
  ) {
    await Deno.stat(`${out}/${f}`);
  }
  await Deno.stat(`${out}/best/model.safetensors`);
  // The embedded model: BERT-tiny's shape with a 256-wide FFN, no dropout.
  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.deepEqual(
    [config.num_hidden_layers, config.hidden_size, config.intermediate_size],
    [2, 128, 256],
  );
  assert.equal(config.hidden_dropout_prob, 0);
  const lines = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.equal(lines.filter((l) => "exact_match" in l).length, 2, "evals at step 2 and at the end");
  assert.match(r.stderr, /train \[#+-*\] \d+\/3 .*tok\/s=/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("the same seed gives a byte-identical checkpoint", async () => {
  const a = await quickTrain(["--seed", "3"]);
  const b = await quickTrain(["--seed", "3"]);
  const bytesA = await Deno.readFile(`${a}/model.safetensors`);
  const bytesB = await Deno.readFile(`${b}/model.safetensors`);
  assert.deepEqual(bytesA, bytesB);
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("bad flags are usage errors with exit code 2 and no stack trace", async () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /bogus/],
    [["--max-seq-length", "64", "--doc-stride", "64"], /--doc-stride: 64 must be smaller/],
    [["--batch-size", "0"], /--batch-size/],
    [["--lr", "abc"], /--lr/],
    [["--config", "huge"], /--config/],
    [["--model", "x", "--config", "tiny"], /not both/],
    [["--metric", "bleu"], /--metric/],
    [["--precision", "f8"], /--precision: must be f32 or f16/],
    [["--length-buckets", "0"], /--length-buckets/],
    [["--adam-beta2", "1.5"], /--adam-beta2/],
    [["--task", "ner"], /--task: unknown task "ner"; known tasks: qa, classify/],
    [["--eval-every", "often"], /--eval-every/],
    [["--warmup-steps", "-1"], /--warmup-steps/],
  ];
  for (const [args, re] of cases) {
    const r = await runScript("train", args);
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, r.stderr);
    assert.match(errs[0], re);
    assert.ok(!/\n\s+at /.test(r.stderr), "no stack trace");
  }
});

Deno.test("a missing or malformed training file is refused naming the file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.json`, "{");
  for (
    const [file, re] of [[`${dir}/none.json`, /none\.json: no such file/], [
      `${dir}/bad.json`,
      /bad\.json: invalid JSON/,
    ]] as const
  ) {
    const r = await runScript("train", [
      "--train",
      file,
      "--eval",
      file,
      "--config",
      "tiny",
      "--vocab",
      "x",
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(errorLines(r.stderr)[0], re);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--precision f16 logs loss_scale; without shader-f16 (GL) it warns and trains in f32", async () => {
  const f16 = await quickTrain(["--precision", "f16"]);
  const lines = (await Deno.readTextFile(`${f16}/metrics.jsonl`)).trim().split("\n");
  const state = JSON.parse(await Deno.readTextFile(`${f16}/trainer_state.json`)).state;
  if (state.options.precision === "f16") {
    assert.ok(lines.every((l) => typeof JSON.parse(l).loss_scale === "number"), lines.join("\n"));
    assert.equal(typeof state.lossScale.scale, "number");
  }
  await Deno.remove(f16, { recursive: true });

  const out = await Deno.makeTempDir();
  const r = await runScript("train", [
    "--max-steps",
    "1",
    "--max-train-samples",
    "8",
    "--max-eval-samples",
    "4",
    "--batch-size",
    "4",
    "--precision",
    "f16",
    "--out",
    out,
  ], { DENO_WEBGPU_BACKEND: "gl" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: shader-f16 not available on .+; using f32$/m);
  const st = JSON.parse(await Deno.readTextFile(`${out}/trainer_state.json`)).state;
  assert.equal(st.options.precision, "f32");
  assert.ok(!("lossScale" in st));
  await Deno.remove(out, { recursive: true });
});

Deno.test("eval and predict take --task too: an unknown one is a usage error listing the known", async () => {
  for (const cli of ["eval", "predict"]) {
    const r = await runScript(cli, ["--task", "ner", "--model", "x"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      errorLines(r.stderr)[0],
      /^error: --task: unknown task "ner"; known tasks: qa, classify, mlm$/,
    );
  }
});

Deno.test("a training set with no usable example is one error naming the file, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  const bad = {
    version: "1",
    data: [{
      title: "t",
      paragraphs: [{
        context: "서울은 수도다.",
        qas: [{ id: "a", question: "수도는?", answers: [{ text: "부산", answer_start: 0 }] }],
      }],
    }],
  };
  await Deno.writeTextFile(`${dir}/train.json`, JSON.stringify(bad));
  await Deno.writeTextFile(`${dir}/vocab.txt`, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  const r = await runScript("train", [
    ...["--train", `${dir}/train.json`, "--eval", `${dir}/train.json`],
    ...["--config", "tiny", "--vocab", `${dir}/vocab.txt`, "--out", `${dir}/run`],
  ]);
  assert.equal(r.code, 2, r.stderr);
  const errs = errorLines(r.stderr);
  assert.equal(errs.length, 1, r.stderr);
  assert.match(errs[0], /train\.json: no usable training examples/);
  await Deno.remove(dir, { recursive: true });
});
