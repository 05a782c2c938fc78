// `eval --task classify` and `predict --task classify`: a BertForSequenceClassification
// directory over a TSV/JSONL file, or over one text.

import { loadBertForSequenceClassification } from "../models/checkpoint.ts";
import { readBertConfig } from "../models/config.ts";
import { setMatmulPrecision } from "../ops/matmul.ts";
import { loadTextDataset } from "../classify/dataset.ts";
import {
  evaluateTexts,
  labelNames,
  predictTexts,
  textFeatures,
  writeClassificationResults,
} from "../classify/task.ts";
import { loadTokenizerDir, tokenizerForModel } from "../text/tokenizer_dir.ts";
import { UsageError } from "./_common.ts";
import { intFlag, precisionFlag } from "./_flags.ts";
import { checkOutputs, modelInputs } from "./_outputs.ts";
import { adapterInputs, notAnAdapter, withAdapter } from "./_lora.ts";
import { type Flags, startGpu } from "./_train_shared.ts";

/** Loads the model directory, its tokenizer and a LoRA adapter over it, at `precision`. */
async function open(dir: string, precision: "f32" | "f16", adapter: string | undefined) {
  await notAnAdapter(dir);
  const loaded = await loadTokenizerDir(dir);
  setMatmulPrecision(await startGpu(precision));
  const { model } = await loadBertForSequenceClassification(dir, { quiet: true });
  await withAdapter(model, adapter);
  const tokenizer = tokenizerForModel(dir, loaded, model.config);
  return { model, tokenizer, padId: tokenizer.padId };
}

/** `eval --task classify`: predictions by id, and the scores as the last stdout line. */
export async function evalClassify(f: Flags, usage: string): Promise<void> {
  if (!f.model) throw new UsageError("--model is required", usage);
  if (!f.data) throw new UsageError("--data is required", usage);
  const maxLength = intFlag(f["max-seq-length"] as string, "max-seq-length", usage, 3, 512) ?? 128;
  const batchSize = intFlag(f["batch-size"] as string, "batch-size", usage, 1, 4096) ?? 32;
  const precision = precisionFlag(f.precision as string, usage) ?? "f32";
  const out = (f.out as string | undefined) ?? "predictions.json";
  const results = out.replace(/[^/]*$/, "eval_results.json");
  await checkOutputs([
    { flag: "--out", path: out, kind: "file", what: "the predictions" },
    { flag: "--out", path: results, kind: "file", what: "eval_results.json" },
  ], [
    { flag: "--data", path: f.data as string },
    ...modelInputs(f.model as string),
    ...adapterInputs(f.adapter as string | undefined),
  ]);
  // Data first, read with the model's labels: a bad file fails before the GPU is touched.
  await notAnAdapter(f.model as string);
  const c = await readBertConfig(`${f.model}/config.json`);
  const data = await loadTextDataset(f.data as string, {
    label2id: c.label2id,
    numLabels: c.num_labels,
  });
  const { model, tokenizer, padId } = await open(
    f.model as string,
    precision,
    f.adapter as string | undefined,
  );
  const features = await textFeatures(data.examples, tokenizer, maxLength);
  const e = await evaluateTexts(model, data.examples, features, {
    batchSize,
    padId,
    skipped: data.skipped,
  });
  await writeClassificationResults(out.replace(/[^/]*$/, "") || ".", e, out);
  console.error(
    `wrote ${out}; confusion matrix (rows gold, columns predicted): ` +
      JSON.stringify(e.confusion),
  );
  console.log(JSON.stringify({
    accuracy: e.accuracy,
    macro_f1: e.macro_f1,
    examples: e.examples,
    skipped: e.skipped,
    seconds: +e.seconds.toFixed(2),
  }));
}

/** `predict --task classify --text T`: the label name and its probability. */
export async function predictClassify(f: Flags, usage: string): Promise<void> {
  if (!f.model) throw new UsageError("--model is required", usage);
  const text = (f.text as string | undefined)?.trim();
  if (!text) throw new UsageError("--text is required and must not be empty", usage);
  const maxLength = intFlag(f["max-seq-length"] as string, "max-seq-length", usage, 3, 512) ?? 128;
  const { model, tokenizer, padId } = await open(
    f.model as string,
    "f32",
    f.adapter as string | undefined,
  );
  const features = await textFeatures([{ id: "0", text, label: 0 }], tokenizer, maxLength);
  const p = await predictTexts(model, features, 1, padId);
  const label = p.labels[0];
  const name = labelNames(model)[label];
  console.log(`${name}  (probability ${p.scores[0].toFixed(4)})`);
  console.log(JSON.stringify({ label, label_name: name, score: p.scores[0] }));
}
