// A HF model directory's tokenizer: `tokenizer.json`, a SentencePiece `*.model`, or `vocab.txt`
// with the casing of `tokenizer_config.json`; and a tokenizer file by its kind.

import { SentencePieceTokenizer } from "./sentencepiece.ts";
import { BertTokenizer, type TextTokenizer, type TokenWindow } from "./tokenizer.ts";
import type { BertConfig } from "../models/config.ts";
import { DataError } from "../util/errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { tokenizerSource } from "./tokenizer_source.ts";

/**
 * Whether `path` exists (a file or a directory).
 *
 * @example
 * ```ts
 * import { exists } from "webgpu-bert";
 * console.log(await exists("deno.json"), await exists("no/such/file")); // true false
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads a tokenizer file: a SentencePiece model (`*.model`, e.g. KoBERT's) or a Hugging Face
 * `tokenizer.json`.
 *
 * @example
 * ```ts
 * import { loadTokenizerFile } from "webgpu-bert";
 * const tok = await loadTokenizerFile("tests/fixtures/sentencepiece/nsmc_unigram.model");
 * console.log(tok.idToToken(tok.clsId)); // [CLS]
 * ```
 */
export async function loadTokenizerFile(path: string): Promise<TextTokenizer> {
  if (path.endsWith(".model")) return await SentencePieceTokenizer.fromFile(path);
  return BertTokenizer.fromFile(path);
}

/**
 * Loads a tokenizer from a model directory: `tokenizer.json`, else a SentencePiece `*.model`
 * (KoBERT's `tokenizer_78b3253a26.model`; its `vocab.txt` is then not a WordPiece vocab), else
 * `vocab.txt` with `do_lower_case` from `tokenizer_config.json` (HF's BertTokenizer default:
 * true).
 *
 * @example
 * ```ts
 * import { loadTokenizerDir } from "webgpu-bert";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/vocab.txt`, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
 * const tok = await loadTokenizerDir(dir);
 * console.log((await tok.encode("Hello")).tokens); // ["[CLS]", "hello", "[SEP]"]
 * ```
 */
export async function loadTokenizerDir(dir: string): Promise<TextTokenizer> {
  if (!(await exists(dir))) throw new DataError(dir, "model directory not found");
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  const config = names.includes("tokenizer_config.json")
    ? await Deno.readTextFile(`${dir}/tokenizer_config.json`)
    : null;
  const src = tokenizerSource(dir, names, config);
  const path = `${dir}/${src.file}`;
  switch (src.kind) {
    case "tokenizer.json":
      return BertTokenizer.fromFile(path);
    case "sentencepiece":
      return await SentencePieceTokenizer.fromFile(path);
    case "vocab.txt":
      return BertTokenizer.fromVocab(path, {
        lowercase: src.lowercase,
        stripAccents: src.stripAccents,
      });
  }
}

/**
 * Refuses a tokenizer with more tokens than the model's `vocab_size` (their ids would fall
 * outside the embedding), naming the model directory.
 *
 * @example
 * ```ts
 * import { BertTokenizer, checkTokenizerFits } from "webgpu-bert";
 * const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], { lowercase: true });
 * checkTokenizerFits("dir", tok, 4); // fits: no error
 * ```
 */
export function checkTokenizerFits(dir: string, tokenizer: TextTokenizer, vocabSize: number): void {
  if (tokenizer.vocabSize > vocabSize) {
    throw new DataError(
      dir,
      `tokenizer has ${tokenizer.vocabSize} tokens but config.json vocab_size is ${vocabSize}`,
    );
  }
}

/**
 * The tokenizer as the model of `config` reads its input: refused when it has more tokens
 * than `vocab_size` (see {@linkcode checkTokenizerFits}), and, for a model with one token type
 * (`type_vocab_size` 1: RoBERTa, KLUE's `klue/roberta-*`), one whose every token type is 0,
 * pairs included. KLUE's own `tokenizer.json` already says 0 for both segments; its
 * `vocab.txt`, and any BERT-style tokenizer, say 1 for the second, which such a model has no
 * embedding for. Every place that puts a tokenizer beside a model goes through here, so QA
 * windows and classification batches get the model's segment ids without asking.
 *
 * @example
 * ```ts
 * import { bertConfig, BertTokenizer, tokenizerForModel } from "webgpu-bert";
 * const tok = BertTokenizer.fromVocabArray(["[CLS]", "[PAD]", "[SEP]", "[UNK]", "a", "b"],
 *   { lowercase: false });
 * const roberta = bertConfig({ model_type: "roberta", vocab_size: 6, type_vocab_size: 1 });
 * const [w] = await tokenizerForModel("dir", tok, roberta).encodePair("a", "b");
 * console.log(w.typeIds); // [0, 0, 0, 0, 0]
 * ```
 */
export function tokenizerForModel<T extends TextTokenizer>(
  dir: string,
  tokenizer: T,
  config: Pick<BertConfig, "vocab_size" | "type_vocab_size">,
): T {
  checkTokenizerFits(dir, tokenizer, config.vocab_size);
  return config.type_vocab_size === 1 ? singleSegment(tokenizer) : tokenizer;
}

// A Proxy rather than a wrapper class: every other member of the concrete tokenizer (its
// extra methods, whatever the interface grows) passes through untouched, bound to the
// original so that its private fields still resolve.
function singleSegment<T extends TextTokenizer>(tokenizer: T): T {
  const zero = (w: TokenWindow): TokenWindow => ({ ...w, typeIds: w.typeIds.map(() => 0) });
  const encode: TextTokenizer["encode"] = async (text, opts) =>
    zero(await tokenizer.encode(text, opts));
  const encodePair: TextTokenizer["encodePair"] = async (question, context, opts) =>
    (await tokenizer.encodePair(question, context, opts)).map(zero);
  // What it saves must read the same: HF's BERT pair template says 1 for the second segment.
  const save: TextTokenizer["save"] = async (dir) => {
    await tokenizer.save(dir);
    await zeroTemplateTypes(`${dir}/tokenizer.json`);
  };
  return new Proxy(tokenizer, {
    get(target, key) {
      if (key === "encode") return encode;
      if (key === "encodePair") return encodePair;
      if (key === "save") return save;
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

// Sets every type_id of a saved tokenizer.json's TemplateProcessing to 0 (KLUE's own file says
// 0 for both segments); a file without one (SentencePiece models save other files) is left.
async function zeroTemplateTypes(path: string): Promise<void> {
  let json;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const post = json?.post_processor;
  if (post?.type !== "TemplateProcessing") return;
  for (const side of [post.single, post.pair]) {
    for (const piece of side ?? []) {
      for (const v of Object.values(piece)) {
        if (v && typeof v === "object" && "type_id" in v) (v as { type_id: number }).type_id = 0;
      }
    }
  }
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(json, null, 2)));
}
