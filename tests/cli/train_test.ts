import assert from "node:assert/strict";
import { openSafetensors, readTrainerPointer } from "../../mod.ts";
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
    [["--freeze", "encoder"], /^error: --freeze: must be embeddings or backbone, got "encoder"/],
    [["--freeze-epochs", "1"], /^error: --freeze-epochs: needs --freeze embeddings\|backbone/],
    [["--freeze", "backbone", "--freeze-epochs", "0"], /^error: --freeze-epochs: must be a number/],
    [["--freeze", "embeddings", "--precision", "f16"], /^error: --freeze: does not combine/],
    [["--label-smoothing", "1.5"], /^error: --label-smoothing: must be a number in \[0, 1\]/],
    [["--save-policy", "em"], /^error: --save-policy: must be metric or loss-or-em, got "em"/],
    [["--save-total-limit", "0"], /^error: --save-total-limit: must be an integer/],
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
      /^error: --task: unknown task "ner"; known tasks: qa, classify, mlm, dpr$/,
    );
    // Tasks with commands of their own are sent there, not run through the QA path.
    for (const [task, where] of [["mlm", /fill-mask/], ["dpr", /retrieve-eval/]] as const) {
      const t = await runScript(cli, ["--task", task, "--model", "x"]);
      assert.equal(t.code, 2, t.stderr);
      assert.match(errorLines(t.stderr)[0], /^error: --task: \w+ is not evaluated here: use /);
      assert.match(errorLines(t.stderr)[0], where);
    }
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

/** The reader options on the embedded default: 54 windows, 14 steps an epoch, frozen 1-7. */
const READER = [
  "--max-train-samples",
  "48",
  "--max-eval-samples",
  "8",
  "--batch-size",
  "4",
  "--seed",
  "5",
  "--max-steps",
  "20",
  "--freeze",
  "embeddings",
  "--freeze-epochs",
  "0.5",
  "--label-smoothing",
  "0.02",
  "--save-policy",
  "loss-or-em",
  "--save-total-limit",
  "2",
];

/** The last checkpoint's embedding weights, embedding moments and their AdamW step counts. */
async function lastCheckpoint(run: string) {
  const p = await readTrainerPointer(run);
  const opt = await openSafetensors(`${p.dir}/optimizer.safetensors`);
  const order: string[] = JSON.parse(opt.metadata.order);
  const steps: number[] = JSON.parse(opt.metadata.steps);
  const emb = (n: string) => n.startsWith("bert.embeddings.");
  const moments = [...opt.tensors.keys()].filter((k) => emb(k.slice(2)));
  const embSteps = [...new Set(order.map((n, i) => emb(n) ? steps[i] : -1).filter((s) => s >= 0))];
  const others = [...new Set(order.map((n, i) => emb(n) ? -1 : steps[i]).filter((s) => s >= 0))];
  opt.close();
  const m = await openSafetensors(`${p.dir}/model.safetensors`);
  const weights = await m.readFloat32("bert.embeddings.word_embeddings.weight");
  m.close();
  return { step: p.step, moments: moments.length, embSteps, others, weights };
}

Deno.test("reader options: stops in the frozen span, at the unfreeze and after it resume bit-exact", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  const first = await runScript("train", [...READER, "--stop-after", "4", "--out", a]);
  assert.equal(first.code, 130, first.stderr);
  const at4 = await lastCheckpoint(a);
  // Frozen: no moments and no step count for the embeddings; the rest at step 4.
  assert.deepEqual([at4.step, at4.moments, at4.embSteps, at4.others], [4, 0, [0], [4]]);
  // A recipe flag that disagrees is refused.
  for (
    const flags of [
      ["--freeze-epochs", "1"],
      ["--label-smoothing", "0.1"],
      ["--save-total-limit", "3"],
      ["--save-policy", "metric"],
      ["--freeze", "backbone"],
    ]
  ) {
    const bad = await runScript("train", ["--resume", a, ...flags]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(errorLines(bad.stderr)[0], new RegExp(`^error: ${flags[0]} .*disagrees`));
  }
  const second = await runScript("train", ["--resume", a, "--stop-after", "3"]);
  assert.equal(second.code, 130, second.stderr);
  const at7 = await lastCheckpoint(a);
  assert.deepEqual([at7.step, at7.moments, at7.embSteps], [7, 0, [0]], "step 7 is the last frozen");
  assert.deepEqual(at7.weights, at4.weights, "frozen embeddings do not move");
  const third = await runScript("train", ["--resume", a, "--stop-after", "5", ...READER]);
  assert.equal(third.code, 130, third.stderr);
  const at12 = await lastCheckpoint(a);
  assert.deepEqual([at12.step, at12.moments, at12.embSteps], [12, 10, [5]], "unfrozen at step 8");
  assert.notDeepEqual(at12.weights, at7.weights, "the embeddings train after the unfreeze");
  const last = await runScript("train", ["--resume", a]);
  assert.equal(last.code, 0, last.stderr);
  const straight = await runScript("train", [...READER, "--out", b]);
  assert.equal(straight.code, 0, straight.stderr);
  for (const f of ["model.safetensors", "best/model.safetensors"]) {
    assert.deepEqual(await Deno.readFile(`${a}/${f}`), await Deno.readFile(`${b}/${f}`), f);
  }
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});
