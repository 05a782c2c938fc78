// SentencePiece's normalizer, byte for byte as the library's `Normalizer::Normalize`: it works
// on UTF-8, so the offsets it keeps are byte offsets (the tokenizer converts them to UTF-16).
// The rules come compiled in the model (`precompiled_charsmap`): a little-endian u32 size, a
// darts-clone double array over UTF-8 keys, then a pool of NUL-terminated replacements; the
// longest key that prefixes the rest of the text wins. User-defined pieces are matched before
// the rules and pass through unnormalized.

import { TokenizerError } from "../util/errors.ts";
import type { SentencePieceSpec } from "./sentencepiece_model.ts";

/** The UTF-8 of ▁ (U+2581), which stands for a space in pieces. */
export const SPACE_SYMBOL: readonly number[] = [0xe2, 0x96, 0x81];
const SPACE = 0x20;
const REPLACEMENT = [0xef, 0xbf, 0xbd];

/** Bytes of the UTF-8 character that starts with `lead` (1 for a stray continuation byte). */
export function utf8Length(lead: number): number {
  return lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
}

/** A trie over byte strings, walked one byte at a time from a start position. */
export class ByteTrie {
  #next: Map<number, number>[] = [new Map()];
  #value: number[] = [-1];

  /** Adds `key` with `value` (≥ 0); a repeated key keeps its first value. */
  add(key: Uint8Array, value: number): void {
    let node = 0;
    for (const b of key) {
      let n = this.#next[node].get(b);
      if (n === undefined) {
        n = this.#next.length;
        this.#next.push(new Map());
        this.#value.push(-1);
        this.#next[node].set(b, n);
      }
      node = n;
    }
    if (this.#value[node] < 0) this.#value[node] = value;
  }

  /** Calls `found(end, value)` for every key that prefixes `s[start..]`, shortest first. */
  prefixes(s: Uint8Array, start: number, found: (end: number, value: number) => void): void {
    let node = 0;
    for (let i = start; i < s.length; i++) {
      const n = this.#next[node].get(s[i]);
      if (n === undefined) return;
      node = n;
      if (this.#value[node] >= 0) found(i + 1, this.#value[node]);
    }
  }

  /** Length of the longest key that prefixes `s[start..]`, or 0. */
  longest(s: Uint8Array, start: number): number {
    let best = 0;
    this.prefixes(s, start, (end) => best = end - start);
    return best;
  }
}

/** The compiled rules: a darts-clone double array and the replacement pool. */
class Charsmap {
  readonly #units: Uint32Array;
  readonly #pool: Uint8Array;

  constructor(blob: Uint8Array, source: string) {
    const bad = (what: string) => new TokenizerError(source, `precompiled_charsmap: ${what}`);
    if (blob.length <= 4) throw bad("too short");
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const size = dv.getUint32(0, true);
    if (size >= blob.length - 4 + 1 || size % 4 !== 0) throw bad(`bad trie size ${size}`);
    this.#units = new Uint32Array(size / 4);
    for (let i = 0; i < this.#units.length; i++) this.#units[i] = dv.getUint32(4 + 4 * i, true);
    this.#pool = blob.subarray(4 + size);
  }

  /**
   * The longest rule that prefixes `s[start..]`: [key length, replacement], or null. As
   * darts-clone's `commonPrefixSearch`: a unit's low byte is its label, bit 8 says a key ends
   * below it, bits 10+ (scaled by bit 9) give its children's offset, a leaf holds the value.
   */
  match(s: Uint8Array, start: number): [number, Uint8Array] | null {
    const u = this.#units;
    const at = (i: number) => {
      if (i >= u.length) return 0; // outside the array: no label matches
      return u[i];
    };
    const offset = (x: number) => ((x >>> 10) << ((x & 0x200) >>> 6)) >>> 0;
    let pos = offset(at(0));
    let len = 0, value = -1;
    for (let i = start; i < s.length; i++) {
      pos = (pos ^ s[i]) >>> 0;
      const unit = at(pos);
      if (((unit & 0x800000ff) >>> 0) !== s[i]) break;
      pos = (pos ^ offset(unit)) >>> 0;
      if ((unit >>> 8) & 1) {
        len = i + 1 - start;
        value = at(pos) & 0x7fffffff;
      }
    }
    if (len === 0) return null;
    let end = value;
    while (end < this.#pool.length && this.#pool[end] !== 0) end++;
    return [len, this.#pool.subarray(value, end)];
  }
}

/** The normalized text (UTF-8) and, for each of its bytes and its end, the original offset. */
export interface Normalized {
  /** Normalized UTF-8, spaces escaped as ▁ if the model says so. */
  bytes: Uint8Array;
  /** Byte offset into the original UTF-8 of each normalized byte, plus one for the end. */
  normToOrig: Int32Array;
}

/** SentencePiece's normalizer for one model. */
export class SentencePieceNormalizer {
  readonly #spec: SentencePieceSpec;
  readonly #charsmap: Charsmap | null;
  readonly #userDefined: ByteTrie | null;

  /**
   * @param spec The model's normalizer and trainer settings.
   * @param userDefined The model's user-defined pieces (matched before the rules), or null.
   * @param source The model's file name, for messages.
   * @throws {TokenizerError} If the compiled rules are malformed.
   */
  constructor(spec: SentencePieceSpec, userDefined: ByteTrie | null, source: string) {
    this.#spec = spec;
    this.#charsmap = spec.precompiledCharsmap.length > 0
      ? new Charsmap(spec.precompiledCharsmap, source)
      : null;
    this.#userDefined = userDefined;
  }

  /** `Normalizer::NormalizePrefix`: the replacement of the text at `pos` and the bytes used. */
  #prefix(s: Uint8Array, pos: number): [ArrayLike<number>, number] {
    const user = this.#userDefined?.longest(s, pos) ?? 0;
    if (user > 0) return [s.subarray(pos, pos + user), user];
    const m = this.#charsmap?.match(s, pos);
    if (m) return [m[1], m[0]];
    const n = utf8Length(s[pos]);
    if (n > s.length - pos || n === 1 && s[pos] >= 0x80) return [REPLACEMENT, 1];
    return [s.subarray(pos, pos + n), n];
  }

  /**
   * Normalizes UTF-8 text as `Normalizer::Normalize`: rules, then (by the spec) leading,
   * trailing and repeated spaces dropped, a dummy ▁ prefix (or suffix), spaces escaped as ▁.
   *
   * @param input The original text's UTF-8.
   * @returns The normalized bytes and their map back to `input`'s byte offsets.
   */
  normalize(input: Uint8Array): Normalized {
    const spec = this.#spec;
    const out: number[] = [];
    const map: number[] = [];
    let consumed = 0;
    const suffix = spec.treatWhitespaceAsSuffix;
    const addWs = () => {
      const ws = spec.escapeWhitespaces ? SPACE_SYMBOL : [SPACE];
      for (const b of ws) out.push(b), map.push(consumed);
    };
    if (spec.removeExtraWhitespaces) {
      while (consumed < input.length) {
        const [rep, n] = this.#prefix(input, consumed);
        if (rep.length !== 1 || rep[0] !== SPACE) break;
        consumed += n;
      }
    }
    if (consumed >= input.length) return { bytes: new Uint8Array(0), normToOrig: Int32Array.of(0) };
    if (!suffix && spec.addDummyPrefix) addWs();
    let prevSpace = spec.removeExtraWhitespaces;
    while (consumed < input.length) {
      const [rep, n] = this.#prefix(input, consumed);
      let i = 0;
      // A replacement's leading spaces go when the text so far ends with one.
      while (prevSpace && i < rep.length && rep[i] === SPACE) i++;
      if (i < rep.length) {
        for (; i < rep.length; i++) {
          if (spec.escapeWhitespaces && rep[i] === SPACE) {
            for (const b of SPACE_SYMBOL) out.push(b), map.push(consumed);
          } else {
            out.push(rep[i]);
            map.push(consumed);
          }
        }
        prevSpace = rep[rep.length - 1] === SPACE;
      }
      consumed += n;
      if (!spec.removeExtraWhitespaces) prevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      const ws = spec.escapeWhitespaces ? SPACE_SYMBOL : [SPACE];
      while (endsWith(out, ws)) {
        const len = out.length - ws.length;
        consumed = map[len];
        out.length = len;
        map.length = len;
      }
    }
    if (suffix && spec.addDummyPrefix) addWs();
    map.push(consumed);
    return { bytes: Uint8Array.from(out), normToOrig: Int32Array.from(map) };
  }
}

function endsWith(s: number[], tail: readonly number[]): boolean {
  if (s.length < tail.length) return false;
  for (let i = 0; i < tail.length; i++) if (s[s.length - tail.length + i] !== tail[i]) return false;
  return true;
}
