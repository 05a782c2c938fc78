// BERT's masking, with the semantics of Hugging Face's
// `DataCollatorForLanguageModeling.torch_mask_tokens`, made deterministic: each sequence's
// random stream is a function of (seed, step, sequence index) alone, so a resumed run, or a
// batch built in another order, masks every sequence exactly as before.

import { mulberry32 } from "../util/rng.ts";
import { packedBlock, type PackedBlocks } from "./packing.ts";

/** The label of a token that is not predicted (PyTorch's cross-entropy `ignore_index`). */
export const IGNORE_INDEX: number = -100;

/** Options of {@linkcode maskTokens}. */
export interface MaskOptions {
  /** Chance that a non-special token is chosen for prediction (default 0.15). */
  probability?: number;
  /** The run's seed. */
  seed: number;
  /** The optimizer step the sequence is trained at (a non-negative integer). */
  step: number;
  /** Which sequence: its index in the packed corpus (a non-negative integer). */
  index: number;
  /** Random replacements are drawn uniformly from `[0, vocabSize)`. */
  vocabSize: number;
  /** Id of `[MASK]`. */
  maskId: number;
}

/** A masked sequence: the model's input and the labels of its loss. */
export interface MaskedTokens {
  /** The ids with chosen tokens replaced (80% `[MASK]`, 10% random, 10% unchanged). */
  inputIds: Int32Array;
  /** The original id at chosen tokens, {@linkcode IGNORE_INDEX} elsewhere. */
  labels: Int32Array;
}

// Stream tags keep evaluation masks apart from every training step's.
const TRAIN_STREAM = 0x6d6c6d74;
const EVAL_STREAM = 0x6d6c6d65;

/** MurmurHash3's finalizer: a bijection on 32 bits that spreads every input bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function streamSeed(stream: number, seed: number, step: number, index: number): number {
  let h = stream;
  for (const x of [seed, step, index]) h = fmix32(h ^ fmix32(x >>> 0) ^ 0x9e3779b9);
  return h;
}

function checkOptions(ids: ArrayLike<number>, special: ArrayLike<number>, o: MaskOptions): number {
  const p = o.probability ?? 0.15;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`mask probability ${p} is not in [0, 1]`);
  for (const [k, v] of [["step", o.step], ["index", o.index]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`mask ${k} ${v} is not an integer in [0, 2^32)`);
    }
  }
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < 1) {
    throw new RangeError(`vocabSize ${o.vocabSize} is not >= 1`);
  }
  if (ids.length !== special.length) {
    throw new RangeError(`${ids.length} ids but ${special.length} special-token flags`);
  }
  return p;
}

function mask(ids: ArrayLike<number>, special: ArrayLike<number>, o: MaskOptions, stream: number) {
  const p = checkOptions(ids, special, o);
  const r = mulberry32(streamSeed(stream, o.seed, o.step, o.index));
  const inputIds = Int32Array.from(ids);
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
  for (let i = 0; i < ids.length; i++) {
    if (special[i] || r() >= p) continue;
    labels[i] = ids[i];
    const u = r();
    // torch_mask_tokens: 80% [MASK]; half of the remaining 20% a random token; the rest kept.
    if (u < 0.8) inputIds[i] = o.maskId;
    else if (u < 0.9) inputIds[i] = Math.floor(r() * o.vocabSize);
  }
  return { inputIds, labels };
}

/**
 * Masks one sequence for training as `torch_mask_tokens` does: every token not flagged special
 * is chosen with `probability`; a chosen token's label is its id (others get
 * {@linkcode IGNORE_INDEX}), and its input becomes `[MASK]` (80%), a uniformly random id
 * (10%) or stays (10%). The draws depend only on `(seed, step, index)`, never on call order.
 *
 * @param ids The sequence's token ids.
 * @param special Non-zero where the token is special and must never be chosen.
 * @param opts Probability, seed, step, sequence index, vocabulary size and `[MASK]`'s id.
 * @returns The masked input and the labels.
 * @example
 * ```ts
 * import { maskTokens } from "webgpu-bert";
 * const ids = [2, 10, 11, 12, 13, 3];
 * const special = [1, 0, 0, 0, 0, 1];
 * const opts = { probability: 0.5, seed: 1, step: 7, index: 0, vocabSize: 20, maskId: 4 };
 * const { inputIds, labels } = maskTokens(ids, special, opts);
 * console.log(labels[0], labels[5]); // -100 -100: [CLS] and [SEP] are never chosen
 * ```
 */
