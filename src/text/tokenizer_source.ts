// Which tokenizer a HF model directory holds, decided from its file names and
// tokenizer_config.json alone, so that Deno (reading a directory) and the web page (reading
// picked or fetched files) follow one rule.

import { DataError } from "../util/errors.ts";

/** The tokenizer file of a model directory and how to read it. */
export type TokenizerSource =
  | { kind: "tokenizer.json"; file: string }
  | { kind: "sentencepiece"; file: string }
  | { kind: "vocab.txt"; file: string; lowercase: boolean; stripAccents?: boolean };

/**
 * HF's order: `tokenizer.json`, else a SentencePiece `*.model` (KoBERT's; its `vocab.txt` is
 * then not a WordPiece vocab), else `vocab.txt` with `do_lower_case` (default true, as HF's
 * BertTokenizer) and `strip_accents` from `tokenizer_config.json`.
 *
 * @param dir The directory, for error messages.
 * @param names The file names in it.
 * @param tokenizerConfig The text of its `tokenizer_config.json`, or null when absent.
 * @returns Which file to read, and how.
 * @throws {DataError} With several `*.model` files, no tokenizer at all, or a bad config.
 * @example
 * ```ts
 * import { tokenizerSource } from "webgpu-bert";
 * const s = tokenizerSource("m", ["config.json", "vocab.txt"], '{"do_lower_case": false}');
 * console.log(s); // { kind: "vocab.txt", file: "vocab.txt", lowercase: false, stripAccents: undefined }
 * ```
 */
export function tokenizerSource(
  dir: string,
  names: readonly string[],
  tokenizerConfig: string | null,
): TokenizerSource {
  if (names.includes("tokenizer.json")) return { kind: "tokenizer.json", file: "tokenizer.json" };
  const spm = names.filter((n) => n.endsWith(".model")).sort();
  if (spm.length > 1) throw new DataError(dir, `several SentencePiece models (${spm.join(", ")})`);
  if (spm.length) return { kind: "sentencepiece", file: spm[0] };
  if (!names.includes("vocab.txt")) {
    throw new DataError(dir, "no tokenizer.json, *.model or vocab.txt in the model directory");
  }
  let lowercase = true;
  let stripAccents: boolean | undefined;
  if (tokenizerConfig !== null) {
    let c: Record<string, unknown>;
    try {
      c = JSON.parse(tokenizerConfig);
    } catch (e) {
      throw new DataError(
        `${dir}/tokenizer_config.json`,
        `invalid JSON (${(e as Error).message})`,
      );
    }
    if (typeof c?.do_lower_case === "boolean") lowercase = c.do_lower_case;
    if (typeof c?.strip_accents === "boolean") stripAccents = c.strip_accents;
  }
  return { kind: "vocab.txt", file: "vocab.txt", lowercase, stripAccents };
}
