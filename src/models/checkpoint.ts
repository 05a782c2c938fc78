// Loads HF-layout checkpoints into our modules and saves them back in HF layout.

import { type CheckpointReader, openCheckpoint, writeSafetensors } from "../io/safetensors.ts";
import { type Files, hostFiles } from "../io/files.ts";
import type { Module } from "../nn/module.ts";
import { sync } from "../gpu/kernel.ts";
import { type BertConfig, readBertConfig } from "./config.ts";
import { BertForQuestionAnswering } from "./bert.ts";
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
  opts: { prefix?: string; mayBeNew?: (name: string) => boolean } = {},
): Promise<LoadReport> {
  const params = new Map(model.namedParameters());
  const byName = new Map<string, string>();
  const names = [...reader.tensors.keys()];
  const prefix = opts.prefix ?? "";
  const bare = prefix !== "" && !names.some((n) => n.startsWith(prefix));
  for (const n of names) byName.set(canonical(bare ? prefix + n : n), n);
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
 * Loads a HF-layout directory (`config.json` + `model.safetensors` or shards) as
 * BertForQuestionAnswering. A missing QA head is initialized N(0, 0.02) with a warning,
 * as `from_pretrained` does. `opts.files` defaults to the host's file system.
 *
 * @example
 * ```ts
 * import { initGpu, loadBertForQa } from "./mod.ts";
 * await initGpu();
 * const { model, report } = await loadBertForQa("tests/fixtures/bert_qa_odd");
 * console.log(model.config.hidden_size, report.unexpected); // 24 []
 * ```
 */
export async function loadBertForQa(
  dir: string,
  opts: { seed?: number; quiet?: boolean; files?: Files } = {},
): Promise<{ model: BertForQuestionAnswering; config: BertConfig; report: LoadReport }> {
  const files = opts.files ?? await hostFiles();
  const config = await readBertConfig(`${dir}/config.json`, files);
  const reader = await openCheckpoint(dir, files);
  const model = new BertForQuestionAnswering(config, { seed: opts.seed ?? 0 });
  try {
    const report = await loadWeights(model, reader, {
      prefix: "bert.",
      mayBeNew: (n) => n.startsWith("qa_outputs."),
    });
    if (!opts.quiet) warn(dir, report);
    return { model, config, report };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    reader.close();
  }
}

function warn(dir: string, r: LoadReport): void {
  if (r.unexpected.length) {
    console.warn(
      `Some weights of the model checkpoint at ${dir} were not used when initializing ` +
        `BertForQuestionAnswering: ${summarize(r.unexpected)}`,
    );
  }
  if (r.newlyInitialized.length) {
    console.warn(
      `Some weights of BertForQuestionAnswering were not initialized from the model checkpoint ` +
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

/**
 * Saves a model directory in HF layout: `config.json` and `model.safetensors`
 * (all parameters, F32), both written atomically; `files` defaults to the host's.
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
  const cfg = { ...config, architectures: config.architectures ?? ["BertForQuestionAnswering"] };
  await fs.writeAtomic(
    `${dir}/config.json`,
    new TextEncoder().encode(JSON.stringify(cfg, null, 2) + "\n"),
  );
}
