// Question/context pairs to model features, as Hugging Face's run_qa.py does it
// (`prepare_train_features`, `prepare_validation_features`): the question is left-stripped,
// only the context is cut, into overlapping windows, and every window is a feature. A long
// question may first be cut to `maxQueryLength` tokens, as the legacy run_squad.py does.

import type { Offset, TextTokenizer, TokenWindow } from "../text/tokenizer.ts";
import type { QAExample } from "./dataset.ts";
import { UsageError } from "../util/errors.ts";

/** The fields of an example that feature preparation reads. */
export type QaExampleInput = Pick<QAExample, "id" | "context" | "question" | "answers">;

/** One window of one example, ready for the model. */
export interface QaFeature {
  /** `[CLS] question [SEP] context window [SEP] [PAD]...`, `maxLength` long when padded. */
  inputIds: Int32Array;
  /** 0 for `[CLS] question [SEP]` and padding, 1 for the context and its `[SEP]`. */
  tokenTypeIds: Int32Array;
  /** 1 for tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** Train: token index of the answer start, or of `[CLS]` when the answer is not inside. */
  startPosition?: number;
  /** Train: token index of the answer end, or of `[CLS]` when the answer is not inside. */
  endPosition?: number;
  /** Index of the example in the input array. */
  exampleIndex: number;
  /** The example's `id`. */
  exampleId: string;
  /**
   * Eval: each token's span in the context (UTF-16 units), null outside the context.
   * Train (with `keepOffsets`): the window's raw offsets, `[0, 0]` for special and pad tokens.
   */
  offsets?: (Offset | null)[];
}

/** Options of {@linkcode prepareTrainFeatures} and {@linkcode prepareEvalFeatures}. */
export interface FeatureOptions {
  /** Window length in tokens (`max_seq_length`, default 384). */
  maxLength?: number;
  /** Context tokens shared by consecutive windows (`doc_stride`, default 128). */
  stride?: number;
  /** Pad every window to `maxLength` (`pad_to_max_length`, default true). */
  padding?: boolean;
  /** Train only: keep the raw offsets on each feature (run_qa.py drops them). */
  keepOffsets?: boolean;
  /**
   * Cut each question to its first this many tokens, as run_squad.py's `max_query_length`
   * (see {@linkcode truncateQuestions}); absent: questions are whole, as in run_qa.py.
   */
  maxQueryLength?: number;
}

// Python's str.isspace() characters, which `str.lstrip()` removes (JS trimStart differs:
// it strips U+FEFF and keeps U+001C..U+001F and U+0085).
// deno-lint-ignore no-control-regex -- U+001C..U+001F are whitespace to Python.
const LEAD_WS = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

// Encodings run on the library's thread pool; a few in flight keep it busy.
const CONCURRENCY = 16;

/**
 * run_squad.py's `max_query_length` (`squad_convert_examples_to_features`): a question of more
 * than `maxQueryLength` tokens (special tokens not counted) keeps its first `maxQueryLength`.
 * The text is cut at the end of that token, so the pair encoding sees the cut question and the
 * windows stay those of the fast tokenizers; for WordPiece the cut text gives the same tokens,
 * since each greedy longest match of the whole word already ended within the cut.
 *
 * @param examples Examples; only `question` is read and replaced.
 * @param tokenizer The tokenizer.
 * @param maxQueryLength Tokens a question keeps (run_squad.py's default is 64).
 * @returns The examples, the long questions cut (others are the same objects), and how many
 * were cut.
 * @example
 * ```ts
 * import { BertTokenizer, truncateQuestions } from "webgpu-bert";
 * const tok = BertTokenizer.fromVocabArray(
 *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "who", "ran", "far", "?"],
 *   { lowercase: true },
 * );
 * const ex = { id: "1", question: "Who ran far?", context: "bob ran", answers: {
 *   text: [], answer_start: [] } };
 * const r = await truncateQuestions([ex], tok, 2);
 * console.log(r.examples[0].question, r.truncated); // "Who ran" 1
 * ```
 */
