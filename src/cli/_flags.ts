// Flag parsing and the flag groups shared by the CLIs: numbers are validated, with usage errors
// (exit 2). A group is a declaration for parseFlags, its help text, and a parser.

import { UsageError } from "./_common.ts";
import { SAVE_POLICIES, type SavePolicy } from "../train/save_policy.ts";

/** Parses an integer flag within [min, max]; undefined stays undefined. */
export function intFlag(
  v: string | undefined,
  name: string,
  usage: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name}: must be an integer in [${min}, ${max}], got "${v}"`, usage);
  }
  return n;
}

/** Parses a number flag within [min, max]. */
export function numFlag(
  v: string | undefined,
  name: string,
  usage: string,
  min: number,
  max: number,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name}: must be a number in [${min}, ${max}], got "${v}"`, usage);
  }
  return n;
}

/** Checks `--metric`. */
export function metricFlag(v: string | undefined, usage: string): "korquad" | "squad" | undefined {
  if (v === undefined || v === "korquad" || v === "squad") return v;
  throw new UsageError(`--metric: must be korquad or squad, got "${v}"`, usage);
}

/** Checks `--precision`. */
export function precisionFlag(v: string | undefined, usage: string): "f32" | "f16" | undefined {
  if (v === undefined || v === "f32" || v === "f16") return v;
  throw new UsageError(`--precision: must be f32 or f16, got "${v}"`, usage);
}

/** Checks `--freeze`. */
export function freezeFlag(
  v: string | undefined,
  usage: string,
): "embeddings" | "backbone" | undefined {
  if (v === undefined || v === "embeddings" || v === "backbone") return v;
  throw new UsageError(`--freeze: must be embeddings or backbone, got "${v}"`, usage);
}

/** Checks `--save-policy`. */
export function savePolicyFlag(v: string | undefined, usage: string): SavePolicy | undefined {
  if (v === undefined || (SAVE_POLICIES as readonly string[]).includes(v)) {
    return v as SavePolicy | undefined;
  }
  throw new UsageError(`--save-policy: must be ${SAVE_POLICIES.join(" or ")}, got "${v}"`, usage);
}

/**
 * The windowing flags, checked together: the stride must be shorter than the window. A question
 * keeps at most `--max-query-length` tokens (run_squad.py's flag and default, 64).
 */
export function windowFlags(
  f: { "max-seq-length"?: string; "doc-stride"?: string; "max-query-length"?: string },
  usage: string,
  defaults: { maxSeqLength: number; docStride: number },
): { maxSeqLength: number; docStride: number; maxQueryLength: number } {
  const maxSeqLength = intFlag(f["max-seq-length"], "max-seq-length", usage, 8, 512) ??
    defaults.maxSeqLength;
  const docStride = intFlag(f["doc-stride"], "doc-stride", usage, 0) ?? defaults.docStride;
  if (docStride >= maxSeqLength) {
    throw new UsageError(
      `--doc-stride: ${docStride} must be smaller than --max-seq-length (${maxSeqLength})`,
      usage,
    );
  }
  const maxQueryLength = intFlag(f["max-query-length"], "max-query-length", usage, 1, 512) ?? 64;
  return { maxSeqLength, docStride, maxQueryLength };
}

/** The tasks that train, eval and predict know, by their `--task` names. */
export const TASK_NAMES = ["qa", "classify", "mlm", "dpr"] as const;

/** A `--task` name. */
export type TaskName = typeof TASK_NAMES[number];

/** Checks `--task` (default `qa`); an unknown name lists the known ones. */
export function taskFlag(v: string | undefined, usage: string): TaskName {
  if (v === undefined) return "qa";
  if ((TASK_NAMES as readonly string[]).includes(v)) return v as TaskName;
  throw new UsageError(`--task: unknown task "${v}"; known tasks: ${TASK_NAMES.join(", ")}`, usage);
}

/** Where eval and predict send the tasks they do not serve themselves. */
const SERVED_ELSEWHERE: Partial<Record<TaskName, string>> = {
  mlm: "use deno task fill-mask; a train --task mlm run reports its held-out loss",
  dpr: "use deno task retrieve-eval --retriever dense --dense-model RUN_DIR",
};

