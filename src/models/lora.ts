// LoRA on a whole model, following PEFT's rules: which Linear layers get an adapter (module-path
// suffixes, or a regex), which modules train beside them (`modules_to_save`: the task head),
// the trainable-parameter line PEFT prints, and merging the adapters back into the weights.

import { Linear } from "../nn/layers.ts";
import { type DropoutSource, LoraLinear } from "../nn/lora.ts";
import type { Module } from "../nn/module.ts";
import { deriveSeed } from "../ops/dropout.ts";
import { AdapterError } from "../util/errors.ts";
import { QaHead } from "./heads/qa.ts";
import { QaLstmHead } from "./heads/qa_lstm.ts";
import { ClassificationHead, RobertaClassificationHead } from "./heads/classification.ts";
import { EncoderWithHead } from "./with_head.ts";

/**
 * The targets the CLI offers (any module-path suffix works): under PEFT's suffix rule
 * `output.dense` also matches `attention.output.dense`, so it adapts both output projections.
 */
export const LORA_TARGETS: readonly string[] = [
  "query",
  "key",
  "value",
  "attention.output.dense",
  "intermediate.dense",
  "output.dense",
];

/** PEFT's default `target_modules` per `model_type` (its TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
export const DEFAULT_LORA_TARGETS: Readonly<Record<string, readonly string[]>> = {
  bert: ["query", "value"],
  roberta: ["query", "value"],
};

/** A LoRA setup in PEFT's terms (`LoraConfig`). */
export interface LoraConfig {
  /** Rank of each update (`r`). */
  r: number;
  /** `lora_alpha`: updates are scaled by alpha / r. */
  alpha: number;
  /** `lora_dropout`, on each adapter's input. */
  dropout: number;
  /**
   * `target_modules`: module-path suffixes (a path matches `key` when it equals it or ends
   * with `.key`), or one regular expression that must match a whole path.
   */
  targets: readonly string[] | string;
  /** `modules_to_save`: modules trained and saved in full beside the adapters (the task head). */
  modulesToSave: readonly string[] | null;
  /** PEFT's `task_type` ("QUESTION_ANS", "SEQ_CLS"), or null for none (masked LM). */
  taskType: string | null;
  /** `use_rslora`: scale by alpha / √r instead. */
  rslora: boolean;
}

/** What {@linkcode applyLora} did to a model. */
export interface LoraState {
  /** The setup, defaults filled in. */
  readonly config: LoraConfig;
  /** Module paths of the adapted Linear layers, in model order. */
  readonly adapted: readonly string[];
  /** Names of the parameters trained in full (`modules_to_save`), in model order. */
  readonly saved: readonly string[];
}

/** Options of {@linkcode applyLora}: any field of {@linkcode LoraConfig}, plus seeding. */
export interface ApplyLoraOptions extends Partial<LoraConfig> {
  /** Seed of the A matrices' init (0 by default). */
  seed?: number;
  /** Dropout seeding for `dropout` > 0; an {@linkcode EncoderWithHead}'s encoder's by default. */
  drop?: DropoutSource;
}

const states = new WeakMap<Module, LoraState>();

/**
 * The LoRA state of a model {@linkcode applyLora} adapted, or null (never adapted, or merged).
 *
 * @example
 * ```ts
 * import { applyLora, BertForQuestionAnswering, bertConfig, initGpu, loraStateOf } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const qa = new BertForQuestionAnswering(cfg);
 * console.log(loraStateOf(qa)); // null
 * applyLora(qa, { r: 2 });
 * console.log(loraStateOf(qa)!.saved); // ["qa_outputs.weight", "qa_outputs.bias"]
 * ```
 */
export function loraStateOf(model: Module): LoraState | null {
  return states.get(model) ?? null;
}

/**
 * PEFT's task type and `modules_to_save` for a model's head: QA trains `qa_outputs` (the
 * LSTM head also `lstm` and `layer_norm`)
 * (`PeftModelForQuestionAnswering`), classification `classifier` and `score`
 * (`PeftModelForSequenceClassification`); a masked-LM head has no PEFT task type, so nothing
 * but the adapters trains (its decoder is the frozen word embedding).
 *
 * @example
 * ```ts
 * import { BertForMaskedLM, BertForQuestionAnswering, bertConfig, initGpu, peftTaskOf } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * console.log(peftTaskOf(new BertForQuestionAnswering(cfg))); // { taskType: "QUESTION_ANS", modulesToSave: ["qa_outputs"] }
 * console.log(peftTaskOf(new BertForMaskedLM(cfg))); // { taskType: null, modulesToSave: null }
 * ```
 */
