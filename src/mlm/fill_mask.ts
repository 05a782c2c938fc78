// HF's `fill-mask` pipeline: the masked-LM's top-k tokens at each mask, with the sentence
// each one makes, decoded as the pipeline decodes.

import { noGrad } from "../autograd.ts";
import { scopeAsync } from "../tensor.ts";
import { MaskedLmModel } from "../models/masked_lm.ts";
import { loadModel } from "../models/checkpoint.ts";
import { positionKind } from "../models/positions.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { DataError } from "../util/errors.ts";

/** One proposal for one mask, with HF's field names. */
export interface FillMaskCandidate {
  /** The softmax probability of the token at the mask. */
  score: number;
  /** The token id. */
  token: number;
  /** The token decoded alone, as `tokenizer.decode([token])`. */
  token_str: string;
  /** The text with this token at the mask, decoded (special tokens kept when there are several masks). */
  sequence: string;
}

/**
 * Python `clean_up_tokenization`, which HF's decode applies after the tokenizer's own decoder
 * (`clean_up_tokenization_spaces`, true for BERT): it joins across token boundaries, which
 * the decoder's per-token cleanup cannot.
 *
 * @example
 * ```ts
 * import { cleanUpTokenization } from "webgpu-bert";
 * console.log(cleanUpTokenization("it ' s fine , isn 't it ?")); // "it's fine, isn't it?"
 * ```
 */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/** The pipeline's decode: the tokenizer's decoder, then {@linkcode cleanUpTokenization}. */
async function decode(tok: TextTokenizer, ids: number[], skipSpecial: boolean): Promise<string> {
  return cleanUpTokenization(await tok.decode(ids, skipSpecial));
}

/**
 * The `k` largest entries of `probs`, best first; ties keep the lower index first, as a
 * stable sort would.
 */
function topK(probs: Float64Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < probs.length; i++) {
    if (best.length === k && probs[i] <= probs[best[k - 1]]) continue;
    let j = best.length < k ? best.length : k - 1;
    best[j] = i;
    while (j > 0 && probs[best[j - 1]] < probs[i]) {
      best[j] = best[j - 1];
      best[j - 1] = i;
      j--;
    }
  }
  return best;
}

/**
 * Fills every `mask` token of `text` (the tokenizer's `[MASK]`) with `model`'s `topK` most
 * probable tokens, as HF's `fill-mask` pipeline: per mask, a list of candidates best first,
 * each with its softmax score, id, decoded token and the decoded sequence (special tokens
 * skipped when the text has one mask, kept when it has several, so the other masks show).
 * The model predicts in evaluation mode (no dropout); its training mode is restored after.
 * A text without a mask, or too long for the model, is a {@linkcode DataError} naming
 * `source` (e.g. "--text").
 *
 * @example
 * ```ts
 * import { BertForMaskedLM, bertConfig, BertTokenizer, fillMask, initGpu } from "webgpu-bert";
 * await initGpu();
 * const tok = BertTokenizer.fromVocabArray(
 *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "."], { lowercase: true });
 * const model = new BertForMaskedLM(bertConfig({ vocab_size: 9, hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 }), { seed: 1 });
 * const [cands] = await fillMask(model, tok, "The cat [MASK].", { topK: 2 });
 * console.log(cands.length, Object.keys(cands[0])); // 2 ["score", "token", "token_str", "sequence"]
 * ```
 */
export async function fillMask(
  model: MaskedLmModel,
  tokenizer: TextTokenizer,
  text: string,
  opts: { topK?: number; source?: string } = {},
): Promise<FillMaskCandidate[][]> {
  const source = opts.source ?? "text";
  const maskId = tokenizer.tokenToId("[MASK]");
  if (maskId === null) throw new DataError(source, "the tokenizer has no [MASK] token");
  const enc = await tokenizer.encode(text);
  const ids = enc.ids;
  const at = ids.flatMap((id, i) => id === maskId ? [i] : []);
  if (at.length === 0) throw new DataError(source, "the text has no [MASK] token");
  const c = model.config;
  const room = c.max_position_embeddings -
    (positionKind(c) === "padding-offset" ? c.pad_token_id + 1 : 0);
  if (ids.length > room) {
    throw new DataError(
      source,
      `the text is ${ids.length} tokens; the model takes at most ${room}`,
    );
  }
  const v = c.vocab_size;
  const k = Math.min(opts.topK ?? 5, v);
  // As the pipeline's model (from_pretrained returns it in eval mode): no dropout.
  const wasTraining = model.training;
  model.train(false);
  const logits = await noGrad(() =>
    scopeAsync(async () => {
      const out = model.forward({
        batch: 1,
        seq: ids.length,
        inputIds: Int32Array.from(ids),
        predictAt: Int32Array.from(at),
      });
      return await out.logits.toArray();
    })
  ).finally(() => model.train(wasTraining));
  const single = at.length === 1;
  const result: FillMaskCandidate[][] = [];
  for (let m = 0; m < at.length; m++) {
    const row = logits.subarray(m * v, (m + 1) * v);
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    const probs = new Float64Array(v);
    let sum = 0;
    for (let j = 0; j < v; j++) sum += probs[j] = Math.exp(row[j] - max);
    for (let j = 0; j < v; j++) probs[j] /= sum;
    const cands: FillMaskCandidate[] = [];
    for (const token of topK(probs, k)) {
      const filled = ids.slice();
      filled[at[m]] = token;
      cands.push({
        score: probs[token],
        token,
        token_str: await decode(tokenizer, [token], false),
        sequence: await decode(tokenizer, filled.filter((t) => t !== tokenizer.padId), single),
      });
    }
    result.push(cands);
  }
  return result;
}

/**
 * Loads a model directory as its model_type's masked LM (as `AutoModelForMaskedLM`: a base
 * or QA checkpoint gets a newly initialized head, with HF's warning unless `quiet`) and its
 * tokenizer.
 *
 * @example
 * ```ts ignore
 * import { initGpu, loadMaskedLmDir } from "webgpu-bert";
 * await initGpu();
 * const { model, tokenizer } = await loadMaskedLmDir("weights/bert-base-uncased");
 * ```
 */
export async function loadMaskedLmDir(
  dir: string,
  opts: { quiet?: boolean } = {},
): Promise<{ model: MaskedLmModel; tokenizer: TextTokenizer }> {
  // A directory's tokenizer is read by the host's tokenizer binding: loaded here, so that
  // fillMask itself loads in a browser.
  const { exists, loadTokenizerDir, tokenizerForModel } = await import("../text/tokenizer_dir.ts");
  if (!(await exists(dir))) throw new DataError(dir, "model directory not found");
  const loaded = await loadTokenizerDir(dir);
  const { model } = await loadModel(dir, { task: "fill-mask", quiet: opts.quiet });
  try {
    if (!(model instanceof MaskedLmModel)) {
      throw new DataError(dir, `${model.architecture} is not a masked-LM model`);
    }
    return { model, tokenizer: tokenizerForModel(dir, loaded, model.config) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
