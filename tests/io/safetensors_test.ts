// Safetensors reader/writer: a hand-built fixture, round trips of every dtype (exhaustive for
// F16/BF16), header layout, one test per rejection, sharded checkpoints and .bin refusal.
// Conversions are bit-exact, so every comparison here is exact (no tolerances).

import assert from "node:assert/strict";
import "../_helpers.ts";
import {
  encodeSafetensors,
  openCheckpoint,
  openSafetensors,
  openSafetensorsSource,
  type TensorToWrite,
  writeSafetensors,
} from "../../src/io/safetensors.ts";
import { type ByteSource, bytesSource } from "../../src/io/files.ts";
import { SafetensorsError } from "../../src/util/errors.ts";

const dir = await Deno.makeTempDir({ prefix: "safetensors_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const enc = new TextEncoder();
let fileNo = 0;

/** Writes `bytes` to a fresh file in the temp dir and returns its path. */
async function put(bytes: Uint8Array, name = `f${fileNo++}.safetensors`): Promise<string> {
  const p = `${dir}/${name}`;
  await Deno.writeFile(p, bytes);
  return p;
}

function u64(n: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A file from a header (text or bytes) and data; the length prefix is the header's unless given. */
function raw(header: string | Uint8Array, data = new Uint8Array(0), len?: bigint): Uint8Array {
  const h = typeof header === "string" ? enc.encode(header) : header;
  return concat(u64(len ?? BigInt(h.length)), h, data);
}

/** Asserts `p` rejects with a SafetensorsError naming `path` and matching `fault`. */
async function rejects(p: Promise<unknown>, path: string, fault: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `not a SafetensorsError: ${e}`);
    assert.ok(e.message.startsWith(`${path}: `), `message does not name ${path}: ${e.message}`);
    assert.match(e.fault, fault);
    return true;
  });
}

async function rejectsOpen(bytes: Uint8Array, fault: RegExp): Promise<void> {
  const p = await put(bytes);
  await rejects(openSafetensors(p), p, fault);
}

// ---- hand-built fixture ----
// Byte layout (376 bytes):
//   [0, 8)     u64 LE header length 336 = 0x150: 50 01 00 00 00 00 00 00
//   [8, 338)   the 330-byte JSON below: __metadata__ first, then tensors by descending dtype
//              alignment (I64, F32, I32, BF16, F16), the reference crate's order, not name order
//   [338, 344) six spaces padding the header to 336 bytes (a multiple of 8)
//   [344, 376) data section, 32 bytes:
//     [0, 16)  e_i64  I64  [2]    1, -2    01 00 00 00 00 00 00 00  fe ff ff ff ff ff ff ff
//     [16, 20) d_f32  F32  [1]    1.5      00 00 c0 3f              (0x3fc00000)
//     [20, 24) c_i32  I32  [1]    -1       ff ff ff ff
//     [24, 28) b_bf16 BF16 [2]    1, -2    80 3f 00 c0              (0x3f80, 0xc000)
//     [28, 32) a_f16  F16  [2, 1] 1, 65504 00 3c ff 7b              (0x3c00, 0x7bff)
const FIXTURE_JSON = '{"__metadata__":{"format":"pt"},' +
  '"e_i64":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},' +
  '"d_f32":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},' +
  '"c_i32":{"dtype":"I32","shape":[1],"data_offsets":[20,24]},' +
  '"b_bf16":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},' +
  '"a_f16":{"dtype":"F16","shape":[2,1],"data_offsets":[28,32]}}';
const FIXTURE = concat(
  new Uint8Array([0x50, 0x01, 0, 0, 0, 0, 0, 0]),
  enc.encode(FIXTURE_JSON),
  enc.encode("      "),
  new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
  new Uint8Array([0x00, 0x00, 0xc0, 0x3f, 0xff, 0xff, 0xff, 0xff]),
  new Uint8Array([0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3c, 0xff, 0x7b]),
);