export function peftTaskOf(
  model: Module,
): { taskType: string | null; modulesToSave: string[] | null } {
  const head = model instanceof EncoderWithHead ? model.head : null;
  if (head instanceof QaHead) return { taskType: "QUESTION_ANS", modulesToSave: ["qa_outputs"] };
  if (head instanceof QaLstmHead) {
    return { taskType: "QUESTION_ANS", modulesToSave: ["lstm", "layer_norm", "qa_outputs"] };
  }
  if (head instanceof ClassificationHead || head instanceof RobertaClassificationHead) {
    return { taskType: "SEQ_CLS", modulesToSave: ["classifier", "score"] };
  }
  return { taskType: null, modulesToSave: null };
}

/**
 * Whether the module at `path` is a target, as PEFT's `check_target_module_exists`: a list
 * matches a path equal to an entry or ending with `.entry`; a string is a regex over the
 * whole path.
 *
 * @example
 * ```ts
 * import { matchesLoraTarget } from "webgpu-bert";
 * const p = "bert.encoder.layer.0.attention.output.dense";
 * console.log(matchesLoraTarget(p, ["output.dense"]), matchesLoraTarget(p, ["dense"])); // true true
 * console.log(matchesLoraTarget(p, ["attention.self.query"])); // false
 * ```
 */
export function matchesLoraTarget(path: string, targets: readonly string[] | string): boolean {
  if (typeof targets === "string") return new RegExp(`^(?:${targets})$`).test(path);
  return targets.some((t) => path === t || path.endsWith(`.${t}`));
}

// PEFT never puts an adapter inside a modules_to_save module (`(^|.*\.)m($|\..*)`).
function insideSaved(path: string, modules: readonly string[] | null): boolean {
  return (modules ?? []).some((m) => {
    const segs = path.split(".");
    return segs.some((_, i) => segs.slice(0, i + 1).join(".").endsWith(m));
  });
}

// A parameter belongs to a modules_to_save module when a module path above it ends with one
// (PEFT's `key.endswith(target_key)`); names, not modules, because a head may register a
// dotted child (RoBERTa's `classifier.dense`) with no `classifier` module of its own.
function savedParam(name: string, modules: readonly string[] | null): boolean {
  const segs = name.split(".");
  for (let i = 1; i < segs.length; i++) {
    const path = segs.slice(0, i).join(".");
    if ((modules ?? []).some((m) => path.endsWith(m))) return true;
  }
  return false;
}

/**
 * Freezes `model` and puts a {@linkcode LoraLinear} in place of each Linear whose module path
 * matches `targets` (PEFT's rule, see {@linkcode matchesLoraTarget}), then unfreezes the
 * `modules_to_save` (the task head, see {@linkcode peftTaskOf}). Defaults are PEFT's: r 8,
 * alpha 8, dropout 0, targets by `model_type` ({@linkcode DEFAULT_LORA_TARGETS}). A target that
 * matches nothing, or matches a module that is not a Linear, is an {@linkcode AdapterError}.
 *
 * @example
 * ```ts
 * import { applyLora, BertForQuestionAnswering, bertConfig, initGpu, trainableParametersLine } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const qa = new BertForQuestionAnswering(cfg);
 * const lora = applyLora(qa, { r: 2 });
 * console.log(lora.adapted); // ["bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.0.attention.self.value"]
 * console.log(trainableParametersLine(qa));
 * // trainable params: 82 || all params: 1,260 || trainable%: 6.5079
 * ```
 */
export function applyLora(model: Module, opts: ApplyLoraOptions = {}): LoraState {
  if (states.has(model)) throw new Error("this model already has LoRA adapters");
  const task = peftTaskOf(model);
  const modelType = model instanceof EncoderWithHead ? model.config.model_type : undefined;
  const targets = opts.targets ?? DEFAULT_LORA_TARGETS[modelType ?? ""];
  if (!targets) {
    throw new AdapterError(
      "target_modules",
      `no default targets for model_type ${JSON.stringify(modelType)}: name them`,
    );
  }
  const config: LoraConfig = {
    r: opts.r ?? 8,
    alpha: opts.alpha ?? 8,
    dropout: opts.dropout ?? 0,
    targets,
    modulesToSave: opts.modulesToSave !== undefined ? opts.modulesToSave : task.modulesToSave,
    taskType: opts.taskType !== undefined ? opts.taskType : task.taskType,
    rslora: opts.rslora ?? false,
  };
  const drop = opts.drop ??
    (model instanceof EncoderWithHead ? model.encoder.drop : undefined);
  // Which modules to wrap, checked before anything changes.
  const found: [Module, string, Linear, string][] = [];
  const walk = (m: Module, path: string) => {
    for (const [n, child] of m.namedChildren()) {
      const p = n === "" ? path : path === "" ? n : `${path}.${n}`;
      if (n !== "" && matchesLoraTarget(p, targets) && !insideSaved(p, config.modulesToSave)) {
        if (!(child instanceof Linear) || child instanceof LoraLinear) {
          throw new AdapterError(
            "target_modules",
            `${p} matches the targets but is a ${child.constructor.name}, not a Linear layer`,
          );
        }
        found.push([m, n, child, p]);
      } else walk(child, p);
    }
  };
  walk(model, "");
  if (!found.length) {
    throw new AdapterError(
      "target_modules",
      `${JSON.stringify(targets)} match no Linear layer of the model`,
    );
  }
  model.freeze(true);
  found.forEach(([parent, name, base], k) => {
    parent.replaceChild(
      name,
      new LoraLinear(base, {
        r: config.r,
        alpha: config.alpha,
        dropout: config.dropout,
        drop,
        rslora: config.rslora,
        seed: deriveSeed(opts.seed ?? 0, 0x4c6f5241, k), // "LoRA": a stream apart from the weights'
      }),
    );
  });
  const saved: string[] = [];
  for (const [n, t] of model.namedParameters()) {
    if (savedParam(n, config.modulesToSave)) {
      t.requiresGrad = true;
      saved.push(n);
    }
  }
  const state: LoraState = { config, adapted: found.map(([, , , p]) => p), saved };
  states.set(model, state);
  return state;
}

