// The embedded default of `deno task train` (no --train): generated Korean QA, a WordPiece
// vocabulary built from it, BERT-tiny with a 256-wide FFN and no dropout, and a recipe tuned to
// learn in minutes on a CPU. The CLI and the web page's "Train here" both take it from here.

import { type BertConfig, bertConfig, PRESETS } from "../models/config.ts";
import type { QAExample } from "./dataset.ts";
import { koreanQaCharset } from "./synthetic.ts";

/** Hyperparameters of the embedded default, tuned to finish on a 2-core CPU. */
export const EMBEDDED_QA = {
  epochs: 4,
  batchSize: 32,
  lr: 1e-3,
  /** BERT-tiny's FFN at 256: cheaper steps, and in the PyTorch replica it learned as well as 512. */
  intermediateSize: 256,
  maxSeqLength: 96,
  docStride: 32,
  lengthBuckets: 6,
  beta2: 0.98,
  // Each epoch's evaluation (a few seconds) draws the learning curve in plot.svg.
  evalEvery: "epoch" as const,
  /** A small vocabulary: pieces shared by many words train faster than rare whole words. */
  vocabSize: 2000,
} as const;

/**
 * The texts the embedded default's WordPiece vocabulary (of {@linkcode EMBEDDED_QA}'s
 * `vocabSize`, cased, accents kept) is built from: the training examples' contexts and
 * questions, and every character the generator can write.
 *
 * @example
 * ```ts
 * import { buildWordPieceVocab, defaultSplits, EMBEDDED_QA, embeddedQaTexts, parseSquad }
 *   from "webgpu-bert";
 * const train = parseSquad(defaultSplits(0, { trainQuestions: 20 }).train, "train").examples;
 * const vocab = buildWordPieceVocab(embeddedQaTexts(train), { size: EMBEDDED_QA.vocabSize });
 * console.log(vocab.slice(0, 5)); // the special tokens first
 * ```
 */
export function embeddedQaTexts(train: readonly QAExample[]): string[] {
  return [...train.flatMap((e) => [e.context, e.question]), koreanQaCharset()];
}

/**
 * The embedded default's model config for a vocabulary of `vocabSize`: the `tiny` preset (or
 * `preset`, whose own FFN width is then kept) without dropout, which only slowed learning on
 * fresh generated data (measured), as a BertForQuestionAnswering.
 *
 * @example
 * ```ts
 * import { embeddedQaConfig } from "webgpu-bert";
 * const c = embeddedQaConfig(2000);
 * console.log(c.hidden_size, c.intermediate_size, c.hidden_dropout_prob); // 128 256 0
 * ```
 */
export function embeddedQaConfig(vocabSize: number, preset?: string): BertConfig {
  return bertConfig({
    ...PRESETS[preset ?? "tiny"],
    vocab_size: vocabSize,
    max_position_embeddings: 512,
    architectures: ["BertForQuestionAnswering"],
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    ...(preset ? {} : { intermediate_size: EMBEDDED_QA.intermediateSize }),
  });
}
