// Reading the user's text files (datasets, predictions) with errors that name the file: a
// missing file, bad UTF-8 or bad JSON is a DataError, never a stack trace.

import { DataError } from "../util/errors.ts";
import { hostFiles } from "./files.ts";

/**
 * Reads a whole file as strict UTF-8, turning I/O and decoding failures into a
 * {@linkcode DataError} that names the file.
 *
 * @example
 * ```ts
 * import { readUtf8 } from "webgpu-bert";
 * const text = await readUtf8("deno.json");
 * ```
 */
export async function readUtf8(path: string): Promise<string> {
  return decodeUtf8(await readBytes(path), path);
}

/**
 * Reads a whole file's bytes, turning I/O failures into a {@linkcode DataError} that names the
 * file (for files too large to decode into one string, which V8 caps near 512 Mi characters).
 *
 * @example
 * ```ts
 * import { readBytes } from "webgpu-bert";
 * console.log((await readBytes("deno.json"))[0]); // 123, "{"
 * ```
 */
export async function readBytes(path: string): Promise<Uint8Array> {
  const files = await hostFiles();
  try {
    return await files.readFile(path);
  } catch (e) {
    // Deno's error classes, by name: the host's files may be another implementation.
    const name = e instanceof Error ? e.name : "";
    if (name === "NotFound") throw new DataError(path, "no such file");
    if (name === "PermissionDenied") throw new DataError(path, "permission denied");
    if (name === "IsADirectory") throw new DataError(path, "is a directory");
    throw new DataError(path, `cannot read: ${e instanceof Error ? e.message : e}`);
  }
}

/**
 * Decodes a file's bytes as strict UTF-8 (a leading BOM dropped), turning a decoding failure
 * into a {@linkcode DataError} that names the file and the first bad byte.
 *
 * @example
 * ```ts
 * import { decodeUtf8 } from "webgpu-bert";
 * console.log(decodeUtf8(new Uint8Array([0xed, 0x95, 0x9c]), "x.txt")); // "한"
 * ```
 */
export function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(path, `not valid UTF-8 (bad byte at offset ${firstBadUtf8(bytes)})`);
  }
}

/** Byte offset of the first invalid UTF-8 sequence, found by streaming (error path only). */
function firstBadUtf8(bytes: Uint8Array): number {
  const step = 1 << 16;
  let chunk = 0;
  const dec = new TextDecoder("utf-8", { fatal: true });
  try {
    for (; chunk < bytes.length; chunk += step) {
      dec.decode(bytes.subarray(chunk, chunk + step), { stream: true });
    }
    dec.decode();
    return bytes.length;
  } catch {
    // Replay up to the failing chunk, then go byte by byte to pin the offset.
    const d = new TextDecoder("utf-8", { fatal: true });
    d.decode(bytes.subarray(0, chunk), { stream: true });
    let i = chunk;
    try {
      for (; i < bytes.length; i++) d.decode(bytes.subarray(i, i + 1), { stream: true });
      d.decode();
    } catch {
      return i;
    }
    return i;
  }
}

/**
 * Parses JSON text, turning a syntax error into a {@linkcode DataError} that names the file.
 *
 * @example
 * ```ts
 * import { parseJson } from "webgpu-bert";
 * console.log(parseJson('{"a": 1}', "x.json")); // { a: 1 }
 * ```
 */
export function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    // V8 quotes a snippet of the input, which may span lines; keep the error on one line.
    const msg = (e instanceof Error ? e.message : String(e)).replace(/\r?\n/g, "\\n");
    throw new DataError(path, `invalid JSON: ${msg}`);
  }
}
