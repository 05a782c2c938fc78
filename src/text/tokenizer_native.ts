// deno-lint-ignore-file no-import-prefix -- a pinned npm: specifier (also in deno.json's
// imports) so that mod.ts loads from other projects, whose import maps do not have ours.
// Hugging Face's Rust `tokenizers` (its Node binding, which needs --allow-ffi) as the
// segmentation engine of a BertTokenizer. Only ./tokenizer.ts imports this file, dynamically,
// so a module graph that tokenizes in TypeScript never loads the binding. The windows are
// not the binding's: tokenizers 0.23.1+ stops tokenizing once `max_length` tokens exist when
// truncation is set (huggingface/tokenizers#2091), so truncation stays off and ./windows.ts
// cuts the windows as the library's `Encoding::truncate` does.

import { Tokenizer } from "npm:tokenizers@0.23.2";
import type { Offset, TokenSequence } from "./windows.ts";

/** What a BertTokenizer asks of the binding. */
export interface NativeEngine {
  /** One text's tokens without special tokens; offsets in UTF-16 units of `text`. */
  sequence(text: string): Promise<TokenSequence>;
  /** The library's decode. */
  decode(ids: readonly number[], skipSpecialTokens: boolean): Promise<string>;
}

/**
 * The binding loaded from a `tokenizer.json` text, truncation and padding off.
 *
 * @example
 * ```ts
 * import { nativeEngine } from "./tokenizer_native.ts";
 * const json = JSON.stringify({ model: { type: "WordPiece", unk_token: "[UNK]",
 *   continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: { "[UNK]": 0, hi: 1 } } });
 * console.log((await nativeEngine(json).sequence("hi")).ids); // [1]
 * ```
 */
export function nativeEngine(json: string): NativeEngine {
  const tk = Tokenizer.fromString(json);
  tk.disableTruncation();
  tk.disablePadding();
  return {
    async sequence(text) {
      const e = await tk.encode(text, null, { addSpecialTokens: false });
      const map = utf16Map(text);
      return {
        ids: e.getIds(),
        tokens: e.getTokens(),
        offsets: e.getOffsets().map((o): Offset => map ? [map[o[0]], map[o[1]]] : [o[0], o[1]]),
      };
    },
    decode: (ids, skipSpecialTokens) => tk.decode([...ids], skipSpecialTokens),
  };
}

/**
 * The binding's offsets are code points (Python's string indices); JS strings index UTF-16
 * units. Code-point index to UTF-16 index, or null when the two agree (no astral characters).
 */
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
