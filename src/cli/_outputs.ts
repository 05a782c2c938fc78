// Where a command will write, checked before any work (data, model, GPU), so that a mistake
// costs nothing and never overwrites a user's file: an output may not be an input, another
// output of the same command, an existing run, or a file where a directory goes. Paths are
// compared as the filesystem resolves them (absolute, symlinks followed), not as typed.
// Missing parent directories are created, as HF's scripts create their output dirs.

import { basename, dirname, join, resolve, sep } from "node:path";
import { OutputError } from "../util/errors.ts";

/** One path a command will write. */
export interface Output {
  /** The flag that names it, for messages (`--out`). */
  flag: string;
  path: string;
  kind: "file" | "dir";
  /** What goes there, for messages ("the n-best list"). */
  what: string;
}

/** One path a command reads; `path` undefined when the flag was not given. */
export interface Input {
  flag: string;
  path: string | undefined;
}

/** What a model directory is read from: an output may not replace one of these either. */
const MODEL_FILES = [
  "config.json",
  "model.safetensors",
  "model.safetensors.index.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "vocab.txt",
  "sentencepiece.bpe.model",
  "spiece.model",
  "tokenizer.model",
  "trainer_state.json",
];

/** `--model DIR` as inputs: the directory and the files a model is read from. */
export function modelInputs(dir: string | undefined): Input[] {
  if (!dir) return [];
  return [dir, ...MODEL_FILES.map((f) => `${dir}/${f}`)].map((path) => ({ flag: "--model", path }));
}

/** Files that mark a directory as a run that --overwrite-output-dir may replace. */
const RUN_MARKERS = ["trainer_state.json", "metrics.jsonl"];

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw new OutputError(path, reason(e));
  }
}

/** An OS error in words, without the errno and the syscall. */
function reason(e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\(os error \d+\).*$/s, "");
}

/** `path` absolute with symlinks resolved in the part that exists; the rest appended. */
async function realish(path: string): Promise<string> {
  let head = resolve(path);
  const tail: string[] = [];
  for (;;) {
    try {
      return join(await Deno.realPath(head), ...tail);
    } catch {
      const up = dirname(head);
      if (up === head) return resolve(path);
      tail.unshift(basename(head));
      head = up;
    }
  }
}

function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/** The nearest ancestor of `path` that exists must be a directory. */
async function checkParents(path: string): Promise<void> {
  let dir = dirname(resolve(path));
  for (;;) {
    const info = await statOrNull(dir);
    if (info) {
      if (!info.isDirectory) throw new OutputError(dir, "is a file, not a directory");
      return;
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/**
 * Refuses, with an {@linkcode OutputError} naming the path, an output that is one of `inputs`
 * (a directory output also may not hold one), the same path as an earlier output, a directory
 * where a file goes or the reverse, or one below a file; then creates missing parent
 * directories.
 */
export async function checkOutputs(outputs: Output[], inputs: Input[] = []): Promise<void> {
  const ins = await Promise.all(
    inputs.filter((i) => i.path).map(async (i) => ({ ...i, real: await realish(i.path!) })),
  );
  const seen: (Output & { real: string })[] = [];
  for (const o of outputs) {
    if (o.kind === "file" && /[\\/]$/.test(o.path)) {
      throw new OutputError(o.path, `${o.flag} takes a file path, not a directory`);
    }
    const real = await realish(o.path);
    for (const i of ins) {
      if (real === i.real) {
        throw new OutputError(o.path, `is also ${i.flag}; writing ${o.what} would overwrite it`);
      }
      if (o.kind === "dir" && within(i.real, real)) {
        throw new OutputError(o.path, `holds ${i.flag} ${i.path}; choose another ${o.flag}`);
      }
    }
    const clash = seen.find((s) => s.real === real);
    if (clash) {
      throw new OutputError(
        o.path,
        `would hold both ${clash.what} and ${o.what}; choose another ${clash.flag}`,
      );
    }
    seen.push({ ...o, real });
    const info = await statOrNull(o.path);
    if (info && o.kind === "file" && info.isDirectory) {
      throw new OutputError(o.path, `is a directory; ${o.flag} takes a file path`);
    }
    if (info && o.kind === "dir" && !info.isDirectory) {
      throw new OutputError(o.path, `is a file; ${o.flag} takes a directory`);
    }
    if (!info) await checkParents(o.path);
  }
  for (const o of outputs) {
    const parent = dirname(resolve(o.path));
    await Deno.mkdir(parent, { recursive: true }).catch((e) => {
      throw new OutputError(parent, `cannot create: ${reason(e)}`);
    });
  }
}

async function isEmptyDir(path: string): Promise<boolean> {
  for await (const _ of Deno.readDir(path)) return false;
  return true;
}

/**
 * A fresh run's directory: a non-empty one is refused unless `overwrite`
 * (`--overwrite-output-dir`), and then only if it is a run (it has metrics.jsonl or
 * trainer_state.json), so that a mistyped path never removes other files.
 */
export async function checkRunDir(path: string, overwrite: boolean): Promise<void> {
  const info = await statOrNull(path);
  if (!info?.isDirectory || await isEmptyDir(path)) return;
  if (!overwrite) {
    throw new OutputError(
      path,
      "is not empty; give --overwrite-output-dir to replace the run, or --resume it to continue",
    );
  }
  const marks = await Promise.all(RUN_MARKERS.map((m) => statOrNull(join(path, m))));
  if (!marks.some((m) => m?.isFile)) {
    throw new OutputError(
      path,
      `is not a run (no ${RUN_MARKERS.join(" or ")}); --overwrite-output-dir replaces runs only`,
    );
  }
}

/** Removes an old run that {@linkcode checkRunDir} allowed to be replaced, as a whole. */
export async function clearRunDir(path: string): Promise<void> {
  if (!(await statOrNull(path))?.isDirectory || await isEmptyDir(path)) return;
  console.error(`--overwrite-output-dir: removing the old run in ${path}`);
  await Deno.remove(path, { recursive: true });
}
