// BERT WordPiece tokenization in TypeScript, identical to Hugging Face's Rust `tokenizers`
// (ids, offsets and windows checked on every KorQuAD and SQuAD dev window in
// tests/text/wordpiece_test.ts): added tokens matched verbatim in the raw text, then
// BertNormalizer, BertPreTokenizer and greedy longest-match-first WordPiece. It imports no
// host API, so it runs in a browser; files go through the io seam.

import { type Files, hostFiles } from "../io/files.ts";
import { TokenizerError } from "../util/errors.ts";
import {
  type BertNormalizerConfig,
  normalizeBert,
  type NormalizedText,
  preTokenizeBert,
} from "./wordpiece_normalizer.ts";
import {
  bertTemplate,
  type EncodeOptions,
  type Offset,
  type PairOptions,
  pairWindows,
  singleWindow,
  type Template,
  type TemplatePiece,
  type TextTokenizer,
  type TokenSequence,
  type TokenWindow,
  type WindowSpec,
} from "./windows.ts";

/** How a WordPiece tokenizer is built from a bare vocab. */
export interface BertVocabOptions {
  /** Lowercase the text (bert-base-uncased: true; KoELECTRA: false). */
  lowercase: boolean;
  /** Strip accents after NFD; defaults to `lowercase`, as in Hugging Face. */
  stripAccents?: boolean;
  /** Put spaces around CJK ideographs (default true). */
  handleChineseChars?: boolean;
  /** Remove control characters and map whitespace to spaces (default true). */
  cleanText?: boolean;
}

/** A token matched verbatim in the raw text before normalization (`added_tokens`). */
export interface AddedToken {
  /** Its id. */
  id: number;
  /** Its text. */
  content: string;
  /** Also takes the whitespace on its left. */
  lstrip: boolean;
  /** Also takes the whitespace on its right. */
  rstrip: boolean;
  /** Dropped by `decode(ids, true)`. */
  special: boolean;
}

/** Everything a WordPiece tokenizer is: what `tokenizer.json` says, resolved. */
export interface WordPieceSpec {
  /** Token to id. */
  vocab: Map<string, number>;
  /** Tokens from the added tokens (special ones included). */
  added: AddedToken[];
  /** The unknown token. */
  unkToken: string;
  /** The continuation prefix (`##`). */
  prefix: string;
  /** Longer words (in code points) are one unknown token. */
  maxInputCharsPerWord: number;
  /** The BertNormalizer, or null when the file has no normalizer. */
  normalizer: BertNormalizerConfig | null;
  /** The special-token template. */
  template: Template;
  /** The WordPiece decoder (`cleanup`: Hugging Face's spacing fixes), or null: tokens joined by spaces. */
  decoder: { prefix: string; cleanup: boolean } | null;
}

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** A word's pieces: ids, tokens and each piece's `[start, end)` in the word's code points. */
interface WordPieces {
  ids: number[];
  tokens: string[];
  bounds: number[];
}

// deno-lint-ignore no-explicit-any -- a parsed JSON document, checked field by field.
type Json = any;

function fail(what: string): never {
  throw new Error(`WordPieceTokenizer: ${what}`);
}

function resolveConfig(opts: BertVocabOptions): BertNormalizerConfig {
  return {
    lowercase: opts.lowercase,
    stripAccents: opts.stripAccents ?? opts.lowercase,
    handleChineseChars: opts.handleChineseChars ?? true,
    cleanText: opts.cleanText ?? true,
  };
}

/**
 * The spec of a bare vocab (id = index; a repeated token keeps its last index, as when
 * reading a file): the BERT pipeline with `[CLS] A [SEP] B [SEP]` and type ids 0/1, the
 * specials present matched verbatim, as `BertTokenizerFast` builds it.
 *
 * @param tokens The vocab, in id order, or the text of a `vocab.txt` (one token a line; as
 * the Rust reader, each token's end is trimmed and a final newline adds no token).
 * @param opts Normalizer settings.
 * @returns The spec.
 * @throws If the vocab lacks `[CLS]`, `[SEP]`, `[PAD]` or `[UNK]`.
 * @example
 * ```ts
 * import { wordPieceSpecFromVocab } from "webgpu-bert";
 * const spec = wordPieceSpecFromVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], { lowercase: true });
 * console.log(spec.added.map((t) => t.content)); // ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
 * ```
 */
