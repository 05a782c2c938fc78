// A protobuf writer for hand-made SentencePiece models: the few fields the tests vary.

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
}

/** One protobuf field: a number, boolean or enum (varint), a float32, bytes/string or a message. */
export function field(num: number, value: number | boolean | string | Uint8Array | number[]) {
  if (typeof value === "boolean" || typeof value === "number" && Number.isInteger(value)) {
    return [...varint(num << 3), ...varint(Number(value))];
  }
  if (typeof value === "number") {
    const f = new Uint8Array(4);
    new DataView(f.buffer).setFloat32(0, value, true);
    return [...varint((num << 3) | 5), ...f];
  }
  const bytes = typeof value === "string" ? [...new TextEncoder().encode(value)] : [...value];
  return [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
}

/** A piece's score is written as a float even when it is a whole number. */
export function piece(text: string, score: number, type = 1): number[] {
  const s = new Uint8Array(4);
  new DataView(s.buffer).setFloat32(0, score, true);
  return field(1, [...field(1, text), ...varint((2 << 3) | 5), ...s, ...field(3, type)]);
}

/** A model: pieces, trainer fields and normalizer fields, each as [number, value] pairs. */
export function model(
  pieces: [string, number, number?][],
  trainer: [number, number | boolean][] = [],
  normalizer: [number, number | boolean | string][] = [],
): Uint8Array {
  return Uint8Array.from([
    ...pieces.flatMap(([t, s, ty]) => piece(t, s, ty)),
    ...field(2, trainer.flatMap(([n, v]) => field(n, v))),
    ...field(3, normalizer.flatMap(([n, v]) => field(n, v))),
  ]);
}
