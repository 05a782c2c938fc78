// Safetensors (https://github.com/huggingface/safetensors) reader and writer in plain TypeScript.
// Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data section; each
// tensor's data_offsets are relative to the data section. The reader reads only the header at
// open time and one tensor per read(), so a large checkpoint is never held twice in memory.
// Everything sized from the header is validated before anything is allocated from it.

import { type ByteSource, type Files, hostFiles } from "./files.ts";
import { SafetensorsError } from "../util/errors.ts";

/** The dtypes the format defines with whole-byte elements (sub-byte F4/F6 are rejected). */
export type Dtype =
  | "BOOL"
  | "U8"
  | "I8"
  | "F8_E5M2"
  | "F8_E4M3"
  | "F8_E8M0"
  | "I16"
  | "U16"
  | "F16"
  | "BF16"
  | "I32"
  | "U32"
  | "F32"
  | "C64"
  | "F64"
  | "I64"
  | "U64";

/** Dtypes that `read()` converts to a host array; the others open but refuse to be read. */
export type ReadableDtype = "F32" | "F16" | "BF16" | "I32" | "I64";

/** Dtypes {@linkcode writeSafetensors} can write. */
export type WritableDtype = ReadableDtype;

/** What `read()` returns: F32/F16/BF16 as Float32Array, I32 as Int32Array, I64 as BigInt64Array. */
export type TensorData = Float32Array | Int32Array | BigInt64Array;

/** A tensor's header entry; `offsets` are [begin, end) bytes relative to the data section. */
export interface TensorInfo {
  /** Element type. */
  readonly dtype: Dtype;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Byte range [begin, end) within the data section. */
  readonly offsets: readonly [number, number];
}

/** An open safetensors file (or sharded checkpoint) whose tensors are read one at a time. */
export interface SafetensorsReader {
  /** The file or directory this reader was opened from. */
  readonly path: string;
  /** The header's `__metadata__` (merged across shards for a checkpoint). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Every tensor's header entry, in data-section order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Reads one tensor, converting F16/BF16 to Float32Array. */
  read(name: string): Promise<TensorData>;
  /** Reads an F32/F16/BF16 tensor as Float32Array; other dtypes throw. */
  readFloat32(name: string): Promise<Float32Array>;
  /** Reads an I32 or I64 tensor as Int32Array; I64 values outside int32 throw. */
  readInt32(name: string): Promise<Int32Array>;
  /** Reads one tensor's raw little-endian bytes, whatever its dtype. */
  readRaw(name: string): Promise<Uint8Array>;
  /**
   * Reads elements [start, start + count) of an F32/F16/BF16 tensor as Float32Array, so a
   * large tensor can be streamed in slices.
   */
  readFloat32Slice(name: string, start: number, count: number): Promise<Float32Array>;
  /** Closes the file(s); reads afterwards throw. */
  close(): void;
}

/** A reader over a single file or a sharded checkpoint (`model.safetensors.index.json`). */
export interface CheckpointReader extends SafetensorsReader {
  /** The shard file names, relative to the checkpoint directory. */
  readonly shards: readonly string[];
  /** The index's `metadata` (e.g. `total_size`); empty for a single file. */
  readonly indexMetadata: Readonly<Record<string, unknown>>;
}

/** One tensor to write; `name` is omitted when tensors are given as a Map. */
export interface TensorToWrite {
  /** Tensor name (any string but `__metadata__`). */
  name: string;
  /** Element type in the file. */
  dtype: WritableDtype;
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /**
   * Values: F32 takes Float32Array or number[]; F16/BF16 take a Uint16Array of raw bits, or
   * Float32Array / number[] rounded to nearest-even (number[] goes through f32 first); I32 takes
   * Int32Array or integer number[]; I64 takes BigInt64Array, Int32Array or integer number[].
   */
  data: Float32Array | Int32Array | BigInt64Array | Uint16Array | readonly number[];
}

/** The tensors of a file: a list, or a Map from name to the rest. */
export type TensorsToWrite =
  | readonly TensorToWrite[]
  | ReadonlyMap<string, Omit<TensorToWrite, "name">>;

/** Header lengths above this are refused, as the reference implementation does. */
const MAX_HEADER_BYTES = 100_000_000;