export async function truncateQuestions<T extends QaExampleInput>(
  examples: readonly T[],
  tokenizer: TextTokenizer,
  maxQueryLength: number,
): Promise<{ examples: T[]; truncated: number }> {
  if (!Number.isInteger(maxQueryLength) || maxQueryLength < 1) {
    throw new RangeError(`maxQueryLength ${maxQueryLength} is not an integer >= 1`);
  }
  const out: T[] = [...examples];
  let truncated = 0;
  for (let i = 0; i < examples.length; i += CONCURRENCY) {
    const chunk = examples.slice(i, i + CONCURRENCY).map((ex) =>
      tokenizer.encode(ex.question, { addSpecialTokens: false })
    );
    (await Promise.all(chunk)).forEach((w, k) => {
      if (w.ids.length <= maxQueryLength) return;
      const ex = examples[i + k];
      out[i + k] = { ...ex, question: ex.question.slice(0, w.offsets[maxQueryLength - 1][1]) };
      truncated++;
    });
  }
  return { examples: out, truncated };
}

async function windowsOf(
  input: readonly QaExampleInput[],
  tokenizer: TextTokenizer,
  opts: FeatureOptions,
): Promise<TokenWindow[][]> {
  const maxLength = opts.maxLength ?? 384;
  const pair = {
    maxLength,
    stride: opts.stride ?? 128,
    padding: (opts.padding ?? true) ? "max_length" as const : false as const,
  };
  const examples = opts.maxQueryLength === undefined
    ? input
    : (await truncateQuestions(input, tokenizer, opts.maxQueryLength)).examples;
  const query = opts.maxQueryLength === undefined
    ? "shorten the question"
    : `lower --max-query-length (${opts.maxQueryLength})`;
  const out: TokenWindow[][] = new Array(examples.length);
  for (let i = 0; i < examples.length; i += CONCURRENCY) {
    const chunk = examples.slice(i, i + CONCURRENCY).map((ex) =>
      tokenizer.encodePair(ex.question.replace(LEAD_WS, ""), ex.context, pair).catch((e) => {
        // The library's words ("Sequence to truncate too short", a stride assertion) name
        // neither the question nor what to change.
        const id = JSON.stringify(ex.id);
        throw /stride/.test((e as Error).message)
          ? new UsageError(
            `--doc-stride: question ${id} leaves room in a ${maxLength}-token window for no ` +
              `more context tokens than the stride (${pair.stride}); lower --doc-stride, raise ` +
              `--max-seq-length or ${query}`,
          )
          : new UsageError(
            `--max-seq-length: question ${id} leaves no room for one context token in a ` +
              `${maxLength}-token window; raise --max-seq-length or ${query}`,
          );
      })
    );
    (await Promise.all(chunk)).forEach((ws, k) => out[i + k] = ws);
  }
  return out;
}

function baseFeature(w: TokenWindow, exampleIndex: number, exampleId: string): QaFeature {
  return {
    inputIds: Int32Array.from(w.ids),
    tokenTypeIds: Int32Array.from(w.typeIds),
    attentionMask: Int32Array.from(w.attentionMask),
    exampleIndex,
    exampleId,
  };
}

// Python list indexing: negative indices count from the end; out of range raises.
function at<T>(xs: readonly T[], i: number): T {
  const j = i < 0 ? xs.length + i : i;
  if (j < 0 || j >= xs.length) throw new RangeError(`list index ${i} out of range`);
  return xs[j];
}

/**
 * run_qa.py's labelling of one window, step for step: the answer must lie inside the
 * window's context span, else both labels are the `[CLS]` index. The start walk moves right
 * while token starts are <= the answer start, so when the answer starts in the window's last
 * context token it runs over `[SEP]` and padding (offsets `[0, 0]`) to the last position,
 * exactly as run_qa.py does ("we could go after the last offset ... (edge case)").
 */
