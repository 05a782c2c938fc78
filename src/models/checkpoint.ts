// Loads HF-layout checkpoints into our modules and saves them back in HF layout.

import { type CheckpointReader, openCheckpoint, writeSafetensors } from "../io/safetensors.ts";
import { type Files, hostFiles } from "../io/files.ts";
import type { Module } from "../nn/module.ts";
import { sync } from "../gpu/kernel.ts";
import { type BertConfig, readBertConfig, withLabels } from "./config.ts";
import { BertForQuestionAnswering } from "./bert_qa.ts";
import {
  ClassificationHead,
  RobertaClassificationHead,
  type SequenceClassifier,
} from "./heads/classification.ts";
import { modelFor, type TaskModel } from "./registry.ts";
import { QaHead, type QaModel } from "./heads/qa.ts";
import { QaLstmHead } from "./heads/qa_lstm.ts";
import { EncoderWithHead } from "./with_head.ts";
import { CheckpointError } from "../util/errors.ts";

/** What a load did, in HF's terms. */
export interface LoadReport {
  /** Checkpoint tensors the model does not use (e.g. `cls.*`, `bert.pooler.*`). */
  unexpected: string[];
  /** Model parameters absent from the checkpoint, left at their random init. */
  newlyInitialized: string[];
}

const SLICE = 4 * 1024 * 1024;

// Old TF-converted checkpoints name LayerNorm parameters gamma/beta, as HF renames on load.
function canonical(name: string): string {
  return name.replace(/\.gamma$/, ".weight").replace(/\.beta$/, ".bias");
}

/**
 * Copies checkpoint tensors into `model`'s parameters by HF name. A model whose weights are
 * all prefixed (e.g. `bert.`) also accepts a checkpoint of the bare base model.
 * Parameters for which `mayBeNew(name)` holds may be absent; any other absence, and any shape
 * disagreement, is an error naming the tensor.
 */
export async function loadWeights(
  model: Module,
  reader: CheckpointReader,
  opts: {
    prefix?: string;
    mayBeNew?: (name: string) => boolean;
    aliases?: ReadonlyMap<string, string>;
  } = {},
): Promise<LoadReport> {
  const params = new Map(model.namedParameters());
  const byName = new Map<string, string>();
  const names = [...reader.tensors.keys()];
  const prefix = opts.prefix ?? "";
  const bare = prefix !== "" && !names.some((n) => n.startsWith(prefix));
  const tied: [string, string][] = [];
  for (const n of names) {
    const name = canonical(bare ? prefix + n : n);
    const target = opts.aliases?.get(name);
    if (target === undefined) byName.set(name, n);
    else tied.push([target, n]);
  }
  // A tied copy (HF's decoder weight) fills its parameter only when the checkpoint lacks the
  // parameter's own name; either way it is expected, not unused.
  for (const [target, n] of tied) if (!byName.has(target)) byName.set(target, n);
  const report: LoadReport = { unexpected: [], newlyInitialized: [] };
  let pending = 0;
  for (const [name, t] of params) {
    const src = byName.get(name);
    if (src === undefined) {
      if (opts.mayBeNew?.(name)) {
        report.newlyInitialized.push(name);
        continue;
      }
      throw new CheckpointError(reader.path, `missing tensor ${name}`);
    }
    const info = reader.tensors.get(src)!;
    if (info.shape.join() !== t.shape.join()) {
      throw new CheckpointError(
        reader.path,
        `tensor ${src} has shape [${info.shape}] but the config needs [${t.shape}]`,
      );
    }
    // Large tensors stream in slices so host memory never holds a whole second copy, and
    // the queue is drained every SLICE bytes: queued writes keep their staging copies alive.
    for (let start = 0; start < t.size; start += SLICE) {
      const n = Math.min(SLICE, t.size - start);
      t.write(
        n === t.size ? await reader.readFloat32(src) : await reader.readFloat32Slice(src, start, n),
        start,
      );
      pending += n * 4;
      if (pending >= SLICE * 4) {
        await sync();
        pending = 0;
      }
    }
  }
  for (const [name, src] of byName) {
    // position_ids is a non-persistent buffer in recent HF versions, not a weight.
    if (!params.has(name) && !name.endsWith("position_ids")) report.unexpected.push(src);
  }
  return report;
}

