import { deriveSeed, dropout } from "../../src/ops/dropout.ts";
import { ones } from "../../src/ops/elementwise.ts";
import { download } from "../../src/gpu/kernel.ts";
import { Tensor } from "../../src/tensor.ts";
import { assertClose, dropKeeps, dropMask, gradcheck, randn } from "../_helpers.ts";

async function forward(x: Tensor, p: number, seed: number): Promise<Float32Array> {
  const y = dropout(x, p, seed);
  const out = (await y.toArray()) as Float32Array;
  y.dispose();
  return out;
}

const N = 100_003;

Deno.test("dropout keeps 1 - p of 100k elements, scaled, as the host hash predicts", async () => {
  const data = Float32Array.from(randn(N, 1));
  const x = Tensor.fromArray(data);
  for (const p of [0.1, 0.5, 0.9]) {
    const y = await forward(x, p, 1234);
    const scale = Math.fround(1 / (1 - p));
    let kept = 0;
    for (let i = 0; i < N; i++) {
      const k = dropKeeps(i, 1234, p);
      kept += k ? 1 : 0;
      const want = k ? Math.fround(data[i] * scale) : 0;
      if (y[i] !== want) throw new Error(`p ${p}, element ${i}: got ${y[i]}, want ${want}`);
    }
    // A binomial count: 5 standard deviations fail by chance with probability 6e-7.
    const bound = 5 * Math.sqrt(p * (1 - p) / N);
    const frac = kept / N;
    if (Math.abs(frac - (1 - p)) > bound) throw new Error(`p ${p}: kept ${frac}, bound ${bound}`);
  }
  x.dispose();
});

Deno.test("dropout: same seed is bitwise identical, other seeds draw independent masks", async () => {
  const x = Tensor.fromArray(Float32Array.from(randn(N, 2)));
  const p = 0.1;
  const a = await forward(x, p, 7);
  const b = await forward(x, p, 7);
  const ua = new Uint32Array(a.buffer);
  const ub = new Uint32Array(b.buffer);
  if (!ua.every((v, i) => v === ub[i])) throw new Error("same seed gave different bits");
  for (const other of [8, deriveSeed(7, 1, 0)]) {
    const c = await forward(x, p, other);
    let agree = 0;
    for (let i = 0; i < N; i++) agree += (a[i] === 0) === (c[i] === 0) ? 1 : 0;
    // Independent masks agree with probability p^2 + (1-p)^2; 6 standard deviations.
    const q = p * p + (1 - p) * (1 - p);
    const frac = agree / N;
    if (Math.abs(frac - q) > 6 * Math.sqrt(q * (1 - q) / N)) {
      throw new Error(`seeds 7 and ${other} agree on ${frac} of the mask, expected ${q}`);
    }
  }
  x.dispose();
});

Deno.test("dropout backward applies the same mask (7x13x5, and a batch of 1)", async () => {
  for (const shape of [[7, 13, 5], [1, 9]]) {
    const n = shape.reduce((a, b) => a * b);
    const seed = deriveSeed(99, 3, 1);
    // The mask comes from the host hash, not from the GPU's own forward.
    const m = dropMask(n, 0.3, seed);
    await gradcheck({
      inputs: [{ data: randn(n, 3), shape }],
      op: ([x]) => dropout(x, 0.3, seed),
      ref: ([x]) => x.map((v, i) => v * m[i]),
      // One f32 product per element; the gradient is linear, so differences are exact-ish.
      // Measured on lavapipe and GL: forward 58% of this bound (one rounding, ~0.5 ulp);
      // gradients 5.6% of the old 1e-6 + 1e-6|g| (the f32 rounding of w and 1/(1 - p)); 8.9x.
      fwd: { atol: 0, rtol: 1e-7 },
      bwd: { atol: 5e-7, rtol: 5e-7 },
    });
  }
});

Deno.test("dropout with p = 0 or training = false is the identity, as a view", async () => {
  for (const [p, training] of [[0, true], [0.5, false]] as const) {
    const x = Tensor.fromArray([1, 2, 3]);
    const y = dropout(x, p, 5, training);
    if (y.storage !== x.storage) throw new Error("expected a view of x");
    x.dispose();
    y.dispose();
    await gradcheck({
      inputs: [{ data: randn(35, 4), shape: [7, 5] }],
      op: ([x]) => dropout(x, p, 5, training),
      ref: ([x]) => x,
      fwd: { atol: 0, rtol: 0 },
      // The gradient is the f32-rounded w. Measured on lavapipe and GL: 1.9% of the old
      // 1e-6 + 1e-6|g| bound; 10.5x here.
      bwd: { atol: 2e-7, rtol: 2e-7 },
    });
  }
  const x = Tensor.fromArray([1]);
  for (const p of [1, -0.1, NaN]) {
    let threw = false;
    try {
      dropout(x, p, 0);
    } catch (e) {
      threw = e instanceof RangeError;
    }
    if (!threw) throw new Error(`p = ${p} was accepted`);
  }
  x.dispose();
});

Deno.test("dropout hashes global indices across 16M-element ranges", async () => {
  const n = 16 * 1024 * 1024 + 300;
  const o = ones([n]);
  const y = dropout(o, 0.5, 77);
  const from = n - 600;
  const got = new Float32Array(await download(y.storage.buffer, from * 4, 600 * 4));
  assertClose(got, Array.from(got, (_, i) => (dropKeeps(from + i, 77, 0.5) ? 2 : 0)), {
    atol: 0,
    rtol: 0,
  }, "mask around the range boundary");
  o.dispose();
  y.dispose();
});

Deno.test("deriveSeed is deterministic and distinct across steps and sites", () => {
  if (deriveSeed(1, 2, 3) !== deriveSeed(1, 2, 3)) throw new Error("not deterministic");
  const bySteps = new Set(Array.from({ length: 10000 }, (_, s) => deriveSeed(42, s, 5)));
  const bySites = new Set(Array.from({ length: 1000 }, (_, s) => deriveSeed(42, 7, s)));
  const byRuns = new Set(Array.from({ length: 1000 }, (_, r) => deriveSeed(r, 7, 5)));
  if (bySteps.size !== 10000 || bySites.size !== 1000 || byRuns.size !== 1000) {
    throw new Error("collision");
  }
  for (const s of [...bySteps].slice(0, 100)) {
    if (!Number.isInteger(s) || s < 0 || s >= 2 ** 32) throw new Error(`not a u32: ${s}`);
  }
});
