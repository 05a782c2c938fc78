// What every tokenizer here shares: the TokenWindow shapes, and the one place that turns each
// text's tokens into `[CLS] A [SEP] B [SEP]` windows the way Hugging Face's fast tokenizers do
// (`truncation="only_second"`, a stride, `return_overflowing_tokens`: `Encoding::truncate`
// followed by the post-processor's template). A tokenizer only has to segment one text into
// tokens with offsets; the windows, type ids and padding come from here.

import type { Files } from "../io/files.ts";

/** A `[start, end)` character span in UTF-16 units of the string it came from. */
export type Offset = [number, number];

/** One encoded sequence or question/context window, as the fast tokenizers return it. */
export interface TokenWindow {
  /** Token ids. */
  ids: number[];
  /** Token strings (`##` marks a word continuation). */
  tokens: string[];
  /** Segment ids: 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`, 0 for padding. */
  typeIds: number[];
  /** 1 for tokens, 0 for padding. */
  attentionMask: number[];
  /** Spans in the original strings (UTF-16 units); `[0, 0]` for special and pad tokens. */
  offsets: Offset[];
  /** Which input each token came from: 0, 1, or null for special and pad tokens. */
  sequenceIds: (0 | 1 | null)[];
}

/** Options of {@linkcode TextTokenizer.encode}. */
export interface EncodeOptions {
  /** Add `[CLS]` and `[SEP]` (default true). */
  addSpecialTokens?: boolean;
  /** Cut the sequence to this many tokens, special tokens included; the rest is dropped. */
  maxLength?: number;
  /** `"max_length"` pads with `[PAD]` up to `maxLength`. */
  padding?: "max_length" | false;
}

/** Options of {@linkcode TextTokenizer.encodePair}. */
export interface PairOptions {
  /** Window length in tokens, special tokens included; no truncation when absent. */
  maxLength?: number;
  /** Tokens of context shared by consecutive windows (default 0). */
  stride?: number;
  /** Only the context is ever cut (the only strategy supported). */
  truncation?: "only_second";
  /** Return every window (default true); false returns the first only. */
  returnOverflowing?: boolean;
  /** `"max_length"` pads every window with `[PAD]` up to `maxLength`. */
  padding?: "max_length" | false;
}

/**
 * What the QA and classification code needs of a tokenizer: BERT-style special tokens,
 * single sequences and question/context windows with offsets, decoding and saving. A
 * WordPiece `BertTokenizer` or `WordPieceTokenizer` and a SentencePiece
 * `SentencePieceTokenizer` (KoBERT's) each are one.
 */
export interface TextTokenizer {
  /** Id of `[CLS]`. */
  readonly clsId: number;
  /** Id of `[SEP]`. */
  readonly sepId: number;
  /** Id of `[PAD]`. */
  readonly padId: number;
  /** Id of `[UNK]`. */
  readonly unkId: number;
  /** Number of tokens in the vocab. */
  readonly vocabSize: number;
  /** Id of a token, or null when it is not in the vocab. */
  tokenToId(token: string): number | null;
  /** The token of an id, or null when out of range. */
  idToToken(id: number): string | null;
  /** `[CLS] text [SEP]`, truncated and padded as asked. */
  encode(text: string, opts?: EncodeOptions): Promise<TokenWindow>;
  /** `[CLS] question [SEP] context [SEP]` windows over the context. */
  encodePair(question: string, context: string, opts?: PairOptions): Promise<TokenWindow[]>;
  /** Ids back to text. */
  decode(ids: readonly number[], skipSpecialTokens?: boolean): Promise<string>;
  /** Writes the tokenizer's files into a model directory (on disk, or into `files`). */
  save(dir: string, files?: Files): Promise<void>;
  /** The names of the files {@linkcode TextTokenizer.save} writes. */
  readonly savedFiles: readonly string[];
}

/** One text's tokens, without special tokens. */
export interface TokenSequence {
  /** Token ids. */
  ids: number[];
  /** Token strings. */
  tokens: string[];
  /** Each token's span of the text, in UTF-16 units. */
  offsets: Offset[];
}

/**
 * One piece of a post-processor template (Hugging Face's `TemplateProcessing`): special
 * tokens, or the first (`sequence` 0) or second (`sequence` 1) text, with its type id.
 */
export type TemplatePiece =
  | { ids: number[]; tokens: string[]; typeId: number }
  | { sequence: 0 | 1; typeId: number };