Deno.test("hand-built fixture: reads back and the writer reproduces it byte for byte", async () => {
  assert.equal(FIXTURE_JSON.length, 330);
  assert.equal(FIXTURE.length, 376);
  const p = await put(FIXTURE);
  const r = await openSafetensors(p);
  try {
    assert.deepEqual(r.metadata, { format: "pt" });
    assert.deepEqual([...r.tensors.keys()], ["e_i64", "d_f32", "c_i32", "b_bf16", "a_f16"]);
    assert.deepEqual(r.tensors.get("a_f16"), { dtype: "F16", shape: [2, 1], offsets: [28, 32] });
    assert.deepEqual(await r.read("e_i64"), new BigInt64Array([1n, -2n]));
    assert.deepEqual(await r.readInt32("e_i64"), new Int32Array([1, -2]));
    assert.deepEqual(await r.read("d_f32"), new Float32Array([1.5]));
    assert.deepEqual(await r.read("c_i32"), new Int32Array([-1]));
    assert.deepEqual(await r.read("b_bf16"), new Float32Array([1, -2]));
    assert.deepEqual(await r.read("a_f16"), new Float32Array([1, 65504]));
  } finally {
    r.close();
  }
  // Given in name order, the writer must reorder by dtype alignment exactly as the fixture does.
  const written = encodeSafetensors([
    { name: "a_f16", dtype: "F16", shape: [2, 1], data: [1, 65504] },
    { name: "b_bf16", dtype: "BF16", shape: [2], data: [1, -2] },
    { name: "c_i32", dtype: "I32", shape: [1], data: [-1] },
    { name: "d_f32", dtype: "F32", shape: [1], data: [1.5] },
    { name: "e_i64", dtype: "I64", shape: [2], data: [1, -2] },
  ], { format: "pt" });
  assert.deepEqual(written, FIXTURE);
});

Deno.test("round trip of every writable dtype, metadata kept, Map input, odd shapes", async () => {
  const p = `${dir}/roundtrip.safetensors`;
  const f32 = Float32Array.from({ length: 7 * 13 * 5 }, (_, i) => Math.fround(Math.sin(i) * 1e3));
  const i32 = Int32Array.from({ length: 13 }, (_, i) => (i - 6) * 123456789);
  const i64 = new BigInt64Array([0n, -(2n ** 63n), 2n ** 63n - 1n]);
  const half = new Uint16Array([0x3c00, 0xc100, 0x7bff, 0x0001, 0x7c00, 0xfe00]);
  const brain = new Uint16Array([0x3f80, 0xc000, 0x7f7f, 0x0001, 0xff80]);
  await writeSafetensors(
    p,
    new Map<string, Omit<TensorToWrite, "name">>([
      ["enc.w", { dtype: "F32", shape: [7, 13, 5], data: f32 }],
      ["ids", { dtype: "I32", shape: [13], data: i32 }],
      ["big", { dtype: "I64", shape: [3], data: i64 }],
      ["half", { dtype: "F16", shape: [2, 3], data: half }],
      ["brain", { dtype: "BF16", shape: [5], data: brain }],
      ["scalar", { dtype: "F32", shape: [], data: [42] }],
      ["empty", { dtype: "F32", shape: [3, 0], data: [] }],
      ["ünïcode name", { dtype: "I64", shape: [1], data: new Int32Array([-7]) }],
    ]),
    { format: "pt", note: 'quotes " and \\ and ü' },
  );
  const r = await openSafetensors(p);
  try {
    assert.deepEqual(r.metadata, { format: "pt", note: 'quotes " and \\ and ü' });
    assert.deepEqual(await r.read("enc.w"), f32);
    assert.deepEqual(await r.read("ids"), i32);
    assert.deepEqual(await r.read("big"), i64);
    assert.deepEqual(new Uint16Array((await r.readRaw("half")).buffer), half);
    assert.deepEqual(new Uint16Array((await r.readRaw("brain")).buffer), brain);
    assert.deepEqual(await r.read("scalar"), new Float32Array([42]));
    assert.deepEqual(r.tensors.get("scalar")!.shape, []);
    assert.deepEqual(await r.read("empty"), new Float32Array(0));
    assert.deepEqual(await r.read("ünïcode name"), new BigInt64Array([-7n]));
    await rejects(r.readInt32("big"), p, /tensor "big"\[1\] = -9223372036854775808 does not fit/);
    await rejects(r.readFloat32("ids"), p, /tensor "ids" is I32, not F32, F16 or BF16/);
    await rejects(r.readInt32("half"), p, /tensor "half" is F16, not I32 or I64/);
    await rejects(r.read("nope"), p, /no tensor "nope" in this file/);
  } finally {
    r.close();
  }
  await rejects(r.read("ids"), p, /reader is closed/);
});

