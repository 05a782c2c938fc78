// Hugging Face's BertNormalizer and BertPreTokenizer in TypeScript, keeping for every
// normalized character the span of the original text it came from (as the Rust library's
// NormalizedString alignments do), so token offsets index the original string. Unicode
// properties come from the engine's regular expressions, corrected to the library's Unicode
// 8.0 tables by the generated flips in ./wordpiece_unicode.ts.

import {
  CONTROL_FLIPS,
  LOWER_DIFFS,
  MN_FLIPS,
  NFD_KEEP,
  PUNCT_FLIPS,
} from "./wordpiece_unicode.ts";

/** The normalizer settings of a BERT WordPiece tokenizer, all resolved. */
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
 * Normalized text, one code point per entry, each with the `[start, end)` span (UTF-16 units)
 * of the original character it came from.
 */
export interface NormalizedText {
  /** The normalized code points. */
  chars: string[];
  /** Start of each one's original character. */
  starts: number[];
  /** End of each one's original character. */
  ends: number[];
}

const CONTROL = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const WHITESPACE = /^\p{White_Space}$/u;
const PUNCT = /^\p{P}$/u;
const MN = /^\p{Mn}$/u;

/**
 * Cc, Cf, Co or Cs by this engine's tables (tab, newline and CR count as whitespace); the
 * tokenizer corrects it to the Rust library's tables.
 *
 * @example
 * ```ts
 * import { isControlJs } from "webgpu-bert";
 * console.log(isControlJs("\u0007"), isControlJs("\n")); // true false
 * ```
 */
export function isControlJs(ch: string): boolean {
  return CONTROL.test(ch) && ch !== "\t" && ch !== "\n" && ch !== "\r";
}

/**
 * The pre-tokenizer's punctuation by this engine's tables: ASCII punctuation or \p{P}.
 *
 * @example
 * ```ts
 * import { isPunctJs } from "webgpu-bert";
 * console.log(isPunctJs("$"), isPunctJs("「"), isPunctJs("a")); // true true false
 * ```
 */
export function isPunctJs(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
    (c >= 123 && c <= 126) || PUNCT.test(ch);
}

/**
 * A non-spacing mark (Mn) by this engine's tables.
 *
 * @example
 * ```ts
 * import { isMnJs } from "webgpu-bert";
 * console.log(isMnJs("\u0301"), isMnJs("e")); // true false
 * ```
 */
export function isMnJs(ch: string): boolean {
  return MN.test(ch);
}

/** Sorted `[lo, hi]` pairs from "hex" / "hex-hex" ranges. */
function parseRanges(s: string): Int32Array {
  const out: number[] = [];
  for (const r of s.split(" ").filter(Boolean)) {
    const [lo, hi] = r.split("-").map((x) => parseInt(x, 16));
    out.push(lo, hi ?? lo);
  }
  return Int32Array.from(out);
}

function inRanges(r: Int32Array, cp: number): boolean {
  let lo = 0, hi = r.length / 2 - 1;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (cp < r[2 * m]) hi = m - 1;
    else if (cp > r[2 * m + 1]) lo = m + 1;
    else return true;
  }
  return false;
}

const controlFlips = parseRanges(CONTROL_FLIPS);
const punctFlips = parseRanges(PUNCT_FLIPS);
const mnFlips = parseRanges(MN_FLIPS);
const nfdKeep = parseRanges(NFD_KEEP);
const lowerDiffs = new Map(
  LOWER_DIFFS.split(" ").filter(Boolean).map((d) => {
    const [cp, lower] = d.split(":");
    const chars = lower.split(",").filter(Boolean).map((h) =>
      String.fromCodePoint(parseInt(h, 16))
    );
    return [parseInt(cp, 16), chars];
  }),
);

function isControl(ch: string, cp: number): boolean {
  return isControlJs(ch) !== inRanges(controlFlips, cp);
}

/** Rust's `char::is_whitespace` (the White_Space property), which both stages use. */
function isWhitespace(ch: string): boolean {
  return ch === " " || WHITESPACE.test(ch);
}