export function wordPieceSpecFromVocab(
  tokens: readonly string[] | string,
  opts: BertVocabOptions,
): WordPieceSpec {
  const vocab = new Map<string, number>();
  (typeof tokens === "string" ? vocabLines(tokens) : tokens).forEach((t, i) => vocab.set(t, i));
  for (const t of ["[CLS]", "[SEP]", "[PAD]", "[UNK]"]) if (!vocab.has(t)) fail(`vocab lacks ${t}`);
  return {
    vocab,
    added: SPECIALS.filter((t) => vocab.has(t)).map((content) => ({
      id: vocab.get(content)!,
      content,
      lstrip: false,
      rstrip: false,
      special: true,
    })),
    unkToken: "[UNK]",
    prefix: "##",
    maxInputCharsPerWord: 100,
    normalizer: resolveConfig(opts),
    template: bertTemplate(vocab.get("[CLS]")!, vocab.get("[SEP]")!),
    decoder: { prefix: "##", cleanup: true },
  };
}

/** A `vocab.txt` as the Rust reader splits it: lines, each token's end trimmed, no final empty. */
function vocabLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((l) => l.trimEnd());
}

function parseTemplate(post: Json): Template {
  if (post === null || post === undefined) {
    return {
      single: [{ sequence: 0, typeId: 0 }],
      pair: [{ sequence: 0, typeId: 0 }, {
        sequence: 1,
        typeId: 1,
      }],
    };
  }
  if (post.type === "BertProcessing") {
    return bertTemplate(post.cls[1], post.sep[1], post.cls[0], post.sep[0]);
  }
  if (post.type !== "TemplateProcessing") fail(`post_processor ${post.type} is not supported`);
  const pieces = (side: Json[]): TemplatePiece[] =>
    side.map((p: Json): TemplatePiece => {
      if (p.Sequence) {
        return { sequence: p.Sequence.id === "B" ? 1 : 0, typeId: p.Sequence.type_id };
      }
      const s = post.special_tokens?.[p.SpecialToken?.id];
      if (!s) fail(`template token ${JSON.stringify(p.SpecialToken?.id)} is not defined`);
      return { ids: [...s.ids], tokens: [...s.tokens], typeId: p.SpecialToken.type_id };
    });
  return { single: pieces(post.single), pair: pieces(post.pair) };
}

/**
 * The spec of a Hugging Face `tokenizer.json` with a WordPiece model, BertNormalizer (or none),
 * BertPreTokenizer, TemplateProcessing or BertProcessing (or none) and a WordPiece decoder (or
 * none). Anything else is refused rather than tokenized differently.
 *
 * @param json The file's text or its parsed object.
 * @returns The spec.
 * @throws On invalid JSON, an unsupported component, or a vocab without `[CLS]`, `[SEP]`,
 * `[PAD]`, `[UNK]`.
 * @example
 * ```ts
 * import { wordPieceSpecFromJson } from "webgpu-bert";
 * const spec = wordPieceSpecFromJson({
 *   model: { type: "WordPiece", unk_token: "[UNK]", vocab: { "[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3 } },
 *   normalizer: { type: "BertNormalizer", lowercase: true },
 *   pre_tokenizer: { type: "BertPreTokenizer" },
 * });
 * console.log(spec.normalizer?.stripAccents, spec.template.pair.length); // true 2
 * ```
 */
