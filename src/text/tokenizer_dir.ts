// A HF model directory's tokenizer: `tokenizer.json`, else `vocab.txt` with the casing of
// `tokenizer_config.json`.

import { DataError } from "../util/errors.ts";
import { BertTokenizer } from "./tokenizer.ts";

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
 * Loads a tokenizer from a model directory: `tokenizer.json`, else `vocab.txt` with
 * `do_lower_case` from `tokenizer_config.json` (HF's BertTokenizer default: true).
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
export async function loadTokenizerDir(dir: string): Promise<BertTokenizer> {
  if (await exists(`${dir}/tokenizer.json`)) return BertTokenizer.fromFile(`${dir}/tokenizer.json`);
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
  throw new DataError(dir, "no tokenizer.json or vocab.txt in the model directory");
}
