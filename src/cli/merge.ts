// `merge`: folds a PEFT LoRA adapter into its base model and writes a plain HF checkpoint
// (PEFT's `merge_and_unload` + `save_pretrained`), which loads anywhere without the adapter.

import { initGpu } from "../gpu/device.ts";
import { loadModel } from "../models/checkpoint.ts";
import { parseAdapterConfig } from "../models/peft.ts";
import { exists, loadTokenizerDir, tokenizerForModel } from "../text/tokenizer_dir.ts";
import { AdapterError, DataError, OutputError } from "../util/errors.ts";
import { parseFlags, runCli, UsageError } from "./_common.ts";
import { adapterInputs, withAdapter, writeMerged } from "./_lora.ts";
import { checkOutputs, modelInputs } from "./_outputs.ts";

const USAGE = "usage: deno task merge --model DIR --adapter DIR --out DIR";

const HELP = `${USAGE}

Folds the LoRA adapter in --adapter (PEFT's adapter_config.json and
adapter_model.safetensors, e.g. a LoRA run dir or its best/) into the weights of the base
model --model (W + alpha/r · B·A, the task head from the adapter) and writes a plain HF
checkpoint to --out: config.json, model.safetensors and the base's tokenizer files. It
answers as the base with the adapter does (logits within float rounding).

  --model DIR     the base model the adapter was trained on (HF layout)
  --adapter DIR   the PEFT LoRA adapter directory
  --out DIR       where the merged checkpoint goes (new or empty)
  --help          show this help

The last line of stdout is JSON: {"out", "merged" (adapted layers), "architecture"}.`;

/** The head PEFT's task type names, as `loadModel`'s task. */
const TASKS: Record<string, string> = {
  QUESTION_ANS: "question-answering",
  SEQ_CLS: "text-classification",
};

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    model: { type: "string" },
    adapter: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean" },
  }, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  for (const k of ["model", "adapter", "out"] as const) {
    if (!f[k]) throw new UsageError(`--${k} is required`, USAGE);
  }
  const { model: base, adapter, out } = f as Record<string, string>;
  await checkOutputs(
    [{ flag: "--out", path: out, kind: "dir", what: "the merged checkpoint" }],
    [...modelInputs(base), ...adapterInputs(adapter)],
  );
  if (await exists(out) && [...Deno.readDirSync(out)].length) {
    throw new OutputError(out, "is not empty; choose a new or empty --out");
  }
  if (!(await exists(base))) throw new DataError(base, "model directory not found");
  // The adapter's task type picks the head to load the base with.
  const cfgPath = `${adapter}/adapter_config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(cfgPath);
  } catch {
    throw new AdapterError(cfgPath, "no such file");
  }
  const task = parseAdapterConfig(text, cfgPath).taskType;
  const loaded = await loadTokenizerDir(base);
  await initGpu();
  const { model, config, architecture } = await loadModel(base, {
    task: task ? TASKS[task] : undefined,
    quiet: true,
  });
  const tokenizer = tokenizerForModel(base, loaded, config);
  await withAdapter(model, adapter);
  const layers = model.namedParameters().filter(([n]) => n.endsWith(".lora_A.weight")).length;
  await writeMerged(model, config, tokenizer, out);
  console.error(`merged ${layers} adapted layers of ${adapter} into ${base}: ${out}`);
  console.log(JSON.stringify({ out, merged: layers, architecture }));
}

if (import.meta.main) await runCli(main);