// Reference crate order, which is increasing alignment; the writer sorts by it (descending).
const DTYPE_SIZES: [Dtype, number][] = [
  ["BOOL", 1],
  ["U8", 1],
  ["I8", 1],
  ["F8_E5M2", 1],
  ["F8_E4M3", 1],
  ["F8_E8M0", 1],
  ["I16", 2],
  ["U16", 2],
  ["F16", 2],
  ["BF16", 2],
  ["I32", 4],
  ["U32", 4],
  ["F32", 4],
  ["C64", 8],
  ["F64", 8],
  ["I64", 8],
  ["U64", 8],
];
const DTYPE_SIZE = new Map<string, number>(DTYPE_SIZES);
const DTYPE_RANK = new Map<string, number>(DTYPE_SIZES.map(([d], i) => [d, i]));
const READABLE = new Set<string>(["F32", "F16", "BF16", "I32", "I64"]);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Fail = (fault: string, cause?: unknown) => never;

function failer(path: string): Fail {
  return (fault, cause) => {
    throw new SafetensorsError(path, fault, cause === undefined ? undefined : { cause });
  };
}

/** A short printable form of a header value for error messages. */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = "<unprintable>";
  }
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isUint(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

function parseJsonObject(bytes: Uint8Array, fail: Fail, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    return fail(`${what} is not valid UTF-8`, e);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`${what} is not valid JSON (${errorText(e)})`, e);
  }
  if (!isObject(json)) return fail(`${what} is not a JSON object but ${show(json)}`);
  return json;
}

function parseMetadata(v: unknown, fail: Fail): Record<string, string> {
  if (!isObject(v)) return fail(`__metadata__ must be an object of strings, not ${show(v)}`);
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== "string") {
      fail(`__metadata__ must be an object of strings, but ${show(k)} is ${show(s)}`);
    }
  }
  return Object.freeze(Object.fromEntries(Object.entries(v) as [string, string][]));
}

