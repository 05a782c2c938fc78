// Masked-LM pretraining as a Trainer task: packed blocks, masks drawn per (seed, step, block),
// the loss at the masked tokens only, and the loss, perplexity and masked-token accuracy on
// held-out blocks with fixed masks.

import { noGrad } from "../autograd.ts";
import { scopeAsync, Tensor } from "../tensor.ts";
import { argmaxRows } from "../ops/argmax.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { MODEL_FILES, saveModel } from "../models/checkpoint.ts";
import type { MaskedLmModel } from "../models/masked_lm.ts";
import type { MaskedLmInput } from "../models/heads/mlm.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { TaskEvaluation, TrainableModel, TrainTask } from "../train/trainer.ts";
import { DataError } from "../util/errors.ts";
import { IGNORE_INDEX, maskBatch } from "./masking.ts";
import type { PackedBlocks } from "./packing.ts";

/** A held-out evaluation of a masked LM. */
export interface MlmEvaluation extends TaskEvaluation {
  /** Masked tokens scored. */
  maskedTokens: number;
}

/** Options of {@linkcode MlmTask}. */
export interface MlmTaskOptions {
  /** Chance that a token is chosen (run_mlm.py's `mlm_probability`, default 0.15). */
  probability?: number;
  /** Blocks per evaluation batch. */
  batchSize: number;
  /** Seed of the evaluation masks (the run's seed). */
  seed: number;
  /** Label smoothing of the training loss (HF's `label_smoothing_factor`); default 0. */
  labelSmoothing?: number;
}

/**
 * Masked-LM pretraining for the {@linkcode Trainer}, as run_mlm.py: packed blocks of the
 * corpus, 15% of their tokens chosen (80% `[MASK]`, 10% random, 10% kept), masks a function of
 * (seed, step, block) so a resumed run is bit-exact, and the loss on the chosen tokens. The
 * evaluation masks held-out blocks the same way every time and reports `eval_loss`,
 * `perplexity` (exp of it) and `accuracy` (argmax = original token); the best checkpoint has
 * the lowest eval loss.
 *
 * @example
 * ```ts
 * import { BertForMaskedLM, bertConfig, BertTokenizer, initGpu, MlmTask, packDocuments,
 *   Trainer } from "webgpu-bert";
 * await initGpu();
 * const tok = BertTokenizer.fromVocabArray(
 *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c"], { lowercase: true });
 * const model = new BertForMaskedLM(bertConfig({ vocab_size: 8, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 }));
 * const train = await packDocuments(tok, Array(40).fill("a b c a b c"), { maxSeqLength: 16 });
 * const held = await packDocuments(tok, Array(8).fill("a b c a b c"), { maxSeqLength: 16 });
 * const task = new MlmTask(model, tok, train, held, { batchSize: 4, seed: 0, probability: 0.3 });
 * const t = new Trainer(task, { out: await Deno.makeTempDir(), epochs: 1, batchSize: 4,
 *   gradAccum: 1, evalEvery: 100, seed: 0, lr: 1e-2, warmupRatio: 0, weightDecay: 0,
 *   logEvery: 5, quiet: true });
 * console.log(Object.keys((await t.fit()).final.metrics)); // ["accuracy", "perplexity"]
 * t.dispose();
 * ```
 */
export class MlmTask implements TrainTask<MaskedLmInput, MlmEvaluation> {
  /** Shown in logs and the plot. */
  readonly title: string = "masked LM";
  /** The best checkpoint has the lowest held-out loss. */
  readonly best: { metric: string; greaterIsBetter: boolean } = {
    metric: "eval_loss",
    greaterIsBetter: false,
  };
  /** HF layout files linked at the run dir's root. */
  readonly rootFiles: readonly string[];
  /** The model as the Trainer drives it. */
  readonly model: TrainableModel;
  /** One line on the data. */
  readonly summary: string;
  readonly #maskId: number;
  readonly #probability: number;
  #seed = 0;
  #step = 0;

  /** Pretrains `mlm` on `train` blocks, evaluating on `held` blocks. */
  constructor(
    readonly mlm: MaskedLmModel,
    readonly tokenizer: TextTokenizer,
    readonly train: PackedBlocks,
    readonly held: PackedBlocks,
    readonly o: MlmTaskOptions,
  ) {
    const maskId = tokenizer.tokenToId("[MASK]");
    if (maskId === null) throw new DataError("tokenizer", "has no [MASK] token to pretrain with");
    if (train.count === 0) throw new DataError("--text", "no training blocks");
    if (held.count === 0) throw new DataError("--text", "no evaluation blocks");
    this.#maskId = maskId;
    this.#probability = o.probability ?? 0.15;
    this.model = mlm;
    // Checked now, not after training: an evaluation with nothing masked has no loss.
    const { labels } = maskBatch(held, Array.from({ length: held.count }, (_, i) => i), {
      probability: this.#probability,
      seed: o.seed,
      step: "eval",
      vocabSize: tokenizer.vocabSize,
      maskId,
    });
    if (labels.every((y) => y === IGNORE_INDEX)) {
      throw new DataError(
        "--text",
        `no held-out token is chosen at probability ${this.#probability}; hold out more text`,
      );
    }
    this.rootFiles = [...MODEL_FILES, ...tokenizer.savedFiles];
    this.summary = `${train.count} blocks of ${train.seqLength} tokens, ` +
      `${held.count} held out to evaluate`;
  }

