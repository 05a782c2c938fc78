// A HF model directory as the QA CLIs use it: config, weights and tokenizer together.

import { loadBertForQa } from "../models/checkpoint.ts";
import type { BertForQuestionAnswering } from "../models/bert_qa.ts";
import { SentencePieceTokenizer } from "../text/sentencepiece.ts";
import { BertTokenizer, type TextTokenizer } from "../text/tokenizer.ts";
import { DataError } from "../util/errors.ts";

async function exists(path: string): Promise<boolean> {
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

/** The SentencePiece model of a directory: its one `*.model` file, or null when none. */
async function sentencePieceFile(dir: string): Promise<string | null> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".model")) found.push(e.name);
  }
  if (found.length > 1) {
    throw new DataError(dir, `several SentencePiece models (${found.sort().join(", ")})`);
  }
  return found.length ? `${dir}/${found[0]}` : null;
}

/**
 * Loads a tokenizer from a model directory: `tokenizer.json`, else a SentencePiece `*.model`
 * (KoBERT's `tokenizer_78b3253a26.model`; its `vocab.txt` is then not a WordPiece vocab), else
 * `vocab.txt` with `do_lower_case` from `tokenizer_config.json` (HF's BertTokenizer default:
 * true).
 */
export async function loadTokenizerDir(dir: string): Promise<TextTokenizer> {
  if (await exists(`${dir}/tokenizer.json`)) return BertTokenizer.fromFile(`${dir}/tokenizer.json`);
  const spm = await sentencePieceFile(dir);
  if (spm) return await SentencePieceTokenizer.fromFile(spm);
  if (await exists(`${dir}/vocab.txt`)) {
    let lowercase = true;
    let stripAccents: boolean | undefined;
    if (await exists(`${dir}/tokenizer_config.json`)) {
      try {
        const c = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer_config.json`));
        if (typeof c.do_lower_case === "boolean") lowercase = c.do_lower_case;
        if (typeof c.strip_accents === "boolean") stripAccents = c.strip_accents;
      } catch (e) {
        throw new DataError(
          `${dir}/tokenizer_config.json`,
          `invalid JSON (${(e as Error).message})`,
        );
      }
    }
    return BertTokenizer.fromVocab(`${dir}/vocab.txt`, { lowercase, stripAccents });
  }
  throw new DataError(dir, "no tokenizer.json, *.model or vocab.txt in the model directory");
}

/**
 * Loads `config.json`, the safetensors weights and the tokenizer of a model directory.
 *
 * @example
 * ```ts ignore
 * import { initGpu, loadQaModelDir } from "webgpu-bert";
 * await initGpu();
 * const { model, tokenizer } = await loadQaModelDir("weights/bert-base-multilingual-cased");
 * ```
 */
export async function loadQaModelDir(
  dir: string,
  opts: { seed?: number; quiet?: boolean } = {},
): Promise<{ model: BertForQuestionAnswering; tokenizer: TextTokenizer }> {
  if (!(await exists(dir))) throw new DataError(dir, "model directory not found");
  const tokenizer = await loadTokenizerDir(dir);
  const { model } = await loadBertForQa(dir, opts);
  if (tokenizer.vocabSize > model.config.vocab_size) {
    model.dispose();
    throw new DataError(
      dir,
      `tokenizer has ${tokenizer.vocabSize} tokens but config.json vocab_size is ${model.config.vocab_size}`,
    );
  }
  return { model, tokenizer };
}