function parseTensorInfo(name: string, v: unknown, fail: Fail): TensorInfo {
  const at = `tensor ${show(name)}`;
  if (!isObject(v)) return fail(`${at}: entry is not an object but ${show(v)}`);
  const { dtype, shape, data_offsets: offs } = v;
  if (typeof dtype !== "string" || !DTYPE_SIZE.has(dtype)) {
    return fail(
      `${at}: unknown dtype ${show(dtype)} (known: ${[...DTYPE_SIZE.keys()].join(", ")})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isUint)) {
    return fail(`${at}: bad shape ${show(shape)}: dimensions must be non-negative integers`);
  }
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isUint) || offs[0] > offs[1]) {
    return fail(`${at}: bad data_offsets ${show(offs)}: need [begin, end] with 0 <= begin <= end`);
  }
  let bytes = DTYPE_SIZE.get(dtype)!;
  if (shape.includes(0)) bytes = 0;
  for (const d of shape) {
    bytes *= d;
    if (bytes > Number.MAX_SAFE_INTEGER) return fail(`${at}: shape ${show(shape)} is too large`);
  }
  const span = offs[1] - offs[0];
  if (bytes !== span) {
    return fail(
      `${at}: shape ${show(shape)} of ${dtype} needs ${bytes} bytes but data_offsets ` +
        `[${offs[0]}, ${offs[1]}] span ${span}`,
    );
  }
  return Object.freeze({
    dtype: dtype as Dtype,
    shape: Object.freeze([...shape]),
    offsets: Object.freeze([offs[0], offs[1]] as [number, number]),
  });
}

/** Checks that the tensors tile the data section exactly: no overlap, no gap, no slack. */
function checkTiling(entries: [string, TensorInfo][], dataSize: number, fail: Fail): void {
  for (const [name, t] of entries) {
    if (t.offsets[1] > dataSize) {
      fail(
        `tensor ${show(name)}: data_offsets [${t.offsets}] end past the ${dataSize}-byte data ` +
          "section (file truncated?)",
      );
    }
  }
  entries.sort((a, b) => a[1].offsets[0] - b[1].offsets[0] || a[1].offsets[1] - b[1].offsets[1]);
  let end = 0;
  for (const [name, { offsets: [b, e] }] of entries) {
    if (b < end) {
      fail(`tensor ${show(name)}: data_offsets [${b}, ${e}] overlap a tensor ending at ${end}`);
    }
    if (b > end) fail(`gap in the data section: bytes [${end}, ${b}) before tensor ${show(name)}`);
    end = e;
  }
  if (end !== dataSize) {
    fail(`data section has ${dataSize} bytes but tensors cover only ${end} (trailing bytes)`);
  }
}

let f16Table: Uint32Array | undefined;

/** f32 bit patterns of all 65536 halves; exact, NaN payloads kept. */
function halfTable(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0x1f) t[h] = sign | 0x7f800000 | (mant << 13);
    else if (exp !== 0) t[h] = sign | ((exp + 112) << 23) | (mant << 13);
    else if (mant === 0) t[h] = sign;
    else {
      let e = 113;
      while (!(mant & 0x400)) {
        mant <<= 1;
        e--;
      }
      t[h] = sign | (e << 23) | ((mant & 0x3ff) << 13);
    }
  }
  return (f16Table = t);
}

// Round-to-nearest-even conversions from f32 bit patterns.
function f16FromF32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const sh = 14 - e;
    let h = m >>> sh;
    const rem = m & ((1 << sh) - 1);
    const half = 1 << (sh - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

function bf16FromF32Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
  return Math.floor((bits + 0x7fff + ((bits >>> 16) & 1)) / 65536);
}

/** Swaps each `size`-byte element in place (big-endian hosts only). */
function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  if (LITTLE_ENDIAN || size === 1) return bytes;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  return bytes;
}

function decode(dtype: Dtype, raw: Uint8Array): TensorData {
  const bytes = swapBytes(raw.byteOffset % 8 ? raw.slice() : raw, DTYPE_SIZE.get(dtype)!);
  const { buffer, byteOffset, length } = bytes;
  switch (dtype) {
    case "F32":
      return new Float32Array(buffer, byteOffset, length / 4);
    case "I32":
      return new Int32Array(buffer, byteOffset, length / 4);
    case "I64":
      return new BigInt64Array(buffer, byteOffset, length / 8);
    case "F16": {
      const h = new Uint16Array(buffer, byteOffset, length / 2);
      const table = halfTable();
      const out = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = table[h[i]];
      return new Float32Array(out.buffer);
    }
    case "BF16": {
      const h = new Uint16Array(buffer, byteOffset, length / 2);
      const out = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = h[i] << 16;
      return new Float32Array(out.buffer);
    }
    default:
      throw new Error(`unreachable: ${dtype}`);
  }
}

/**
 * Narrows I64 values to an Int32Array, throwing a RangeError naming the first value that does
 * not fit (token ids and labels are stored as I64 by PyTorch).
 *
 * @example
 * ```ts
 * import { int64ToInt32 } from "webgpu-bert";
 * console.log(int64ToInt32(new BigInt64Array([1n, -2n]))); // Int32Array [1, -2]
 * ```
 */
export function int64ToInt32(values: BigInt64Array, what = "value"): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < -2147483648n || v > 2147483647n) {
      throw new RangeError(`${what}[${i}] = ${v} does not fit in int32`);
    }
    out[i] = Number(v);
  }
  return out;
}

/**
 * Parses and validates a safetensors header from `source`, naming `path` in errors. Reads only
 * the 8-byte length and the header; tensors are read on demand. Throws
 * {@linkcode SafetensorsError} for any malformed input.
 *
 * @example
 * ```ts
 * import { bytesSource, encodeSafetensors, openSafetensorsSource } from "webgpu-bert";
 * const bytes = encodeSafetensors([{ name: "ids", dtype: "I64", shape: [2], data: [7, 9] }]);
 * const r = await openSafetensorsSource(bytesSource(bytes), "ids.safetensors");
 * console.log(await r.readInt32("ids")); // Int32Array [7, 9]
 * ```
 */
export async function openSafetensorsSource(
  source: ByteSource,
  path: string,
): Promise<SafetensorsReader> {
  const fail: Fail = failer(path);
  const readAt = async (offset: number, length: number): Promise<Uint8Array> => {
    let bytes: Uint8Array;
    try {
      bytes = await source.readAt(offset, length);
    } catch (e) {
      return fail(`read of bytes [${offset}, ${offset + length}) failed: ${errorText(e)}`, e);
    }
    if (bytes.length !== length) fail(`short read at byte ${offset} (file changed?)`);
    return bytes;
  };
  const size = source.size;
  if (size < 8) {
    fail(`file is ${size} bytes, too short for the 8-byte header length (empty or truncated)`);
  }
  const prefix = await readAt(0, 8);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(size - 8)) fail(`header length ${n} exceeds file size ${size}`);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLen = Number(n);
  const header = parseJsonObject(await readAt(8, headerLen), fail, "header");
  const dataStart = 8 + headerLen;
  let metadata: Record<string, string> = Object.freeze({});
  const entries: [string, TensorInfo][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === "__metadata__") metadata = parseMetadata(v, fail);
    else entries.push([name, parseTensorInfo(name, v, fail)]);
  }
  checkTiling(entries, size - dataStart, fail);
  const tensors: ReadonlyMap<string, TensorInfo> = new Map(entries);
  let closed = false;
  const info = (name: string): TensorInfo => {
    if (closed) return fail("reader is closed");
    return tensors.get(name) ?? fail(`no tensor ${show(name)} in this file`);
  };
  const readRaw = async (name: string): Promise<Uint8Array> => {
    const { offsets: [b, e] } = info(name);
    return await readAt(dataStart + b, e - b);
  };
  const read = async (name: string): Promise<TensorData> => {
    const t = info(name);
    if (!READABLE.has(t.dtype)) {
      fail(`tensor ${show(name)} has unsupported dtype ${t.dtype} (readable: ${[...READABLE]})`);
    }
    return decode(t.dtype, await readRaw(name));
  };
  return {
    path,
    metadata,
    tensors,
    read,
    readRaw,
    async readFloat32Slice(name, start, count) {
      const t = info(name);
      const width = t.dtype === "F32" ? 4 : t.dtype === "F16" || t.dtype === "BF16" ? 2 : 0;
      if (!width) fail(`tensor ${show(name)} is ${t.dtype}, not F32, F16 or BF16`);
      const n = (t.offsets[1] - t.offsets[0]) / width;
      if (
        !Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 ||
        start + count > n
      ) {
        fail(`slice [${start}, ${start + count}) is outside tensor ${show(name)} of ${n} elements`);
      }
      const raw = await readAt(dataStart + t.offsets[0] + start * width, count * width);
      return decode(t.dtype, raw) as Float32Array;
    },
    async readFloat32(name) {
      const t = info(name);
      if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16") {
        fail(`tensor ${show(name)} is ${t.dtype}, not F32, F16 or BF16`);
      }
      return await read(name) as Float32Array;
    },
    async readInt32(name) {
      const t = info(name);
      if (t.dtype !== "I32" && t.dtype !== "I64") {
        fail(`tensor ${show(name)} is ${t.dtype}, not I32 or I64`);
      }
      const v = await read(name);
      if (v instanceof Int32Array) return v;
      try {
        return int64ToInt32(v as BigInt64Array, `tensor ${show(name)}`);
      } catch (e) {
        return fail(errorText(e), e);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      source.close?.();
    },
  };
}

function pickleRefused(path: string, dir: string): SafetensorsError {
  return new SafetensorsError(
    path,
    "PyTorch pickle checkpoints are refused because unpickling can execute arbitrary code. " +
      'Convert it to safetensors first: python -c "from transformers import AutoModel; ' +
      `AutoModel.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)"` +
      " (use the AutoModelFor... class matching the checkpoint to keep its task head)",
  );
}

