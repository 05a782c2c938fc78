// Shared CLI plumbing: strict flag parsing, and a wrapper that turns a user's mistake
// (a UserError) into one `error: ...` line and exit code 2 instead of a stack trace.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError, UserError } from "../util/errors.ts";
import { setTokenizerImpl } from "../text/tokenizer.ts";

// The CLIs take these from here with the rest of their plumbing.
export { DataError, UsageError } from "../util/errors.ts";
export { parseJson, readUtf8 } from "../io/text_file.ts";

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
 * Takes `--tokenizer-impl ts|native` (which every CLI accepts) out of `args` and applies it:
 * the WordPiece engine of every tokenizer the command loads.
 *
 * @example
 * ```ts
 * import { takeTokenizerImpl } from "./_common.ts";
 * console.log(takeTokenizerImpl(["--tokenizer-impl", "ts", "--data", "x"])); // ["--data", "x"]
 * ```
 */
export function takeTokenizerImpl(args: string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a !== "--tokenizer-impl" && !a.startsWith("--tokenizer-impl=")) {
      rest.push(a);
      continue;
    }
    const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
    if (v !== "ts" && v !== "native") {
      throw new UsageError(
        `--tokenizer-impl: must be ts or native, got ${JSON.stringify(v ?? "")}`,
      );
    }
    setTokenizerImpl(v);
  }
  return rest;
}

/**
 * Runs a CLI entry point with `Deno.args` (less `--tokenizer-impl`, see
 * {@linkcode takeTokenizerImpl}). A {@linkcode UserError} (bad flags, data, config,
 * checkpoint) prints one `error: ...` line (plus the usage line for usage errors) to stderr and
 * exits 2;
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
    await main(takeTokenizerImpl([...Deno.args]));
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
    Deno.exit(e instanceof UserError ? 2 : 1);
  }
}
