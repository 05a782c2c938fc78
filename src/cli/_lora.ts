// LoRA in the CLIs: the `--lora-*` recipe flags, `--adapter` and `--merge`, putting adapters on
// a loaded base, and a run that saves PEFT's adapter files instead of the whole model.

import { applyLora, LORA_TARGETS, mergeLora, trainableParametersLine } from "../models/lora.ts";
import { ADAPTER_FILES, loadAdapter, saveAdapter } from "../models/peft.ts";
import { saveModel } from "../models/checkpoint.ts";
import type { BertConfig } from "../models/config.ts";
import type { Module } from "../nn/module.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { ResumeState, TaskEvaluation, TrainerOptions, TrainTask } from "../train/trainer.ts";
import type { TrainerPointer } from "../train/checkpoint.ts";
import { DataError, UsageError } from "./_common.ts";
import { intFlag, numFlag } from "./_flags.ts";
import { type Flags, resumeOptions, savedRun } from "./_train_shared.ts";

/** The LoRA flags of `train`: the recipe (`--lora-*`), `--adapter` to continue, `--merge`. */
export const LORA_FLAGS = {
  lora: { type: "boolean" },
  "lora-r": { type: "string" },
  "lora-alpha": { type: "string" },
  "lora-dropout": { type: "string" },
  "lora-targets": { type: "string" },
  adapter: { type: "string" },
  merge: { type: "boolean" },
} as const;

/** Help text of the LoRA group of `train`. */
export const LORA_HELP =
  `LoRA (PEFT's; needs --model: the base stays frozen, the adapters and the task head train)
  --lora                 train LoRA adapters with the defaults below (any --lora-* flag
                         also turns LoRA on)
  --lora-r N             rank (default 8)
  --lora-alpha X         scaling alpha: updates are scaled by alpha / r (default 8)
  --lora-dropout X       dropout on the adapters' input (default 0)
  --lora-targets LIST    comma list of module-name suffixes (default query,value): any of
                         ${LORA_TARGETS.join(", ")}
                         (output.dense also matches attention.output.dense, as in PEFT)
  --adapter DIR          continue training the PEFT adapter in DIR over --model (its
                         adapter_config.json sets r, alpha, dropout and targets)
  --merge                after training, also write the adapters folded into the weights
                         as a plain HF checkpoint in <out>/merged/
The run prints PEFT's "trainable params: X || all params: Y || trainable%: Z" line. Its
root and best/ hold adapter_config.json and adapter_model.safetensors (PEFT's format) and
the tokenizer, not a copy of the base: evaluate with --model BASE --adapter RUN_DIR.`;

/** `--adapter DIR` of `eval` and `predict`. */
export const ADAPTER_FLAG = { adapter: { type: "string" } } as const;

/** Help text of `--adapter` on `eval` and `predict`. */
export const ADAPTER_HELP =
  `  --adapter DIR          a PEFT LoRA adapter directory (adapter_config.json,
                         adapter_model.safetensors; a LoRA run dir) applied over --model`;

/** `--adapter DIR` as inputs that no output may overwrite. */
export function adapterInputs(dir: string | undefined): { flag: string; path: string }[] {
  if (dir === undefined) return [];
  return [dir, ...ADAPTER_FILES.map((f) => `${dir}/${f}`)].map((path) => ({
    flag: "--adapter",
    path,
  }));
}

/** Loads the adapter in `dir` (if any) over `model`, for inference. */
export async function withAdapter(model: Module, dir: string | undefined): Promise<void> {
  if (dir !== undefined) await loadAdapter(model, dir);
}

/**
 * A LoRA run dir (or any adapter directory) given as `--model` is refused with the command
 * that reads it: its base as --model, the directory as --adapter.
 */
