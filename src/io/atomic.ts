// Atomic file replacement: readers see either the old file or the complete new one, never a
// prefix, even if the process dies mid-write (the rename is atomic on POSIX filesystems).

import type { FileChunks } from "./files.ts";

function dirOf(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i < 0 ? "." : i === 0 ? path.slice(0, 1) : path.slice(0, i);
}

function randomHex(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/**
 * Writes `data` to `path` atomically: into `path.tmp-<pid>-<random>` in the same directory,
 * fsynced and closed, then renamed over `path`, then the directory is fsynced where the
 * platform allows it. Chunks are written as they are produced, so a large file is never
 * held in memory at once. If anything throws (including the chunk source), the temporary
 * file is removed and `path` is left as it was.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "webgpu-bert";
 * const path = `${await Deno.makeTempDir()}/hello.txt`;
 * const enc = new TextEncoder();
 * await writeFileAtomic(path, [enc.encode("hello, "), enc.encode("world\n")]);
 * console.log(await Deno.readTextFile(path)); // "hello, world\n"
 * ```
 */
export function writeFileAtomic(path: string, data: FileChunks): Promise<void> {
  return replaceFileAtomic(path, async (tmp) => {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      if (data instanceof Uint8Array) await writeAll(file, data);
      else for await (const chunk of data) await writeAll(file, chunk);
    } finally {
      file.close();
    }
  });
}

/**
 * Replaces `path` atomically with a file that `write` creates at the temporary path it is
 * given (for writers that take a path, such as the tokenizers library's `save`): the file is
 * fsynced and renamed over `path`. If `write` throws, the temporary file is removed and
 * `path` is left as it was.
 *
 * @example
 * ```ts
 * import { replaceFileAtomic } from "webgpu-bert";
 * const path = `${await Deno.makeTempDir()}/hello.txt`;
 * await replaceFileAtomic(path, (tmp) => Deno.writeTextFile(tmp, "hello\n"));
 * console.log(await Deno.readTextFile(path)); // "hello\n"
 * ```
 */
export async function replaceFileAtomic(
  path: string,
  write: (tmp: string) => void | Promise<void>,
): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${randomHex()}`;
  try {
    await write(tmp);
    await syncFile(tmp);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirOf(path));
}

async function syncFile(path: string): Promise<void> {
  const f = await Deno.open(path, { read: true });
  try {
    await f.syncData();
  } finally {
    f.close();
  }
}

// Makes the rename itself durable; directories cannot be opened for sync on every platform
// (e.g. Windows), and the data is already safe, so failures here are ignored.
async function syncDir(dir: string): Promise<void> {
  let d: Deno.FsFile | undefined;
  try {
    d = await Deno.open(dir, { read: true });
    await d.syncData();
  } catch {
    /* best effort */
  } finally {
    d?.close();
  }
}
