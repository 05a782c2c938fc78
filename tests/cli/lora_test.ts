// LoRA through the CLIs, as a user runs them: `train --lora-*` over a quick-trained base saves
// PEFT's adapter files (no copy of the base), prints PEFT's trainable-parameter line, resumes
// bit-exact, trains in f16; eval --adapter (merging: tests/cli/merge_test.ts).

import assert from "node:assert/strict";
import { defaultSplits } from "../../mod.ts";
import { toySentiment } from "../_data.ts";
import { HAS_F16 } from "../_helpers.ts";
import { errorLines, quickTrain, runScript } from "./_run.ts";

const base = await quickTrain();
const dir = await Deno.makeTempDir({ prefix: "lora_cli_" });
addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
  Deno.removeSync(base, { recursive: true });
});
const data = defaultSplits(5).eval;
data.data = data.data.slice(0, 2);
const DATA = `${dir}/data.json`;
await Deno.writeTextFile(DATA, JSON.stringify(data));

const LORA = [
  ...["--model", base, "--lora-r", "4", "--lora-alpha", "16", "--lora-dropout", "0.1"],
  ...["--lora-targets", "query,value,intermediate.dense", "--max-train-samples", "24"],
  ...["--max-eval-samples", "8", "--batch-size", "4", "--max-steps", "6", "--lr", "1e-2"],
];
const LINE = /^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/m;

const bytes = (p: string) => Deno.readFile(p);
const files = (d: string) => [...Deno.readDirSync(d)].map((e) => e.name).sort();

Deno.test("train --lora-*: PEFT's line once; adapter files at the root and in best/, no base copy; stop + resume is byte-identical", async () => {
  const a = `${dir}/a`, b = `${dir}/b`;
  const straight = await runScript("train", [...LORA, "--out", a]);
  assert.equal(straight.code, 0, straight.stderr);
  assert.equal(straight.stderr.match(new RegExp(LINE, "gm"))?.length, 1, straight.stderr);
  for (const d of [a, `${a}/best`]) {
    const names = files(d);
    assert.ok(names.includes("adapter_config.json") && names.includes("adapter_model.safetensors"));
    assert.ok(!names.includes("model.safetensors"), `${d}: ${names}`);
  }
  const cfg = JSON.parse(await Deno.readTextFile(`${a}/adapter_config.json`));
  assert.deepEqual(
    [cfg.peft_type, cfg.task_type, cfg.r, cfg.lora_alpha, cfg.lora_dropout, cfg.target_modules],
    ["LORA", "QUESTION_ANS", 4, 16, 0.1, ["query", "value", "intermediate.dense"]],
  );
  assert.equal(cfg.base_model_name_or_path, base);
  assert.deepEqual(cfg.modules_to_save, ["qa_outputs"]);

  const stop = await runScript("train", [...LORA, "--out", b, "--stop-after", "3"]);
  assert.equal(stop.code, 130, stop.stderr);
  const bad = await runScript("train", ["--resume", b, "--lora-r", "8"]);
  assert.equal(bad.code, 2);
  assert.match(errorLines(bad.stderr)[0], /--lora-r 8 disagrees with the run being resumed/);
  const resumed = await runScript("train", ["--resume", b]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, LINE);
  for (
    const f of [
      "adapter_model.safetensors",
      "adapter_config.json",
      "best/adapter_model.safetensors",
    ]
  ) {
    assert.deepEqual(await bytes(`${b}/${f}`), await bytes(`${a}/${f}`), f);
  }
  assert.deepEqual(resumed.last, {
    ...straight.last,
    seconds: resumed.last!.seconds,
    train_seconds: resumed.last!.train_seconds,
  });

  // --adapter continues the adapter: it loads (the trainable line again) and trains on.
  const c = await runScript("train", [
    ...["--model", base, "--adapter", a, "--max-train-samples", "24", "--max-eval-samples", "8"],
    ...["--batch-size", "4", "--max-steps", "2", "--out", `${dir}/c`],
  ]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, LINE);
  const cc = JSON.parse(await Deno.readTextFile(`${dir}/c/adapter_config.json`));
  assert.deepEqual(cc.target_modules, cfg.target_modules);

  // The run dir is an adapter, not a model: eval says how to read it.
  const e = await runScript("eval", ["--model", a, "--data", DATA, "--out", `${dir}/e.json`]);
  assert.equal(e.code, 2);
  assert.equal(
    errorLines(e.stderr)[0],
    `error: ${a}: is a LoRA adapter, not a model: give --model ${base} --adapter ${a}`,
  );
  assert.notDeepEqual(
    await bytes(`${dir}/c/adapter_model.safetensors`),
    await bytes(`${a}/adapter_model.safetensors`),
  );
});