/**
 * Loads a HF-layout directory (`config.json` + `model.safetensors` or shards) as the model
 * the registry picks (see {@linkcode resolveArchitecture}): `opts.task` picks by
 * `model_type`, else `config.json`'s `architectures` decides. Encoder weights may come
 * bare (a base-model checkpoint); missing head weights (and a missing pooler, which QA and
 * MLM checkpoints lack) are initialized N(0, initializer_range) with a warning, as
 * `from_pretrained` does; any other missing encoder weight is an error. `opts.configure`
 * adjusts the config before the model is built (e.g. {@linkcode withLabels}). `opts.files`
 * defaults to the host's file system.
 *
 * @example
 * ```ts
 * import { initGpu, loadModel } from "webgpu-bert";
 * await initGpu();
 * const { architecture, report } = await loadModel("tests/fixtures/bert_qa_odd");
 * console.log(architecture, report.newlyInitialized); // BertForQuestionAnswering []
 * ```
 */
export async function loadModel(
  dir: string,
  opts: {
    task?: string;
    architecture?: string;
    seed?: number;
    quiet?: boolean;
    files?: Files;
    configure?: (c: BertConfig) => BertConfig;
  } = {},
): Promise<{ model: TaskModel; config: BertConfig; report: LoadReport; architecture: string }> {
  const files = opts.files ?? await hostFiles();
  const path = `${dir}/config.json`;
  const read = await readBertConfig(path, files);
  const config = opts.configure ? opts.configure(read) : read;
  const reader = await openCheckpoint(dir, files);
  try {
    const { model, architecture, prefix } = modelFor(config, opts, path);
    try {
      const report = await loadWeights(model, reader, {
        prefix: `${prefix}.`,
        aliases: model.tiedAliases,
        mayBeNew: (n) => !n.startsWith(`${prefix}.`) || n.startsWith(`${prefix}.pooler.`),
      });
      if (!opts.quiet) warn(dir, architecture, report);
      return { model, config, report, architecture };
    } catch (e) {
      model.dispose();
      throw e;
    }
  } finally {
    reader.close();
  }
}

/**
 * Loads a HF-layout directory as its model_type's question-answering model
 * (BertForQuestionAnswering, or the RoBERTa family's, named `roberta.*`); see
 * {@linkcode loadModel}.
 *
 * @example
 * ```ts
 * import { initGpu, loadBertForQa } from "webgpu-bert";
 * await initGpu();
 * const { model, report } = await loadBertForQa("tests/fixtures/bert_qa_odd");
 * console.log(model.config.hidden_size, report.unexpected); // 24 []
 * ```
 */
export async function loadBertForQa(
  dir: string,
  opts: { seed?: number; quiet?: boolean; files?: Files } = {},
): Promise<{ model: BertForQuestionAnswering; config: BertConfig; report: LoadReport }> {
  const { model, config, report } = await loadModel(dir, { ...opts, task: "question-answering" });
  if (!(model instanceof BertForQuestionAnswering)) {
    model.dispose();
    throw new CheckpointError(
      dir,
      `the question-answering model is not a BertForQuestionAnswering`,
    );
  }
  return { model, config, report };
}

/**
 * Loads a HF-layout directory as a question-answering model of any head: the class its
 * `config.json` names when that is a QA class (e.g. `BertForQuestionAnsweringWithLSTMLNHead`),
 * else its model_type's plain one; see {@linkcode loadModel}. `opts.configure` may pick another
 * head (as `train --head` does) by rewriting `architectures`.
 *
 * @example
 * ```ts
 * import { initGpu, loadQaModel } from "webgpu-bert";
 * await initGpu();
 * const { model } = await loadQaModel("tests/fixtures/bert_qa_lstm_odd");
 * console.log(model.architecture); // BertForQuestionAnsweringWithLSTMLNHead
 * ```
 */
