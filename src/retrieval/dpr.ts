// DPR's bi-encoder (Karpukhin et al., 2020): a question encoder and a passage encoder, each a
// BERT or RoBERTa encoder whose [CLS] / <s> last hidden state is the vector, trained with the
// in-batch negatives loss. Each side saves as its own HF-layout model (`q_encoder/`,
// `p_encoder/`), as the ODQA notebook's `BertEncoder`s did.
// Sizes: Q questions, P passages of a batch (distinct; hard negatives included), H hidden.

import { Module } from "../nn/module.ts";
import { type BertBatch, BertModel, firstToken } from "../models/bert.ts";
import { RobertaModel } from "../models/roberta.ts";
import { type BertConfig, readBertConfig } from "../models/config.ts";
import { positionKind } from "../models/positions.ts";
import { loadWeights, saveModel } from "../models/checkpoint.ts";
import { openCheckpoint } from "../io/safetensors.ts";
import { hostFiles } from "../io/files.ts";
import { matmul } from "../ops/matmul.ts";
import { crossEntropy } from "../ops/cross_entropy.ts";
import { Tensor } from "../tensor.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { loadTokenizerDir, tokenizerForModel } from "../text/tokenizer_dir.ts";
import { DataError } from "../util/errors.ts";

/** The two sides' directories inside a saved bi-encoder. */
export const DPR_SIDES = ["q_encoder", "p_encoder"] as const;

/**
 * One side of the bi-encoder: an encoder under HF's attribute name (`bert.*`, `roberta.*`),
 * a text's vector the last hidden state at its first token ([CLS] / `<s>`).
 *
 * @example
 * ```ts
 * import { bertConfig, DprEncoder, initGpu } from "webgpu-bert";
 * await initGpu();
 * const side = new DprEncoder(bertConfig({ vocab_size: 9, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 }));
 * console.log(side.forward({ batch: 2, seq: 3, inputIds: new Int32Array([2, 5, 3, 2, 6, 3]) })
 *   .shape); // [2, 8]
 * ```
 */
export class DprEncoder extends Module {
  /** The encoder (no pooler: DPR reads the [CLS] state itself). */
  readonly encoder: BertModel;
  /** "bert" or "roberta": the prefix of the saved weights. */
  readonly prefix: string;

  /** A randomly initialized side of `config`; `seed` fixes its weights and dropout. */
  constructor(readonly config: BertConfig, seed = 0) {
    super();
    const roberta = positionKind(config) === "padding-offset";
    this.prefix = roberta ? "roberta" : "bert";
    this.encoder = this.child(
      this.prefix,
      roberta ? new RobertaModel(config, { seed, pooler: false }) : new BertModel(config, { seed }),
    );
  }

  /** batch → its vectors [B, H]: the last hidden state at the first token. */
  forward(batch: BertBatch): Tensor {
    return firstToken(this.encoder.forward(batch));
  }
}

/** One training batch: Q questions, P distinct passages, and each question's passage column. */
export interface DprBatch {
  /** The questions, `[CLS] question [SEP]`, padded. */
  questions: BertBatch;
  /** The passages, `[CLS] passage [SEP]`, padded; each appears once. */
  passages: BertBatch;
  /** [Q]: the column (row of `passages`) of each question's own passage. */
  targets: Int32Array;
}

/**
 * DPR's bi-encoder: `q_encoder` and `p_encoder` (parameters `q_encoder.bert.*` and
 * `p_encoder.bert.*`), the similarity of a question and a passage the inner product of their
 * [CLS] vectors. {@linkcode BiEncoder.loss} is the in-batch negatives loss: cross-entropy of
 * each question's row of the [Q × P] similarity matrix against its own passage's column, every
 * other passage of the batch (the other questions' passages and any hard negatives) a negative.
 *
 * @example
 * ```ts
 * import { BiEncoder, bertConfig, initGpu } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 20, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const dpr = new BiEncoder(cfg, cfg, 0);
 * const row = (ids: number[]) => ({ batch: 1, seq: ids.length, inputIds: new Int32Array(ids) });
 * const loss = dpr.loss({
 *   questions: { batch: 2, seq: 3, inputIds: new Int32Array([2, 5, 3, 2, 6, 3]) },
 *   passages: { batch: 2, seq: 3, inputIds: new Int32Array([2, 7, 3, 2, 8, 3]) },
 *   targets: new Int32Array([0, 1]),
 * });
 * console.log(loss.shape, dpr.q.forward(row([2, 5, 3])).shape); // [] [1, 8]
 * ```
 */
export class BiEncoder extends Module {
  /** The question encoder. */
  readonly q: DprEncoder;
  /** The passage encoder. */
  readonly p: DprEncoder;

