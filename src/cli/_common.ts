// Shared CLI plumbing: strict flag parsing, the two expected error kinds, and a wrapper that
// turns them into one `error: ...` line and an exit code instead of a stack trace.

import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * A bad command line (unknown flag, missing or malformed value). `runCli` prints
 * `error: <what>` and the usage line, and exits with code 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./_common.ts";
 * const e = new UsageError("--data is required", "usage: score --data FILE");
 * console.log(e.message, e.usage); // --data is required usage: score --data FILE
 * ```
 */
export class UsageError extends Error {
  constructor(what: string, readonly usage = "") {
    super(what);
    this.name = "UsageError";
  }
}

/**
 * Bad input data: a file that is missing, not UTF-8, not JSON or not in the expected layout.
 * The message is `<file>: <what>`; `runCli` prints `error: <file>: <what>` and exits with code 2.
 *
 * @example
 * ```ts
 * import { DataError } from "./_common.ts";
 * const e = new DataError("dev.json", "data[0]: missing \"paragraphs\"");
 * console.log(e.message); // dev.json: data[0]: missing "paragraphs"
 * ```
 */
export class DataError extends Error {
  constructor(readonly file: string, readonly what: string) {
    super(`${file}: ${what}`);
    this.name = "DataError";
  }
}

/** Flag declarations, as `parseArgs` from `node:util` takes them. */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` strictly: an unknown flag, a missing value or a stray positional argument
 * throws a {@linkcode UsageError} carrying `usage`.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./_common.ts";
 * const v = parseFlags(["--data", "dev.json"], { data: { type: "string" } }, "usage: x --data F");
 * console.log(v.data); // dev.json
 * ```
 */
export function parseFlags<T extends FlagSpec>(
  args: string[],
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true }>>["values"] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    // node:util's messages end with advice about "--" that is noise for our users.
    const msg = (e instanceof Error ? e.message : String(e)).split(/\. To specify|\n/)[0];
    throw new UsageError(msg, usage);
  }
}

/**
 * Reads a whole file as strict UTF-8, turning I/O and decoding failures into a
 * {@linkcode DataError} that names the file.
 *
 * @example
 * ```ts
 * import { readUtf8 } from "./_common.ts";
 * const text = await readUtf8("deno.json");
 * ```
 */
export async function readUtf8(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataError(path, "no such file");
    if (e instanceof Deno.errors.PermissionDenied) throw new DataError(path, "permission denied");
    if (e instanceof Deno.errors.IsADirectory) throw new DataError(path, "is a directory");
    throw new DataError(path, `cannot read: ${e instanceof Error ? e.message : e}`);
  }
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
 * import { parseJson } from "./_common.ts";
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

/** Errors about the user's files (bad data, checkpoints, configs): exit code 2. */
function isUserError(e: unknown): boolean {
  return e instanceof DataError ||
    (e instanceof Error &&
      ["SafetensorsError", "ConfigError", "CheckpointError", "TokenizerError"].includes(e.name));
}

/**
 * Runs a CLI entry point with `Deno.args`. A {@linkcode UsageError} or {@linkcode DataError}
 * prints one `error: ...` line (plus the usage line for usage errors) to stderr and exits 2;
 * any other exception prints `error: <message>` and exits 1. Stack traces only with `DEBUG=1`.
 *
 * @example
 * ```ts
 * import { runCli } from "./_common.ts";
 * if (import.meta.main) await runCli((args) => console.log(args));
 * ```
 */
export async function runCli(main: (args: string[]) => unknown): Promise<void> {
  try {
    await main([...Deno.args]);
  } catch (e) {
    if (Deno.env.get("DEBUG") === "1") console.error(e);
    const msg = e instanceof Error ? e.message : String(e);
    const oneLine = msg.split("\n")[0];
    if (e instanceof UsageError) {
      console.error(`error: ${oneLine}`);
      if (e.usage) console.error(e.usage);
      Deno.exit(2);
    }
    console.error(`error: ${oneLine}`);
    Deno.exit(isUserError(e) ? 2 : 1);
  }
}
