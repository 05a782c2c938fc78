// BertTokenizer: the WordPiece tokenizer of ./wordpiece.ts with files read by path and a
// choice of segmentation engine: the TypeScript one, or Hugging Face's Rust `tokenizers`
// through its native binding (./tokenizer_native.ts, imported only when used, since it needs
// --allow-ffi). Both give the same tokens (tests/text/wordpiece_test.ts checks every KorQuAD
// and SQuAD dev window); the windows, type ids and padding are always ./windows.ts's.

import { envVar } from "../util/env.ts";
import { TokenizerError } from "../util/errors.ts";
import type { TokenSequence } from "./windows.ts";
import {
  type BertVocabOptions,
  tokenizerProblem,
  type WordPieceSpec,
  wordPieceSpecFromJson,
  wordPieceSpecFromVocab,
  WordPieceTokenizer,
} from "./wordpiece.ts";
import type { NativeEngine } from "./tokenizer_native.ts";

export type { EncodeOptions, Offset, PairOptions, TextTokenizer, TokenWindow } from "./windows.ts";
export type { BertNormalizerConfig } from "./wordpiece_normalizer.ts";
export type { BertVocabOptions } from "./wordpiece.ts";

/** Which engine segments text: `"ts"` (TypeScript) or `"native"` (the Rust binding). */
export type TokenizerImpl = "ts" | "native";

/** The environment variable that picks the engine (as `--tokenizer-impl` does). */
export const TOKENIZER_IMPL_ENV = "WEBGPU_BERT_TOKENIZER";

let chosenImpl: TokenizerImpl | undefined;

/**
 * Picks the engine of BertTokenizers made from now on (the CLIs' `--tokenizer-impl`);
 * undefined restores the default of {@linkcode tokenizerImpl}.
 *
 * @example
 * ```ts
 * import { setTokenizerImpl, tokenizerImpl } from "webgpu-bert";
 * setTokenizerImpl("ts");
 * console.log(tokenizerImpl()); // ts
 * setTokenizerImpl(undefined);
 * ```
 */
export function setTokenizerImpl(impl: TokenizerImpl | undefined): void {
  chosenImpl = impl;
}

/**
 * The engine a BertTokenizer gets: the one {@linkcode setTokenizerImpl} chose, else
 * `$WEBGPU_BERT_TOKENIZER` (`ts` or `native`), else the native binding where FFI is permitted
 * and TypeScript where it is not (or where there is no Deno).
 *
 * @example
 * ```ts
 * import { tokenizerImpl } from "webgpu-bert";
 * console.log(["ts", "native"].includes(tokenizerImpl())); // true
 * ```
 */
export function tokenizerImpl(): TokenizerImpl {
  if (chosenImpl) return chosenImpl;
  const env = envVar(TOKENIZER_IMPL_ENV);
  if (env === "ts" || env === "native") return env;
  if (!("Deno" in globalThis)) return "ts";
  return Deno.permissions.querySync({ name: "ffi" }).state === "granted" ? "native" : "ts";
}

/** Options of the BertTokenizer factories. */
export interface ImplOptions {
  /** The engine (default: {@linkcode tokenizerImpl}). */
  impl?: TokenizerImpl;
}

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
      : tokenizerProblem(e);
    throw new TokenizerError(path, what);
  }
}

/**
 * A BERT WordPiece tokenizer with the ids, offsets and overflow windows of
 * `BertTokenizerFast`, read from files by path, segmenting with the TypeScript engine or Hugging
 * Face's native binding (see {@linkcode tokenizerImpl}).
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
export class BertTokenizer extends WordPieceTokenizer {
  readonly #json: () => string;
  #native: Promise<NativeEngine> | null = null;
  /** The segmentation engine. */
  readonly impl: TokenizerImpl;

  private constructor(spec: WordPieceSpec, json: (() => string) | null, impl?: TokenizerImpl) {
    super(spec, "BertTokenizer");
    this.#json = json ?? (() => this.toJSON());
    this.impl = impl ?? tokenizerImpl();
  }

  /**
   * Loads a Hugging Face `tokenizer.json` (see `wordPieceSpecFromJson` for what it may hold).
   *
   * @param path Path of the `tokenizer.json` file.
   * @param opts The engine.
   * @returns The tokenizer; its normalizer settings are read from the file.
   * @throws {TokenizerError} If the file cannot be read or used, or lacks `[CLS]`, `[SEP]`,
   * `[PAD]`, `[UNK]`.
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
  static fromFile(path: string, opts: ImplOptions = {}): BertTokenizer {
    return asTokenizerError(path, () => {
      const text = Deno.readTextFileSync(path);
      return new BertTokenizer(wordPieceSpecFromJson(text), () => text, opts.impl);
    });
  }

  /**
   * Builds the BERT pipeline from a WordPiece vocab: BertNormalizer, BertPreTokenizer,
   * WordPiece (`##`, `[UNK]`, at most 100 characters a word), the post-processor
   * `[CLS] A [SEP] B [SEP]` with type ids 0/1, and the WordPiece decoder.
   *
   * @param vocab Path of a `vocab.txt` (one token a line, id = line number), or the tokens.
   * @param opts Normalizer settings and the engine.
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
  static fromVocab(
    vocab: string | string[],
    opts: BertVocabOptions & ImplOptions,
  ): BertTokenizer {
    if (typeof vocab !== "string") return BertTokenizer.fromVocabArray(vocab, opts);
    return asTokenizerError(vocab, () => {
      const spec = wordPieceSpecFromVocab(Deno.readTextFileSync(vocab), opts);
      return new BertTokenizer(spec, null, opts.impl);
    });
  }

  /**
   * {@linkcode BertTokenizer.fromVocab} from tokens held in memory (id = index; a repeated
   * token keeps its last index, as when reading a file).
   *
   * @param tokens The vocab, in id order.
   * @param opts Normalizer settings and the engine.
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
  static override fromVocabArray(
    tokens: readonly string[],
    opts: BertVocabOptions & ImplOptions,
  ): BertTokenizer {
    return new BertTokenizer(wordPieceSpecFromVocab(tokens, opts), null, opts.impl);
  }

  /**
   * Ids back to text with the WordPiece decoder (the binding's, with the native engine).
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
  override async decode(ids: readonly number[], skipSpecialTokens = true): Promise<string> {
    if (this.impl === "ts") return await super.decode(ids, skipSpecialTokens);
    return await (await this.#engine()).decode(ids, skipSpecialTokens);
  }

  /** One text's tokens, from the TypeScript engine or the binding. */
  protected override async segment(text: string): Promise<TokenSequence> {
    if (this.impl === "ts") return await super.segment(text);
    return await (await this.#engine()).sequence(text);
  }

  #engine(): Promise<NativeEngine> {
    this.#native ??= import("./tokenizer_native.ts").then(
      (m) => m.nativeEngine(this.#json()),
      (e) => {
        throw new Error(
          `BertTokenizer: the native tokenizer cannot load (${
            (e as Error).message
              .split("\n")[0]
          }); allow FFI (--allow-ffi) or use the TypeScript one ` +
            `(--tokenizer-impl ts)`,
        );
      },
    );
    return this.#native;
  }
}