export async function notAnAdapter(dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  const isFile = async (f: string) => (await Deno.stat(`${dir}/${f}`).catch(() => null))?.isFile;
  if (await isFile("config.json") || !(await isFile("adapter_config.json"))) return;
  let base: unknown = null;
  try {
    base =
      JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`)).base_model_name_or_path;
  } catch { /* named as BASE below */ }
  throw new DataError(
    dir,
    `is a LoRA adapter, not a model: give --model ${typeof base === "string" ? base : "BASE"} ` +
      `--adapter ${dir}`,
  );
}

/** A run's LoRA recipe, saved with its options. */
export interface LoraRecipe {
  /** Rank. */
  r: number;
  /** PEFT's `lora_alpha`. */
  alpha: number;
  /** PEFT's `lora_dropout`. */
  dropout: number;
  /** Module-name suffixes. */
  targets: string[];
}

/** Options a LoRA run adds to the Trainer's, saved with its checkpoints. */
export interface LoraOptions {
  /** The LoRA recipe, or absent for full fine-tuning (and for runs with --adapter). */
  lora?: LoraRecipe & { on: true };
  /** The adapter a run continues. */
  adapter?: string;
  /** The base model the adapters sit on (`--model`), reloaded by `--resume`. */
  base?: string;
  /** Write `<out>/merged/` at the end (a session flag). */
  merge?: boolean;
}

/**
 * The LoRA options of a fresh run's flags: LoRA is on with `--lora`, any `--lora-*` flag or
 * `--adapter`; it needs `--model`, and `--adapter` brings its own recipe.
 */
export function loraFlags(f: Flags, usage: string): LoraOptions {
  const s = (k: string) => f[k] as string | undefined;
  const given = ["lora-r", "lora-alpha", "lora-dropout", "lora-targets"].filter((k) =>
    f[k] !== undefined
  );
  const adapter = s("adapter");
  if (adapter !== undefined && (given.length || f.lora)) {
    throw new UsageError(
      `--adapter takes r, alpha, dropout and targets from its adapter_config.json; ` +
        `leave out --${given[0] ?? "lora"}`,
      usage,
    );
  }
  const on = !!f.lora || given.length > 0;
  if ((on || adapter !== undefined) && !f.model && !f.resume) {
    throw new UsageError(
      "LoRA trains adapters over a pretrained base: give --model DIR",
      usage,
    );
  }
  if (f.merge && !on && adapter === undefined && !f.resume) {
    throw new UsageError("--merge folds LoRA adapters: give --lora or --adapter", usage);
  }
  const out: LoraOptions = { merge: !!f.merge };
  if (adapter !== undefined) out.adapter = adapter;
  if (on || adapter !== undefined) out.base = f.model as string | undefined;
  if (!on) return out;
  const targets = (s("lora-targets") ?? "query,value").split(",").map((t) => t.trim());
  for (const t of targets) {
    if (!LORA_TARGETS.includes(t)) {
      throw new UsageError(
        `--lora-targets: unknown target "${t}"; known: ${LORA_TARGETS.join(", ")}`,
        usage,
      );
    }
  }
  out.lora = {
    on: true,
    r: intFlag(s("lora-r"), "lora-r", usage, 1, 4096) ?? 8,
    alpha: numFlag(s("lora-alpha"), "lora-alpha", usage, 1e-6, 1e6) ?? 8,
    dropout: numFlag(s("lora-dropout"), "lora-dropout", usage, 0, 0.99) ?? 0,
    targets: [...new Set(targets)],
  };
  return out;
}

/**
 * A resumed run's options, flags checked against its recipe (see `resumeOptions`), its data
 * spec and trainer state. It merges at its end if its first session or this one said
 * `--merge`; a run without adapters has nothing to merge.
 */
export function resumedRun<O extends TrainerOptions & LoraOptions, D>(
  dir: string,
  f: Flags,
  p: TrainerPointer & { dir: string },
  usage: string,
  fresh: (data: D) => { opts: O; spec: D },
  keys: Record<string, string>,
): { o: O; data: D; resume: ResumeState } {
  const { st, resume } = savedRun<O, D>(p);
  const o = resumeOptions(f, usage, dir, p.step, st, fresh(st.data), keys);
  if (f.merge && !isLoraRun(o)) {
    throw new UsageError("--merge folds LoRA adapters: the run being resumed has none", usage);
  }
  o.merge = !!(o.merge || f.merge);
  return { o, data: st.data, resume };
}

/** Whether a run trains adapters. */
export function isLoraRun(o: LoraOptions): boolean {
  return !!o.lora || o.adapter !== undefined;
}

/**
 * Puts the run's adapters on `model`: fresh ones (`o.lora`, A seeded by `seed`), or, when
 * resuming from `checkpoint` or continuing `o.adapter`, the saved ones. Prints PEFT's
 * trainable-parameter line.
 */
export async function attachLora(
  model: Module,
  o: LoraOptions,
  seed: number,
  checkpoint?: string,
): Promise<void> {
  const from = checkpoint ?? o.adapter;
  if (from !== undefined) await loadAdapter(model, from);
  else {
    const { r, alpha, dropout, targets } = o.lora!;
    applyLora(model, { r, alpha, dropout, targets, seed });
  }
  console.error(trainableParametersLine(model));
}

/**
 * `task` saving the adapter and the tokenizer (PEFT's files, `base` as
 * `base_model_name_or_path`) where it would save the whole model: the root, best/ and each
 * checkpoint then hold no copy of the frozen base, which `--resume` reloads from `base`.
 */
export function adapterTask<B, E extends TaskEvaluation>(
  task: TrainTask<B, E>,
  model: Module,
  tokenizer: TextTokenizer,
  base: string | undefined,
): TrainTask<B, E> {
  return {
    title: task.title,
    model: task.model,
    get size() {
      return task.size;
    },
    summary: task.summary,
    best: task.best,
    isHead: task.isHead?.bind(task),
    lengths: task.lengths?.bind(task),
    beginStep: task.beginStep?.bind(task),
    batch: (idx) => task.batch(idx),
    tokens: (b) => task.tokens(b),
    loss: (b) => task.loss(b),
    evaluate: () => task.evaluate(),
    describe: (e) => task.describe(e),
    writeArtifacts: task.writeArtifacts?.bind(task),
    rootFiles: [...ADAPTER_FILES, ...tokenizer.savedFiles],
    save: async (dir) => {
      await saveAdapter(model, dir, { baseModel: base ?? null });
      await tokenizer.save(dir);
    },
  };
}

/**
 * Folds the adapters of `model` into its weights and writes a plain HF checkpoint (config,
 * model.safetensors, tokenizer) into `dir`; the model is plain afterwards.
 */
export async function writeMerged(
  model: Module,
  config: BertConfig,
  tokenizer: TextTokenizer,
  dir: string,
): Promise<void> {
  mergeLora(model);
  await saveModel(model, config, dir);
  await tokenizer.save(dir);
}