  /** Training blocks. */
  get size(): number {
    return this.train.count;
  }

  /** Remembers the step whose masks the next batches draw. */
  beginStep(seed: number, step: number): void {
    this.#seed = seed;
    this.#step = step;
  }

  /** The blocks `indices`, masked for the current step. */
  batch(indices: Int32Array): MaskedLmInput {
    const b = this.#masked(this.train, Array.from(indices), this.#step, this.#seed);
    return this.o.labelSmoothing ? { ...b, labelSmoothing: this.o.labelSmoothing } : b;
  }

  #masked(
    packed: PackedBlocks,
    blocks: number[],
    step: number | "eval",
    seed: number,
  ): MaskedLmInput {
    const { inputIds, labels } = maskBatch(packed, blocks, {
      probability: this.#probability,
      seed,
      step,
      vocabSize: this.tokenizer.vocabSize,
      maskId: this.#maskId,
    });
    const at: number[] = [];
    labels.forEach((y, i) => y !== IGNORE_INDEX && at.push(i));
    const s = packed.seqLength;
    if (at.length === 0 && step !== "eval") {
      // No token chosen (only plausible for a corpus of a few tokens): HF's loss would be
      // NaN and stop the run, so the first ordinary token is predicted unchanged instead.
      const i = blocks.flatMap((b, r) =>
        Array.from(packed.special.subarray(b * s, (b + 1) * s), (sp, j) => sp ? -1 : r * s + j)
      ).find((j) => j >= 0);
      if (i === undefined) throw new DataError("--text", "a block holds only special tokens");
      labels[i] = inputIds[i];
      at.push(i);
    }
    return {
      batch: blocks.length,
      seq: s,
      inputIds,
      tokenTypeIds: new Int32Array(inputIds.length),
      labels,
      predictAt: Int32Array.from(at),
    };
  }

  /** B×S tokens (blocks are never padded). */
  tokens(b: MaskedLmInput): number {
    return b.batch * b.seq;
  }

  /** Cross-entropy at the chosen tokens. */
  loss(b: MaskedLmInput): Tensor {
    return this.mlm.forward(b).loss!;
  }

  /** The masked-LM head's parameters (`cls.*`, `lm_head.*`), for `--head-lr`. */
  isHead(name: string): boolean {
    return !name.startsWith(`${this.mlm.prefix}.`);
  }

  /**
   * Loss, perplexity and masked-token accuracy on the held-out blocks, fixed masks; a batch
   * with no token chosen is skipped (the constructor made sure some batch has one).
   */
  async evaluate(): Promise<MlmEvaluation> {
    const t0 = performance.now();
    this.mlm.train(false);
    let lossSum = 0, correct = 0, total = 0;
    for (let b0 = 0; b0 < this.held.count; b0 += this.o.batchSize) {
      const blocks = Array.from(
        { length: Math.min(this.o.batchSize, this.held.count - b0) },
        (_, i) => b0 + i,
      );
      const batch = this.#masked(this.held, blocks, "eval", this.o.seed);
      const at = batch.predictAt!;
      // Nothing masked: a stand-in token would be scored while visible, inflating accuracy.
      if (at.length === 0) continue;
      const { loss, pred } = await noGrad(() =>
        scopeAsync(async () => {
          const out = this.mlm.forward(batch);
          return {
            loss: await out.loss!.item(),
            pred: await argmaxRows(out.logits).toArray(),
          };
        })
      );
      lossSum += loss * at.length;
      at.forEach((p, i) => pred[i] === batch.labels![p] && correct++);
      total += at.length;
    }
    const loss = lossSum / total;
    return {
      metrics: { accuracy: correct / total, perplexity: Math.exp(loss) },
      loss,
      seconds: (performance.now() - t0) / 1000,
      maskedTokens: total,
    };
  }

  /** `loss x perplexity y masked accuracy z`. */
  describe(e: MlmEvaluation): string {
    return `loss ${e.loss.toFixed(4)} perplexity ${e.metrics.perplexity.toFixed(2)} ` +
      `masked accuracy ${e.metrics.accuracy.toFixed(4)}`;
  }

  /** Model, config and tokenizer in HF layout. */
  async save(dir: string): Promise<void> {
    await saveModel(this.mlm, this.mlm.config, dir);
    await this.tokenizer.save(dir);
  }

  /** eval_results.json, as run_mlm.py's. */
  async writeArtifacts(dir: string, e: MlmEvaluation): Promise<void> {
    const results = {
      eval_loss: e.loss,
      perplexity: e.metrics.perplexity,
      eval_accuracy: e.metrics.accuracy,
      eval_masked_tokens: e.maskedTokens,
      eval_blocks: this.held.count,
    };
    await writeFileAtomic(
      `${dir}/eval_results.json`,
      new TextEncoder().encode(JSON.stringify(results) + "\n"),
    );
  }
}