/** `--task` of eval and predict: qa (default) or classify; the others name their command. */
export function inferenceTaskFlag(v: string | undefined, usage: string): "qa" | "classify" {
  const task = taskFlag(v, usage);
  const elsewhere = SERVED_ELSEWHERE[task];
  if (elsewhere) throw new UsageError(`--task: ${task} is not evaluated here: ${elsewhere}`, usage);
  return task as "qa" | "classify";
}

/** Flags that only some tasks take. */
const TASK_ONLY: Record<string, TaskName | TaskName[]> = {
  "doc-stride": "qa",
  "max-query-length": ["qa", "dpr"],
  "n-best": "qa",
  "max-answer-length": "qa",
  "top-k": "qa",
  metric: "qa",
  head: "qa",
  "head-dropout": "qa",
  question: "qa",
  context: "qa",
  text: ["classify", "mlm"],
  "eval-text": "mlm",
  "mlm-probability": "mlm",
  "validation-split-percentage": "mlm",
  "hard-negatives": "dpr",
  // The bi-encoder's in-batch loss has no label to smooth.
  "label-smoothing": ["qa", "classify", "mlm"],
  // A bi-encoder trains both encoders whole; PEFT has no task type for it.
  lora: ["qa", "classify", "mlm"],
  "lora-r": ["qa", "classify", "mlm"],
  "lora-alpha": ["qa", "classify", "mlm"],
  "lora-dropout": ["qa", "classify", "mlm"],
  "lora-targets": ["qa", "classify", "mlm"],
  adapter: ["qa", "classify", "mlm"],
  merge: ["qa", "classify", "mlm"],
};

/** A flag of another task is a usage error naming the task it belongs to. */
export function checkTaskFlags(
  f: Record<string, unknown>,
  task: TaskName,
  usage: string,
): void {
  for (const [flag, owner] of Object.entries(TASK_ONLY)) {
    const owners = [owner].flat();
    if (f[flag] !== undefined && !owners.includes(task)) {
      throw new UsageError(
        `--${flag} is a ${owners.join("/")} flag; --task ${task} does not take it`,
        usage,
      );
    }
  }
}

/** `--task`, shared by train, eval and predict. */
export const TASK_FLAGS = { task: { type: "string" } } as const;

/** The run group: where the run goes, how long it trains, how it batches and evaluates. */
export const RUN_FLAGS = {
  out: { type: "string" },
  "overwrite-output-dir": { type: "boolean" },
  epochs: { type: "string" },
  "max-steps": { type: "string" },
  "batch-size": { type: "string" },
  "grad-accum": { type: "string" },
  "eval-every": { type: "string" },
  seed: { type: "string" },
  "save-policy": { type: "string" },
  "save-total-limit": { type: "string" },
} as const;

/** The optimizer group: AdamW, the schedule and the batch order. */
export const OPTIMIZER_FLAGS = {
  lr: { type: "string" },
  "adam-beta1": { type: "string" },
  "adam-beta2": { type: "string" },
  "warmup-ratio": { type: "string" },
  "warmup-steps": { type: "string" },
  "weight-decay": { type: "string" },
  "length-buckets": { type: "string" },
  "group-by-length": { type: "boolean" },
  "head-lr": { type: "string" },
  freeze: { type: "string" },
  "freeze-epochs": { type: "string" },
  "label-smoothing": { type: "string" },
} as const;

/** The reliability group: resume, extra checkpoints, and the test aids. */
export const RELIABILITY_FLAGS = {
  resume: { type: "string" },
  "save-every": { type: "string" },
  "stop-after": { type: "string" },
  "inject-nan-at": { type: "string" },
} as const;

/** The precision group. */
export const PRECISION_FLAGS = { precision: { type: "string" } } as const;

/** The window group of token-window tasks (QA; --max-seq-length also sizes classify's). */
export const WINDOW_FLAGS = {
  "max-seq-length": { type: "string" },
  "doc-stride": { type: "string" },
  "max-query-length": { type: "string" },
} as const;

