// Which model class a config.json stands for: HF's `architectures` names (or a task and
// `model_type`, as the Auto* classes do) mapped to builders over the BERT encoder.

import type { BertConfig } from "./config.ts";
import { ConfigError } from "../util/errors.ts";
import { BertForQuestionAnswering } from "./bert_qa.ts";
import { BertForSequenceClassification } from "./bert_classify.ts";
import { BertForMaskedLM } from "./masked_lm.ts";
import {
  RobertaForMaskedLM,
  RobertaForQuestionAnswering,
  RobertaForSequenceClassification,
} from "./roberta.ts";
import { BertForQuestionAnsweringWithLSTMLNHead } from "./heads/qa_lstm.ts";
import type { BertBatch } from "./bert.ts";
import type { EncoderWithHead, Head } from "./with_head.ts";

/** A model built from the registry: an encoder with a task head. */
export type TaskModel = EncoderWithHead<Head<BertBatch, unknown>>;

/** How one HF architecture is built; see {@linkcode registerArchitecture}. */
export interface Architecture {
  /** The task it serves, e.g. "question-answering" (HF's pipeline names). */
  task: string;
  /** The `model_type` values it is the `task` model of. */
  modelTypes: readonly string[];
  /** HF's attribute name of the encoder: its parameters are named `<prefix>.*`. */
  prefix: string;
  /** A randomly initialized model of this architecture. */
  build(
    config: BertConfig,
    opts: { seed: number; prefix: string; architecture: string },
  ): TaskModel;
}

const ARCHITECTURES = new Map<string, Architecture>();

/**
 * Registers HF class `name`. A new head is one call here with its builder; the encoder's
 * prefix and the position ids (from the config's `model_type`) come for free.
 *
 * @example
 * ```ts
 * import { BertForQuestionAnswering, knownArchitectures, registerArchitecture } from "webgpu-bert";
 * registerArchitecture("MyBertForQuestionAnswering", {
 *   task: "extractive-qa", modelTypes: ["bert"], prefix: "bert",
 *   build: (c, o) => new BertForQuestionAnswering(c, o),
 * });
 * console.log(knownArchitectures().includes("MyBertForQuestionAnswering")); // true
 * ```
 */
export function registerArchitecture(name: string, arch: Architecture): void {
  ARCHITECTURES.set(name, arch);
}

/**
 * The registered HF class names, sorted.
 *
 * @example
 * ```ts
 * import { knownArchitectures } from "webgpu-bert";
 * console.log(knownArchitectures().includes("BertForQuestionAnswering")); // true
 * ```
 */
export function knownArchitectures(): string[] {
  return [...ARCHITECTURES.keys()].sort();
}

type Build = Architecture["build"];
// One registration per HF class name; the RoBERTa family's types share RoBERTa's classes.
const ROBERTA_TYPES = [["Roberta", "roberta"], ["XLMRoberta", "xlm-roberta"], [
  "Camembert",
  "camembert",
]] as const;
function registerTask(task: string, suffix: string, bert: Build, roberta: Build): void {
  registerArchitecture(`Bert${suffix}`, {
    task,
    modelTypes: ["bert"],
    prefix: "bert",
    build: bert,
  });
  for (const [cls, type] of ROBERTA_TYPES) {
    registerArchitecture(`${cls}${suffix}`, {
      task,
      modelTypes: [type],
      prefix: "roberta",
      build: roberta,
    });
  }
}
registerTask(
  "question-answering",
  "ForQuestionAnswering",
  (c, o) => new BertForQuestionAnswering(c, o),
  (c, o) => new RobertaForQuestionAnswering(c, o),
);
registerTask(
  "question-answering",
  "ForQuestionAnsweringWithLSTMLNHead",
  (c, o) => new BertForQuestionAnsweringWithLSTMLNHead(c, o),
  (c, o) => new BertForQuestionAnsweringWithLSTMLNHead(c, o),
);
registerTask(
  "text-classification",
  "ForSequenceClassification",
  (c, o) => new BertForSequenceClassification(c, o),
  (c, o) => new RobertaForSequenceClassification(c, o),
);
registerTask(
  "fill-mask",
  "ForMaskedLM",
  (c, o) => new BertForMaskedLM(c, o),
  (c, o) => new RobertaForMaskedLM(c, o),
);

