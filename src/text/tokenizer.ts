// deno-lint-ignore-file no-import-prefix -- a pinned npm: specifier (also in deno.json's
// imports) so that mod.ts loads from other projects, whose import maps do not have ours.
// BERT WordPiece tokenization on Hugging Face's Rust `tokenizers` (its Node binding), with the
// question/context windowing of the fast tokenizers (`truncation="only_second"`, a stride and
// `return_overflowing_tokens`). Two binding facts shape this file:
// - tokenizers 0.23.1+ stops tokenizing a sequence once `max_length` tokens exist whenever the
//   tokenizer has truncation set (huggingface/tokenizers#2091), which silently loses overflow
//   windows. So the tokenizer never has truncation set here: a pair that fits is encoded as
//   is; otherwise the question and the context (as the second of a pair, for its type ids) are
//   encoded whole, the context is cut by the library's own `Encoding.truncate` (the call its
//   truncation makes) and the windows are joined by the library's post-processor.
// - Offsets come back in code points (Python's string indices); JS strings index UTF-16 units,
//   so offsets are converted wherever a string holds characters outside the BMP.

import {
  bertNormalizer,
  bertPreTokenizer,
  type Encoding,
  templateProcessing,
  Tokenizer,
  WordPiece,
  wordPieceDecoder,
} from "npm:tokenizers@0.23.2";
import { TokenizerError } from "../util/errors.ts";
import { replaceFileAtomic, writeFileAtomic } from "../io/atomic.ts";

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

/** How {@linkcode BertTokenizer.fromVocab} builds the BERT pipeline. */
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

/** Options of {@linkcode BertTokenizer.encode}. */
export interface EncodeOptions {
  /** Add `[CLS]` and `[SEP]` (default true). */
  addSpecialTokens?: boolean;
  /** Cut the sequence to this many tokens, special tokens included; the rest is dropped. */
  maxLength?: number;
  /** `"max_length"` pads with `[PAD]` up to `maxLength`. */
  padding?: "max_length" | false;
}

/** Options of {@linkcode BertTokenizer.encodePair}. */
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

/** The normalizer settings of a {@linkcode BertTokenizer}, all resolved. */
export interface BertNormalizerConfig {
  /** Lowercase the text. */
  lowercase: boolean;
  /** Strip accents after NFD. */
  stripAccents: boolean;
  /** Put spaces around CJK ideographs. */
  handleChineseChars: boolean;
  /** Remove control characters and map whitespace to spaces. */
  cleanText: boolean;
}

/**
 * What the QA and classification code needs of a tokenizer: BERT-style special tokens,
 * single sequences and question/context windows with offsets, decoding and saving. A
 * WordPiece {@linkcode BertTokenizer} and a SentencePiece `SentencePieceTokenizer` (KoBERT's)
 * both are one.
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
  /** Writes the tokenizer's files into a model directory. */
  save(dir: string): Promise<void>;
  /** The names of the files {@linkcode TextTokenizer.save} writes. */
  readonly savedFiles: readonly string[];
}

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** Runs `load`, saying any failure to read or parse `path` as one {@linkcode TokenizerError}. */
function asTokenizerError<T>(path: string, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (e instanceof TokenizerError) throw e;
    const what = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : e instanceof SyntaxError
      ? `invalid JSON (${e.message.split("\n")[0]})`
      : (e instanceof Error ? e.message : String(e)).split("\n")[0].replace(/^BertTokenizer: /, "");
    throw new TokenizerError(path, what);
  }
}

/**
 * A BERT WordPiece tokenizer backed by Hugging Face `tokenizers`, producing the same ids,
 * offsets and overflow windows as `BertTokenizerFast`.
 *
 * @example
 * ```ts
 * import { BertTokenizer } from "webgpu-bert";
 * const tok = BertTokenizer.fromVocabArray(
 *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "is", "she", "?", "alice", "##s"],
 *   { lowercase: true },
 * );
 * const [w] = await tok.encodePair("Who is she?", "Alices", { maxLength: 16 });
 * console.log(w.tokens); // ["[CLS]", "who", "is", "she", "?", "[SEP]", "alice", "##s", "[SEP]"]
 * ```
 */