/** Help text of `--precision`. */
export const PRECISION_HELP =
  `  --precision P          f32 | f16 (default f32). f16: matmul operands rounded to f16,
                         f32 accumulation; in training f32 master weights and dynamic loss
                         scaling (a step whose gradients overflow is skipped and the scale
                         halves; the scale goes to metrics.jsonl and checkpoints). Needs the
                         adapter feature shader-f16; without it: a warning, and f32`;

/** Defaults of the run and optimizer groups that differ between recipes. */
export interface RecipeDefaults {
  epochs: number;
  batchSize: number;
  lr: number;
  beta2: number;
  lengthBuckets: number;
  evalEvery?: number | "epoch";
}

type Flags = Record<string, string | string[] | boolean | undefined>;

/** `--eval-every N` or `--eval-every epoch`. */
function evalEveryFlag(v: string | undefined, usage: string): number | "epoch" | undefined {
  return v === "epoch" ? v : intFlag(v, "eval-every", usage);
}

/** Help text of the reader options (freezing, label smoothing, the save policy and limit). */
export const READER_HELP =
  `  --freeze WHAT          embeddings | backbone (all but the task head): no gradient and no
                         AdamW state for the first --freeze-epochs; then they train, their
                         moments from zero and bias corrections counted from the unfreeze
                         (as a parameter joining a PyTorch optimizer then). Not with f16
  --freeze-epochs X      epochs frozen, fractions allowed: steps 1..ceil(X × steps per
                         epoch) (default 1)
  --label-smoothing X    HF's label_smoothing_factor for the training cross-entropies
                         (QA: each of start and end) in [0, 1] (default 0); eval_loss stays
                         the plain cross-entropy
  --save-policy P        when best/ is replaced: metric (by the task's metric, ties to the
                         lower eval loss; the default) | loss-or-em (the ODQA notebook's rule:
                         the eval loss is at most the lowest saved, or else the metric (EM)
                         at least the highest saved by this second test)
  --save-total-limit N   keep the last N checkpoint-<step>/ dirs (HF save_total_limit; the
                         best evaluation's is never deleted); default: the last only`;

/** The run, optimizer and precision groups as Trainer options (`out` left to the caller). */
export function trainerFlags(f: Flags, usage: string, d: RecipeDefaults) {
  const s = (k: string) => f[k] as string | undefined;
  const freeze = freezeFlag(s("freeze"), usage);
  // A resumed run has its --freeze already: --freeze-epochs alone is checked against it.
  if (!freeze && f["freeze-epochs"] !== undefined && f.resume === undefined) {
    throw new UsageError("--freeze-epochs: needs --freeze embeddings|backbone", usage);
  }
  if (freeze && s("precision") === "f16") {
    throw new UsageError("--freeze: does not combine with --precision f16", usage);
  }
  return {
    epochs: numFlag(s("epochs"), "epochs", usage, 0.01, 1e4) ?? d.epochs,
    maxSteps: intFlag(s("max-steps"), "max-steps", usage),
    batchSize: intFlag(s("batch-size"), "batch-size", usage, 1, 4096) ?? d.batchSize,
    gradAccum: intFlag(s("grad-accum"), "grad-accum", usage, 1, 4096) ?? 1,
    evalEvery: evalEveryFlag(s("eval-every"), usage) ?? d.evalEvery ?? Number.MAX_SAFE_INTEGER,
    seed: intFlag(s("seed"), "seed", usage, 0) ?? 42,
    lr: numFlag(s("lr"), "lr", usage, 0, 10) ?? d.lr,
    warmupRatio: numFlag(s("warmup-ratio"), "warmup-ratio", usage, 0, 1) ?? 0.1,
    warmupSteps: intFlag(s("warmup-steps"), "warmup-steps", usage, 0),
    weightDecay: numFlag(s("weight-decay"), "weight-decay", usage, 0, 10) ?? 0.01,
    groupByLength: !!f["group-by-length"],
    lengthBuckets: intFlag(s("length-buckets"), "length-buckets", usage, 1, 1000) ??
      d.lengthBuckets,
    adamBetas: [
      numFlag(s("adam-beta1"), "adam-beta1", usage, 0, 0.999999) ?? 0.9,
      numFlag(s("adam-beta2"), "adam-beta2", usage, 0, 0.999999) ?? d.beta2,
    ] as [number, number],
    headLr: numFlag(s("head-lr"), "head-lr", usage, 0, 10),
    logEvery: 10,
    precision: precisionFlag(s("precision"), usage) ?? "f32",
    freeze,
    freezeEpochs: numFlag(s("freeze-epochs"), "freeze-epochs", usage, 0.001, 1e4) ??
      (freeze ? 1 : undefined),
    labelSmoothing: numFlag(s("label-smoothing"), "label-smoothing", usage, 0, 1) ?? 0,
    savePolicy: savePolicyFlag(s("save-policy"), usage) ?? "metric",
    saveTotalLimit: intFlag(s("save-total-limit"), "save-total-limit", usage, 1, 1e6),
  };
}

