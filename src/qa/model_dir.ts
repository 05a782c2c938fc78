// A HF model directory as the QA CLIs use it: config, weights and tokenizer together.

import { loadBertForQa } from "../models/checkpoint.ts";
import type { BertForQuestionAnswering } from "../models/bert_qa.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { exists, loadTokenizerDir, tokenizerForModel } from "../text/tokenizer_dir.ts";
import { DataError } from "../util/errors.ts";

/**
 * Loads `config.json`, the safetensors weights and the tokenizer of a model directory.
 *
 * @example
 * ```ts ignore
 * import { initGpu, loadQaModelDir } from "webgpu-bert";
 * await initGpu();
 * const { model, tokenizer } = await loadQaModelDir("weights/bert-base-multilingual-cased");
 * ```
 */
export async function loadQaModelDir(
  dir: string,
  opts: { seed?: number; quiet?: boolean } = {},
): Promise<{ model: BertForQuestionAnswering; tokenizer: TextTokenizer }> {
  if (!(await exists(dir))) throw new DataError(dir, "model directory not found");
  const loaded = await loadTokenizerDir(dir);
  const { model } = await loadBertForQa(dir, opts);
  try {
    return { model, tokenizer: tokenizerForModel(dir, loaded, model.config) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
