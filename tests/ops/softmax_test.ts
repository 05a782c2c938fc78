import { softmax } from "../../src/ops/softmax.ts";
import { backward, mul, scope, scopeAsync, sum, Tensor } from "../../mod.ts";
import { assertClose, type CheckInput, gradcheck, randn, rng } from "../_helpers.ts";

const FMIN = -3.4028234663852886e38;

/**
 * Float64 softmax over rows of length n; with a mask, x is [B, per, n] and mask [B, n].
 * The GPU adds the mask in f32, where x + finfo.min rounds to finfo.min: `big` is that f32 sum
 * at the unperturbed input x0, and x - x0 rides on top of it unrounded. The forward is then
 * exactly the GPU's, and d/dx is 1 through the mask add, as the GPU backward assumes
 * (a plain Math.fround(x + m) would make a fully masked row's finite differences 0).
 */
function ref(x: Float64Array, x0: Float64Array, mask: Float64Array | null, n: number, per = 1) {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    const o = r * n;
    const mo = Math.floor(r / per) * n;
    const big = Array.from(
      { length: n },
      (_, j) => mask ? Math.max(Math.fround(x0[o + j] + mask[mo + j]), FMIN) : x0[o + j],
    );
    const top = Math.max(...big);
    const e = big.map((b, j) => Math.exp(b - top + (x[o + j] - x0[o + j])));
    const s = e.reduce((a, v) => a + v, 0);
    for (let j = 0; j < n; j++) y[o + j] = e[j] / s;
  }
  return y;
}

// One f32 exp and division per element, plus a sum of up to 300 terms: a few ulps relative.
// Measured on lavapipe and GL: 4.0% of the old 1e-7 + 1e-5|y| bound at worst (1.1e-7 on the
// folded rows); this is 8.8x that.
const FWD = { atol: 3.5e-8, rtol: 3.5e-6 };
// y * (dy - sum(dy * y)) in f32 with |dy| ~ 1, against central differences in float64.
// Measured: 0.16% of the old 1e-5 + 1e-3|g| bound (1.0e-7); this is 9.4x that.
const BWD = { atol: 1.5e-7, rtol: 1.5e-5 };

function check(shape: number[], seed: number, opts: { std?: number; mask?: number[] } = {}) {
  const n = shape.at(-1)!;
  const x = randn(shape.reduce((a, d) => a * d, 1), seed, opts.std ?? 1);
  const x0 = Float64Array.from(Float32Array.from(x));
  const inputs: CheckInput[] = [{ data: x, shape }];
  if (opts.mask) inputs.push({ data: opts.mask, shape: [shape[0], n], grad: false });
  const per = opts.mask ? shape[1] * shape[2] : 1;
  return gradcheck({
    inputs,
    op: ([t, m]) => softmax(t, m),
    ref: ([t, m]) => ref(t, x0, m ?? null, n, per),
    fwd: FWD,
    bwd: BWD,
    seed,
  });
}

/** A [B, n] additive mask: each key dropped with probability 0.4, batch 1 all dropped. */
function randomMask(b: number, n: number, value: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: b * n }, (_, i) => {
    const full = Math.floor(i / n) === 1;
    return full || r() < 0.4 ? value : 0;
  });
}

Deno.test("softmax without a mask over any [..., Sk], odd Sk, batch of 1", async () => {
  await check([7, 13], 1);
  await check([3, 4, 13], 2);
  await check([1, 1, 1, 13], 3);
  await check([2, 300], 4);
  await check([5, 1], 5);
});

Deno.test("softmax with a float32-min mask, including a fully masked batch element", async () => {
  await check([3, 2, 5, 13], 6, { mask: randomMask(3, 13, FMIN, 7) });
  await check([1, 3, 4, 13], 8, { mask: randomMask(1, 13, FMIN, 9) });
  await check([2, 1, 3, 130], 10, { mask: randomMask(2, 130, FMIN, 11) });
});

Deno.test("softmax with a -1e9 mask, including a fully masked batch element", async () => {
  await check([3, 2, 5, 13], 12, { mask: randomMask(3, 13, -1e9, 13) });
});

Deno.test("softmax of large inputs (±1e4) neither overflows nor underflows to NaN", async () => {
  await check([2, 3, 4, 13], 14, { std: 1e4 });
  await check([2, 3, 4, 13], 15, { std: 1e4, mask: randomMask(2, 13, FMIN, 16) });
});

Deno.test("a fully masked row is uniform, exactly as PyTorch with finfo.min", async () => {
  const x = Tensor.fromArray(Float32Array.from(randn(2 * 13, 17, 1e4)), [1, 2, 1, 13]);
  const y = await softmax(x, Tensor.fromArray(new Float32Array(13).fill(FMIN), [1, 13])).toArray();
  assertClose(y, new Float64Array(26).fill(1 / 13), { atol: 0, rtol: 3e-7 }, "uniform rows"); // measured 3.7e-8 relative
});

Deno.test("the mask gets no gradient even when it requires grad", () => {
  scope(() => {
    const x = Tensor.fromArray(Float32Array.from(randn(2 * 3 * 13, 18)), [2, 1, 3, 13]);
    const m = Tensor.fromArray(Float32Array.from(randomMask(2, 13, -1e9, 19)), [2, 13]);
    x.requiresGrad = m.requiresGrad = true;
    const w = Tensor.fromArray(Float32Array.from(randn(78, 20)), x.shape);
    backward(sum(mul(softmax(x, m), w)));
    if (!x.grad || m.grad) throw new Error("expected a gradient for x only");
    // With only the mask requiring grad, nothing is recorded.
    x.requiresGrad = false;
    if (softmax(x, m).requiresGrad) throw new Error("output must not require grad");
  });
});

Deno.test("softmax folds more than 65535 rows into a 2-D dispatch", async () => {
  const rows = 65600;
  const x = randn(rows * 2, 21);
  const x0 = Float64Array.from(Float32Array.from(x));
  const y = await scopeAsync(() =>
    softmax(Tensor.fromArray(Float32Array.from(x), [rows, 2])).toArray()
  );
  assertClose(y, ref(x0, x0, null, 2), FWD, "folded rows");
});

Deno.test("softmax rejects a mask that does not match [B, Sk] of a 4-D x", () => {
  const x = Tensor.fromArray(new Float32Array(26), [2, 13]);
  const m = Tensor.fromArray(new Float32Array(26), [2, 13]);
  let threw = false;
  try {
    softmax(x, m);
  } catch {
    threw = true;
  }
  x.dispose();
  m.dispose();
  if (!threw) throw new Error("expected an error for a 2-D x with a mask");
});