/** The reliability group's per-session flags (not part of the recipe). */
export function sessionFlags(f: Flags, usage: string) {
  const s = (k: string) => f[k] as string | undefined;
  return {
    saveEvery: intFlag(s("save-every"), "save-every", usage),
    stopAfter: intFlag(s("stop-after"), "stop-after", usage),
    injectNanAt: intFlag(s("inject-nan-at"), "inject-nan-at", usage),
  };
}

/**
 * The recipe flags every task's `train` shares, by their option keys: with `--resume`, each one
 * given must agree with the run (see {@linkcode checkResumeFlags}).
 */
export const RECIPE_KEYS: Record<string, string> = {
  "batch-size": "batchSize",
  "grad-accum": "gradAccum",
  "eval-every": "evalEvery",
  seed: "seed",
  lr: "lr",
  "head-lr": "headLr",
  "adam-beta1": "adamBetas.0",
  "adam-beta2": "adamBetas.1",
  "warmup-ratio": "warmupRatio",
  "warmup-steps": "warmupSteps",
  "weight-decay": "weightDecay",
  "length-buckets": "lengthBuckets",
  "group-by-length": "groupByLength",
  precision: "precision",
  freeze: "freeze",
  "freeze-epochs": "freezeEpochs",
  "label-smoothing": "labelSmoothing",
  "save-policy": "savePolicy",
  "save-total-limit": "saveTotalLimit",
  "max-seq-length": "maxSeqLength",
  train: "data.train",
  eval: "data.eval",
  "max-train-samples": "data.maxTrain",
  "max-eval-samples": "data.maxEval",
  out: "out",
  // LoRA (src/cli/_lora.ts): the adapter recipe, or the adapter a run continues.
  lora: "lora.on",
  "lora-r": "lora.r",
  "lora-alpha": "lora.alpha",
  "lora-dropout": "lora.dropout",
  "lora-targets": "lora.targets",
  adapter: "adapter",
};

/** `obj[a][b]…` for the key "a.b…". */
function at(obj: object, key: string): unknown {
  return key.split(".").reduce<unknown>(
    (o, k) => (o as Record<string, unknown> | undefined)?.[k],
    obj,
  );
}

/**
 * With `--resume`, a recipe flag may be given only if it agrees with the run's saved value:
 * each flag given is parsed as a fresh run would parse it and compared. `--max-steps` and
 * `--epochs` extend a run and are not checked here.
 */
export function checkResumeFlags(
  f: Flags,
  usage: string,
  saved: object,
  parsed: object,
  keys: Record<string, string>,
): void {
  // keys: flag name → dotted key of the option, e.g. "adam-beta1" → "adamBetas.0".
  for (const [flag, key] of Object.entries(keys)) {
    if (f[flag] === undefined || f[flag] === false) continue;
    const want = at(saved, key);
    const got = at(parsed, key);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new UsageError(
        `--${flag} ${f[flag] === true ? "" : `${f[flag]} `}disagrees with the run being resumed ` +
          `(${JSON.stringify(want ?? null)}); leave it out or give the run's value`,
        usage,
      );
    }
  }
}

/** `--top-k`: one K, or a comma list of them (sorted, unique); `fallback` when not given. */
export function topKFlag(v: string | undefined, usage: string, fallback: number[]): number[] {
  if (v === undefined) return fallback;
  const ks = v.split(",").map((k) => intFlag(k.trim(), "top-k", usage, 1, 10000)!);
  return [...new Set(ks)].sort((a, b) => a - b);
}