function label(w: TokenWindow, ex: QaExampleInput, clsId: number): [number, number] {
  const i = w.ids.indexOf(clsId);
  const cls = i >= 0 ? i : 0;
  if (ex.answers.answer_start.length === 0) return [cls, cls];
  const startChar = ex.answers.answer_start[0];
  const endChar = startChar + ex.answers.text[0].length;
  const off = w.offsets;
  let s = 0;
  while (at(w.sequenceIds, s) !== 1) s++;
  let e = w.ids.length - 1;
  while (at(w.sequenceIds, e) !== 1) e--;
  if (!(off[s][0] <= startChar && off[e][1] >= endChar)) return [cls, cls];
  while (s < off.length && off[s][0] <= startChar) s++;
  while (at(off, e)[1] >= endChar) e--;
  return [s - 1, e + 1];
}

/**
 * Training features, as run_qa.py's `prepare_train_features`: each example's windows
 * (question left-stripped, `truncation="only_second"`, `maxLength` 384, stride 128, padded),
 * labelled with the token span of the first answer when it lies fully inside the window's
 * context, else with the `[CLS]` index (0) for both.
 *
 * @param examples Examples; `answers.answer_start` indexes `context` in UTF-16 units.
 * @param tokenizer The tokenizer.
 * @param opts Window length, stride, padding, whether to keep offsets.
 * @returns One feature per window, in example order.
 * @throws When a question leaves no room for its context (as Hugging Face does).
 * @example
 * ```ts
 * import { BertTokenizer, prepareTrainFeatures } from "webgpu-bert";
 * const tok = BertTokenizer.fromVocabArray(
 *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "who", "bob", "ran"],
 *   { lowercase: true },
 * );
 * const [f] = await prepareTrainFeatures([{
 *   id: "1", question: "who ran", context: "bob ran",
 *   answers: { text: ["bob"], answer_start: [0] },
 * }], tok, { maxLength: 10 });
 * console.log(f.startPosition, f.endPosition); // 4 4
 * ```
 */
export async function prepareTrainFeatures(
  examples: readonly QaExampleInput[],
  tokenizer: TextTokenizer,
  opts: FeatureOptions = {},
): Promise<QaFeature[]> {
  const all = await windowsOf(examples, tokenizer, opts);
  const out: QaFeature[] = [];
  all.forEach((ws, k) => {
    const ex = examples[k];
    for (const w of ws) {
      const f = baseFeature(w, k, ex.id);
      [f.startPosition, f.endPosition] = label(w, ex, tokenizer.clsId);
      if (opts.keepOffsets) f.offsets = w.offsets;
      out.push(f);
    }
  });
  return out;
}

/**
 * Evaluation features, as run_qa.py's `prepare_validation_features`: the same windows as
 * {@linkcode prepareTrainFeatures}, each keeping its example id and the offsets of its
 * context tokens (null for question, special and pad tokens), for
 * {@linkcode postprocessQaPredictions}.
 *
 * @param examples Examples (answers are not read).
 * @param tokenizer The tokenizer.
 * @param opts Window length, stride, padding.
 * @returns One feature per window, in example order.
 * @throws When a question leaves no room for its context (as Hugging Face does).
 * @example
 * ```ts
 * import { BertTokenizer, prepareEvalFeatures } from "webgpu-bert";
 * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "who", "bob"], {
 *   lowercase: true,
 * });
 * const [f] = await prepareEvalFeatures([{
 *   id: "1", question: "who", context: "bob", answers: { text: [], answer_start: [] },
 * }], tok, { maxLength: 6 });
 * console.log(f.offsets); // [null, null, null, [0, 3], null, null]
 * ```
 */
export async function prepareEvalFeatures(
  examples: readonly QaExampleInput[],
  tokenizer: TextTokenizer,
  opts: FeatureOptions = {},
): Promise<QaFeature[]> {
  const all = await windowsOf(examples, tokenizer, opts);
  const out: QaFeature[] = [];
  all.forEach((ws, k) => {
    for (const w of ws) {
      const f = baseFeature(w, k, examples[k].id);
      f.offsets = w.offsets.map((o, i) => (w.sequenceIds[i] === 1 ? o : null));
      out.push(f);
    }
  });
  return out;
}