export class BertTokenizer implements TextTokenizer {
  #tk: Tokenizer;
  #config: BertNormalizerConfig;
  #pairAdded = -1;
  #singleAdded = -1;
  /** Id of `[CLS]`. */
  readonly clsId: number;
  /** Id of `[SEP]`. */
  readonly sepId: number;
  /** Id of `[PAD]`. */
  readonly padId: number;
  /** Id of `[UNK]`. */
  readonly unkId: number;

  private constructor(tk: Tokenizer, config: BertNormalizerConfig) {
    // A tokenizer.json may carry truncation or padding; both are done here instead.
    tk.disableTruncation();
    tk.disablePadding();
    this.#tk = tk;
    this.#config = config;
    const id = (t: string) => {
      const i = tk.tokenToId(t);
      if (i === null || i === undefined) throw new Error(`BertTokenizer: vocab lacks ${t}`);
      return i;
    };
    this.clsId = id("[CLS]");
    this.sepId = id("[SEP]");
    this.padId = id("[PAD]");
    this.unkId = id("[UNK]");
  }

  /**
   * Loads a Hugging Face `tokenizer.json`.
   *
   * @param path Path of the `tokenizer.json` file.
   * @returns The tokenizer; its normalizer settings are read from the file.
   * @throws If the file cannot be read or parsed, or lacks `[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`.
   * @example
   * ```ts
   * import { BertTokenizer } from "webgpu-bert";
   * const dir = await Deno.makeTempDir(); // a run directory or a hub download works the same
   * await BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi"], {
   *   lowercase: true,
   * }).save(dir);
   * const tok = BertTokenizer.fromFile(`${dir}/tokenizer.json`);
   * console.log(tok.vocabSize, tok.config.lowercase); // 5 true
   * ```
   */
  static fromFile(path: string): BertTokenizer {
    return asTokenizerError(path, () => {
      const json = JSON.parse(Deno.readTextFileSync(path));
      const n = json?.normalizer;
      const bert = n?.type === "BertNormalizer";
      const lowercase = bert ? n.lowercase !== false : false;
      return new BertTokenizer(Tokenizer.fromFile(path), {
        lowercase,
        stripAccents: bert ? (n.strip_accents ?? lowercase) : false,
        handleChineseChars: bert ? n.handle_chinese_chars !== false : true,
        cleanText: bert ? n.clean_text !== false : true,
      });
    });
  }

  /**
   * Builds the BERT pipeline from a WordPiece vocab: BertNormalizer, BertPreTokenizer,
   * WordPiece (`##`, `[UNK]`, at most 100 characters a word), the post-processor
   * `[CLS] A [SEP] B [SEP]` with type ids 0/1, and the WordPiece decoder.
   *
   * @param vocab Path of a `vocab.txt` (one token a line, id = line number), or the tokens.
   * @param opts Normalizer settings.
   * @returns The tokenizer.
   * @throws If the vocab lacks `[CLS]`, `[SEP]`, `[PAD]` or `[UNK]`.
   * @example
   * ```ts
   * import { BertTokenizer } from "webgpu-bert";
   * const vocab = await Deno.makeTempFile({ suffix: ".txt" });
   * await Deno.writeTextFile(vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n서울\n");
   * const tok = BertTokenizer.fromVocab(vocab, { lowercase: false });
   * console.log(tok.tokenToId("서울")); // 4
   * ```
   */
  static fromVocab(vocab: string | string[], opts: BertVocabOptions): BertTokenizer {
    if (typeof vocab !== "string") return BertTokenizer.fromVocabArray(vocab, opts);
    return asTokenizerError(vocab, () => {
      // As the Rust reader: split lines, trim each token's end; a final newline adds no token.
      const lines = Deno.readTextFileSync(vocab).split("\n");
      if (lines.at(-1) === "") lines.pop();
      return BertTokenizer.fromVocabArray(lines.map((l) => l.trimEnd()), opts);
    });
  }