/** How single texts and pairs are wrapped in special tokens. */
export interface Template {
  /** E.g. `[CLS] $A [SEP]`. */
  single: TemplatePiece[];
  /** E.g. `[CLS] $A [SEP] $B:1 [SEP]:1`. */
  pair: TemplatePiece[];
}

/** What the windows need besides the template: the pad token and a name for messages. */
export interface WindowSpec {
  /** The template. */
  template: Template;
  /** Id of the pad token. */
  padId: number;
  /** The pad token. */
  padToken: string;
  /** The tokenizer's class name, which prefixes its error messages. */
  name: string;
}

/**
 * `[CLS] [SEP] [SEP]`-style template for BERT: `[CLS] $A [SEP]` and
 * `[CLS] $A [SEP] $B:1 [SEP]:1`.
 *
 * @example
 * ```ts
 * import { bertTemplate } from "webgpu-bert";
 * console.log(bertTemplate(101, 102).pair.length); // 5
 * ```
 */
export function bertTemplate(clsId: number, sepId: number, cls = "[CLS]", sep = "[SEP]"): Template {
  const special = (id: number, token: string, typeId: number): TemplatePiece => ({
    ids: [id],
    tokens: [token],
    typeId,
  });
  return {
    single: [special(clsId, cls, 0), { sequence: 0, typeId: 0 }, special(sepId, sep, 0)],
    pair: [
      special(clsId, cls, 0),
      { sequence: 0, typeId: 0 },
      special(sepId, sep, 0),
      { sequence: 1, typeId: 1 },
      special(sepId, sep, 1),
    ],
  };
}

/** Number of special tokens a template adds. */
function added(pieces: readonly TemplatePiece[]): number {
  return pieces.reduce((n, p) => n + ("ids" in p ? p.ids.length : 0), 0);
}

/** The template filled with the texts' tokens, as the post-processor joins encodings. */
function applyTemplate(pieces: readonly TemplatePiece[], seqs: TokenSequence[]): TokenWindow {
  const w: TokenWindow = {
    ids: [],
    tokens: [],
    typeIds: [],
    attentionMask: [],
    offsets: [],
    sequenceIds: [],
  };
  for (const p of pieces) {
    if ("ids" in p) {
      p.ids.forEach((id, i) => {
        w.ids.push(id);
        w.tokens.push(p.tokens[i]);
        w.typeIds.push(p.typeId);
        w.attentionMask.push(1);
        w.offsets.push([0, 0]);
        w.sequenceIds.push(null);
      });
      continue;
    }
    const s = seqs[p.sequence];
    for (let i = 0; i < s.ids.length; i++) {
      w.ids.push(s.ids[i]);
      w.tokens.push(s.tokens[i]);
      w.typeIds.push(p.typeId);
      w.attentionMask.push(1);
      w.offsets.push([s.offsets[i][0], s.offsets[i][1]]);
      w.sequenceIds.push(p.sequence);
    }
  }
  return w;
}

function slice(s: TokenSequence, from: number, to: number): TokenSequence {
  return {
    ids: s.ids.slice(from, to),
    tokens: s.tokens.slice(from, to),
    offsets: s.offsets.slice(from, to),
  };
}

/**
 * Pads a window with the pad token up to `maxLength` (type id 0, mask 0, offsets `[0, 0]`).
 *
 * @example
 * ```ts
 * import { bertTemplate, padWindow } from "webgpu-bert";
 * const spec = { template: bertTemplate(2, 3), padId: 0, padToken: "[PAD]", name: "Demo" };
 * const w = { ids: [2, 3], tokens: ["[CLS]", "[SEP]"], typeIds: [0, 0], attentionMask: [1, 1],
 *   offsets: [[0, 0], [0, 0]] as [number, number][], sequenceIds: [null, null] };
 * console.log(padWindow(spec, w, 3).ids); // [2, 3, 0]
 * ```
 */
export function padWindow(
  spec: WindowSpec,
  w: TokenWindow,
  maxLength: number | undefined,
): TokenWindow {
  if (maxLength === undefined) throw new Error(`${spec.name}: padding needs maxLength`);
  const n = maxLength - w.ids.length;
  if (n <= 0) return w;
  const fill = <T>(xs: T[], v: () => T) => xs.concat(Array.from({ length: n }, v));
  return {
    ids: fill(w.ids, () => spec.padId),
    tokens: fill(w.tokens, () => spec.padToken),
    typeIds: fill(w.typeIds, () => 0),
    attentionMask: fill(w.attentionMask, () => 0),
    offsets: fill(w.offsets, (): Offset => [0, 0]),
    sequenceIds: fill(w.sequenceIds, () => null),
  };
}