  /**
   * Randomly initialized sides; the passage side's weights and dropout draw from `seed + 1`,
   * so the two differ as two separately initialized models would.
   */
  constructor(qConfig: BertConfig, pConfig: BertConfig, seed = 0) {
    super();
    this.q = this.child(DPR_SIDES[0], new DprEncoder(qConfig, seed));
    this.p = this.child(DPR_SIDES[1], new DprEncoder(pConfig, seed + 1));
  }

  /** Dropout masks as a function of (seed, step, site), each side its own stream. */
  setDropoutStep(seed: number, step: number): void {
    this.q.encoder.drop.seed = seed;
    this.p.encoder.drop.seed = seed + 1;
    this.q.encoder.setStep(step);
    this.p.encoder.setStep(step);
  }

  /** The [Q × P] similarities (inner products of the [CLS] vectors). */
  scores(b: DprBatch): Tensor {
    return matmul(this.q.forward(b.questions), this.p.forward(b.passages), { transB: true });
  }

  /** Mean cross-entropy of each question's similarities against its own passage's column. */
  loss(b: DprBatch): Tensor {
    const [q, p] = [b.questions.batch, b.passages.batch];
    if (b.targets.length !== q || b.targets.some((t) => !(t >= 0 && t < p))) {
      throw new Error(`BiEncoder.loss: targets must be ${q} columns in [0, ${p})`);
    }
    return crossEntropy(this.scores(b), Tensor.fromArray(b.targets));
  }

  /** Both sides, each into `dir/q_encoder/` and `dir/p_encoder/` in HF layout, tokenizer included. */
  async save(dir: string, tokenizer: TextTokenizer): Promise<void> {
    for (const [name, side] of [[DPR_SIDES[0], this.q], [DPR_SIDES[1], this.p]] as const) {
      const architectures = [side.prefix === "roberta" ? "RobertaModel" : "BertModel"];
      await saveModel(side, { ...side.config, architectures }, `${dir}/${name}`);
      await tokenizer.save(`${dir}/${name}`);
    }
  }
}

/** The files one saved side holds, besides its tokenizer's. */
export const DPR_SIDE_FILES: readonly string[] = ["config.json", "model.safetensors"];

async function loadSide(side: DprEncoder, dir: string): Promise<void> {
  const reader = await openCheckpoint(dir, await hostFiles());
  try {
    // A pretrained encoder's other weights (pooler, MLM or task head) are not DPR's: unused.
    await loadWeights(side, reader, { prefix: `${side.prefix}.` });
  } finally {
    reader.close();
  }
}

/**
 * Loads a bi-encoder and its tokenizer. `dir` is either a saved bi-encoder (`q_encoder/` and
 * `p_encoder/` inside, each a HF-layout model; the question side's tokenizer is used) or one
 * HF-layout encoder (a base model, an MLM run, a QA checkpoint: its `bert.*`/`roberta.*` or
 * bare weights), which then initializes both sides, as DPR starts both from one BERT.
 *
 * @example
 * ```ts
 * import { BertTokenizer, BiEncoder, bertConfig, initGpu, loadBiEncoder } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 6, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"],
 *   { lowercase: true });
 * const dir = await Deno.makeTempDir();
 * await new BiEncoder(cfg, cfg, 3).save(dir, tok);
 * const { model } = await loadBiEncoder(dir);
 * console.log(model.namedParameters()[0][0]); // q_encoder.bert.embeddings.word_embeddings.weight
 * ```
 */
export async function loadBiEncoder(
  dir: string,
  opts: { seed?: number } = {},
): Promise<{ model: BiEncoder; tokenizer: TextTokenizer }> {
  const files = await hostFiles();
  const sided = !!(await files.stat(`${dir}/${DPR_SIDES[0]}/config.json`));
  const dirs = sided ? DPR_SIDES.map((s) => `${dir}/${s}`) : [dir, dir];
  if (!sided && !(await files.stat(`${dir}/config.json`))) {
    throw new DataError(dir, "neither a bi-encoder (q_encoder/, p_encoder/) nor a model directory");
  }
  const [qc, pc] = await Promise.all(dirs.map((d) => readBertConfig(`${d}/config.json`, files)));
  const model = new BiEncoder(qc, pc, opts.seed ?? 0);
  try {
    await loadSide(model.q, dirs[0]);
    await loadSide(model.p, dirs[1]);
    const tokenizer = tokenizerForModel(dirs[0], await loadTokenizerDir(dirs[0]), qc);
    tokenizerForModel(dirs[1], tokenizer, pc);
    return { model, tokenizer };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
