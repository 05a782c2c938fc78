// A HF model directory as the QA CLIs use it: config, weights and tokenizer together.

import { loadQaModel } from "../models/checkpoint.ts";
import type { QaModel } from "../models/heads/qa.ts";
import type { BertConfig } from "../models/config.ts";
import { resolveArchitecture } from "../models/registry.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { exists, loadTokenizerDir, tokenizerForModel } from "../text/tokenizer_dir.ts";
import { DataError } from "../util/errors.ts";
import { DEFAULT_HEAD_DROPOUT } from "../models/heads/qa_lstm.ts";

/**
 * Loads `config.json`, the safetensors weights and the tokenizer of a model directory, as the
 * QA model its config names, or with the head `opts.head` (see {@linkcode withQaHead}; head
 * weights the directory lacks are newly initialized, with a warning unless `quiet`).
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
  opts: { seed?: number; quiet?: boolean; head?: QaHeadChoice } = {},
): Promise<{ model: QaModel; tokenizer: TextTokenizer }> {
  if (!(await exists(dir))) throw new DataError(dir, "model directory not found");
  const loaded = await loadTokenizerDir(dir);
  const { head, ...rest } = opts;
  const configure = head ? (c: BertConfig) => withQaHead(c, head) : undefined;
  const { model } = await loadQaModel(dir, { ...rest, configure });
  try {
    return { model, tokenizer: tokenizerForModel(dir, loaded, model.config) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** A QA head as `train --head` names it, with the LSTM head's dropout. */
export interface QaHeadChoice {
  /** "qa": `qa_outputs` only (HF's *ForQuestionAnswering); "lstm": the LSTM-LayerNorm head (`QaLstmHead`). */
  head: "qa" | "lstm";
  /** The LSTM head's `head_dropout`; the config's (else 0.7) when absent. */
  headDropout?: number;
}

/**
 * `config` for a QA model with the head `choice`: `architectures` names the model_type's QA
 * class with that head (e.g. `RobertaForQuestionAnsweringWithLSTMLNHead`) and, for the LSTM
 * head, `head_dropout` and `qa_lstm_hidden_size` (kept if set, else `hidden_size`) are recorded,
 * so that the saved config.json loads the same model back.
 *
 * @example
 * ```ts
 * import { bertConfig, withQaHead } from "webgpu-bert";
 * const c = withQaHead(bertConfig({ model_type: "roberta", hidden_size: 8,
 *   num_attention_heads: 2 }), { head: "lstm", headDropout: 0.5 });
 * console.log(c.architectures, c.head_dropout, c.qa_lstm_hidden_size);
 * // [ "RobertaForQuestionAnsweringWithLSTMLNHead" ] 0.5 8
 * ```
 */
export function withQaHead(config: BertConfig, choice: QaHeadChoice): BertConfig {
  const { architectures: _, ...base } = config;
  const plain = resolveArchitecture(base as BertConfig, { task: "question-answering" }).name;
  if (choice.head === "qa") return { ...config, architectures: [plain] };
  return {
    ...config,
    architectures: [`${plain}WithLSTMLNHead`],
    qa_lstm_hidden_size: config.qa_lstm_hidden_size ?? config.hidden_size,
    head_dropout: choice.headDropout ?? config.head_dropout ?? DEFAULT_HEAD_DROPOUT,
  };
}