/**
 * One text as `[CLS] text [SEP]` (or bare with `addSpecialTokens: false`), its tokens cut
 * from the end to fit `maxLength`, padded as asked.
 *
 * @example
 * ```ts
 * import { bertTemplate, singleWindow } from "webgpu-bert";
 * const spec = { template: bertTemplate(2, 3), padId: 0, padToken: "[PAD]", name: "Demo" };
 * const seq = { ids: [7, 8], tokens: ["a", "b"], offsets: [[0, 1], [2, 3]] as [number, number][] };
 * console.log(singleWindow(spec, seq, { maxLength: 3 }).tokens); // ["[CLS]", "a", "[SEP]"]
 * ```
 */
export function singleWindow(
  spec: WindowSpec,
  seq: TokenSequence,
  opts: EncodeOptions = {},
): TokenWindow {
  const pieces: TemplatePiece[] = (opts.addSpecialTokens ?? true)
    ? spec.template.single
    : [{ sequence: 0, typeId: 0 }];
  let s = seq;
  if (opts.maxLength !== undefined) {
    const budget = opts.maxLength - added(pieces);
    if (budget < 0) throw new Error(`${spec.name}: maxLength ${opts.maxLength} is too small`);
    if (s.ids.length > budget) s = slice(s, 0, budget);
  }
  const w = applyTemplate(pieces, [s]);
  return opts.padding === "max_length" ? padWindow(spec, w, opts.maxLength) : w;
}

/**
 * `[CLS] question [SEP] context [SEP]` windows, cutting only the context as the fast
 * tokenizers do: the context budget is `maxLength` less the question's tokens and the
 * template's special tokens; window k holds the context tokens
 * `[k * (budget - stride), k * (budget - stride) + budget)`, and the last window is the first
 * that reaches the end.
 *
 * @param spec Template, pad token and name.
 * @param q The question's tokens (never cut).
 * @param c The context's tokens.
 * @param opts `maxLength`, `stride`, whether to return all windows, padding.
 * @returns The windows, in order.
 * @throws As Hugging Face does, when the question leaves no room for the context, or the
 * stride is not smaller than the context budget.
 * @example
 * ```ts
 * import { bertTemplate, pairWindows } from "webgpu-bert";
 * const spec = { template: bertTemplate(2, 3), padId: 0, padToken: "[PAD]", name: "Demo" };
 * const seq = (ids: number[]) => ({ ids, tokens: ids.map(String),
 *   offsets: ids.map((_, i): [number, number] => [i, i + 1]) });
 * const ws = pairWindows(spec, seq([9]), seq([5, 6, 7, 8]), { maxLength: 7, stride: 1 });
 * console.log(ws.map((w) => w.ids)); // [[2, 9, 3, 5, 6, 7, 3], [2, 9, 3, 7, 8, 3]]
 * ```
 */
export function pairWindows(
  spec: WindowSpec,
  q: TokenSequence,
  c: TokenSequence,
  opts: PairOptions = {},
): TokenWindow[] {
  if ((opts.truncation ?? "only_second") !== "only_second") {
    throw new Error(`${spec.name}: truncation ${opts.truncation} is not supported`);
  }
  const stride = opts.stride ?? 0;
  const pieces = spec.template.pair;
  const budget = opts.maxLength === undefined
    ? c.ids.length
    : opts.maxLength - added(pieces) - q.ids.length;
  let windows: TokenWindow[] = [];
  if (c.ids.length <= budget) windows.push(applyTemplate(pieces, [q, c]));
  else {
    // The messages are the Rust library's (it asserts on the stride, i.e. panics).
    if (budget <= 0) {
      throw new Error(
        "Truncation error: Sequence to truncate too short to respect the provided max_length",
      );
    }
    if (stride >= budget) {
      throw new Error(`\`stride\` must be strictly less than \`max_len=${budget}\``);
    }
    for (let s = 0;; s += budget - stride) {
      windows.push(applyTemplate(pieces, [q, slice(c, s, s + budget)]));
      if (s + budget >= c.ids.length) break;
    }
  }
  if (!(opts.returnOverflowing ?? true)) windows = windows.slice(0, 1);
  return opts.padding === "max_length"
    ? windows.map((w) => padWindow(spec, w, opts.maxLength))
    : windows;
}
