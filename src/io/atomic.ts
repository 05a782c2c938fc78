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
export async function writeFileAtomic(path: string, data: FileChunks): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${randomHex()}`;
  const file = await Deno.open(tmp, { write: true, createNew: true });
  let open = true;
  try {
    if (data instanceof Uint8Array) await writeAll(file, data);
    else for await (const chunk of data) await writeAll(file, chunk);
    await file.syncData();
    file.close();
    open = false;
    await Deno.rename(tmp, path);
  } catch (e) {
    if (open) file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirOf(path));
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