export function wordPieceSpecFromJson(json: string | object): WordPieceSpec {
  const j: Json = typeof json === "string" ? JSON.parse(json) : json;
  const m = j?.model;
  if (!m || typeof m !== "object") fail("no model");
  if ((m.type ?? "WordPiece") !== "WordPiece") fail(`a ${m.type} model, not WordPiece`);
  if (!m.vocab || typeof m.vocab !== "object") fail("the WordPiece model has no vocab");
  const vocab = new Map<string, number>(Object.entries(m.vocab as Record<string, number>));
  const n = j.normalizer;
  if (n && n.type !== "BertNormalizer") fail(`normalizer ${n.type} is not supported`);
  const lowercase = n ? n.lowercase !== false : false;
  const pre = j.pre_tokenizer;
  if (pre?.type !== "BertPreTokenizer") {
    fail(`pre_tokenizer ${pre?.type ?? "null"} is not supported`);
  }
  const added: AddedToken[] = (j.added_tokens ?? []).map((t: Json): AddedToken => {
    if (t.single_word) fail(`added token ${JSON.stringify(t.content)} is single_word`);
    if (t.normalized) fail(`added token ${JSON.stringify(t.content)} matches normalized text`);
    return {
      id: t.id,
      content: t.content,
      lstrip: !!t.lstrip,
      rstrip: !!t.rstrip,
      special: !!t.special,
    };
  });
  const ids = new Map(vocab);
  for (const t of added) ids.set(t.content, t.id);
  for (const t of ["[CLS]", "[SEP]", "[PAD]", "[UNK]"]) if (!ids.has(t)) fail(`vocab lacks ${t}`);
  const d = j.decoder;
  if (d && d.type !== "WordPiece") fail(`decoder ${d.type} is not supported`);
  return {
    vocab,
    added,
    unkToken: m.unk_token ?? "[UNK]",
    prefix: m.continuing_subword_prefix ?? "##",
    maxInputCharsPerWord: m.max_input_chars_per_word ?? 100,
    normalizer: n
      ? {
        lowercase,
        stripAccents: n.strip_accents ?? lowercase,
        handleChineseChars: n.handle_chinese_chars !== false,
        cleanText: n.clean_text !== false,
      }
      : null,
    template: parseTemplate(j.post_processor),
    decoder: d ? { prefix: d.prefix ?? "##", cleanup: d.cleanup !== false } : null,
  };
}

/** The spec as a Hugging Face `tokenizer.json` document. */
function specJson(s: WordPieceSpec): object {
  const name = (p: { tokens: string[] }) => p.tokens.join(" ");
  const side = (pieces: TemplatePiece[]) =>
    pieces.map((p) =>
      "ids" in p
        ? { SpecialToken: { id: name(p), type_id: p.typeId } }
        : { Sequence: { id: p.sequence ? "B" : "A", type_id: p.typeId } }
    );
  const specials: Record<string, object> = {};
  for (const p of [...s.template.single, ...s.template.pair]) {
    if ("ids" in p) specials[name(p)] = { id: name(p), ids: p.ids, tokens: p.tokens };
  }
  const n = s.normalizer;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: s.added.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: false,
      lstrip: t.lstrip,
      rstrip: t.rstrip,
      normalized: false,
      special: t.special,
    })),
    normalizer: n
      ? {
        type: "BertNormalizer",
        clean_text: n.cleanText,
        handle_chinese_chars: n.handleChineseChars,
        strip_accents: n.stripAccents,
        lowercase: n.lowercase,
      }
      : null,
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: side(s.template.single),
      pair: side(s.template.pair),
      special_tokens: specials,
    },
    decoder: s.decoder ? { type: "WordPiece", ...s.decoder } : null,
    model: {
      type: "WordPiece",
      unk_token: s.unkToken,
      continuing_subword_prefix: s.prefix,
      max_input_chars_per_word: s.maxInputCharsPerWord,
      vocab: Object.fromEntries(s.vocab),
    },
  };
}

const NO_NORMALIZER: BertNormalizerConfig = {
  lowercase: false,
  stripAccents: false,
  handleChineseChars: false,
  cleanText: false,
};