Deno.test("readFloat32Slice: F32, F16 and BF16 ranges at both edges; out-of-range refused", async () => {
  const p = await put(new Uint8Array(0));
  const f32 = Float32Array.from({ length: 1001 }, (_, i) => (i - 500) / 7);
  // Every finite half from 0x3c00 up and every BF16 in a span: distinct values at each index.
  const half = Uint16Array.from({ length: 777 }, (_, i) => 0x3c00 + i * 37);
  const brain = Uint16Array.from({ length: 333 }, (_, i) => 0xbf00 + i * 61);
  await writeSafetensors(p, [
    { name: "f", dtype: "F32", shape: [7, 143], data: f32 },
    { name: "h", dtype: "F16", shape: [777], data: half },
    { name: "b", dtype: "BF16", shape: [3, 111], data: brain },
    { name: "ids", dtype: "I32", shape: [2], data: new Int32Array([1, 2]) },
  ]);
  const r = await openSafetensors(p);
  try {
    for (const name of ["f", "h", "b"]) {
      const all = await r.readFloat32(name);
      const n = all.length;
      for (
        const [start, count] of [[0, 1], [0, n], [n - 1, 1], [n - 37, 37], [n >> 2, n >> 1], [n, 0]]
      ) {
        const got = await r.readFloat32Slice(name, start, count);
        assert.ok(got instanceof Float32Array, `${name} [${start}, +${count})`);
        assert.deepEqual(got, all.subarray(start, start + count), `${name} [${start}, +${count})`);
      }
      for (const [start, count] of [[n, 1], [n - 1, 2], [-1, 1], [0, n + 1], [1.5, 1], [0, -1]]) {
        const where = new RegExp(
          `slice \\[${start}, ${start + count}\\) is outside tensor "${name}"`,
        );
        await rejects(r.readFloat32Slice(name, start, count), p, where);
      }
    }
    // The decoded values themselves, not only agreement with the whole-tensor read.
    assert.deepEqual([...await r.readFloat32Slice("f", 1000, 1)], [Math.fround(500 / 7)]);
    assert.deepEqual([...await r.readFloat32Slice("h", 0, 2)], [1, 1 + 37 / 1024]);
    assert.deepEqual([...await r.readFloat32Slice("b", 0, 1)], [-0.5]);
    await rejects(r.readFloat32Slice("ids", 0, 1), p, /tensor "ids" is I32, not F32, F16 or BF16/);
  } finally {
    r.close();
  }
});

/** The value of half bit pattern `h`, computed from the IEEE definition in float64. */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