  /**
   * {@linkcode BertTokenizer.fromVocab} from tokens held in memory (id = index; a repeated
   * token keeps its last index, as when reading a file).
   *
   * @param tokens The vocab, in id order.
   * @param opts Normalizer settings.
   * @returns The tokenizer.
   * @throws If the vocab lacks `[CLS]`, `[SEP]`, `[PAD]` or `[UNK]`.
   * @example
   * ```ts
   * import { BertTokenizer } from "webgpu-bert";
   * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi"], {
   *   lowercase: true,
   * });
   * console.log((await tok.encode("Hi")).ids); // [2, 4, 3]
   * ```
   */
  static fromVocabArray(tokens: readonly string[], opts: BertVocabOptions): BertTokenizer {
    const config: BertNormalizerConfig = {
      lowercase: opts.lowercase,
      stripAccents: opts.stripAccents ?? opts.lowercase,
      handleChineseChars: opts.handleChineseChars ?? true,
      cleanText: opts.cleanText ?? true,
    };
    const vocab: Record<string, number> = {};
    tokens.forEach((t, i) => vocab[t] = i);
    for (const t of ["[CLS]", "[SEP]", "[PAD]", "[UNK]"]) {
      if (!(t in vocab)) throw new Error(`BertTokenizer: vocab lacks ${t}`);
    }
    const tk = new Tokenizer(
      WordPiece.init(vocab, {
        unkToken: "[UNK]",
        continuingSubwordPrefix: "##",
        maxInputCharsPerWord: 100,
      }),
    );
    tk.setNormalizer(bertNormalizer(config));
    tk.setPreTokenizer(bertPreTokenizer());
    tk.setPostProcessor(templateProcessing("[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1", [
      ["[CLS]", vocab["[CLS]"]],
      ["[SEP]", vocab["[SEP]"]],
    ]));
    tk.setDecoder(wordPieceDecoder("##", true));
    // As BertTokenizerFast: the specials match only verbatim in the raw text.
    tk.addSpecialTokens(SPECIALS.filter((t) => t in vocab));
    return new BertTokenizer(tk, config);
  }

  /** The files {@linkcode BertTokenizer.save} writes. */
  readonly savedFiles: readonly string[] = [
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
  ];

  /** The normalizer settings (as written to `tokenizer_config.json`). */
  get config(): Readonly<BertNormalizerConfig> {
    return this.#config;
  }

  /** Number of tokens in the vocab, added tokens included. */
  get vocabSize(): number {
    return this.#tk.getVocabSize(true);
  }

  /** Id of a token, or null when it is not in the vocab. */
  tokenToId(token: string): number | null {
    return this.#tk.tokenToId(token) ?? null;
  }

  /** The token of an id, or null when out of range. */
  idToToken(id: number): string | null {
    return this.#tk.idToToken(id) ?? null;
  }