/**
 * The architecture to build for `config`: `opts.architecture` if given; else the config's first
 * `architectures` entry when it is registered for `opts.task` (or no task is given) and the
 * config's `model_type` (a QA model with the LSTM head loads as such); else, with `opts.task`,
 * the first one registered for that task and `model_type` (as `AutoModelForQuestionAnswering`
 * does, so a base checkpoint saved as `BertForMaskedLM` gets a QA head). Unknown names are a
 * {@linkcode ConfigError} listing the known ones; `path` names the config in it.
 *
 * @example
 * ```ts
 * import { bertConfig, resolveArchitecture } from "webgpu-bert";
 * const c = bertConfig({ model_type: "roberta", architectures: ["RobertaForMaskedLM"] });
 * console.log(resolveArchitecture(c, { task: "question-answering" }).name);
 * ```
 */
export function resolveArchitecture(
  config: BertConfig,
  opts: { task?: string; architecture?: string } = {},
  path = "config",
): { name: string; arch: Architecture } {
  const type = config.model_type ?? "bert";
  const known = () => `known: ${knownArchitectures().join(", ")}`;
  let name = opts.architecture;
  const listed = config.architectures;
  const own = Array.isArray(listed) && typeof listed[0] === "string" ? listed[0] : undefined;
  const ownArch = own === undefined ? undefined : ARCHITECTURES.get(own);
  // The config's own class wins when it serves the task (a QA model with a custom head).
  if (name === undefined && ownArch?.task === opts.task && ownArch?.modelTypes.includes(type)) {
    name = own;
  }
  if (name === undefined && opts.task !== undefined) {
    for (const [n, a] of ARCHITECTURES) {
      if (a.task === opts.task && a.modelTypes.includes(type)) {
        name = n;
        break;
      }
    }
    if (name === undefined) {
      throw new ConfigError(
        path,
        `no ${opts.task} architecture for model_type ${JSON.stringify(type)} (${known()})`,
      );
    }
  }
  if (name === undefined) {
    if (own === undefined) {
      throw new ConfigError(path, `config names no architectures: pass a task (${known()})`);
    }
    name = own;
  }
  const arch = ARCHITECTURES.get(name);
  if (!arch) throw new ConfigError(path, `architecture ${name} is not supported (${known()})`);
  if (!arch.modelTypes.includes(type)) {
    throw new ConfigError(
      path,
      `architecture ${name} is for model_type ${arch.modelTypes.join("/")}, ` +
        `not ${JSON.stringify(type)}`,
    );
  }
  return { name, arch };
}

/**
 * A randomly initialized model for `config`, its class chosen by
 * {@linkcode resolveArchitecture}.
 *
 * @example
 * ```ts
 * import { bertConfig, initGpu, modelFor } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ model_type: "roberta", vocab_size: 50, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
 *   max_position_embeddings: 18, type_vocab_size: 1 });
 * const { model, architecture } = modelFor(cfg, { task: "question-answering" });
 * console.log(architecture, model.namedParameters()[0][0]);
 * // RobertaForQuestionAnswering roberta.embeddings.word_embeddings.weight
 * ```
 */
export function modelFor(
  config: BertConfig,
  opts: { task?: string; architecture?: string; seed?: number } = {},
  path = "config",
): { model: TaskModel; architecture: string; prefix: string } {
  const { name, arch } = resolveArchitecture(config, opts, path);
  const model = arch.build(config, {
    seed: opts.seed ?? 0,
    prefix: arch.prefix,
    architecture: name,
  });
  return { model, architecture: name, prefix: arch.prefix };
}
