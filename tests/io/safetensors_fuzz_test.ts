// Seeded fuzzing of the safetensors reader: mutations of a valid in-memory file (bit flips,
// truncations, random header lengths, random JSON field values, text edits). The only allowed
// outcomes are a reader whose every tensor reads back with the size its header promises, or a
// SafetensorsError naming the file; any other exception fails with the case that caused it.

import assert from "node:assert/strict";
import { rng } from "../_helpers.ts";
import { encodeSafetensors, openSafetensorsSource } from "../../src/io/safetensors.ts";
import { bytesSource } from "../../src/io/files.ts";
import { SafetensorsError } from "../../src/util/errors.ts";

const CASES = 50_000;
const NAME = "fuzz.safetensors";
const enc = new TextEncoder();
const dec = new TextDecoder();

const BASE = encodeSafetensors([
  { name: "emb", dtype: "F32", shape: [3, 2], data: [1, 2, 3, 4, 5, 6] },
  { name: "ids", dtype: "I64", shape: [2], data: [1, -1] },
  { name: "mask", dtype: "I32", shape: [3], data: [0, 1, 2] },
  { name: "h", dtype: "F16", shape: [2], data: [0.5, -2] },
  { name: "b", dtype: "BF16", shape: [1, 1], data: [3] },
  { name: "none", dtype: "F32", shape: [0, 4], data: [] },
], { format: "pt" });
const BASE_LEN = Number(new DataView(BASE.buffer).getBigUint64(0, true));
const BASE_HEADER = JSON.parse(dec.decode(BASE.subarray(8, 8 + BASE_LEN)));
const BASE_DATA = BASE.subarray(8 + BASE_LEN);
const SIZES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

function withLength(bytes: Uint8Array, n: bigint): Uint8Array {
  const out = bytes.slice();
  if (out.length >= 8) new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
  return out;
}