/** Hugging Face's WordPiece decoder cleanup, applied to each token as the Rust decoder does. */
function cleanup(s: string): string {
  return s.replaceAll(" .", ".").replaceAll(" ?", "?").replaceAll(" !", "!")
    .replaceAll(" ,", ",").replaceAll(" ' ", "'").replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m").replaceAll(" do not", " don't").replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

const isSpace = (ch: string | undefined) => ch !== undefined && /^\p{White_Space}$/u.test(ch);

/**
 * A BERT WordPiece tokenizer in TypeScript with the ids, offsets (UTF-16 units of the original
 * text) and stride windows of Hugging Face's Rust `tokenizers` (`BertTokenizerFast`). It
 * reads a `tokenizer.json` or a `vocab.txt` from memory (what a page fetches or a user picks)
 * or from a file, and runs wherever JavaScript does.
 *
 * @example
 * ```ts
 * import { WordPieceTokenizer } from "webgpu-bert";
 * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\nwho\nis\nalice\n##s\n", {
 *   lowercase: true,
 * });
 * const [w] = await tok.encodePair("Who is", "Alices", { maxLength: 16 });
 * console.log(w.tokens, w.typeIds); // ["[CLS]", "who", "is", "[SEP]", "alice", "##s", "[SEP]"] [0, 0, 0, 0, 1, 1, 1]
 * ```
 */
export class WordPieceTokenizer implements TextTokenizer {
  readonly #spec: WordPieceSpec;
  readonly #window: WindowSpec;
  readonly #byId: (string | undefined)[] = [];
  readonly #addedById = new Map<number, AddedToken>();
  readonly #addedByChar = new Map<string, AddedToken[]>();
  readonly #maxTokenChars: number;
  readonly #words = new Map<string, WordPieces>();
  readonly #unkId: number;
  /** Id of `[CLS]`. */
  readonly clsId: number;
  /** Id of `[SEP]`. */
  readonly sepId: number;
  /** Id of `[PAD]`. */
  readonly padId: number;
  /** Id of `[UNK]`. */
  readonly unkId: number;
  /** The files {@linkcode WordPieceTokenizer.save} writes. */
  readonly savedFiles: readonly string[] = [
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
  ];

  /** A tokenizer of a spec (see {@linkcode wordPieceSpecFromJson}). */
  constructor(spec: WordPieceSpec, name = "WordPieceTokenizer") {
    this.#spec = spec;
    let longest = 0;
    for (const [t, i] of spec.vocab) {
      this.#byId[i] = t;
      longest = Math.max(longest, [...t].length);
    }
    this.#maxTokenChars = longest;
    for (const t of spec.added) {
      this.#addedById.set(t.id, t);
      const first = String.fromCodePoint(t.content.codePointAt(0)!);
      if (t.content !== "") {
        this.#addedByChar.set(first, [...(this.#addedByChar.get(first) ?? []), t]);
      }
    }
    const id = (t: string) => this.tokenToId(t) ?? fail(`vocab lacks ${t}`);
    const unk = spec.vocab.get(spec.unkToken);
    if (unk === undefined) fail(`vocab lacks the unknown token ${spec.unkToken}`);
    this.#unkId = unk;
    this.clsId = id("[CLS]");
    this.sepId = id("[SEP]");
    this.padId = id("[PAD]");
    this.unkId = id("[UNK]");
    this.#window = { template: spec.template, padId: this.padId, padToken: "[PAD]", name };
  }

  /**
   * Reads a Hugging Face `tokenizer.json` (see {@linkcode wordPieceSpecFromJson}).
   *
   * @param json The file's text or its parsed object.
   * @returns The tokenizer.
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const a = WordPieceTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi"], {
   *   lowercase: true,
   * });
   * const b = WordPieceTokenizer.fromJSON(a.toJSON());
   * console.log((await b.encode("Hi")).ids); // [2, 4, 3]
   * ```
   */
  static fromJSON(json: string | object): WordPieceTokenizer {
    return new WordPieceTokenizer(wordPieceSpecFromJson(json));
  }

  /**
   * The BERT pipeline over a vocab held in memory (see {@linkcode wordPieceSpecFromVocab}).
   *
   * @param tokens The vocab, in id order.
   * @param opts Normalizer settings.
   * @returns The tokenizer.
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const tok = WordPieceTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "서울"], {
   *   lowercase: false,
   * });
   * console.log(tok.tokenize("서울").tokens); // ["서울"]
   * ```
   */
  static fromVocabArray(tokens: readonly string[], opts: BertVocabOptions): WordPieceTokenizer {
    return new WordPieceTokenizer(wordPieceSpecFromVocab(tokens, opts));
  }

  /**
   * {@linkcode WordPieceTokenizer.fromVocabArray} over the text of a `vocab.txt` (one token a
   * line, id = line number).
   *
   * @param text The file's text.
   * @param opts Normalizer settings.
   * @returns The tokenizer.
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const tok = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\n", { lowercase: true });
   * console.log(tok.vocabSize); // 4
   * ```
   */
  static fromVocabText(text: string, opts: BertVocabOptions): WordPieceTokenizer {
    return new WordPieceTokenizer(wordPieceSpecFromVocab(text, opts));
  }

  /**
   * Reads a `tokenizer.json` file, or a `vocab.txt` when `vocab` options are given.
   *
   * @param path The file.
   * @param vocab Normalizer settings, which make `path` a `vocab.txt`.
   * @param files The file system (default: the host's).
   * @returns The tokenizer.
   * @throws {TokenizerError} Naming the file, when it cannot be read or used.
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const path = await Deno.makeTempFile({ suffix: ".txt" });
   * await Deno.writeTextFile(path, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\n");
   * const tok = await WordPieceTokenizer.fromPath(path, { lowercase: true });
   * console.log(tok.tokenToId("hi")); // 4
   * ```
   */
  static async fromPath(
    path: string,
    vocab?: BertVocabOptions,
    files?: Files,
  ): Promise<WordPieceTokenizer> {
    let text: string;
    try {
      text = new TextDecoder().decode(await (files ?? await hostFiles()).readFile(path));
    } catch (e) {
      throw new TokenizerError(path, `cannot read (${(e as Error).message})`);
    }
    try {
      return vocab
        ? WordPieceTokenizer.fromVocabText(text, vocab)
        : WordPieceTokenizer.fromJSON(text);
    } catch (e) {
      throw new TokenizerError(path, tokenizerProblem(e));
    }
  }

  /** The normalizer settings (all false when the tokenizer has no normalizer). */
  get config(): Readonly<BertNormalizerConfig> {
    return this.#spec.normalizer ?? NO_NORMALIZER;
  }

  /** Number of tokens in the vocab, added tokens included. */
  get vocabSize(): number {
    let n = this.#spec.vocab.size;
    for (const t of this.#spec.added) if (!this.#spec.vocab.has(t.content)) n++;
    return n;
  }

  /** Id of a token, or null when it is not in the vocab. */
  tokenToId(token: string): number | null {
    for (const t of this.#spec.added) if (t.content === token) return t.id;
    return this.#spec.vocab.get(token) ?? null;
  }

  /** The token of an id, or null when out of range. */
  idToToken(id: number): string | null {
    return this.#addedById.get(id)?.content ?? this.#byId[id] ?? null;
  }

  /**
   * Tokenizes one text without special tokens: added tokens matched verbatim, the rest
   * normalized, split into words and WordPiece'd.
   *
   * @param text The text.
   * @returns Ids, tokens and offsets into `text` (UTF-16 units).
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const tok = WordPieceTokenizer.fromVocabArray(
   *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cafe", "##s"],
   *   { lowercase: true },
   * );
   * const s = tok.tokenize("Cafés [MASK]");
   * console.log(s.tokens, s.offsets); // ["cafe", "##s", "[MASK]"] [[0, 4], [4, 5], [6, 12]]
   * ```
   */
  tokenize(text: string): TokenSequence {
    const out: TokenSequence = { ids: [], tokens: [], offsets: [] };
    let from = 0;
    for (let i = 0; i < text.length;) {
      const m = this.#addedAt(text, i);
      if (!m) {
        i++;
        continue;
      }
      let [s, e] = m;
      if (m[2].lstrip) { while (s > from && isSpace(text[s - 1])) s--; }
      if (m[2].rstrip) { while (e < text.length && isSpace(text[e])) e++; }
      this.#tokenizePlain(text, from, s, out);
      out.ids.push(m[2].id);
      out.tokens.push(m[2].content);
      out.offsets.push([s, e]);
      from = i = e;
    }
    this.#tokenizePlain(text, from, text.length, out);
    return out;
  }

  /**
   * Tokenizes one sequence.
   *
   * @param text The text.
   * @param opts Special tokens (default on), truncation to `maxLength`, padding.
   * @returns The encoding; offsets index `text` in UTF-16 units.
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const tok = WordPieceTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi"], {
   *   lowercase: true,
   * });
   * console.log((await tok.encode("hi 😀", { addSpecialTokens: false })).offsets); // [[0, 2], [3, 5]]
   * ```
   */
  async encode(text: string, opts: EncodeOptions = {}): Promise<TokenWindow> {
    return singleWindow(this.#window, await this.segment(text), opts);
  }

  /**
   * Tokenizes a question/context pair as `[CLS] question [SEP] context [SEP]`, cutting only
   * the context into overlapping windows exactly as the fast tokenizers do (see
   * {@linkcode pairWindows}).
   *
   * @param question The first sequence (never cut).
   * @param context The second sequence.
   * @param opts `maxLength`, `stride`, whether to return all windows, padding.
   * @returns The windows, in order; offsets index each original string in UTF-16 units.
   * @throws As Hugging Face does, when the question leaves no room for the context, or the
   * stride is not smaller than the context budget.
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const tok = WordPieceTokenizer.fromVocabArray(
   *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "q", "a", "b", "c", "d", "e"],
   *   { lowercase: true },
   * );
   * const ws = await tok.encodePair("q", "a b c d e", { maxLength: 7, stride: 1 });
   * console.log(ws.map((w) => w.tokens.join(" ")));
   * // ["[CLS] q [SEP] a b c [SEP]", "[CLS] q [SEP] c d e [SEP]"]
   * ```
   */
  async encodePair(
    question: string,
    context: string,
    opts: PairOptions = {},
  ): Promise<TokenWindow[]> {
    const [q, c] = await Promise.all([this.segment(question), this.segment(context)]);
    return pairWindows(this.#window, q, c, opts);
  }

  /**
   * Turns ids back into text as the WordPiece decoder does (`##` pieces joined, other tokens
   * after a space, Hugging Face's cleanup of spaces before punctuation and contractions).
   *
   * @param ids Token ids (unknown ids are skipped).
   * @param skipSpecialTokens Drop `[CLS]`, `[SEP]`, `[PAD]`... (default true).
   * @returns The text (lowercased if the tokenizer lowercases).
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const tok = WordPieceTokenizer.fromVocabArray(
   *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi", "##s", "."],
   *   { lowercase: true },
   * );
   * console.log(await tok.decode([2, 4, 5, 6, 3])); // "his."
   * ```
   */
  // deno-lint-ignore require-await -- async as the interface (and the native binding) is.
  async decode(ids: readonly number[], skipSpecialTokens = true): Promise<string> {
    const tokens: string[] = [];
    for (const id of ids) {
      const t = this.idToToken(id);
      if (t === null || (skipSpecialTokens && this.#addedById.get(id)?.special)) continue;
      tokens.push(t);
    }
    const d = this.#spec.decoder;
    if (!d) return tokens.join(" ");
    return tokens.map((t, i) => {
      const s = i === 0 ? t : t.startsWith(d.prefix) ? t.replace(d.prefix, "") : ` ${t}`;
      return d.cleanup ? cleanup(s) : s;
    }).join("");
  }

  /**
   * The tokenizer as a Hugging Face `tokenizer.json` text, which
   * {@linkcode WordPieceTokenizer.fromJSON} and the Rust library read back identical.
   *
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const tok = WordPieceTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], {
   *   lowercase: true,
   * });
   * console.log(JSON.parse(tok.toJSON()).model.type); // WordPiece
   * ```
   */
  toJSON(): string {
    return JSON.stringify(specJson(this.#spec), null, 2);
  }

  /**
   * Writes `tokenizer.json`, `vocab.txt`, `tokenizer_config.json` (with `do_lower_case`) and
   * `special_tokens_map.json` into `dir` (created if needed), so that Hugging Face
   * `AutoTokenizer.from_pretrained(dir)` loads an identical tokenizer.
   *
   * @param dir Output directory.
   * @param files The file system (default: the host's).
   * @example
   * ```ts
   * import { WordPieceTokenizer } from "webgpu-bert";
   * const tok = WordPieceTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], {
   *   lowercase: false,
   * });
   * await tok.save(await Deno.makeTempDir());
   * ```
   */
  async save(dir: string, files?: Files): Promise<void> {
    const fs = files ?? await hostFiles();
    await fs.mkdir(dir);
    const text = (name: string, s: string) =>
      fs.writeAtomic(`${dir}/${name}`, new TextEncoder().encode(s));
    await text("tokenizer.json", this.toJSON());
    const byId = Array.from({ length: this.#byId.length }, (_, i) => this.#byId[i] ?? "");
    await text("vocab.txt", byId.join("\n") + "\n");
    const specials = {
      unk_token: "[UNK]",
      sep_token: "[SEP]",
      pad_token: "[PAD]",
      cls_token: "[CLS]",
      mask_token: "[MASK]",
    };
    const c = this.config;
    const config = {
      tokenizer_class: "BertTokenizer",
      do_lower_case: c.lowercase,
      strip_accents: c.stripAccents,
      tokenize_chinese_chars: c.handleChineseChars,
      clean_up_tokenization_spaces: true,
      model_max_length: 512,
      ...specials,
    };
    await text("tokenizer_config.json", JSON.stringify(config, null, 2) + "\n");
    await text("special_tokens_map.json", JSON.stringify(specials, null, 2) + "\n");
  }

  /**
   * One text's tokens, as {@linkcode WordPieceTokenizer.tokenize}; the step a subclass may
   * hand to another engine (the native binding) while the windows stay these.
   */
  protected segment(text: string): Promise<TokenSequence> {
    return Promise.resolve(this.tokenize(text));
  }

  /** The leftmost-longest added token starting at `i`: its span and the token. */
  #addedAt(text: string, i: number): [number, number, AddedToken] | null {
    const cp = text.codePointAt(i)!;
    const cands = this.#addedByChar.get(String.fromCodePoint(cp));
    if (!cands) return null;
    let best: AddedToken | null = null;
    for (const t of cands) {
      if (text.startsWith(t.content, i) && (!best || t.content.length > best.content.length)) {
        best = t;
      }
    }
    return best ? [i, i + best.content.length, best] : null;
  }

  #tokenizePlain(text: string, from: number, to: number, out: TokenSequence): void {
    if (from >= to) return;
    const norm: NormalizedText = { chars: [], starts: [], ends: [] };
    if (this.#spec.normalizer) normalizeBert(text, from, to, this.#spec.normalizer, norm);
    else normalizeBert(text, from, to, NO_NORMALIZER, norm);
    for (const [a, b] of preTokenizeBert(norm.chars)) {
      const p = this.#wordPieces(norm.chars, a, b);
      for (let k = 0; k < p.ids.length; k++) {
        out.ids.push(p.ids[k]);
        out.tokens.push(p.tokens[k]);
        const o: Offset = [
          norm.starts[a + p.bounds[2 * k]],
          norm.ends[a + p.bounds[2 * k + 1] - 1],
        ];
        out.offsets.push(o);
      }
    }
  }

  /** Greedy longest-match-first over the word `chars[a, b)`, cached by word. */
  #wordPieces(chars: readonly string[], a: number, b: number): WordPieces {
    const word = b - a === 1 ? chars[a] : chars.slice(a, b).join("");
    const hit = this.#words.get(word);
    if (hit) return hit;
    const n = b - a;
    const s = this.#spec;
    const unk: WordPieces = { ids: [this.#unkId], tokens: [s.unkToken], bounds: [0, n] };
    let result = unk;
    if (n <= s.maxInputCharsPerWord) {
      // UTF-16 position of each code point in `word`.
      const pos = [0];
      for (let i = a; i < b; i++) pos.push(pos.at(-1)! + chars[i].length);
      const p: WordPieces = { ids: [], tokens: [], bounds: [] };
      let start = 0;
      while (start < n) {
        let end = Math.min(n, start + this.#maxTokenChars);
        let found = -1;
        let token = "";
        for (; end > start; end--) {
          token = (start > 0 ? s.prefix : "") + word.slice(pos[start], pos[end]);
          const id = s.vocab.get(token);
          if (id !== undefined) {
            found = id;
            break;
          }
        }
        if (found < 0) break;
        p.ids.push(found);
        p.tokens.push(token);
        p.bounds.push(start, end);
        start = end;
      }
      if (start === n) result = p;
    }
    if (this.#words.size >= 1 << 16) this.#words.clear();
    this.#words.set(word, result);
    return result;
  }
}

/**
 * A load failure's message without the class prefix, for a {@linkcode TokenizerError}.
 *
 * @example
 * ```ts
 * import { tokenizerProblem } from "webgpu-bert";
 * console.log(tokenizerProblem(new Error("WordPieceTokenizer: vocab lacks [CLS]"))); // vocab lacks [CLS]
 * ```
 */
export function tokenizerProblem(e: unknown): string {
  if (e instanceof SyntaxError) return `invalid JSON (${e.message.split("\n")[0]})`;
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0].replace(/^\w*Tokenizer: /, "");
}
