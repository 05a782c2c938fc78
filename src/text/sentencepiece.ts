// A SentencePiece unigram tokenizer giving the `sentencepiece` library's ids (checked against
// it on NSMC in tests/text/sentencepiece_test.ts), wrapped BERT-style (`[CLS] A [SEP] B [SEP]`)
// for KoBERT. It reads the model from bytes; only `fromFile` and `save` touch files, through
// the io seam. The segmentation is the library's optimized Viterbi (`EncodeOptimized`),
// including its float32 arithmetic, its tie-breaking (first candidate wins), the bonus that
// makes user-defined pieces always win, and one unknown piece per unmatched character with
// runs of them merged afterwards.

import { type Files, hostFiles } from "../io/files.ts";
import { TokenizerError } from "../util/errors.ts";
import {
  parseSentencePieceModel,
  type Piece,
  PieceType,
  type SentencePieceSpec,
} from "./sentencepiece_model.ts";
import { ByteTrie, SentencePieceNormalizer, utf8Length } from "./sentencepiece_normalizer.ts";
import {
  bertTemplate,
  type EncodeOptions,
  type Offset,
  type PairOptions,
  pairWindows,
  singleWindow,
  type TextTokenizer,
  type TokenSequence,
  type TokenWindow,
  type WindowSpec,
} from "./windows.ts";

/** The library's penalty below the lowest piece score for an unknown character. */
const UNK_PENALTY = 10;
/** C's FLT_MAX and FLT_MIN, the library's starting min and max score. */
const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Pieces of one text, without special tokens, as `SentencePieceProcessor::Encode` gives them. */
export interface SentencePieces {
  /** Piece ids (a run of unknown characters is one unknown id). */
  ids: number[];
  /** Piece strings (an unknown run is its normalized text). */
  pieces: string[];
  /** Each piece's span of the original text in UTF-16 units (empty for a bare ▁). */
  offsets: Offset[];
}

/** The file name {@linkcode SentencePieceTokenizer.save} writes the model to. */
export const SENTENCEPIECE_MODEL_FILE = "spiece.model";

/**
 * A SentencePiece unigram tokenizer (KoBERT's) with the ids of the `sentencepiece` library and
 * a BERT-style wrapper: `[CLS] A [SEP]`, `[CLS] A [SEP] B [SEP]`, QA windows with a stride, and
 * offsets into the original text. The special tokens are the model's own pieces: `[CLS]`,
 * `[SEP]`, `[PAD]`, `[UNK]` (else `<cls>`/`<sep>`/`<pad>`, else the trainer's bos/eos/pad/unk).
 * Only unigram models are supported; a BPE model is refused.
 *
 * @example
 * ```ts
 * import { SentencePieceTokenizer } from "webgpu-bert";
 * const tok = await SentencePieceTokenizer.fromFile(
 *   "tests/fixtures/sentencepiece/nsmc_unigram.model",
 * );
 * const w = await tok.encode("영화 정말 재밌어요");
 * console.log(w.tokens[0], w.tokens.at(-1), w.ids[0] === tok.clsId); // [CLS] [SEP] true
 * ```
 */
export class SentencePieceTokenizer implements TextTokenizer {
  readonly #bytes: Uint8Array;
  readonly #pieces: Piece[];
  readonly #spec: SentencePieceSpec;
  readonly #ids = new Map<string, number>();
  readonly #trie = new ByteTrie();
  readonly #normalizer: SentencePieceNormalizer;
  readonly #specialIds: Set<number>;
  readonly #modelUnk: number;
  readonly #minScore: number;
  readonly #maxScore: number;
  /** Id of `[CLS]`. */
  readonly clsId: number;
  /** Id of `[SEP]`. */
  readonly sepId: number;
  /** Id of `[PAD]`. */
  readonly padId: number;
  /** Id of `[UNK]`, the model's unknown piece. */
  readonly unkId: number;