function build(header: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

/** A random JSON-ish value, biased towards what the header fields hold. */
function randomValue(r: Rand, depth = 0): unknown {
  switch (int(r, 14)) {
    case 0:
      return int(r, 40);
    case 1:
      return -int(r, 10) - 1;
    case 2:
      return r() * 10;
    case 3:
      return pick(r, [2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -0, 4294967296]);
    case 4:
      return pick(r, ["F32", "F16", "BF16", "I32", "I64", "F64", "U8", "BOOL", "Q4", "", "f32"]);
    case 5:
      return null;
    case 6:
      return pick(r, [true, false, "x", "__metadata__"]);
    case 7:
    case 8:
      return [int(r, 48), int(r, 48)];
    case 9:
      return [int(r, 4), int(r, 4)].slice(0, int(r, 3));
    default:
      if (depth > 2) return int(r, 8);
      return r() < 0.5
        ? Array.from({ length: int(r, 4) }, () => randomValue(r, depth + 1))
        : Object.fromEntries(
          Array.from({ length: int(r, 3) }, () => [
            pick(r, ["dtype", "shape", "data_offsets", "k"]),
            randomValue(r, depth + 1),
          ]),
        );
  }
}

/** Re-serializes a header object, with a correct, padded or wrong length prefix. */
function reencode(r: Rand, header: unknown, data: Uint8Array): Uint8Array {
  let text = JSON.stringify(header) ?? "";
  if (r() < 0.5) text += " ".repeat((8 - (enc.encode(text).length % 8)) % 8);
  const out = build(enc.encode(text), data);
  return r() < 0.1 ? withLength(out, BigInt(enc.encode(text).length + int(r, 5) - 2)) : out;
}

const MUTATORS: Record<string, (r: Rand) => Uint8Array> = {
  bitFlips(r) {
    const out = BASE.slice();
    const span = r() < 0.7 ? 8 + BASE_LEN : out.length;
    for (let k = 1 + int(r, 8); k > 0; k--) out[int(r, span)] ^= 1 << int(r, 8);
    return out;
  },
  truncate(r) {
    return BASE.slice(0, int(r, BASE.length));
  },
  headerLength(r) {
    const choices = [
      BigInt(int(r, BASE.length + 16)),
      BigInt(BASE_LEN + int(r, 17) - 8),
      2n ** 32n + BigInt(int(r, 100)),
      2n ** 63n,
      2n ** 64n - 1n,
      BigInt(int(r, 2 ** 30)) * BigInt(int(r, 2 ** 30) + 1),
      100_000_001n,
    ];
    return withLength(BASE, pick(r, choices));
  },
  jsonField(r) {
    const h = structuredClone(BASE_HEADER);
    for (let k = 1 + int(r, 3); k > 0; k--) {
      const name = pick(r, [...Object.keys(h), "new"]);
      const what = int(r, 6);
      const isObj = typeof h[name] === "object" && h[name] !== null && !Array.isArray(h[name]);
      if (what === 5) h[name] = randomValue(r);
      else {
        if (!isObj) h[name] = {};
        const fields = name === "__metadata__"
          ? ["format", "k"]
          : ["dtype", "shape", "data_offsets"];
        const field = pick(r, fields);
        if (what === 4) delete h[name][field];
        else h[name][field] = randomValue(r);
      }
    }
    return reencode(r, h, r() < 0.9 ? BASE_DATA : BASE_DATA.subarray(0, int(r, BASE_DATA.length)));
  },
  offsetsShuffle(r) {
    // Plausible but inconsistent layouts: swapped, shifted, shared and widened offsets.
    const h = structuredClone(BASE_HEADER);
    const names = Object.keys(h).filter((k) => k !== "__metadata__");
    const a = pick(r, names), b = pick(r, names);
    const op = int(r, 4);
    if (op === 0) [h[a].data_offsets, h[b].data_offsets] = [h[b].data_offsets, h[a].data_offsets];
    else if (op === 1) h[a].data_offsets = h[a].data_offsets.map((x: number) => x + int(r, 5) - 2);
    else if (op === 2) h[a].data_offsets = [...h[b].data_offsets];
    else h[a].shape = [h[a].shape.reduce((x: number, y: number) => x * y, 1) + int(r, 3) - 1];
    return reencode(r, h, BASE_DATA);
  },
  dtypeSwap(r) {
    // Same-size dtypes keep the file valid and exercise the unsupported-dtype paths.
    const same: Record<string, string[]> = {
      F32: ["I32", "U32", "F32"],
      I32: ["F32", "U32"],
      F16: ["BF16", "I16", "U16"],
      BF16: ["F16", "I16"],
      I64: ["F64", "U64", "C64"],
    };
    const h = structuredClone(BASE_HEADER);
    const name = pick(r, Object.keys(h).filter((k) => k !== "__metadata__"));
    h[name].dtype = pick(r, same[h[name].dtype]);
    return reencode(r, h, BASE_DATA);
  },
  textEdits(r) {
    const text = [...dec.decode(BASE.subarray(8, 8 + BASE_LEN))];
    const alphabet = '{}[]",:0123456789-.eE ntrufals\\u\u00e9\ud83d';
    for (let k = 1 + int(r, 4); k > 0; k--) {
      const i = int(r, text.length + 1);
      const op = int(r, 3);
      if (op === 0) text.splice(i, 0, pick(r, [...alphabet]));
      else if (op === 1) text.splice(i, 1);
      else text[i] = pick(r, [...alphabet]);
    }
    const header = enc.encode(text.join(""));
    if (r() < 0.3) header[int(r, header.length)] = 0x80 + int(r, 128); // stray UTF-8 byte
    return build(header, BASE_DATA);
  },
  dataLength(r) {
    const extra = Uint8Array.from({ length: int(r, 12) }, () => int(r, 256));
    const data = r() < 0.5
      ? BASE_DATA.subarray(0, BASE_DATA.length - 1 - int(r, 8))
      : new Uint8Array([...BASE_DATA, ...extra]);
    return build(BASE.subarray(8, 8 + BASE_LEN), data);
  },
};

/** Opens and reads every tensor; returns "ok" or "rejected", throws on anything unexpected. */
async function check(bytes: Uint8Array): Promise<"ok" | "rejected"> {
  try {
    const reader = await openSafetensorsSource(bytesSource(bytes), NAME);
    let covered = 0;
    for (const [name, t] of reader.tensors) {
      const numel = t.shape.reduce((a, b) => a * b, 1);
      const raw = await reader.readRaw(name);
      assert.equal(raw.length, t.offsets[1] - t.offsets[0]);
      covered += raw.length;
      if (SIZES[t.dtype]) assert.equal((await reader.read(name)).length, numel);
      else await assert.rejects(reader.read(name), /unsupported dtype/);
    }
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert.equal(covered, bytes.length - 8 - n, "tensors must tile the data section");
    reader.close();
    return "ok";
  } catch (e) {
    if (e instanceof SafetensorsError && e.message.startsWith(`${NAME}: `)) return "rejected";
    throw e;
  }
}

Deno.test(`fuzz: ${CASES} seeded mutations only succeed or throw SafetensorsError`, async () => {
  assert.equal(await check(BASE), "ok");
  const r = rng(20240601);
  const kinds = Object.keys(MUTATORS);
  const stats: Record<string, { ok: number; rejected: number }> = {};
  for (const k of kinds) stats[k] = { ok: 0, rejected: 0 };
  const start = performance.now();
  for (let i = 0; i < CASES; i++) {
    const kind = kinds[i % kinds.length];
    const bytes = MUTATORS[kind](r);
    let outcome: "ok" | "rejected";
    try {
      outcome = await check(bytes);
    } catch (e) {
      const hex = Array.from(bytes.subarray(0, 400), (b) => b.toString(16).padStart(2, "0"));
      throw new Error(
        `case ${i} (${kind}, ${bytes.length} bytes) failed with ${e}\nfirst bytes: ${hex.join("")}`,
        { cause: e },
      );
    }
    stats[kind][outcome]++;
  }
  const ms = performance.now() - start;
  console.log(`fuzz: ${CASES} cases in ${ms.toFixed(0)} ms`, stats);
  for (const k of kinds) assert.ok(stats[k].rejected > 0, `${k} never produced a rejection`);
  const ok = Object.values(stats).reduce((a, s) => a + s.ok, 0);
  assert.ok(ok > 100, `only ${ok} mutated files were valid: the mutators are too destructive`);
});