export async function loadQaModel(
  dir: string,
  opts: {
    seed?: number;
    quiet?: boolean;
    files?: Files;
    configure?: (c: BertConfig) => BertConfig;
  } = {},
): Promise<{ model: QaModel; config: BertConfig; report: LoadReport }> {
  const { model, config, report } = await loadModel(dir, { ...opts, task: "question-answering" });
  if (!(model.head instanceof QaHead || model.head instanceof QaLstmHead)) {
    model.dispose();
    throw new CheckpointError(dir, `the question-answering model has no QA head`);
  }
  return { model: model as QaModel, config, report };
}

/**
 * Loads a HF-layout directory as its model_type's sequence classifier
 * (BertForSequenceClassification or RobertaForSequenceClassification); see
 * {@linkcode loadModel}.
 * A QA or MLM checkpoint loads as the backbone, its pooler and classifier newly initialized.
 * `opts.labels` replaces the config's classes (see {@linkcode withLabels}); a checkpoint
 * whose classifier has another number of classes is then a shape error.
 *
 * @example
 * ```ts
 * import { initGpu, loadBertForSequenceClassification } from "webgpu-bert";
 * await initGpu();
 * const { model, report } = await loadBertForSequenceClassification("tests/fixtures/bert_qa_odd",
 *   { quiet: true, labels: ["negative", "positive"] });
 * console.log(model.config.id2label[1], report.newlyInitialized.length); // positive 4
 * ```
 */
export async function loadBertForSequenceClassification(
  dir: string,
  opts: { seed?: number; quiet?: boolean; files?: Files; labels?: readonly string[] } = {},
): Promise<{ model: SequenceClassifier; config: BertConfig; report: LoadReport }> {
  const { labels, ...rest } = opts;
  const { model, config, report } = await loadModel(dir, {
    ...rest,
    task: "text-classification",
    configure: labels ? (c) => withLabels(c, labels) : undefined,
  });
  const head = model.head;
  if (!(head instanceof ClassificationHead || head instanceof RobertaClassificationHead)) {
    model.dispose();
    throw new CheckpointError(dir, `the text-classification model has no classification head`);
  }
  return { model: model as SequenceClassifier, config, report };
}

function warn(dir: string, architecture: string, r: LoadReport): void {
  if (r.unexpected.length) {
    console.warn(
      `Some weights of the model checkpoint at ${dir} were not used when initializing ` +
        `${architecture}: ${summarize(r.unexpected)}`,
    );
  }
  if (r.newlyInitialized.length) {
    console.warn(
      `Some weights of ${architecture} were not initialized from the model checkpoint ` +
        `at ${dir} and are newly initialized: ${summarize(r.newlyInitialized)}. ` +
        "You should probably TRAIN this model on a down-stream task.",
    );
  }
}

function summarize(names: string[]): string {
  return names.length <= 8
    ? names.join(", ")
    : `${names.slice(0, 8).join(", ")}, … (${names.length})`;
}

/** The files {@linkcode saveModel} writes. */
export const MODEL_FILES: readonly string[] = ["config.json", "model.safetensors"];

/**
 * Saves a model directory in HF layout: `config.json` and `model.safetensors`
 * (all parameters, F32), both written atomically; `files` defaults to the host's.
 * `architectures` names the saved model's class (as `save_pretrained` does), so a fine-tuned
 * base checkpoint reloads with its head.
 */
export async function saveModel(
  model: Module,
  config: BertConfig,
  dir: string,
  files?: Files,
): Promise<void> {
  const fs = files ?? await hostFiles();
  await fs.mkdir(dir);
  const tensors = [];
  for (const [name, t] of model.namedParameters()) {
    tensors.push({ name, dtype: "F32" as const, shape: t.shape, data: await t.toArray() });
  }
  await writeSafetensors(`${dir}/model.safetensors`, tensors, { format: "pt" }, fs);
  const architectures = model instanceof EncoderWithHead
    ? [model.architecture]
    : config.architectures ?? ["BertForQuestionAnswering"];
  const cfg = { ...config, architectures };
  await fs.writeAtomic(
    `${dir}/config.json`,
    new TextEncoder().encode(JSON.stringify(cfg, null, 2) + "\n"),
  );
}
