// Every CLI walked through each class of bad input (issue 17): a missing file, a malformed file,
// a bad tokenizer, a bad config, a bad data row, an output clash, a bad flag value, a LoRA
// adapter that does not fit the model (a key, both shapes). Each is one
// `error: <path or flag>: <what>` line (a bad flag adds the usage line), exit 2, no stack trace,
// and nothing written. Combinations that cannot happen are listed in SKIPPED with the reason.

import assert from "node:assert/strict";
import { defaultSplits } from "../../mod.ts";
import { fixture, toySentiment } from "../_data.ts";
import { errorLines, quickTrain, runScript } from "./_run.ts";

type Class =
  | "missing"
  | "malformed"
  | "tokenizer"
  | "config"
  | "row"
  | "output"
  | "flag"
  | "adapter";

const dir = await Deno.makeTempDir({ prefix: "error_classes_" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const at = (name: string) => `${dir}/${name}`;
const write = (name: string, text: string) => Deno.writeTextFile(at(name), text);

// Inputs: good ones to put beside a bad one, and one bad file of each kind.
const model = at("model");
await Deno.rename(await quickTrain(), model);
/** The model's files (not its checkpoints) into a new directory. */
async function copyModel(to: string): Promise<void> {
  await Deno.mkdir(to);
  for await (const e of Deno.readDir(model)) {
    if (e.isFile) await Deno.copyFile(`${model}/${e.name}`, `${to}/${e.name}`);
  }
}
await copyModel(at("bad-tok"));
await write("bad-tok/tokenizer.json", "{ not json");
await copyModel(at("bad-config"));
await write("bad-config/config.json", JSON.stringify({ hidden_size: "wide" }));
await write("dev.json", JSON.stringify(defaultSplits(3).eval));
await write("broken.json", '{"data": [');
const para = { context: "c", qas: [{ id: "1", question: 7, answers: [] }] };
await write("row.json", JSON.stringify({ data: [{ title: "t", paragraphs: [para] }] }));
const tsv = (rows: string[]) => `id\tdocument\tlabel\n${rows.join("\n")}\n`;
await write("train.tsv", tsv(toySentiment(8, 1).map((r) => `${r.id}\t${r.text}\t${r.label}`)));
await write("row.tsv", tsv(["1\tgood\t1", "2\tbad"]));
await write("broken.jsonl", '{"text": "a", "label"\n');
await write("notes.txt", "one document\nanother one\n");
await write("held-out.txt", "a third one\n");
await Deno.writeFile(at("latin1.txt"), new Uint8Array([0x61, 0xe9, 0x0a]));
await write("preds.json", JSON.stringify({ x: "a" }));
await write("a-file", "not a directory\n");
await Deno.mkdir(at("old-run"));
await write("old-run/metrics.jsonl", '{"step": 1}\n');

await Deno.mkdir(at("bad-adapter"));
await write("bad-adapter/adapter_config.json", "{ not json");
// A PEFT adapter for another base (hidden size 24): every LoRA matrix has the wrong shape.
const OTHER = fixture("lora_qa_odd/adapter");
const MISFIT = `${OTHER}/adapter_model.safetensors`;
const ADAPT = ["--model", model, "--adapter", OTHER];

const NO = at("missing.json");
const QA_TRAIN = ["--train", at("dev.json"), "--eval", at("dev.json"), "--config", "tiny"];
const QA_TRAIN_TOK = [...QA_TRAIN, "--tokenizer", `${model}/tokenizer.json`];
const CLS = ["--task", "classify"];
const CLS_TRAIN = [...CLS, "--train", at("train.tsv"), "--eval", at("train.tsv")];
const MLM = ["--task", "mlm"];
const MLM_TEXT = [...MLM, "--text", at("notes.txt"), "--eval-text", at("held-out.txt")];
const OUT = ["--out", at("new-run")];

interface Case {
  cli: string;
  task: string;
  cls: Class;
  args: string[];
  /** What the error line names first: a path or a flag. */
  names: string;
}

const CASES: Case[] = [
  // train --task qa
  {
    cli: "train",
    task: "qa",
    cls: "missing",
    args: [...QA_TRAIN, "--train", NO, ...OUT],
    names: NO,
  },
  {
    cli: "train",
    task: "qa",
    cls: "malformed",
    args: [...QA_TRAIN, "--train", at("broken.json"), ...OUT],
    names: at("broken.json"),
  },
  {
    cli: "train",
    task: "qa",
    cls: "tokenizer",
    args: [...QA_TRAIN, "--tokenizer", `${at("bad-tok")}/tokenizer.json`, ...OUT],
    names: `${at("bad-tok")}/tokenizer.json`,
  },
  {
    cli: "train",
    task: "qa",
    cls: "config",
    args: ["--model", at("bad-config"), ...QA_TRAIN.slice(0, 4), ...OUT],
    names: `${at("bad-config")}/config.json`,
  },
  {
    cli: "train",
    task: "qa",
    cls: "row",
    args: [...QA_TRAIN, "--train", at("row.json"), ...OUT],
    names: at("row.json"),
  },
  {
    cli: "train",
    task: "qa",
    cls: "output",
    args: [...QA_TRAIN_TOK, "--out", at("old-run")],
    names: at("old-run"),
  },
  {
    cli: "train",
    task: "qa",
    cls: "flag",
    args: [...QA_TRAIN_TOK, "--max-query-length", "0", ...OUT],
    names: "--max-query-length",
  },
  { cli: "train", task: "qa", cls: "adapter", args: [...ADAPT, ...OUT], names: MISFIT },
  // train --task classify
  {
    cli: "train",
    task: "classify",
    cls: "missing",
    args: [...CLS_TRAIN, "--eval", NO, ...OUT],
    names: NO,
  },
  {
    cli: "train",
    task: "classify",
    cls: "malformed",
    args: [...CLS_TRAIN, "--train", at("broken.jsonl"), ...OUT],
    names: at("broken.jsonl"),
  },
  {
    cli: "train",
    task: "classify",
    cls: "tokenizer",
    args: [...CLS_TRAIN, "--config", "tiny", "--vocab", NO, ...OUT],
    names: NO,
  },
  {
    cli: "train",
    task: "classify",
    cls: "config",
    args: [...CLS_TRAIN, "--model", at("bad-config"), ...OUT],
    names: `${at("bad-config")}/config.json`,
  },
  {
    cli: "train",
    task: "classify",
    cls: "row",
    args: [...CLS_TRAIN, "--train", at("row.tsv"), ...OUT],
    names: at("row.tsv"),
  },
  {
    cli: "train",
    task: "classify",
    cls: "output",
    args: [...CLS_TRAIN, "--out", at("old-run")],
    names: at("old-run"),
  },
  {
    cli: "train",
    task: "classify",
    cls: "flag",
    args: [...CLS_TRAIN, "--max-seq-length", "x", ...OUT],
    names: "--max-seq-length",
  },
  {
    cli: "train",
    task: "classify",
    cls: "adapter",
    args: [...CLS_TRAIN, ...ADAPT, ...OUT],
    names: MISFIT,
  },
  // train --task mlm
  { cli: "train", task: "mlm", cls: "missing", args: [...MLM, "--text", NO, ...OUT], names: NO },
  {
    cli: "train",
    task: "mlm",
    cls: "malformed",
    args: [...MLM, "--text", at("latin1.txt"), ...OUT],
    names: at("latin1.txt"),
  },
  {
    cli: "train",
    task: "mlm",
    cls: "tokenizer",
    args: [...MLM_TEXT, "--config", "tiny", "--tokenizer", NO, ...OUT],
    names: NO,
  },
  {
    cli: "train",
    task: "mlm",
    cls: "config",
    args: [...MLM_TEXT, "--model", at("bad-config"), ...OUT],
    names: `${at("bad-config")}/config.json`,
  },
  {
    cli: "train",
    task: "mlm",
    cls: "output",
    args: [...MLM, "--text", at("notes.txt"), "--out", at("old-run")],
    names: at("old-run"),
  },
  {
    cli: "train",
    task: "mlm",
    cls: "flag",
    args: [...MLM, "--text", at("notes.txt"), "--mlm-probability", "2", ...OUT],
    names: "--mlm-probability",
  },
  {
    cli: "train",
    task: "mlm",
    cls: "adapter",
    args: [...MLM_TEXT, ...ADAPT, ...OUT],
    names: MISFIT,
  },
  // eval --task qa
  ...evalCases("qa", [], at("dev.json"), at("broken.json"), at("row.json"), "--n-best"),
  // eval --task classify
  ...evalCases("classify", CLS, at("train.tsv"), at("broken.jsonl"), at("row.tsv"), "--batch-size"),
  // predict --task qa
  ...predictCases("qa", ["--question", "무엇?", "--context", "부산"], "--top-k"),
  // predict --task classify
  ...predictCases("classify", [...CLS, "--text", "good film"], "--max-seq-length"),
  // score
  {
    cli: "score",
    task: "",
    cls: "missing",
    args: ["--data", NO, "--predictions", at("preds.json")],
    names: NO,
  },
  {
    cli: "score",
    task: "",
    cls: "malformed",
    args: ["--data", at("dev.json"), "--predictions", at("broken.json")],
    names: at("broken.json"),
  },
  {
    cli: "score",
    task: "",
    cls: "row",
    args: ["--data", at("row.json"), "--predictions", at("preds.json")],
    names: at("row.json"),
  },
  {
    cli: "score",
    task: "",
    cls: "flag",
    args: ["--data", at("dev.json"), "--predictions", at("preds.json"), "--metric", "bleu"],
    names: "--metric",
  },
  // download
  {
    cli: "download",
    task: "",
    cls: "output",
    args: ["korquad-v1", "--to", at("a-file")],
    names: at("a-file"),
  },
  { cli: "download", task: "", cls: "flag", args: ["a/b/c", "--to", at("dl")], names: "a/b/c" },
  // fill-mask
  ...fillMaskCases(),
  // merge
  ...mergeCases(),
  // retrieve-eval
  ...retrieveEvalCases(),
  // odqa, odqa-eval
  ...odqaCases(),
];

function retrieveEvalCases(): Case[] {
  const c = (cls: Class, args: string[], names: string): Case => ({
    cli: "retrieve_eval",
    task: "",
    cls,
    args,
    names,
  });
  const dev = ["--data", at("dev.json")];
  return [
    c("missing", ["--data", NO], NO),
    c("malformed", ["--data", at("broken.json")], at("broken.json")),
    c(
      "tokenizer",
      [...dev, "--analyzer", `pieces:${at("bad-tok")}/tokenizer.json`],
      `${at("bad-tok")}/tokenizer.json`,
    ),
    c("row", ["--data", at("row.json")], at("row.json")),
    c("output", [...dev, "--index", at("a-file")], at("a-file")),
    c("flag", [...dev, "--top-k", "0"], "--top-k"),
  ];
}

function odqaCases(): Case[] {
  const q = ["--question", "누구?"];
  const odqa = (cls: Class, args: string[], names: string): Case => ({
    cli: "odqa",
    task: "",
    cls,
    args: [...args, ...q],
    names,
  });
  const out = ["--out", at("odqa-pred.json")];
  const ev = (cls: Class, args: string[], names: string): Case => ({
    cli: "odqa_eval",
    task: "",
    cls,
    args,
    names,
  });
  const good = ["--model", model, "--data", at("dev.json")];
  return [
    odqa("missing", ["--model", model, "--corpus", NO], NO),
    odqa("malformed", ["--model", model, "--corpus", at("broken.json")], at("broken.json")),
    odqa(
      "tokenizer",
      ["--model", at("bad-tok"), "--corpus", at("dev.json")],
      `${at("bad-tok")}/tokenizer.json`,
    ),
    odqa(
      "config",
      ["--model", at("bad-config"), "--corpus", at("dev.json")],
      `${at("bad-config")}/config.json`,
    ),
    odqa("row", ["--model", model, "--corpus", at("row.json")], at("row.json")),
    odqa(
      "output",
      ["--model", model, "--corpus", at("dev.json"), "--index", at("a-file")],
      at("a-file"),
    ),
    odqa("flag", ["--model", model, "--corpus", at("dev.json"), "--top-k", "0"], "--top-k"),
    ev("missing", ["--model", model, "--data", NO, ...out], NO),
    ev("malformed", ["--model", model, "--data", at("broken.json"), ...out], at("broken.json")),
    ev(
      "tokenizer",
      ["--model", at("bad-tok"), "--data", at("dev.json"), ...out],
      `${at("bad-tok")}/tokenizer.json`,
    ),
    ev(
      "config",
      ["--model", at("bad-config"), "--data", at("dev.json"), ...out],
      `${at("bad-config")}/config.json`,
    ),
    ev("row", ["--model", model, "--data", at("row.json"), ...out], at("row.json")),
    ev("output", [...good, "--out", at("dev.json")], at("dev.json")),
    ev("flag", [...good, ...out, "--retrieval-weight", "x"], "--retrieval-weight"),
  ];
}

function mergeCases(): Case[] {
  const out = ["--out", at("merged")];
  const c = (cls: Class, args: string[], names: string): Case => ({
    cli: "merge",
    task: "",
    cls,
    args,
    names,
  });
  return [
    c(
      "missing",
      ["--model", model, "--adapter", at("none"), ...out],
      `${at("none")}/adapter_config.json`,
    ),
    c(
      "malformed",
      ["--model", model, "--adapter", at("bad-adapter"), ...out],
      `${at("bad-adapter")}/adapter_config.json`,
    ),
    c(
      "tokenizer",
      ["--model", at("bad-tok"), "--adapter", OTHER, ...out],
      `${at("bad-tok")}/tokenizer.json`,
    ),
    c(
      "config",
      ["--model", at("bad-config"), "--adapter", OTHER, ...out],
      `${at("bad-config")}/config.json`,
    ),
    c("output", [...ADAPT, "--out", at("a-file")], at("a-file")),
    c("adapter", [...ADAPT, ...out], MISFIT),
  ];
}

function evalCases(
  task: string,
  pre: string[],
  good: string,
  broken: string,
  row: string,
  flag: string,
): Case[] {
  const out = ["--out", at("pred.json")];
  const run = (m: string, data: string, extra: string[] = out) => [
    ...pre,
    ...["--model", m, "--data", data, ...extra],
  ];
  return [
    { cli: "eval", task, cls: "missing", args: run(model, NO), names: NO },
    { cli: "eval", task, cls: "malformed", args: run(model, broken), names: broken },
    {
      cli: "eval",
      task,
      cls: "tokenizer",
      args: run(at("bad-tok"), good),
      names: `${at("bad-tok")}/tokenizer.json`,
    },
    {
      cli: "eval",
      task,
      cls: "config",
      args: run(at("bad-config"), good),
      names: `${at("bad-config")}/config.json`,
    },
    { cli: "eval", task, cls: "row", args: run(model, row), names: row },
    { cli: "eval", task, cls: "output", args: run(model, good, ["--out", good]), names: good },
    { cli: "eval", task, cls: "flag", args: [...run(model, good), flag, "0"], names: flag },
    {
      cli: "eval",
      task,
      cls: "adapter",
      args: [...run(model, good), "--adapter", OTHER],
      names: MISFIT,
    },
  ];
}

function predictCases(task: string, input: string[], flag: string): Case[] {
  return [
    {
      cli: "predict",
      task,
      cls: "missing",
      args: ["--model", at("none"), ...input],
      names: at("none"),
    },
    {
      cli: "predict",
      task,
      cls: "tokenizer",
      args: ["--model", at("bad-tok"), ...input],
      names: `${at("bad-tok")}/tokenizer.json`,
    },
    {
      cli: "predict",
      task,
      cls: "config",
      args: ["--model", at("bad-config"), ...input],
      names: `${at("bad-config")}/config.json`,
    },
    {
      cli: "predict",
      task,
      cls: "flag",
      args: ["--model", model, ...input, flag, "0"],
      names: flag,
    },
    {
      cli: "predict",
      task,
      cls: "adapter",
      args: [...ADAPT, ...input],
      names: MISFIT,
    },
  ];
}

function fillMaskCases(): Case[] {
  const text = ["--text", "부산 [MASK]"];
  return [
    {
      cli: "fill_mask",
      task: "",
      cls: "missing",
      args: ["--model", at("none"), ...text],
      names: at("none"),
    },
    {
      cli: "fill_mask",
      task: "",
      cls: "tokenizer",
      args: ["--model", at("bad-tok"), ...text],
      names: `${at("bad-tok")}/tokenizer.json`,
    },
    {
      cli: "fill_mask",
      task: "",
      cls: "config",
      args: ["--model", at("bad-config"), ...text],
      names: `${at("bad-config")}/config.json`,
    },
    {
      cli: "fill_mask",
      task: "",
      cls: "flag",
      args: ["--model", model, ...text, "--top-k", "0"],
      names: "--top-k",
    },
  ];
}

/** What is not in CASES, and why. */
const SKIPPED: Record<string, string> = {
  "train mlm row": "a text corpus has no rows to be malformed: any UTF-8 line is a document",
  "predict * malformed": "predict reads no data file; its inputs are flags",
  "predict * row": "predict reads no data file",
  "predict * output": "predict writes nothing",
  "score tokenizer": "score reads no tokenizer",
  "score config": "score reads no model",
  "score output": "score writes nothing",
  "download missing": "download reads no local file",
  "download malformed": "a malformed hub file needs a fake hub: tests/cli/download_test.ts",
  "download tokenizer": "download does not parse tokenizers",
  "download config": "download does not parse configs",
  "download row": "download reads no data",
  "fill_mask malformed": "fill-mask reads no data file",
  "fill_mask row": "fill-mask reads no data file",
  "fill_mask output": "fill-mask writes nothing",
  "score adapter": "score reads no model",
  "download adapter": "download does not load models",
  "fill_mask adapter": "fill-mask takes no --adapter (a masked-LM adapter merges: deno task merge)",
  "merge row": "merge reads no data",
  "merge flag": "merge's flags are paths (each class above); a missing one is a usage error",
  "retrieve_eval config": "retrieve-eval reads no model",
  "retrieve_eval adapter": "retrieve-eval reads no model",
  "odqa adapter": "odqa takes no --adapter (fold it in first: deno task merge)",
  "odqa_eval adapter": "odqa-eval takes no --adapter (fold it in first: deno task merge)",
};

/** Every file under `d` with its size and mtime, to see that nothing was written. */
async function listing(d: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${d}/${prefix}`)) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory) out.push(`${rel}/`, ...await listing(d, `${rel}/`));
    else {
      const s = await Deno.stat(`${d}/${rel}`);
      out.push(`${rel} ${s.size} ${s.mtime?.getTime()}`);
    }
  }
  return out.sort();
}

Deno.test("the table covers every CLI and class, or says why not", () => {
  const clis = ["train qa", "train classify", "train mlm", "eval qa", "eval classify"];
  clis.push("predict qa", "predict classify", "score", "download", "fill_mask", "merge");
  clis.push("retrieve_eval");
  clis.push("odqa", "odqa_eval");
  const classes: Class[] = [
    "missing",
    "malformed",
    "tokenizer",
    "config",
    "row",
    "output",
    "flag",
    "adapter",
  ];
  const gaps: string[] = [];
  for (const c of clis) {
    for (const k of classes) {
      const has = CASES.some((x) => `${x.cli}${x.task ? ` ${x.task}` : ""}` === c && x.cls === k);
      const skip = SKIPPED[`${c} ${k}`] ?? SKIPPED[`${c.replace(/ \w+$/, " *")} ${k}`];
      if (has === !!skip) gaps.push(`${c} ${k}: ${has ? "both tested and skipped" : "neither"}`);
    }
  }
  assert.deepEqual(gaps, []);
});

Deno.test("every CLI and class of bad input: one `error: <path or flag>:` line, exit 2, nothing written", async () => {
  const faults: string[] = [];
  for (const c of CASES) {
    const what = `${c.cli} ${c.task} ${c.cls}: ${c.args.join(" ")}`;
    const before = await listing(dir);
    const r = await runScript(c.cli, c.args);
    const errs = errorLines(r.stderr);
    const fault = r.code !== 2
      ? `exit ${r.code}`
      : errs.length !== 1
      ? `${errs.length} error lines`
      : !errs[0].startsWith(`error: ${c.names}: `)
      ? `does not start with "error: ${c.names}: "`
      : c.cls === "flag" && c.cli !== "download" && !/^usage: /m.test(r.stderr)
      ? "no usage line after a bad flag"
      : /^\s+at /m.test(r.stderr)
      ? "a stack trace"
      : /os error \d+|tmp-\d+/.test(errs[0])
      ? "a raw OS error or a temp name"
      : JSON.stringify(await listing(dir)) !== JSON.stringify(before)
      ? `wrote into ${dir}`
      : null;
    if (fault) faults.push(`${what}\n  ${fault}\n  ${errs.join("\n  ") || r.stderr.slice(-400)}`);
  }
  assert.deepEqual(faults, [], faults.join("\n"));
});