/**
 * Opens one safetensors file, reading only its header (positioned reads; never the whole file).
 * Throws {@linkcode SafetensorsError} for malformed files, and for `.bin` (pickle) paths.
 * `files` defaults to the host's ({@linkcode hostFiles}).
 *
 * @example
 * ```ts
 * import { openSafetensors, writeSafetensors } from "webgpu-bert";
 * const path = `${await Deno.makeTempDir()}/w.safetensors`;
 * await writeSafetensors(path, [
 *   { name: "w", dtype: "F16", shape: [2, 2], data: [1, -2.5, 65504, 0] },
 * ]);
 * const r = await openSafetensors(path);
 * console.log(r.tensors.get("w")?.shape, await r.read("w")); // [2, 2] Float32Array [1, -2.5, 65504, 0]
 * r.close();
 * ```
 */
export async function openSafetensors(
  path: string,
  files?: Files,
): Promise<SafetensorsReader> {
  if (path.endsWith(".bin")) throw pickleRefused(path, dirOf(path));
  const fail: Fail = failer(path);
  const fs = files ?? await hostFiles();
  const st = await fs.stat(path);
  if (st && !st.isFile) fail("not a regular file");
  let source: ByteSource;
  try {
    source = await fs.open(path);
  } catch (e) {
    return fail(`cannot open: ${errorText(e)}`, e);
  }
  try {
    return await openSafetensorsSource(source, path);
  } catch (e) {
    source.close?.();
    throw e;
  }
}