Deno.test("train --lora with --precision f16 runs and saves the adapter", async () => {
  const r = await runScript("train", [
    ...LORA,
    "--max-steps",
    "3",
    "--precision",
    "f16",
    "--out",
    `${dir}/h`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(files(`${dir}/h`).includes("adapter_model.safetensors"));
  assert.ok(Number.isFinite(r.last!.f1 as number));
  // Where the adapter has shader-f16 the run is in f16: it logs its loss scale.
  const metrics = await Deno.readTextFile(`${dir}/h/metrics.jsonl`);
  assert.equal(/"loss_scale"/.test(metrics), HAS_F16, metrics.slice(0, 300));
});

Deno.test("LoRA flags: bad values, no --model, --adapter with --lora-*, --merge alone are usage errors (exit 2)", async () => {
  const cases: [string[], RegExp][] = [
    [["--lora"], /LoRA trains adapters over a pretrained base: give --model DIR/],
    [["--model", base, "--lora-r", "0"], /--lora-r: must be an integer/],
    [["--model", base, "--lora-targets", "query,nope"], /--lora-targets: unknown target "nope"/],
    [["--model", base, "--lora-dropout", "1"], /--lora-dropout: must be a number/],
    [["--model", base, "--adapter", base, "--lora-r", "4"], /--adapter takes r, alpha/],
    [["--model", base, "--merge"], /--merge folds LoRA adapters/],
    [["--resume", base, "--merge"], /--merge folds LoRA adapters: the run being resumed has none/],
  ];
  for (const [args, re] of cases) {
    const out = args[0] === "--resume" ? [] : ["--out", `${dir}/never`];
    const r = await runScript("train", [...args, ...out]);
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    assert.match(errorLines(r.stderr)[0], re);
  }
  assert.ok(!files(dir).includes("never"));
});

Deno.test("classify and mlm take LoRA too: SEQ_CLS adapter, bit-exact resume, eval --adapter; mlm's adapter has no task head", async () => {
  const tsv = async (name: string, rows: { id: string; text: string; label: number }[]) => {
    const body = rows.map((r) => `${r.id}\t${r.text}\t${r.label}`).join("\n");
    await Deno.writeTextFile(`${dir}/${name}`, `id\tdocument\tlabel\n${body}\n`);
    return `${dir}/${name}`;
  };
  const train = await tsv("train.tsv", toySentiment(48, 1));
  const evalSet = await tsv("eval.tsv", toySentiment(16, 2));
  const recipe = [
    ...["--task", "classify", "--train", train, "--eval", evalSet, "--model", base, "--lora"],
    ...["--batch-size", "8", "--max-steps", "6", "--max-seq-length", "16", "--lr", "1e-2"],
  ];
  const a = `${dir}/ca`, b = `${dir}/cb`;
  const straight = await runScript("train", [...recipe, "--out", a]);
  assert.equal(straight.code, 0, straight.stderr);
  const cfg = JSON.parse(await Deno.readTextFile(`${a}/adapter_config.json`));
  assert.deepEqual([cfg.task_type, cfg.modules_to_save], ["SEQ_CLS", ["classifier", "score"]]);
  assert.ok(!files(a).includes("model.safetensors"));
  const stop = await runScript("train", [...recipe, "--out", b, "--stop-after", "4"]);
  assert.equal(stop.code, 130, stop.stderr);
  const resumed = await runScript("train", ["--resume", b]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(
    await bytes(`${b}/adapter_model.safetensors`),
    await bytes(`${a}/adapter_model.safetensors`),
  );
  const e = await runScript("eval", [
    ...["--task", "classify", "--model", base, "--adapter", a, "--data", evalSet],
    ...["--max-seq-length", "16", "--out", `${dir}/cpred/p.json`],
  ]);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(e.last!.accuracy, straight.last!.accuracy, "eval --adapter = the run's last eval");

  const mlm = await runScript("train", [
    ...[
      "--task",
      "mlm",
      "--model",
      base,
      "--lora-targets",
      "query,key,value",
      "--text",
      DATA,
      "--validation-split-percentage",
      "30",
    ],
    ...["--max-seq-length", "32", "--batch-size", "4", "--max-steps", "2", "--out", `${dir}/mlm`],
  ]);
  assert.equal(mlm.code, 0, mlm.stderr);
  assert.match(mlm.stderr, LINE);
  const mc = JSON.parse(await Deno.readTextFile(`${dir}/mlm/adapter_config.json`));
  assert.deepEqual([mc.task_type, mc.modules_to_save], [null, null]);
});