/**
 * PEFT's `get_nb_trainable_parameters`: trainable and all parameter counts, where "all"
 * includes the adapters and counts each `modules_to_save` module twice, as PEFT keeps the
 * original beside the trained copy.
 *
 * @example
 * ```ts
 * import { applyLora, BertForQuestionAnswering, bertConfig, countParameters, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const qa = new BertForQuestionAnswering(cfg);
 * applyLora(qa, { r: 2 });
 * console.log(countParameters(qa)); // { trainable: 82, all: 1260 }
 * ```
 */
export function countParameters(model: Module): { trainable: number; all: number } {
  const saved = new Set(loraStateOf(model)?.saved ?? []);
  let trainable = 0, all = 0;
  for (const [n, t] of model.namedParameters()) {
    all += t.size * (saved.has(n) ? 2 : 1);
    if (t.requiresGrad) trainable += t.size;
  }
  return { trainable, all };
}

// Python's `{:,d}`.
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * PEFT's `print_trainable_parameters` line, e.g. bert-base-uncased for QA with r = 8 on query
 * and value: `trainable params: 296,450 || all params: 109,189,636 || trainable%: 0.2715`.
 *
 * @example
 * ```ts
 * import { applyLora, BertForSequenceClassification, bertConfig, initGpu, trainableParametersLine } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const clf = new BertForSequenceClassification(cfg);
 * applyLora(clf, { r: 4, targets: ["query", "key", "value"] });
 * console.log(trainableParametersLine(clf));
 * // trainable params: 210 || all params: 1,460 || trainable%: 14.3836
 * ```
 */
export function trainableParametersLine(model: Module): string {
  const { trainable, all } = countParameters(model);
  return `trainable params: ${thousands(trainable)} || all params: ${thousands(all)} || ` +
    `trainable%: ${(all ? (100 * trainable) / all : 0).toFixed(4)}`;
}

/**
 * Folds every adapter into its layer (W += scaling · B·A, PEFT's `merge_and_unload`) and puts
 * a plain Linear back, so the model has HF's parameters only and `saveModel` writes a plain
 * checkpoint; the adapters' tensors are released. Parameters keep their `requiresGrad`
 * (the base stays frozen: `model.freeze(false)` to train it all). Returns the merged paths.
 *
 * @example
 * ```ts
 * import { applyLora, BertForQuestionAnswering, bertConfig, initGpu, mergeLora } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const qa = new BertForQuestionAnswering(cfg);
 * applyLora(qa, { r: 2 });
 * console.log(mergeLora(qa).length, qa.namedParameters().length); // 2 23
 * ```
 */
export function mergeLora(model: Module): string[] {
  const merged: string[] = [];
  const walk = (m: Module, path: string) => {
    for (const [n, child] of m.namedChildren()) {
      const p = n === "" ? path : path === "" ? n : `${path}.${n}`;
      if (!(child instanceof LoraLinear)) {
        walk(child, p);
        continue;
      }
      const weight = child.mergedWeight();
      weight.requiresGrad = child.weight.requiresGrad;
      const plain = new Linear(child.inFeatures, child.outFeatures, { weight, bias: child.bias });
      plain.training = child.training;
      m.replaceChild(n, plain);
      child.weight.dispose();
      child.loraA.dispose();
      child.loraB.dispose();
      merged.push(p);
    }
  };
  walk(model, "");
  states.delete(model);
  return merged;
}