async function kindOf(fs: Files, path: string): Promise<"file" | "dir" | null> {
  const st = await fs.stat(path);
  return st === null ? null : st.isDirectory ? "dir" : "file";
}

function asCheckpoint(r: SafetensorsReader, shard: string): CheckpointReader {
  return Object.assign(r, { shards: [shard], indexMetadata: Object.freeze({}) });
}

/**
 * Opens a checkpoint: a directory holding `model.safetensors` or a sharded
 * `model.safetensors.index.json` (`{"metadata": {...}, "weight_map": {tensor: shardFile}}`), or
 * such a file directly. Shard names must be plain file names inside the directory. Reads
 * dispatch by tensor name to the shard holding it. PyTorch `.bin` checkpoints are refused
 * with a {@linkcode SafetensorsError} that explains how to convert them. `files` defaults to the
 * host's ({@linkcode hostFiles}).
 *
 * @example
 * ```ts
 * import { openCheckpoint } from "webgpu-bert";
 * const ckpt = await openCheckpoint("tests/fixtures/bert_qa_batch"); // a tiny BERT-QA
 * const emb = await ckpt.readFloat32("bert.embeddings.word_embeddings.weight");
 * console.log(ckpt.tensors.get("bert.embeddings.word_embeddings.weight")?.shape, emb.length); // [50, 24] 1200
 * ckpt.close();
 * ```
 */
export async function openCheckpoint(path: string, files?: Files): Promise<CheckpointReader> {
  const fail: Fail = failer(path);
  if (path.endsWith(".bin")) throw pickleRefused(path, dirOf(path));
  const fs = files ?? await hostFiles();
  const kind = await kindOf(fs, path);
  if (kind === null) return fail("no such file or directory");
  if (kind === "file") {
    if (path.endsWith(".index.json")) return await openIndex(fs, path);
    return asCheckpoint(await openSafetensors(path, fs), path.slice(path.lastIndexOf("/") + 1));
  }
  const single = joinPath(path, "model.safetensors");
  if (await kindOf(fs, single) === "file") {
    return asCheckpoint(await openSafetensors(single, fs), "model.safetensors");
  }
  const index = joinPath(path, "model.safetensors.index.json");
  if (await kindOf(fs, index) === "file") return await openIndex(fs, index);
  for (const bin of ["pytorch_model.bin", "pytorch_model.bin.index.json"]) {
    if (await kindOf(fs, joinPath(path, bin)) === "file") throw pickleRefused(path, path);
  }
  return fail("no model.safetensors or model.safetensors.index.json in this directory");
}

function isPlainName(name: string): boolean {
  return name.length > 0 && name !== "." && name !== ".." && !/[/\\\0]/.test(name) &&
    !/^[A-Za-z]:/.test(name);
}