function isPunct(ch: string): boolean {
  return isPunctJs(ch) !== inRanges(punctFlips, ch.codePointAt(0)!);
}

function isMn(ch: string): boolean {
  return isMnJs(ch) !== inRanges(mnFlips, ch.codePointAt(0)!);
}

/** The CJK ideograph blocks of BERT's `_is_chinese_char` (0x2B920 as the Rust library has it). */
function isChinese(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/**
 * BertNormalizer on `text[from, to)`: clean_text, then spaces around CJK ideographs, then NFD
 * and dropping non-spacing marks, then lowercasing code point by code point (Rust's
 * `char::to_lowercase`), appended to `out`. Every character a source character becomes keeps
 * that character's span, as the Rust library aligns them.
 *
 * @example
 * ```ts
 * import { normalizeBert } from "webgpu-bert";
 * const out = { chars: [], starts: [], ends: [] };
 * const config = { lowercase: true, stripAccents: true, handleChineseChars: true, cleanText: true };
 * normalizeBert("Ça\u0000va", 0, 6, config, out);
 * console.log(out.chars.join(""), out.starts); // "cava" [0, 1, 3, 4]
 * ```
 */
export function normalizeBert(
  text: string,
  from: number,
  to: number,
  config: BertNormalizerConfig,
  out: NormalizedText,
): void {
  const { chars, starts, ends } = out;
  const push = (c: string, s: number, e: number) => {
    chars.push(c);
    starts.push(s);
    ends.push(e);
  };
  for (let i = from; i < to;) {
    const cp = text.codePointAt(i)!;
    const n = cp > 0xffff ? 2 : 1;
    const ch = n === 1 ? text[i] : text.slice(i, i + 2);
    const s = i, e = i + n;
    i = e;
    if (cp < 0x80 && cp > 0x20 && cp !== 0x7f) {
      // The common case, which no stage but lowercasing changes.
      push(config.lowercase && cp >= 65 && cp <= 90 ? String.fromCharCode(cp + 32) : ch, s, e);
      continue;
    }
    if (config.cleanText) {
      if (cp === 0 || cp === 0xfffd || isControl(ch, cp)) continue;
      if (isWhitespace(ch) || ch === "\t" || ch === "\n" || ch === "\r") {
        push(" ", s, e);
        continue;
      }
    }
    const chinese = config.handleChineseChars && isChinese(cp);
    if (chinese) push(" ", s, e);
    let piece = ch;
    if (config.stripAccents) {
      piece = "";
      const nfd = inRanges(nfdKeep, cp) ? ch : ch.normalize("NFD");
      for (const c of nfd) if (!isMn(c)) piece += c;
    }
    for (const c of piece) {
      if (!config.lowercase) push(c, s, e);
      else for (const l of lowerDiffs.get(c.codePointAt(0)!) ?? c.toLowerCase()) push(l, s, e);
    }
    if (chinese) push(" ", s, e);
  }
}

/**
 * BertPreTokenizer on normalized text: splits on whitespace (dropped) and isolates each
 * punctuation character (ASCII punctuation or a Unicode P* category).
 *
 * @param chars Normalized code points.
 * @returns The words, as `[from, to)` index ranges into `chars`.
 * @example
 * ```ts
 * import { preTokenizeBert } from "webgpu-bert";
 * console.log(preTokenizeBert([..."hi, you"])); // [[0, 2], [2, 3], [4, 7]]
 * ```
 */
export function preTokenizeBert(chars: readonly string[]): [number, number][] {
  const words: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    const code = c.charCodeAt(0);
    const ascii = c.length === 1 && code < 0x80;
    const space = ascii ? code === 32 || (code >= 9 && code <= 13) : isWhitespace(c);
    const punct = !space && (ascii ? isPunctJs(c) : isPunct(c));
    if (!space && !punct) continue;
    if (i > start) words.push([start, i]);
    if (punct) words.push([i, i + 1]);
    start = i + 1;
  }
  if (chars.length > start) words.push([start, chars.length]);
  return words;
}