  /**
   * Tokenizes one sequence.
   *
   * @param text The text.
   * @param opts Special tokens (default on), truncation to `maxLength`, padding.
   * @returns The encoding; offsets index `text` in UTF-16 units.
   * @example
   * ```ts
   * import { BertTokenizer } from "webgpu-bert";
   * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi"], {
   *   lowercase: true,
   * });
   * console.log((await tok.encode("hi 😀", { addSpecialTokens: false })).offsets); // [[0, 2], [3, 5]]
   * ```
   */
  async encode(text: string, opts: EncodeOptions = {}): Promise<TokenWindow> {
    const special = opts.addSpecialTokens ?? true;
    const enc = await this.#raw(text);
    if (opts.maxLength !== undefined) {
      const budget = opts.maxLength - (special ? await this.#added(false) : 0);
      if (budget < 0) throw new Error(`BertTokenizer: maxLength ${opts.maxLength} is too small`);
      if (enc.getLength() > budget) enc.truncate(budget, 0, "right");
    }
    const w = this.#window(this.#tk.postProcess(enc, null, special), [utf16Map(text)]);
    return opts.padding === "max_length" ? this.#pad(w, opts.maxLength) : w;
  }

  /**
   * Tokenizes a question/context pair as `[CLS] question [SEP] context [SEP]`, cutting only
   * the context into overlapping windows exactly as the fast tokenizers do: the context
   * budget is `maxLength - len(question tokens) - 3`; window k holds the context tokens
   * `[k * (budget - stride), k * (budget - stride) + budget)`, and the last window is the
   * first that reaches the end.
   *
   * @param question The first sequence (never cut).
   * @param context The second sequence.
   * @param opts `maxLength`, `stride`, whether to return all windows, padding.
   * @returns The windows, in order; offsets index each original string in UTF-16 units.
   * @throws As Hugging Face does, when the question leaves no room for the context, or the
   * stride is not smaller than the context budget.
   * @example
   * ```ts
   * import { BertTokenizer } from "webgpu-bert";
   * const tok = BertTokenizer.fromVocabArray(
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
    if ((opts.truncation ?? "only_second") !== "only_second") {
      throw new Error(`BertTokenizer: truncation ${opts.truncation} is not supported`);
    }
    const stride = opts.stride ?? 0;
    // The context is encoded as the second of a pair, so its type ids are the pair's.
    const [q, c] = await Promise.all([this.#raw(question), this.#raw("", context)]);
    const maps = [utf16Map(question), utf16Map(context)];
    let toRemove = 0, budget = 0;
    if (opts.maxLength !== undefined) {
      budget = opts.maxLength - (await this.#added(true)) - q.getLength();
      toRemove = c.getLength() - budget;
    }
    let windows: TokenWindow[];
    if (toRemove <= 0) {
      // Joining whole encodings would keep their stale sequence ranges; encode the pair afresh.
      windows = [this.#window(await this.#tk.encode(question, context), maps)];
    } else {
      // The messages are the Rust library's (it asserts on the stride, i.e. panics).
      if (c.getLength() <= toRemove) {
        throw new Error(
          "Truncation error: Sequence to truncate too short to respect the provided max_length",
        );
      }
      if (stride >= budget) {
        throw new Error(`\`stride\` must be strictly less than \`max_len=${budget}\``);
      }
      c.truncate(budget, stride, "right");
      const main = this.#tk.postProcess(q, c, true);
      windows = [main, ...main.getOverflowing()].map((e) => this.#window(e, maps));
    }
    if (!(opts.returnOverflowing ?? true)) windows = windows.slice(0, 1);
    return opts.padding === "max_length"
      ? windows.map((w) => this.#pad(w, opts.maxLength))
      : windows;
  }

  /**
   * Turns ids back into text with the WordPiece decoder.
   *
   * @param ids Token ids.
   * @param skipSpecialTokens Drop `[CLS]`, `[SEP]`, `[PAD]`... (default true).
   * @returns The text (lowercased if the tokenizer lowercases).
   * @example
   * ```ts
   * import { BertTokenizer } from "webgpu-bert";
   * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi", "##s"], {
   *   lowercase: true,
   * });
   * console.log(await tok.decode([2, 4, 5, 3])); // "his"
   * ```
   */
  decode(ids: readonly number[], skipSpecialTokens = true): Promise<string> {
    return this.#tk.decode([...ids], skipSpecialTokens);
  }

  /**
   * Writes `tokenizer.json`, `vocab.txt`, `tokenizer_config.json` (with `do_lower_case`) and
   * `special_tokens_map.json` into `dir` (created if needed), so that Hugging Face
   * `AutoTokenizer.from_pretrained(dir)` loads an identical tokenizer.
   *
   * @param dir Output directory.
   * @example
   * ```ts
   * import { BertTokenizer } from "webgpu-bert";
   * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], {
   *   lowercase: false,
   * });
   * await tok.save(await Deno.makeTempDir());
   * ```
   */
  async save(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    // The library writes the file itself, so it writes the temporary file that is renamed.
    await replaceFileAtomic(`${dir}/tokenizer.json`, (tmp) => this.#tk.save(tmp, true));
    const vocab = this.#tk.getVocab(false);
    const byId: string[] = [];
    for (const [t, i] of Object.entries(vocab)) byId[i] = t;
    const text = (path: string, s: string) => writeFileAtomic(path, new TextEncoder().encode(s));
    await text(`${dir}/vocab.txt`, byId.map((t) => t ?? "").join("\n") + "\n");
    const specials = {
      unk_token: "[UNK]",
      sep_token: "[SEP]",
      pad_token: "[PAD]",
      cls_token: "[CLS]",
      mask_token: "[MASK]",
    };
    const c = this.#config;
    const config = {
      tokenizer_class: "BertTokenizer",
      do_lower_case: c.lowercase,
      strip_accents: c.stripAccents,
      tokenize_chinese_chars: c.handleChineseChars,
      clean_up_tokenization_spaces: true,
      model_max_length: 512,
      ...specials,
    };
    await text(`${dir}/tokenizer_config.json`, JSON.stringify(config, null, 2) + "\n");
    await text(`${dir}/special_tokens_map.json`, JSON.stringify(specials, null, 2) + "\n");
  }

  #raw(text: string, pair: string | null = null): Promise<Encoding> {
    return this.#tk.encode(text, pair, { addSpecialTokens: false });
  }

  /** Special tokens the post-processor adds to a single sequence or a pair. */
  async #added(pair: boolean): Promise<number> {
    if (this.#pairAdded < 0) {
      const empty = await this.#raw("");
      this.#singleAdded = this.#tk.postProcess(empty, null, true).getLength();
      this.#pairAdded = this.#tk.postProcess(empty, empty, true).getLength();
    }
    return pair ? this.#pairAdded : this.#singleAdded;
  }

