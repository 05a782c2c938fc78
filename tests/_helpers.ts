// Test helpers: a seeded host RNG, float64 comparisons and a finite-difference gradcheck.
// The gradcheck compares our WGSL backward (f32) with central differences of an
// independent float64 TypeScript reference, so the numerical side carries no f32 noise.

import { backward, gpu, initGpu, mul, mulberry32, scope, scopeAsync, sum, Tensor } from "../mod.ts";
import { IS_CI } from "./_data.ts";

await initGpu();

/** A seeded PRNG (the project's mulberry32), so fixtures are reproducible. */
export const rng: (seed: number) => () => number = mulberry32;

/** `n` standard normal samples (scaled by `std`). */
export function randn(n: number, seed: number, std = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

// TOL_REPORT=1 prints how much of its bound each assertClose used: the measurement behind
// the "measured" comments beside the tolerances.
const TOL_REPORT = (Deno.env.get("TOL_REPORT") ?? "") !== "";

/** Asserts |a - e| <= atol + rtol * |e| elementwise, reporting the worst element. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { atol: number; rtol: number },
  what = "",
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  let used = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const bound = tol.atol + tol.rtol * Math.abs(expected[i]);
    const excess = err - bound;
    if (TOL_REPORT && err > 0) used = Math.max(used, bound > 0 ? err / bound : Infinity);
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (TOL_REPORT) console.log(`TOL ${what}: ${(100 * used).toPrecision(3)}% of the bound`);
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst}: got ${actual[worst]}, expected ${expected[worst]} ` +
        `(atol ${tol.atol}, rtol ${tol.rtol})`,
    );
  }
}

/** An input of a gradcheck: float64 values, a shape, and whether it is differentiated. */
export interface CheckInput {
  data: ArrayLike<number>;
  shape: number[];
  dtype?: "f32" | "i32";
  grad?: boolean;
}

/**
 * Checks an op forward against `ref` (float64) and backward against central finite
 * differences of `ref`, through the loss L = sum(w * y) with random weights w.
 */
export async function gradcheck(opts: {
  inputs: CheckInput[];
  op: (xs: Tensor[]) => Tensor;
  ref: (xs: Float64Array[]) => ArrayLike<number>;
  fwd: { atol: number; rtol: number };
  bwd: { atol: number; rtol: number };
  h?: number;
  seed?: number;
}): Promise<void> {
  const h = opts.h ?? 1e-5;
  const xs64 = opts.inputs.map((i) => Float64Array.from(i.data));
  const expected = opts.ref(xs64);
  const w = randn(expected.length, opts.seed ?? 99);
  const tensors = opts.inputs.map((inp) => {
    const t = inp.dtype === "i32"
      ? Tensor.fromArray(Int32Array.from(inp.data), inp.shape)
      : Tensor.fromArray(Float32Array.from(inp.data), inp.shape);
    t.requiresGrad = inp.dtype !== "i32" && inp.grad !== false;
    return t;
  });
  // f32 inputs are what the GPU sees: the reference must see the same rounded values.
  const xsRounded = opts.inputs.map((inp, k) =>
    inp.dtype === "i32" ? xs64[k] : Float64Array.from(Float32Array.from(inp.data))
  );
  const refOut = opts.ref(xsRounded);
  const got = await scopeAsync(async () => {
    const y = opts.op(tensors);
    const out = await y.toArray();
    if (tensors.some((t) => t.requiresGrad)) {
      const wt = Tensor.fromArray(Float32Array.from(w), y.shape);
      backward(sum(mul(y, wt)));
    }
    return out;
  });
  assertClose(got, refOut, opts.fwd, "forward");
  for (let k = 0; k < tensors.length; k++) {
    if (!tensors[k].requiresGrad) continue;
    const g = await tensors[k].grad!.toArray();
    const num = new Float64Array(g.length);
    const xs = xsRounded.map((x) => Float64Array.from(x));
    for (let i = 0; i < g.length; i++) {
      const x0 = xs[k][i];
      xs[k][i] = x0 + h;
      const lp = dot(opts.ref(xs), w);
      xs[k][i] = x0 - h;
      const lm = dot(opts.ref(xs), w);
      xs[k][i] = x0;
      num[i] = (lp - lm) / (2 * h);
    }
    assertClose(g, num, opts.bwd, `gradient of input ${k}`);
  }
  scope(() => tensors.forEach((t) => t.dispose()));
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export { hasData, IS_CI, SHARED, shared, withoutData } from "./_data.ts";

/** Whether the adapter can run f16 shaders, from the device's features (not a program's report). */
export const HAS_F16: boolean = gpu().info.features.includes("shader-f16");

/**
 * For `Deno.test({ ignore: withoutF16(...) })`: true (with a visible reason) when the adapter
 * lacks shader-f16. Under CI the default backend (lavapipe has the feature) must have it, so
 * its absence throws; GL never has it, and its re-run ignores these tests.
 */
export function withoutF16(what: string): boolean {
  if (HAS_F16) return false;
  const { name, backend } = gpu().info;
  if (IS_CI && backend !== "gl") {
    throw new Error(`CI: ${what} need shader-f16, which ${name} lacks`);
  }
  console.warn(`ignored: ${what} need shader-f16, which ${name} (${backend}) lacks`);
  return true;
}

/** erfc in float64: a continued fraction for x >= 3, 1 - erf below (relative error < 2e-11, vs mpmath). */
export function erfc64(x: number): number {
  if (x < 0) return 2 - erfc64(-x);
  if (x < 3) return 1 - erf64(x);
  let f = x;
  for (let k = 200; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** erf in float64: a series of positive terms for |x| < 3 (checked against mpmath: 4e-16). */
export function erf64(x: number): number {
  if (Math.abs(x) >= 3) return Math.sign(x) * (1 - erfc64(Math.abs(x)));
  let term = x;
  let s = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-18 * Math.abs(s); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    s += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * s;
}

/**
 * The shaders' pcg3d (dropout.wgsl, random.wgsl, attention.wgsl) on the host, in u32
 * arithmetic: the one TypeScript copy, from which tests predict masks and samples.
 */
export function pcg3d(x: number, y: number, z: number): [number, number, number] {
  const v = [x, y, z].map((t) => (Math.imul(t, 1664525) + 1013904223) >>> 0);
  const mix = () => {
    v[0] = (v[0] + Math.imul(v[1], v[2])) >>> 0;
    v[1] = (v[1] + Math.imul(v[2], v[0])) >>> 0;
    v[2] = (v[2] + Math.imul(v[0], v[1])) >>> 0;
  };
  mix();
  for (let k = 0; k < 3; k++) v[k] = (v[k] ^ (v[k] >>> 16)) >>> 0;
  mix();
  return [v[0], v[1], v[2]];
}

/** The dropout stream's third word ("drop"), shared by dropout.wgsl and attention.wgsl. */
export const DROP_STREAM = 0x64726f70;

/** Whether dropout with probability `p` keeps element `i` under `seed`, as the kernels decide. */
export const dropKeeps = (i: number, seed: number, p: number): boolean =>
  pcg3d(i, seed, DROP_STREAM)[0] >= Math.floor(p * 2 ** 32);

/** Dropout multipliers of n elements: 0 or the f32 1/(1 - p) the kernels multiply by. */
export function dropMask(n: number, p: number, seed: number): Float64Array {
  const z = new Float64Array(n).fill(1);
  if (p === 0) return z;
  const scale = Math.fround(1 / (1 - p));
  for (let i = 0; i < n; i++) z[i] = dropKeeps(i, seed, p) ? scale : 0;
  return z;
}