  private constructor(bytes: Uint8Array, source: string) {
    const { pieces, spec } = parseSentencePieceModel(bytes, source);
    const bad = (what: string) => new TokenizerError(source, what);
    if (spec.modelType !== 1) {
      const name = ["", "unigram", "BPE", "word", "char"][spec.modelType] ?? `${spec.modelType}`;
      throw bad(`a ${name} SentencePiece model; only unigram models are supported`);
    }
    this.#bytes = bytes;
    this.#pieces = pieces;
    this.#spec = spec;
    // As `ModelInterface::InitializePieces`, with its checks.
    let unk = -1, minScore = FLT_MAX, maxScore = FLT_MIN;
    const userDefined = new ByteTrie();
    let hasUserDefined = false;
    const bytePieces = new Set<number>();
    pieces.forEach((p, i) => {
      if (p.piece === "") throw bad(`piece ${i} is empty`);
      if (this.#ids.has(p.piece)) throw bad(`piece ${JSON.stringify(p.piece)} is defined twice`);
      this.#ids.set(p.piece, i);
      const key = encoder.encode(p.piece);
      if (p.type === PieceType.NORMAL) {
        minScore = Math.min(minScore, p.score);
        maxScore = Math.max(maxScore, p.score);
      }
      if (
        p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED ||
        p.type === PieceType.UNUSED
      ) this.#trie.add(key, i);
      if (p.type === PieceType.USER_DEFINED) userDefined.add(key, i), hasUserDefined = true;
      if (p.type === PieceType.UNKNOWN) {
        if (unk >= 0) throw bad("more than one unknown piece");
        unk = i;
      }
      if (p.type === PieceType.BYTE) {
        const m = /^<0x([0-9A-F]{2})>$/.exec(p.piece);
        if (!spec.byteFallback) throw bad(`byte piece ${p.piece} but byte_fallback is off`);
        if (!m) throw bad(`byte piece ${p.piece} is invalid`);
        bytePieces.add(parseInt(m[1], 16));
      }
    });
    if (unk < 0) throw bad("no unknown piece");
    if (spec.byteFallback && bytePieces.size !== 256) {
      throw bad("byte_fallback is on but the 256 byte pieces are not all there");
    }
    this.#modelUnk = unk;
    this.#minScore = minScore;
    this.#maxScore = maxScore;
    this.#normalizer = new SentencePieceNormalizer(
      spec,
      hasUserDefined ? userDefined : null,
      source,
    );
    const special = (names: string[], fallback: number, what: string) => {
      for (const n of names) if (this.#ids.has(n)) return this.#ids.get(n)!;
      if (fallback >= 0 && fallback < pieces.length) return fallback;
      throw bad(`no ${what} piece (${names.join(", ")})`);
    };
    this.clsId = special(["[CLS]", "<cls>"], spec.bosId, "CLS");
    this.sepId = special(["[SEP]", "<sep>"], spec.eosId, "SEP");
    this.padId = special(["[PAD]", "<pad>"], spec.padId, "PAD");
    this.unkId = special(["[UNK]"], unk, "UNK");
    this.#specialIds = new Set([this.clsId, this.sepId, this.padId, this.unkId]);
    const mask = this.#ids.get("[MASK]") ?? this.#ids.get("<mask>");
    if (mask !== undefined) this.#specialIds.add(mask);
  }

  /**
   * Builds the tokenizer from the bytes of a `.model` file (no file access: usable in a
   * browser).
   *
   * @param bytes The `.model` file's contents.
   * @param source A name for messages (the file's path).
   * @returns The tokenizer.
   * @throws {TokenizerError} If the bytes are no SentencePiece model, the model is not
   * unigram, or it lacks the pieces the BERT wrapper needs.
   * @example
   * ```ts
   * import { SentencePieceTokenizer, TokenizerError } from "webgpu-bert";
   * try {
   *   SentencePieceTokenizer.fromBytes(new Uint8Array([0x0a, 0x05, 1]), "bad.model");
   * } catch (e) {
   *   console.log(e instanceof TokenizerError); // true
   * }
   * ```
   */
  static fromBytes(bytes: Uint8Array, source = "<bytes>"): SentencePieceTokenizer {
    return new SentencePieceTokenizer(bytes, source);
  }

  /**
   * Reads a `.model` file (KoBERT's `tokenizer_78b3253a26.model`, a `spm_train` output).
   *
   * @param path The file.
   * @param files The file system (default: the host's).
   * @returns The tokenizer.
   * @throws {TokenizerError} As {@linkcode SentencePieceTokenizer.fromBytes}, or if the file
   * cannot be read.
   * @example
   * ```ts
   * import { SentencePieceTokenizer } from "webgpu-bert";
   * const tok = await SentencePieceTokenizer.fromFile(
   *   "tests/fixtures/sentencepiece/nsmc_unigram.model",
   * );
   * console.log(tok.vocabSize, tok.idToToken(tok.clsId)); // 8000 [CLS]
   * ```
   */
  static async fromFile(path: string, files?: Files): Promise<SentencePieceTokenizer> {
    let bytes: Uint8Array;
    try {
      bytes = await (files ?? await hostFiles()).readFile(path);
    } catch (e) {
      throw new TokenizerError(path, `cannot read (${(e as Error).message})`);
    }
    return new SentencePieceTokenizer(bytes, path);
  }

  /** The files {@linkcode SentencePieceTokenizer.save} writes. */
  readonly savedFiles: readonly string[] = [
    SENTENCEPIECE_MODEL_FILE,
    "tokenizer_config.json",
    "special_tokens_map.json",
  ];

  /** Number of pieces. */
  get vocabSize(): number {
    return this.#pieces.length;
  }

  /** Id of a piece, or null when it is not in the model. */
  tokenToId(token: string): number | null {
    return this.#ids.get(token) ?? null;
  }

  /** The piece of an id, or null when out of range. */
  idToToken(id: number): string | null {
    return this.#pieces[id]?.piece ?? null;
  }

  /**
   * Segments a text as `SentencePieceProcessor::Encode` does, without special tokens.
   *
   * @param text The text.
   * @returns Ids, pieces and offsets into `text` (UTF-16 units).
   * @example
   * ```ts
   * import { SentencePieceTokenizer } from "webgpu-bert";
   * const tok = await SentencePieceTokenizer.fromFile(
   *   "tests/fixtures/sentencepiece/nsmc_unigram.model",
   * );
   * console.log(tok.pieces("영화 최고").pieces); // ["▁영화", "▁최고"]
   * ```
   */
  pieces(text: string): SentencePieces {
    const input = encoder.encode(text);
    const { bytes, normToOrig } = this.#normalizer.normalize(input);
    const toUtf16 = utf16At(text, input.length);
    const out: SentencePieces = { ids: [], pieces: [], offsets: [] };
    let prevUnk = false;
    for (const [start, end, id] of this.#viterbi(bytes)) {
      const isUnk = id === this.#modelUnk;
      const b = toUtf16[normToOrig[start]], e = toUtf16[normToOrig[end]];
      if (isUnk && this.#spec.byteFallback) {
        for (let i = start; i < end; i++) {
          const piece = `<0x${bytes[i].toString(16).toUpperCase().padStart(2, "0")}>`;
          out.ids.push(this.#ids.get(piece)!);
          out.pieces.push(piece);
          // Only the last byte covers the character, as in the library.
          out.offsets.push(i === end - 1 ? [b, e] : [b, b]);
        }
      } else if (isUnk && prevUnk) {
        const last = out.ids.length - 1;
        out.pieces[last] += decoder.decode(bytes.subarray(start, end));
        out.offsets[last][1] = e;
      } else {
        out.ids.push(id);
        out.pieces.push(
          isUnk ? decoder.decode(bytes.subarray(start, end)) : this.#pieces[id].piece,
        );
        out.offsets.push([b, e]);
      }
      prevUnk = isUnk;
    }
    return out;
  }

  /** The best segmentation of normalized bytes as [start, end, id] triples (`EncodeOptimized`). */
  #viterbi(s: Uint8Array): [number, number, number][] {
    const n = s.length;
    const score = new Float64Array(n + 1);
    const from = new Int32Array(n + 1).fill(-1);
    const ids = new Int32Array(n + 1).fill(-1);
    const unkScore = Math.fround(this.#minScore - UNK_PENALTY);
    const offer = (end: number, start: number, candidate: number, id: number) => {
      if (from[end] === -1 || candidate > score[end]) {
        score[end] = Math.fround(candidate);
        from[end] = start;
        ids[end] = id;
      }
    };
    for (let start = 0; start < n;) {
      const here = score[start];
      const charLen = Math.min(utf8Length(s[start]), n - start);
      let single = false;
      this.#trie.prefixes(s, start, (end, id) => {
        const p = this.#pieces[id];
        if (p.type === PieceType.UNUSED) return;
        const len = end - start;
        // The library's `cond ? float(len * max_score) - 0.1 : score` is a double, so a
        // piece's candidate is summed in double and compared unrounded with the float kept.
        const candidate =
          (p.type === PieceType.USER_DEFINED ? Math.fround(len * this.#maxScore) - 0.1 : p.score) +
          here;
        offer(end, start, candidate, id);
        if (len === charLen) single = true;
      });
      if (!single) offer(start + charLen, start, Math.fround(unkScore + here), this.#modelUnk);
      start += charLen;
    }
    const path: [number, number, number][] = [];
    for (let end = n; end > 0; end = from[end]) path.push([from[end], end, ids[end]]);
    return path.reverse();
  }

  /**
   * Tokenizes one sequence as `[CLS] text [SEP]`.
   *
   * @param text The text.
   * @param opts Special tokens (default on), truncation to `maxLength` (pieces are dropped
   * from the end), padding.
   * @returns The encoding; offsets index `text` in UTF-16 units, `[0, 0]` for special tokens.
   * @example
   * ```ts
   * import { SentencePieceTokenizer } from "webgpu-bert";
   * const tok = await SentencePieceTokenizer.fromFile(
   *   "tests/fixtures/sentencepiece/nsmc_unigram.model",
   * );
   * const w = await tok.encode("영화 최고", { maxLength: 6, padding: "max_length" });
   * console.log(w.tokens, w.offsets[2]); // ["[CLS]", "▁영화", "▁최고", "[SEP]", "[PAD]", "[PAD]"] [2, 5]
   * ```
   */
  encode(text: string, opts: EncodeOptions = {}): Promise<TokenWindow> {
    return promised(() => this.#encode(text, opts));
  }

  #encode(text: string, opts: EncodeOptions): TokenWindow {
    return singleWindow(this.#windowSpec(), this.#sequence(text), opts);
  }

  /**
   * Tokenizes a question/context pair as `[CLS] question [SEP] context [SEP]`, cutting only the
   * context into windows as {@linkcode BertTokenizer.encodePair} does: the context budget is
   * `maxLength - len(question pieces) - 3`; window k holds the context pieces
   * `[k * (budget - stride), k * (budget - stride) + budget)`; the last window is the first
   * that reaches the end.
   *
   * @param question The first sequence (never cut).
   * @param context The second sequence.
   * @param opts `maxLength`, `stride`, whether to return all windows, padding.
   * @returns The windows; offsets index each original string in UTF-16 units.
   * @throws When the question leaves no room for the context, or the stride is not smaller
   * than the context budget (as Hugging Face).
   * @example
   * ```ts
   * import { SentencePieceTokenizer } from "webgpu-bert";
   * const tok = await SentencePieceTokenizer.fromFile(
   *   "tests/fixtures/sentencepiece/nsmc_unigram.model",
   * );
   * const ws = await tok.encodePair("누구?", "가 나 다 라 마", { maxLength: 10, stride: 1 });
   * console.log(ws.length, ws[0].typeIds.at(-1)); // 2 1
   * ```
   */
  encodePair(question: string, context: string, opts: PairOptions = {}): Promise<TokenWindow[]> {
    return promised(() => this.#encodePair(question, context, opts));
  }

  #encodePair(question: string, context: string, opts: PairOptions): TokenWindow[] {
    return pairWindows(this.#windowSpec(), this.#sequence(question), this.#sequence(context), opts);
  }

  /**
   * Turns ids back into text as `SentencePieceProcessor::Decode` does (▁ becomes a space, the
   * first one is dropped, unknown ids become the model's unknown surface, ` ⁇ `).
   *
   * @param ids Piece ids.
   * @param skipSpecialTokens Drop `[CLS]`, `[SEP]`, `[PAD]`, `[MASK]` (default true; false
   * writes them out); other control pieces never show, as in the library.
   * @returns The text.
   * @example
   * ```ts
   * import { SentencePieceTokenizer } from "webgpu-bert";
   * const tok = await SentencePieceTokenizer.fromFile(
   *   "tests/fixtures/sentencepiece/nsmc_unigram.model",
   * );
   * console.log(await tok.decode((await tok.encode("영화 최고")).ids)); // "영화 최고"
   * ```
   */
  decode(ids: readonly number[], skipSpecialTokens = true): Promise<string> {
    return promised(() => this.#decode(ids, skipSpecialTokens));
  }

  #decode(ids: readonly number[], skipSpecialTokens: boolean): string {
    const space = "\u2581";
    let text = "";
    let atStart = true; // no piece with text yet: a leading ▁ is the dummy prefix
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length) text += decoder.decode(Uint8Array.from(bytes)), bytes = [], atStart = false;
    };
    for (const id of ids) {
      const p = this.#pieces[id];
      if (!p) throw new Error(`SentencePieceTokenizer: id ${id} is out of range`);
      if (p.type === PieceType.BYTE) {
        bytes.push(parseInt(p.piece.slice(3, 5), 16));
        continue;
      }
      flush();
      if (this.#specialIds.has(id) && id !== this.#modelUnk) {
        if (!skipSpecialTokens) text += p.piece;
        // As in the library, text after a user-defined [MASK] keeps its ▁; after a control
        // piece (shown here, invisible there) it is still at the start.
        if (!skipSpecialTokens && p.type !== PieceType.CONTROL) atStart = false;
        continue;
      }
      if (p.type === PieceType.CONTROL) continue;
      if (p.type === PieceType.UNKNOWN) {
        text += this.#spec.unkSurface;
        atStart = false;
        continue;
      }
      let piece = p.piece;
      if (atStart && !this.#spec.treatWhitespaceAsSuffix && piece.startsWith(space)) {
        piece = piece.slice(space.length);
      }
      text += piece.replaceAll(space, " ");
      if (piece !== "") atStart = false;
    }
    flush();
    return text;
  }

  /**
   * Writes the model as `spiece.model` into `dir` (created if needed), with
   * `tokenizer_config.json` and `special_tokens_map.json`; {@linkcode loadTokenizerDir} reads
   * the directory back.
   *
   * @param dir Output directory.
   * @param files The file system (default: the host's).
   * @example
   * ```ts
   * import { SentencePieceTokenizer } from "webgpu-bert";
   * const tok = await SentencePieceTokenizer.fromFile(
   *   "tests/fixtures/sentencepiece/nsmc_unigram.model",
   * );
   * await tok.save(await Deno.makeTempDir());
   * ```
   */
  async save(dir: string, files?: Files): Promise<void> {
    const fs = files ?? await hostFiles();
    await fs.mkdir(dir);
    await fs.writeAtomic(`${dir}/${SENTENCEPIECE_MODEL_FILE}`, this.#bytes);
    const name = (id: number) => this.#pieces[id].piece;
    const specials = {
      unk_token: name(this.unkId),
      sep_token: name(this.sepId),
      pad_token: name(this.padId),
      cls_token: name(this.clsId),
      ...(this.#ids.has("[MASK]") ? { mask_token: "[MASK]" } : {}),
    };
    const json = (o: unknown) => encoder.encode(JSON.stringify(o, null, 2) + "\n");
    await fs.writeAtomic(`${dir}/special_tokens_map.json`, json(specials));
    // Not a Hugging Face class: KoBERT's tokenizer is remote code; this names the model file.
    await fs.writeAtomic(
      `${dir}/tokenizer_config.json`,
      json({ sp_model: SENTENCEPIECE_MODEL_FILE, model_max_length: 512, ...specials }),
    );
  }

  /** The pieces of `text` as the shared window code takes them. */
  #sequence(text: string): TokenSequence {
    const p = this.pieces(text);
    return { ids: p.ids, tokens: p.pieces, offsets: p.offsets };
  }

  #windowSpec(): WindowSpec {
    const name = (id: number) => this.#pieces[id].piece;
    return {
      template: bertTemplate(this.clsId, this.sepId, name(this.clsId), name(this.sepId)),
      padId: this.padId,
      padToken: name(this.padId),
      name: "SentencePieceTokenizer",
    };
  }
}

/** `f()` as a promise, its throw as a rejection (the interface is async, as the binding's). */
function promised<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** UTF-16 offset of each UTF-8 byte offset of `text` that starts a character, and of its end. */
function utf16At(text: string, byteLength: number): Int32Array {
  const map = new Int32Array(byteLength + 1);
  let b = 0, u = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let i = 0; i < n; i++) map[b + i] = u;
    b += n;
    u += ch.length;
  }
  map[b] = u;
  return map;
}