Deno.test("F16: all 65536 bit patterns decode exactly and re-encode to themselves", async () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const p = `${dir}/f16.safetensors`;
  await writeSafetensors(p, [{ name: "h", dtype: "F16", shape: [65536], data: all }]);
  const r = await openSafetensors(p);
  const f = await r.readFloat32("h");
  r.close();
  const bits = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h++) {
    const want = halfValue(h);
    if (Number.isNaN(want)) {
      // NaN payloads are kept: sign, all-ones exponent, mantissa shifted into place.
      const w = (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0;
      assert.equal(bits[h], w, `NaN 0x${h.toString(16)}`);
    } else assert.ok(Object.is(f[h], want), `0x${h.toString(16)}: ${f[h]} != ${want}`);
  }
  const back = encodeSafetensors([{ name: "h", dtype: "F16", shape: [65536], data: f }]);
  const again = new Uint16Array(back.slice(back.length - 131072).buffer);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(halfValue(h))) assert.ok(Number.isNaN(halfValue(again[h])));
    else assert.equal(again[h], h, `0x${h.toString(16)} re-encoded as 0x${again[h].toString(16)}`);
  }
});

/** The bits each value gets when written as `dtype` (round to nearest even). */
function encodeBits(dtype: "F16" | "BF16", values: number[]): number[] {
  const b = encodeSafetensors([{ name: "x", dtype, shape: [values.length], data: values }]);
  return [...new Uint16Array(b.slice(b.length - 2 * values.length).buffer)];
}

Deno.test("F16 encoding of known values, subnormals, overflow and ties to even", () => {
  const cases: [number, number][] = [
    [1.0, 0x3c00],
    [-2.5, 0xc100],
    [65504, 0x7bff],
    [65519, 0x7bff], // just below the halfway point to 65536
    [65520, 0x7c00], // halfway: ties to the even pattern, which is infinity
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -25, 0x0000], // halfway to the smallest subnormal: ties to even (zero)
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 subnormal steps: ties to even (2)
    [1e-8, 0x0000],
    [-1e-8, 0x8000],
    [-0, 0x8000],
    [1 + 2 ** -11, 0x3c00], // tie, even stays
    [1 + 3 * 2 ** -11, 0x3c02], // tie, rounds up to even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
  ];
  assert.deepEqual(encodeBits("F16", cases.map((c) => c[0])), cases.map((c) => c[1]));
  const [nan] = encodeBits("F16", [NaN]);
  assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, "NaN stays NaN");
});

Deno.test("BF16: all bit patterns decode exactly; encoding rounds to nearest even", async () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const r = await openSafetensorsSource(
    bytesSource(encodeSafetensors([{ name: "b", dtype: "BF16", shape: [65536], data: all }])),
    "bf16",
  );
  const bits = new Uint32Array((await r.readFloat32("b")).buffer);
  for (let h = 0; h < 65536; h++) assert.equal(bits[h], (h << 16) >>> 0);
  const cases: [number, number][] = [
    [1.0, 0x3f80],
    [-2.0, 0xc000],
    [-0, 0x8000],
    [1 + 2 ** -8, 0x3f80], // tie, even stays
    [1 + 3 * 2 ** -8, 0x3f82], // tie, rounds up to even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [3.4028234663852886e38, 0x7f80], // largest f32 rounds up to infinity
    [Infinity, 0x7f80],
    [2 ** -133, 0x0001], // f32 subnormals round like normals
  ];
  assert.deepEqual(encodeBits("BF16", cases.map((c) => c[0])), cases.map((c) => c[1]));
  const [nan] = encodeBits("BF16", [NaN]);
  assert.ok((nan & 0x7f80) === 0x7f80 && (nan & 0x7f) !== 0, "NaN stays NaN");
});