async function openIndex(fs: Files, indexPath: string): Promise<CheckpointReader> {
  const fail: Fail = failer(indexPath);
  const dir = dirOf(indexPath);
  let bytes: Uint8Array;
  try {
    if (((await fs.stat(indexPath))?.size ?? 0) > MAX_HEADER_BYTES) fail("index file is too large");
    bytes = await fs.readFile(indexPath);
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    return fail(`cannot read: ${errorText(e)}`, e);
  }
  const index = parseJsonObject(bytes, fail, "index");
  const indexMetadata = index.metadata ?? {};
  if (!isObject(indexMetadata)) fail(`"metadata" must be an object, not ${show(indexMetadata)}`);
  const weightMap = index.weight_map;
  if (!isObject(weightMap)) fail(`"weight_map" must map tensor names to shard files`);
  const shardOf = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== "string" || !isPlainName(shard)) {
      fail(
        `weight_map[${show(name)}] = ${show(shard)} is not a plain file name inside ${dir} ` +
          "(no path separators, '..' or absolute paths)",
      );
    }
    if (shard.endsWith(".bin")) throw pickleRefused(indexPath, dir);
    shardOf.set(name, shard);
  }
  const shards = [...new Set(shardOf.values())].sort();
  const readers = new Map<string, SafetensorsReader>();
  try {
    for (const s of shards) readers.set(s, await openSafetensors(joinPath(dir, s), fs));
  } catch (e) {
    for (const r of readers.values()) r.close();
    throw e;
  }
  const tensors = new Map<string, TensorInfo>();
  const owner = new Map<string, SafetensorsReader>();
  for (const [name, shard] of shardOf) {
    const r = readers.get(shard)!;
    const t = r.tensors.get(name);
    if (!t) {
      for (const r of readers.values()) r.close();
      fail(`weight_map maps ${show(name)} to ${shard}, which has no such tensor`);
    }
    tensors.set(name, t);
    owner.set(name, r);
  }
  const metadata = Object.freeze(
    Object.assign({}, ...[...readers.values()].map((r) => r.metadata)) as Record<string, string>,
  );
  let closed = false;
  const of = (name: string): SafetensorsReader => {
    if (closed) return fail("reader is closed");
    return owner.get(name) ?? fail(`no tensor ${show(name)} in this checkpoint`);
  };
  return {
    path: indexPath,
    metadata,
    tensors,
    shards,
    indexMetadata: Object.freeze({ ...indexMetadata as Record<string, unknown> }),
    read: async (name) => await of(name).read(name),
    readRaw: async (name) => await of(name).readRaw(name),
    readFloat32: async (name) => await of(name).readFloat32(name),
    readFloat32Slice: async (name, start, count) =>
      await of(name).readFloat32Slice(name, start, count),
    readInt32: async (name) => await of(name).readInt32(name),
    close() {
      if (closed) return;
      closed = true;
      for (const r of readers.values()) r.close();
    },
  };
}

interface Prepared {
  name: string;
  dtype: WritableDtype;
  shape: readonly number[];
  data: TensorToWrite["data"];
  bytes: number;
}

