// The seam between the browser-loadable core and the host's file system: models and the
// safetensors reader take a `Files` instead of calling Deno, so they load anywhere. Deno's
// implementation (src/io/deno_files.ts) is imported lazily, only when a caller passes none.

/**
 * Random-access bytes the safetensors reader parses: a file ({@linkcode Files.open}) or memory
 * ({@linkcode bytesSource}). `readAt` must return a fresh array of exactly `length` bytes.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Reads `length` bytes starting at `offset`. */
  readAt(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the underlying resource, if any. */
  close?(): void;
}

/** What {@linkcode Files.writeAtomic} accepts: bytes, or chunks produced lazily (sync or async). */
export type FileChunks = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** What {@linkcode Files.stat} reports about an existing path. */
export interface FileStat {
  /** A regular file. */
  readonly isFile: boolean;
  /** A directory. */
  readonly isDirectory: boolean;
  /** Size in bytes. */
  readonly size: number;
}

/**
 * The file operations the core needs, so that it never calls a host API itself: a browser
 * passes its own (e.g. over fetch or OPFS); Deno gets {@linkcode denoFiles} by default.
 */
export interface Files {
  /** What is at `path`, or null when nothing is. */
  stat(path: string): Promise<FileStat | null>;
  /** The whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** A regular file for positioned reads; the caller closes it. */
  open(path: string): Promise<ByteSource>;
  /** Creates `dir` and its parents, if missing. */
  mkdir(dir: string): Promise<void>;
  /** Replaces `path` so that readers see the old or the complete new file, never a prefix. */
  writeAtomic(path: string, data: FileChunks): Promise<void>;
}

/**
 * The host's file system: Deno's when running under Deno (loaded on first use, so the core's
 * static imports stay free of Deno APIs); elsewhere callers must pass their own `Files`.
 *
 * @example
 * ```ts
 * import { hostFiles } from "webgpu-bert";
 * const files = await hostFiles();
 * console.log((await files.stat("deno.json"))?.isFile); // true
 * ```
 */
export async function hostFiles(): Promise<Files> {
  if (!("Deno" in globalThis)) {
    throw new Error("no file system on this host: pass a Files implementation");
  }
  return (await import("./deno_files.ts")).denoFiles;
}

/**
 * A {@linkcode ByteSource} over bytes in memory (each read returns a copy).
 *
 * @example
 * ```ts
 * import { bytesSource, encodeSafetensors, openSafetensorsSource } from "webgpu-bert";
 * const bytes = encodeSafetensors([{ name: "w", dtype: "F32", shape: [2], data: [1, 2] }]);
 * const r = await openSafetensorsSource(bytesSource(bytes), "in-memory");
 * console.log(await r.read("w")); // Float32Array [1, 2]
 * ```
 */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    readAt(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.length) {
        return Promise.reject(new RangeError(`read [${offset}, +${length}) past ${bytes.length}`));
      }
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
  };
}

/**
 * A {@linkcode Files} over a map from path to bytes: what a page loads a model from (files the
 * user picked, or fetched from a URL, keyed `dir/name`) and saves one into (then offers the
 * bytes as downloads). Directories are implied by the paths under them.
 *
 * @example
 * ```ts
 * import { memoryFiles } from "webgpu-bert";
 * const map = new Map([["m/config.json", new TextEncoder().encode("{}")]]);
 * const files = memoryFiles(map);
 * await files.writeAtomic("m/notes.txt", [new Uint8Array([104]), new Uint8Array([105])]);
 * console.log((await files.stat("m"))?.isDirectory, new TextDecoder().decode(map.get("m/notes.txt")));
 * // true "hi"
 * ```
 */
export function memoryFiles(map: Map<string, Uint8Array> = new Map()): Files {
  const file = (path: string) => {
    const bytes = map.get(path);
    if (!bytes) throw Object.assign(new Error(`no such file: ${path}`), { name: "NotFound" });
    return bytes;
  };
  return {
    stat(path) {
      const bytes = map.get(path);
      if (bytes) return Promise.resolve({ isFile: true, isDirectory: false, size: bytes.length });
      const dir = [...map.keys()].some((k) => k.startsWith(`${path}/`));
      return Promise.resolve(dir ? { isFile: false, isDirectory: true, size: 0 } : null);
    },
    readFile: (path) => Promise.resolve().then(() => file(path).slice()),
    open: (path) => Promise.resolve().then(() => bytesSource(file(path))),
    mkdir: () => Promise.resolve(),
    async writeAtomic(path, data) {
      const parts: Uint8Array[] = [];
      if (data instanceof Uint8Array) parts.push(data);
      else for await (const c of data) parts.push(c);
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) out.set(p, (at += p.length) - p.length);
      map.set(path, out);
    },
  };
}