Deno.test("header is padded with spaces to a multiple of 8 and __metadata__ comes first", () => {
  for (let len = 1; len <= 17; len++) {
    const b = encodeSafetensors(
      [{ name: "x".repeat(len), dtype: "F32", shape: [1], data: [1] }],
      len % 2 ? { k: "v" } : undefined,
    );
    const n = Number(new DataView(b.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const text = new TextDecoder().decode(b.subarray(8, 8 + n));
    assert.match(text, /^\{.*\} {0,7}$/);
    if (len % 2) assert.ok(text.startsWith('{"__metadata__":{"k":"v"},'));
    assert.equal(b.length, 8 + n + 4);
  }
});

Deno.test("opening reads only the length prefix and the header", async () => {
  const bytes = encodeSafetensors([
    { name: "w", dtype: "F32", shape: [1000], data: new Float32Array(1000) },
  ]);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const reads: [number, number][] = [];
  const inner = bytesSource(bytes);
  const counting: ByteSource = {
    size: inner.size,
    readAt: (o, l) => (reads.push([o, l]), inner.readAt(o, l)),
  };
  const r = await openSafetensorsSource(counting, "counted");
  assert.deepEqual(reads, [[0, 8], [8, n]]);
  await r.read("w");
  assert.deepEqual(reads.at(-1), [8 + n, 4000]);
});

// ---- rejections: each names the file and the fault ----

Deno.test("rejects an empty file and one shorter than 8 bytes", async () => {
  await rejectsOpen(new Uint8Array(0), /file is 0 bytes, too short for the 8-byte header length/);
  await rejectsOpen(new Uint8Array(5), /file is 5 bytes, too short/);
});

Deno.test("rejects a header length past the end of the file", async () => {
  const b = raw("{}", new Uint8Array(1014), 9999999999n);
  assert.equal(b.length, 1024);
  const p = await put(b, "model.safetensors");
  await rejects(openSafetensors(p), p, /^header length 9999999999 exceeds file size 1024$/);
  await rejectsOpen(raw("{}", new Uint8Array(0), 3n), /header length 3 exceeds file size 10/);
  await rejectsOpen(raw("{}", new Uint8Array(0), 2n ** 64n - 1n), /header length 1844674407/);
});

Deno.test("rejects a header length over 100 MB (sparse file, never read)", async () => {
  const p = await put(u64(100_000_001n));
  await Deno.truncate(p, 8 + 100_000_008); // sparse: the length fits in the file
  await rejects(openSafetensors(p), p, /header length 100000001 exceeds the 100000000-byte limit/);
});

Deno.test("rejects a header that is not valid UTF-8", async () => {
  await rejectsOpen(raw(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /header is not valid UTF-8/);
});

Deno.test("rejects a header that is not valid JSON", async () => {
  await rejectsOpen(raw('{"a": '), /header is not valid JSON/);
  await rejectsOpen(raw(""), /header is not valid JSON/);
});

Deno.test("rejects a header that is not a JSON object", async () => {
  await rejectsOpen(raw("[1, 2]"), /header is not a JSON object but \[1,2\]/);
  await rejectsOpen(raw("null"), /header is not a JSON object but null/);
  await rejectsOpen(raw('"str"'), /header is not a JSON object/);
});

Deno.test("rejects a tensor entry that is not an object", async () => {
  await rejectsOpen(raw('{"a": 3}'), /tensor "a": entry is not an object but 3/);
  const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
  await rejectsOpen(raw(deep), /tensor "a": entry is not an object but \[\[\[.*\.\.\.$/);
});

Deno.test("rejects an unknown dtype", async () => {
  const h = '{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}';
  await rejectsOpen(raw(h, new Uint8Array(1)), /tensor "a": unknown dtype "Q4" \(known: BOOL/);
  const lower = '{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}';
  await rejectsOpen(raw(lower, new Uint8Array(4)), /unknown dtype "f32"/);
  const missing = '{"a":{"shape":[1],"data_offsets":[0,4]}}';
  await rejectsOpen(raw(missing, new Uint8Array(4)), /unknown dtype undefined/);
});

Deno.test("F64, I8, U8 and BOOL open but refuse to be read as unsupported dtypes", async () => {
  const h = '{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
    '"i":{"dtype":"I8","shape":[2],"data_offsets":[8,10]},' +
    '"u":{"dtype":"U8","shape":[2],"data_offsets":[10,12]},' +
    '"b":{"dtype":"BOOL","shape":[4],"data_offsets":[12,16]}}';
  const p = await put(raw(h, Uint8Array.from({ length: 16 }, (_, i) => i)));
  const r = await openSafetensors(p);
  try {
    for (const [name, dtype] of [["d", "F64"], ["i", "I8"], ["u", "U8"], ["b", "BOOL"]]) {
      assert.equal(r.tensors.get(name)!.dtype, dtype);
      await rejects(r.read(name), p, new RegExp(`"${name}" has unsupported dtype ${dtype}`));
    }
    assert.deepEqual(await r.readRaw("u"), new Uint8Array([10, 11]));
  } finally {
    r.close();
  }
});

Deno.test("rejects a bad shape: non-integer, negative, not an array", async () => {
  const at = (shape: string) => `{"a":{"dtype":"F32","shape":${shape},"data_offsets":[0,4]}}`;
  const d = new Uint8Array(4);
  await rejectsOpen(raw(at("[1.5]"), d), /tensor "a": bad shape \[1.5\]: dimensions must be non/);
  await rejectsOpen(raw(at("[-1]"), d), /tensor "a": bad shape \[-1\]/);
  await rejectsOpen(raw(at('"4"'), d), /tensor "a": bad shape "4"/);
  const huge = "[4294967296,4294967296,4294967296]";
  await rejectsOpen(raw(at(huge), d), /tensor "a": shape \[4294967296,.*\] is too large/);
});

Deno.test("rejects shape x dtype size different from the byte length", async () => {
  const h = '{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}';
  await rejectsOpen(
    raw(h, new Uint8Array(20)),
    /tensor "a": shape \[2,3\] of F32 needs 24 bytes but data_offsets \[0, 20\] span 20/,
  );
});

Deno.test("rejects malformed data_offsets", async () => {
  const at = (o: string) => `{"a":{"dtype":"U8","shape":[0],"data_offsets":${o}}}`;
  await rejectsOpen(raw(at("[4, 0]")), /tensor "a": bad data_offsets \[4,0\]/);
  await rejectsOpen(raw(at("[0]")), /bad data_offsets \[0\]/);
  await rejectsOpen(raw(at("[0.5, 0.5]")), /bad data_offsets/);
  await rejectsOpen(raw(at("null")), /bad data_offsets null/);
});

Deno.test("rejects offsets out of bounds of the data section", async () => {
  const h = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
  await rejectsOpen(
    raw(h, new Uint8Array(8)),
    /tensor "a": data_offsets \[4,12\] end past the 8-byte data section/,
  );
});

Deno.test("rejects a truncated file (data shorter than the header claims)", async () => {
  const full = encodeSafetensors([
    { name: "a", dtype: "F32", shape: [4], data: [1, 2, 3, 4] },
    { name: "b", dtype: "F32", shape: [4], data: [1, 2, 3, 4] },
  ]);
  const p = await put(full.subarray(0, full.length - 3));
  await rejects(openSafetensors(p), p, /"b": .* end past the 29-byte data section \(file trunc/);
});

Deno.test("rejects overlapping offsets", async () => {
  const h = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
  await rejectsOpen(
    raw(h, new Uint8Array(8)),
    /tensor "b": data_offsets \[4, 8\] overlap a tensor ending at 8/,
  );
});

Deno.test("rejects gaps between tensors and trailing bytes no tensor covers", async () => {
  const h = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
    '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
  await rejectsOpen(
    raw(h, new Uint8Array(12)),
    /gap in the data section: bytes \[4, 8\) before tensor "b"/,
  );
  const lead = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
  await rejectsOpen(raw(lead, new Uint8Array(8)), /bytes \[0, 4\) before tensor "a"/);
  const one = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
  await rejectsOpen(
    raw(one, new Uint8Array(6)),
    /data section has 6 bytes but tensors cover only 4 \(trailing bytes\)/,
  );
});

Deno.test("rejects __metadata__ that is not an object of strings", async () => {
  await rejectsOpen(raw('{"__metadata__":{"n":1}}'), /__metadata__ must be an object of strings/);
  await rejectsOpen(raw('{"__metadata__":["a"]}'), /__metadata__ must be .*, not \["a"\]/);
});

Deno.test("a missing file or a directory is a SafetensorsError", async () => {
  await rejects(
    openSafetensors(`${dir}/missing.safetensors`),
    `${dir}/missing.safetensors`,
    /open/,
  );
  await rejects(openSafetensors(dir), dir, /not a regular file/);
});

// ---- writer validation leaves the previous file untouched ----

Deno.test("writer rejects bad input before touching the target, leaving no temp file", async () => {
  const sub = await Deno.makeTempDir({ dir, prefix: "w" });
  const p = `${sub}/model.safetensors`;
  await writeSafetensors(p, [{ name: "a", dtype: "F32", shape: [1], data: [1] }]);
  const before = await Deno.readFile(p);
  const bad: [Parameters<typeof writeSafetensors>[1], RegExp][] = [
    [[{ name: "a", dtype: "F32", shape: [2], data: [1] }], /1 values do not fill shape \[2\]/],
    [[{ name: "a", dtype: "I32", shape: [1], data: [1.5] }], /value 1.5 at 0 is not a valid I32/],
    [[{ name: "a", dtype: "I32", shape: [1], data: [2 ** 31] }], /not a valid I32/],
    [[{ name: "a", dtype: "F32", shape: [1], data: new Int32Array(1) }], /Int32Array data/],
    [[{ name: "__metadata__", dtype: "F32", shape: [0], data: [] }], /invalid name/],
    [[{ name: "a", dtype: "F64" as "F32", shape: [0], data: [] }], /cannot write dtype "F64"/],
    [[{ name: "a", dtype: "F32", shape: [-1], data: [] }], /bad shape \[-1\]/],
    [[
      { name: "a", dtype: "F32", shape: [0], data: [] },
      { name: "a", dtype: "F32", shape: [0], data: [] },
    ], /duplicate name/],
  ];
  for (const [tensors, fault] of bad) await rejects(writeSafetensors(p, tensors), p, fault);
  await rejects(
    writeSafetensors(p, [], { n: 1 } as unknown as Record<string, string>),
    p,
    /metadata "n" is not a string/,
  );
  assert.deepEqual(await Deno.readFile(p), before);
  assert.deepEqual([...Deno.readDirSync(sub)].map((e) => e.name), ["model.safetensors"]);
});

// ---- checkpoints ----

async function shardedCheckpoint(weightMap: Record<string, string>): Promise<string> {
  const ck = await Deno.makeTempDir({ dir, prefix: "ckpt" });
  await writeSafetensors(`${ck}/model-00001-of-00002.safetensors`, [
    { name: "emb", dtype: "F32", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
    { name: "ids", dtype: "I64", shape: [2], data: [7, 8] },
  ], { format: "pt" });
  await writeSafetensors(`${ck}/model-00002-of-00002.safetensors`, [
    { name: "head", dtype: "F16", shape: [2], data: [0.5, -1] },
  ], { format: "pt", shard: "2" });
  const index = { metadata: { total_size: 42 }, weight_map: weightMap };
  await Deno.writeTextFile(`${ck}/model.safetensors.index.json`, JSON.stringify(index));
  return ck;
}

const GOOD_MAP = {
  emb: "model-00001-of-00002.safetensors",
  ids: "model-00001-of-00002.safetensors",
  head: "model-00002-of-00002.safetensors",
};

Deno.test("sharded checkpoint: index loading dispatches reads by tensor name", async () => {
  const ck = await shardedCheckpoint(GOOD_MAP);
  for (const target of [ck, `${ck}/model.safetensors.index.json`]) {
    const r = await openCheckpoint(target);
    try {
      assert.deepEqual(r.shards, [GOOD_MAP.emb, GOOD_MAP.head]);
      assert.deepEqual(r.indexMetadata, { total_size: 42 });
      assert.deepEqual(r.metadata, { format: "pt", shard: "2" });
      assert.deepEqual([...r.tensors.keys()].sort(), ["emb", "head", "ids"]);
      assert.deepEqual(r.tensors.get("emb")!.shape, [2, 3]);
      assert.deepEqual(await r.readFloat32("emb"), new Float32Array([1, 2, 3, 4, 5, 6]));
      assert.deepEqual(await r.readInt32("ids"), new Int32Array([7, 8]));
      assert.deepEqual(await r.read("head"), new Float32Array([0.5, -1]));
      await rejects(r.read("nope"), r.path, /no tensor "nope" in this checkpoint/);
    } finally {
      r.close();
    }
  }
});

Deno.test("checkpoint directory with a single model.safetensors", async () => {
  const ck = await Deno.makeTempDir({ dir, prefix: "single" });
  await writeSafetensors(`${ck}/model.safetensors`, [
    { name: "w", dtype: "F32", shape: [1], data: [3] },
  ]);
  const r = await openCheckpoint(ck);
  assert.deepEqual(r.shards, ["model.safetensors"]);
  assert.deepEqual(await r.read("w"), new Float32Array([3]));
  r.close();
});

Deno.test("sharded checkpoint: shard names that leave the directory are rejected", async () => {
  for (const evil of ["../x.safetensors", "/etc/passwd", "sub/x.safetensors", "..", "", "a\\b"]) {
    const ck = await shardedCheckpoint({ ...GOOD_MAP, head: evil });
    const index = `${ck}/model.safetensors.index.json`;
    await rejects(openCheckpoint(ck), index, /weight_map\["head"\] = .* is not a plain file name/);
  }
});

Deno.test("sharded checkpoint: inconsistent or malformed indexes are rejected", async () => {
  let ck = await shardedCheckpoint({ ...GOOD_MAP, extra: GOOD_MAP.emb });
  const index = () => `${ck}/model.safetensors.index.json`;
  await rejects(openCheckpoint(ck), index(), /maps "extra" to model-00001.*no such tensor/);
  ck = await shardedCheckpoint({ ...GOOD_MAP, head: "absent.safetensors" });
  await rejects(openCheckpoint(ck), `${ck}/absent.safetensors`, /cannot open/);
  await Deno.writeTextFile(index(), '{"weight_map": []}');
  await rejects(openCheckpoint(ck), index(), /"weight_map" must map tensor names to shard files/);
  await Deno.writeTextFile(index(), "{oops");
  await rejects(openCheckpoint(ck), index(), /index is not valid JSON/);
});

Deno.test("PyTorch .bin checkpoints are refused with conversion instructions", async () => {
  const ck = await Deno.makeTempDir({ dir, prefix: "torch" });
  await Deno.writeFile(`${ck}/pytorch_model.bin`, new Uint8Array([0x50, 0x4b, 3, 4]));
  const fault = new RegExp(
    "pickle checkpoints are refused because unpickling can execute arbitrary code.*" +
      `python -c "from transformers import AutoModel; AutoModel.from_pretrained\\('${ck}'\\)` +
      `\\.save_pretrained\\('${ck}', safe_serialization=True\\)"`,
  );
  await rejects(openCheckpoint(ck), ck, fault);
  await rejects(openCheckpoint(`${ck}/pytorch_model.bin`), `${ck}/pytorch_model.bin`, fault);
  await rejects(openSafetensors(`${ck}/pytorch_model.bin`), `${ck}/pytorch_model.bin`, fault);
  const sh = await shardedCheckpoint({ ...GOOD_MAP, head: "pytorch_model-00001.bin" });
  await rejects(openCheckpoint(sh), `${sh}/model.safetensors.index.json`, /unpickling/);
  const empty = await Deno.makeTempDir({ dir, prefix: "empty" });
  await rejects(openCheckpoint(empty), empty, /no model.safetensors or model.safetensors.index/);
  await rejects(openCheckpoint(`${dir}/nowhere`), `${dir}/nowhere`, /no such file or directory/);
});