function utf8Compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function prepare(
  path: string,
  tensors: TensorsToWrite,
  metadata: Record<string, string> | undefined,
): { header: Uint8Array; list: Prepared[] } {
  const fail: Fail = failer(path);
  const given: TensorToWrite[] = tensors instanceof Map
    ? [...tensors].map(([name, t]) => ({ ...t, name }))
    : [...tensors as readonly TensorToWrite[]];
  const seen = new Set<string>();
  const list: Prepared[] = given.map(({ name, dtype, shape, data }) => {
    const at = `tensor ${show(name)}`;
    if (typeof name !== "string" || name === "__metadata__") fail(`${at}: invalid name`);
    if (seen.has(name)) fail(`${at}: duplicate name`);
    seen.add(name);
    if (!READABLE.has(dtype)) fail(`${at}: cannot write dtype ${show(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isUint)) fail(`${at}: bad shape ${show(shape)}`);
    if (typeof data !== "object" || data === null || typeof data.length !== "number") {
      fail(`${at}: data must be a typed array or number[]`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) fail(`${at}: ${data.length} values do not fill shape [${shape}]`);
    const okData = dtype === "F32"
      ? data instanceof Float32Array || Array.isArray(data)
      : dtype === "I32"
      ? data instanceof Int32Array || Array.isArray(data)
      : dtype === "I64"
      ? data instanceof BigInt64Array || data instanceof Int32Array || Array.isArray(data)
      : data instanceof Uint16Array || data instanceof Float32Array || Array.isArray(data);
    if (!okData) fail(`${at}: ${data.constructor.name} data cannot be written as ${dtype}`);
    if (Array.isArray(data) && (dtype === "I32" || dtype === "I64")) {
      const ok = dtype === "I32"
        ? (v: number) => (v | 0) === v && !Object.is(v, -0)
        : Number.isSafeInteger;
      const bad = data.findIndex((v) => !ok(v));
      if (bad >= 0) fail(`${at}: value ${data[bad]} at ${bad} is not a valid ${dtype}`);
    }
    return { name, dtype, shape, data, bytes: n * DTYPE_SIZE.get(dtype)! };
  });
  const enc = new TextEncoder();
  const key = new Map(list.map((t) => [t, enc.encode(t.name)]));
  list.sort((a, b) =>
    DTYPE_RANK.get(b.dtype)! - DTYPE_RANK.get(a.dtype)! || utf8Compare(key.get(a)!, key.get(b)!)
  );
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isObject(metadata)) fail("metadata must be an object of strings");
    const keys = Object.keys(metadata).sort();
    for (const k of keys) {
      if (typeof metadata[k] !== "string") fail(`metadata ${show(k)} is not a string`);
    }
    const m = keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`);
    parts.push(`"__metadata__":{${m.join(",")}}`);
  }
  let offset = 0;
  for (const t of list) {
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],` +
        `"data_offsets":[${offset},${offset + t.bytes}]}`,
    );
    offset += t.bytes;
  }
  const json = enc.encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, list };
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function encodeTensor(t: Prepared): Uint8Array {
  const { dtype, data } = t;
  let out: Uint8Array;
  if (dtype === "F32") {
    out = bytesOf(data instanceof Float32Array ? data : Float32Array.from(data as number[]));
  } else if (dtype === "I32") {
    out = bytesOf(data instanceof Int32Array ? data : Int32Array.from(data as number[]));
  } else if (dtype === "I64") {
    out = bytesOf(
      data instanceof BigInt64Array
        ? data
        : BigInt64Array.from(data as ArrayLike<number>, (v) => BigInt(v)),
    );
  } else if (data instanceof Uint16Array) {
    out = bytesOf(data);
  } else {
    const conv = dtype === "F16" ? f16FromF32Bits : bf16FromF32Bits;
    const f = data instanceof Float32Array ? data : Float32Array.from(data as number[]);
    const bits = new Uint32Array(f.buffer, f.byteOffset, f.length);
    const h = new Uint16Array(f.length);
    for (let i = 0; i < h.length; i++) h[i] = conv(bits[i]);
    out = bytesOf(h);
  }
  return LITTLE_ENDIAN ? out : swapBytes(out.slice(), DTYPE_SIZE.get(dtype)!);
}

function* chunks(p: { header: Uint8Array; list: Prepared[] }): Generator<Uint8Array> {
  yield p.header;
  for (const t of p.list) yield encodeTensor(t);
}

/**
 * Writes a safetensors file atomically (`files.writeAtomic`, by default the host's), streaming one
 * tensor at a time. Layout as the reference crate writes it: `__metadata__` first (keys sorted),
 * tensors sorted by descending dtype alignment (I64, F32, I32, BF16, F16) then by UTF-8 name,
 * data contiguous in header order, header padded with spaces to a multiple of 8 bytes.
 * Everything is validated before the file is touched.
 *
 * @example
 * ```ts
 * import { writeSafetensors } from "webgpu-bert";
 * await writeSafetensors(`${await Deno.makeTempDir()}/model.safetensors`, [
 *   { name: "w", dtype: "F32", shape: [2, 3], data: new Float32Array(6) },
 *   { name: "ids", dtype: "I64", shape: [2], data: [101, 102] },
 * ], { format: "pt" });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorsToWrite,
  metadata?: Record<string, string>,
  files?: Files,
): Promise<void> {
  const p = prepare(path, tensors, metadata);
  await (files ?? await hostFiles()).writeAtomic(path, chunks(p));
}

/**
 * The bytes of a safetensors file, built in memory (for small files and tests; use
 * {@linkcode writeSafetensors} for checkpoints). Same layout as `writeSafetensors`.
 *
 * @example
 * ```ts
 * import { encodeSafetensors } from "webgpu-bert";
 * const bytes = encodeSafetensors([{ name: "b", dtype: "F32", shape: [1], data: [0.5] }]);
 * console.log(bytes.length % 8); // 4: an 8-aligned header, then 4 data bytes
 * ```
 */
export function encodeSafetensors(
  tensors: TensorsToWrite,
  metadata?: Record<string, string>,
): Uint8Array {
  const parts = [...chunks(prepare("<memory>", tensors, metadata))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
