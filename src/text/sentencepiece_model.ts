// The SentencePiece `.model` file: a protobuf `ModelProto`, read by a tiny wire-format reader
// (only the fields the encoder needs; unknown fields are skipped as protobuf does). Defaults are
// the .proto's, since proto2 omits a field that holds its default.

import { TokenizerError } from "../util/errors.ts";

/** The type of a piece, with the numbers of `ModelProto.SentencePiece.Type`. */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** One vocabulary entry of a SentencePiece model. */
export interface Piece {
  /** The piece's text (whitespace escaped as ▁). */
  piece: string;
  /** Its log-probability (unigram) or merge rank (BPE); a float32. */
  score: number;
  /** One of {@linkcode PieceType}. */
  type: number;
}

/** The parts of `TrainerSpec` and `NormalizerSpec` that encoding depends on. */
export interface SentencePieceSpec {
  /** 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  /** Unknown bytes become `<0xNN>` pieces instead of the unknown piece. */
  byteFallback: boolean;
  /** The dummy whitespace goes at the end instead of the start. */
  treatWhitespaceAsSuffix: boolean;
  /** Special ids from the trainer (-1: none). */
  unkId: number;
  /** Id of the beginning-of-sentence piece (-1: none). */
  bosId: number;
  /** Id of the end-of-sentence piece (-1: none). */
  eosId: number;
  /** Id of the padding piece (-1: none). */
  padId: number;
  /** What decoding writes for the unknown piece. */
  unkSurface: string;
  /** The normalizer's name (`nmt_nfkc`, `identity`...), for messages only. */
  normalizerName: string;
  /** The compiled normalization rules (empty: identity). */
  precompiledCharsmap: Uint8Array;
  /** Prepend a space (▁) to the text. */
  addDummyPrefix: boolean;
  /** Drop leading, trailing and repeated spaces. */
  removeExtraWhitespaces: boolean;
  /** Write spaces as ▁ (U+2581). */
  escapeWhitespaces: boolean;
}

/** A parsed `ModelProto`. */
export interface SentencePieceModel {
  /** The vocabulary; a piece's id is its index. */
  pieces: Piece[];
  /** Trainer and normalizer settings. */
  spec: SentencePieceSpec;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Protobuf wire format over a byte range; every fault is reported with `where` by the caller. */
class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint's low 32 bits as a signed int (int32 fields hold negatives as 10-byte varints). */
  varint(): number {
    let lo = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new Error("truncated varint");
      const b = this.buf[this.pos++];
      if (shift < 32) lo |= (b & 0x7f) << shift;
      if (b < 0x80) return lo;
    }
    throw new Error("varint longer than 10 bytes");
  }

  /** The sub-range of a length-delimited field. */
  bytes(): [number, number] {
    const n = this.varint() >>> 0;
    if (n > this.end - this.pos) throw new Error("field runs past the end");
    const r: [number, number] = [this.pos, this.pos + n];
    this.pos += n;
    return r;
  }

  string(): string {
    const [s, e] = this.bytes();
    return utf8.decode(this.buf.subarray(s, e));
  }

  float(): number {
    if (this.end - this.pos < 4) throw new Error("truncated float");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.advance(4);
    else throw new Error(`unsupported wire type ${wire}`);
  }

  /** Iterates over (field number, wire type), leaving the value to the caller. */
  *fields(): Generator<[number, number]> {
    while (!this.done) {
      const key = this.varint() >>> 0;
      if (key >>> 3 === 0) throw new Error("field number 0");
      yield [key >>> 3, key & 7];
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new Error("field runs past the end");
    this.pos += n;
  }
}

function sub(r: Reader): Reader {
  const [s, e] = r.bytes();
  return new Reader(r.buf, s, e);
}

/** `r`, once the field's wire type is the one its declared type needs. */
function as(r: Reader, field: string, wire: number, want: number): Reader {
  if (wire !== want) throw new Error(`${field} has wire type ${wire}, expected ${want}`);
  return r;
}

function readPiece(r: Reader): Piece {
  const p: Piece = { piece: "", score: 0, type: PieceType.NORMAL };
  for (const [f, w] of r.fields()) {
    if (f === 1) p.piece = as(r, "piece", w, 2).string();
    else if (f === 2) p.score = as(r, "score", w, 5).float();
    else if (f === 3) p.type = as(r, "type", w, 0).varint();
    else r.skip(w);
  }
  return p;
}

function readTrainer(r: Reader, s: SentencePieceSpec): void {
  const ints = { 3: "modelType", 40: "unkId", 41: "bosId", 42: "eosId", 43: "padId" } as const;
  const bools = { 24: "treatWhitespaceAsSuffix", 35: "byteFallback" } as const;
  for (const [f, w] of r.fields()) {
    if (f in ints) {
      const k = ints[f as keyof typeof ints];
      s[k] = as(r, k, w, 0).varint();
    } else if (f in bools) {
      const k = bools[f as keyof typeof bools];
      s[k] = as(r, k, w, 0).varint() !== 0;
    } else if (f === 44) s.unkSurface = as(r, "unk_surface", w, 2).string();
    else r.skip(w);
  }
}

function readNormalizer(r: Reader, s: SentencePieceSpec): void {
  for (const [f, w] of r.fields()) {
    if (f === 1) s.normalizerName = as(r, "name", w, 2).string();
    else if (f === 2) {
      const [a, b] = as(r, "precompiled_charsmap", w, 2).bytes();
      s.precompiledCharsmap = r.buf.slice(a, b);
    } else if (f === 3) s.addDummyPrefix = as(r, "add_dummy_prefix", w, 0).varint() !== 0;
    else if (f === 4) s.removeExtraWhitespaces = as(r, "remove_extra", w, 0).varint() !== 0;
    else if (f === 5) s.escapeWhitespaces = as(r, "escape_whitespaces", w, 0).varint() !== 0;
    else r.skip(w);
  }
}

/**
 * Parses a SentencePiece `.model` file (a serialized `ModelProto`).
 *
 * @param bytes The file's contents.
 * @param source The file's name, for messages.
 * @returns The pieces and the settings that encoding needs.
 * @throws {TokenizerError} If the bytes are not a `ModelProto` or hold no pieces.
 */
export function parseSentencePieceModel(bytes: Uint8Array, source: string): SentencePieceModel {
  const spec: SentencePieceSpec = {
    modelType: 1,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkSurface: " \u2047 ",
    normalizerName: "",
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  const pieces: Piece[] = [];
  try {
    const r = new Reader(bytes, 0, bytes.length);
    for (const [f, w] of r.fields()) {
      if (f === 1) pieces.push(readPiece(sub(as(r, "pieces", w, 2))));
      else if (f === 2) readTrainer(sub(as(r, "trainer_spec", w, 2)), spec);
      else if (f === 3) readNormalizer(sub(as(r, "normalizer_spec", w, 2)), spec);
      else r.skip(w);
    }
  } catch (e) {
    throw new TokenizerError(
      source,
      `not a SentencePiece model (protobuf ModelProto): ${(e as Error).message}`,
    );
  }
  if (pieces.length === 0) {
    throw new TokenizerError(source, "not a SentencePiece model: it holds no pieces");
  }
  return { pieces, spec };
}