export function maskTokens(
  ids: ArrayLike<number>,
  special: ArrayLike<number>,
  opts: MaskOptions,
): MaskedTokens {
  return mask(ids, special, opts, TRAIN_STREAM);
}

/**
 * Masks one sequence for evaluation: as {@linkcode maskTokens}, from a stream that depends on
 * `(seed, index)` only, so every evaluation of a run scores the same masked tokens, and none
 * of them follows a training step's masks.
 *
 * @param ids The sequence's token ids.
 * @param special Non-zero where the token is special.
 * @param opts As {@linkcode maskTokens}, without a step.
 * @returns The masked input and the labels.
 * @example
 * ```ts
 * import { maskTokensForEval } from "webgpu-bert";
 * const opts = { seed: 42, index: 3, vocabSize: 100, maskId: 4 };
 * const a = maskTokensForEval([2, 50, 51, 52, 3], [1, 0, 0, 0, 1], opts);
 * const b = maskTokensForEval([2, 50, 51, 52, 3], [1, 0, 0, 0, 1], opts);
 * console.log(a.labels.join() === b.labels.join()); // true
 * ```
 */
export function maskTokensForEval(
  ids: ArrayLike<number>,
  special: ArrayLike<number>,
  opts: Omit<MaskOptions, "step">,
): MaskedTokens {
  return mask(ids, special, { ...opts, step: 0 }, EVAL_STREAM);
}

/**
 * Masks a batch of packed blocks into one `[batch × seqLength]` input and label array, each
 * block keyed by its index in the corpus: for training at `step`, or, when `step` is
 * `"eval"`, with the fixed evaluation masks of {@linkcode maskTokensForEval}.
 *
 * @param packed The packed corpus.
 * @param blocks Indices of the blocks in the batch, in batch order.
 * @param opts As {@linkcode maskTokens}, without `index`; `step: "eval"` for evaluation.
 * @returns Row-major inputs and labels, `blocks.length × packed.seqLength`.
 * @example
 * ```ts
 * import { maskBatch } from "webgpu-bert";
 * const packed = {
 *   seqLength: 3, count: 2, ids: new Int32Array([2, 9, 3, 2, 8, 3]),
 *   special: new Uint8Array([1, 0, 1, 1, 0, 1]), totalTokens: 6, dropped: 0,
 * };
 * const b = maskBatch(packed, [1, 0], { seed: 0, step: 5, vocabSize: 10, maskId: 4 });
 * console.log(b.inputIds.length, b.labels.length); // 6 6
 * ```
 */
export function maskBatch(
  packed: PackedBlocks,
  blocks: readonly number[],
  opts: Omit<MaskOptions, "index" | "step"> & { step: number | "eval" },
): MaskedTokens {
  const L = packed.seqLength;
  const inputIds = new Int32Array(blocks.length * L);
  const labels = new Int32Array(blocks.length * L);
  blocks.forEach((index, row) => {
    const { ids, special } = packedBlock(packed, index);
    const { step, ...rest } = opts;
    const m = step === "eval"
      ? maskTokensForEval(ids, special, { ...rest, index })
      : maskTokens(ids, special, { ...rest, step, index });
    inputIds.set(m.inputIds, row * L);
    labels.set(m.labels, row * L);
  });
  return { inputIds, labels };
}
