// Deno's implementation of the core's file seam (src/io/files.ts).

import type { ByteSource, Files, FileStat } from "./files.ts";
import { writeFileAtomic } from "./atomic.ts";

/**
 * A {@linkcode ByteSource} over an open file of `size` bytes; reads are serialized because
 * each is a seek followed by reads. `close()` closes the file.
 *
 * @example
 * ```ts
 * import { fileSource, openSafetensorsSource } from "webgpu-bert";
 * const file = await Deno.open("tests/fixtures/bert_qa_batch/model.safetensors");
 * const r = await openSafetensorsSource(fileSource(file, (await file.stat()).size), "model");
 * console.log([...r.tensors.keys()]);
 * r.close();
 * ```
 */
export function fileSource(file: Deno.FsFile, size: number): ByteSource {
  let queue: Promise<unknown> = Promise.resolve();
  const readAt = async (offset: number, length: number): Promise<Uint8Array> => {
    const buf = new Uint8Array(length);
    await file.seek(offset, Deno.SeekMode.Start);
    for (let done = 0; done < length;) {
      const n = await file.read(buf.subarray(done));
      if (n === null) throw new Error(`unexpected end of file at byte ${offset + done}`);
      done += n;
    }
    return buf;
  };
  return {
    size,
    readAt(offset, length) {
      const p = queue.then(() => readAt(offset, length));
      queue = p.catch(() => {});
      return p;
    },
    close: () => file.close(),
  };
}

/**
 * The host {@linkcode Files} under Deno: positioned reads through {@linkcode fileSource},
 * atomic writes through {@linkcode writeFileAtomic}.
 *
 * @example
 * ```ts
 * import { denoFiles, openCheckpoint } from "webgpu-bert";
 * const ckpt = await openCheckpoint("tests/fixtures/bert_qa_odd", denoFiles);
 * ckpt.close();
 * ```
 */
export const denoFiles: Files = {
  async stat(path: string): Promise<FileStat | null> {
    try {
      const st = await Deno.stat(path);
      return { isFile: st.isFile, isDirectory: st.isDirectory, size: st.size };
    } catch {
      return null;
    }
  },
  readFile: (path) => Deno.readFile(path),
  async open(path: string): Promise<ByteSource> {
    const file = await Deno.open(path, { read: true });
    try {
      return fileSource(file, (await file.stat()).size);
    } catch (e) {
      file.close();
      throw e;
    }
  },
  mkdir: (dir) => Deno.mkdir(dir, { recursive: true }),
  writeAtomic: writeFileAtomic,
};