  #window(e: Encoding, maps: (Int32Array | null)[]): TokenWindow {
    const sequenceIds = e.getSequenceIds().map((s) => (s === 0 || s === 1 ? s : null));
    const offsets = e.getOffsets().map((o, i): Offset => {
      const s = sequenceIds[i];
      const m = s === null ? null : maps[s];
      return m ? [m[o[0]], m[o[1]]] : [o[0], o[1]];
    });
    return {
      ids: e.getIds(),
      tokens: e.getTokens(),
      typeIds: e.getTypeIds(),
      attentionMask: e.getAttentionMask(),
      offsets,
      sequenceIds,
    };
  }

  #pad(w: TokenWindow, maxLength: number | undefined): TokenWindow {
    if (maxLength === undefined) throw new Error("BertTokenizer: padding needs maxLength");
    const n = maxLength - w.ids.length;
    if (n <= 0) return w;
    const fill = <T>(xs: T[], v: T) => xs.concat(Array.from({ length: n }, () => v));
    return {
      ids: fill(w.ids, this.padId),
      tokens: fill(w.tokens, "[PAD]"),
      typeIds: fill(w.typeIds, 0),
      attentionMask: fill(w.attentionMask, 0),
      offsets: w.offsets.concat(Array.from({ length: n }, (): Offset => [0, 0])),
      sequenceIds: fill(w.sequenceIds, null),
    };
  }
}

/** Code-point index to UTF-16 index, or null when the two agree (no astral characters). */
function utf16Map(s: string): Int32Array | null {
  if (!/[\ud800-\udfff]/.test(s)) return null;
  const map: number[] = [];
  let u = 0;
  for (const ch of s) {
    map.push(u);
    u += ch.length;
  }
  map.push(u);
  return Int32Array.from(map);
}
