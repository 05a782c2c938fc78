import assert from "node:assert/strict";
import { assertClose, gradcheck, randn } from "../_helpers.ts";
import { layerNorm64, matmul64 } from "../_ref.ts";
import { Embedding, LayerNorm, Linear } from "../../src/nn/layers.ts";
import type { Module } from "../../src/nn/module.ts";
import { Tensor } from "../../src/tensor.ts";
import { backward } from "../../src/autograd.ts";
import { sum } from "../../src/ops/reduce.ts";
import { scale } from "../../src/ops/elementwise.ts";

/**
 * Points a layer's parameters at gradcheck's tensors so that its gradients land there;
 * the layer's own (freshly initialized) parameters are released.
 */
function withParams<M extends Module>(m: M, params: Record<string, Tensor>): M {
  m.dispose();
  return Object.assign(m, params);
}

/** Float64 x·Wᵀ + b over the rows of x [n, in] with W [out, in]. */
function linearRef(x: Float64Array, w: Float64Array, b: Float64Array, inF: number) {
  const y = matmul64(x, w, { M: x.length / inF, N: b.length, K: inF, tb: true });
  return y.map((v, i) => v + b[i % b.length]);
}

// Each output is a 13-term f32 dot product of unit normals (error ~ √13·6e-8·|terms|, see
// tests/ops/matmul_test.ts); each gradient element sums at most 7 such products, and central
// differences of the affine float64 reference are exact up to ~1e-10.
// Measured on lavapipe: forward 1.2% of the old 2e-5 + 1e-5|y| bound (6.7e-7), gradients
// 0.05% of the old 1e-4 + 1e-3|g| (6.4e-7); these bounds are 8.3x and 8x that.
const LIN_FWD = { atol: 2e-6, rtol: 1e-6 };
const LIN_BWD = { atol: 4e-7, rtol: 4e-6 };

for (const shape of [[7, 13], [2, 3, 13], [1, 13]]) {
  Deno.test(`Linear(13, 5) forward and gradients on x [${shape}]`, async () => {
    const n = shape.reduce((a, d) => a * d, 1);
    await gradcheck({
      inputs: [
        { data: randn(n, 1), shape },
        { data: randn(5 * 13, 2), shape: [5, 13] },
        { data: randn(5, 3), shape: [5] },
      ],
      op: ([x, w, b]) => {
        const fc = withParams(new Linear(13, 5, { seed: 0 }), { weight: w, bias: b });
        const y = fc.forward(x);
        assert.deepEqual(y.shape, [...shape.slice(0, -1), 5]);
        return y;
      },
      ref: ([x, w, b]) => linearRef(x, w, b, 13),
      fwd: LIN_FWD,
      bwd: LIN_BWD,
    });
  });
}

Deno.test("Linear registers weight [out, in] and bias [out], and they receive gradients", async () => {
  const fc = new Linear(3, 2, { seed: 4 });
  assert.deepEqual(fc.namedParameters().map(([n, t]) => [n, t.shape]), [
    ["weight", [2, 3]],
    ["bias", [2]],
  ]);
  assert.ok(fc.parameters().every((t) => t.requiresGrad));
  const xs = [1, 2, 3, -1, 0.5, 4];
  const x = Tensor.fromArray(Float32Array.from(xs), [2, 3]);
  backward(sum(fc.forward(x)));
  // d sum(xWᵀ + b)/dW[o, k] = Σ_rows x[r, k]; /db[o] = rows. Sums of two small binary
  // fractions, exact in f32 in any order (measured: exact).
  assertClose(await fc.weight.grad!.toArray(), [0, 2.5, 7, 0, 2.5, 7], { atol: 0, rtol: 0 });
  assertClose(await fc.bias.grad!.toArray(), [2, 2], { atol: 0, rtol: 0 });
  x.dispose();
  fc.dispose();
});

Deno.test("LayerNorm module: γ = 1, β = 0 at init; forward and gradients on [1, 7, 13]", async () => {
  const ln = new LayerNorm(13, 1e-5);
  assert.deepEqual(ln.namedParameters().map(([n]) => n), ["weight", "bias"]);
  assert.deepEqual([...await ln.weight.toArray()], new Array(13).fill(1));
  assert.deepEqual([...await ln.bias.toArray()], new Array(13).fill(0));
  const x = randn(7 * 13, 5);
  const xt = Tensor.fromArray(Float32Array.from(x), [1, 7, 13]);
  // Same tolerance as tests/ops/layernorm_test.ts: a few ulps of |y| ~ 3.
  assertClose(
    await ln.forward(xt).toArray(),
    layerNorm64(
      Float64Array.from(Float32Array.from(x)),
      new Float64Array(13).fill(1),
      new Float64Array(13),
      1e-5,
    ),
    // Measured: 0.58% of the old 2e-5 + 1e-5|y| bound (2.3e-7); 8.6x here.
    { atol: 1e-6, rtol: 5e-7 },
    "init forward",
  );
  xt.dispose();
  ln.dispose();

  await gradcheck({
    inputs: [
      { data: x, shape: [1, 7, 13] },
      { data: randn(13, 6, 0.5).map((v) => v + 1), shape: [13] },
      { data: randn(13, 7), shape: [13] },
    ],
    op: ([t, g, b]) => withParams(new LayerNorm(13, 1e-5), { weight: g, bias: b }).forward(t),
    ref: ([t, g, b]) => layerNorm64(t, g, b, 1e-5),
    // Measured: 0.83% of the old 2e-5 + 1e-5|y| bound (3.3e-7); 8.4x here.
    fwd: { atol: 1.4e-6, rtol: 7e-7 },
    // dx and dγ carry x̂'s f32 error times |dy| ~ 1, summed over 7 rows for dγ.
    // Measured: 0.12% of the old 1e-4 + 1e-3|g| bound (7.2e-7); 8.3x here.
    bwd: { atol: 1e-6, rtol: 1e-5 },
  });
});

Deno.test("Embedding module gathers rows of its table; gradients scatter-add", async () => {
  const emb = new Embedding(11, 3, { seed: 2, std: 0.02 });
  assert.deepEqual(emb.namedParameters().map(([n, t]) => [n, t.shape]), [["weight", [11, 3]]]);
  const ids = [4, 0, 10, 4, 7];
  await gradcheck({
    inputs: [{ data: ids, shape: [1, 5], dtype: "i32" }, { data: randn(33, 8), shape: [11, 3] }],
    op: ([i, t]) => {
      const y = withParams(new Embedding(11, 3, { seed: 2 }), { weight: t }).forward(i);
      assert.deepEqual(y.shape, [1, 5, 3]);
      return y;
    },
    ref: ([i, t]) => Float64Array.from([...i].flatMap((id) => [...t.slice(id * 3, id * 3 + 3)])),
    // A copy is exact; a table row's gradient sums at most two f32 weights.
    fwd: { atol: 0, rtol: 0 },
    // Measured: 0.056% of the old 1e-5 + 1e-4|g| bound (4.2e-8); 8.9x here.
    bwd: { atol: 5e-8, rtol: 5e-7 },
  });
  emb.dispose();
});

/** Mean, standard deviation, min and max of a sample. */
function stats(a: ArrayLike<number>) {
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    s += a[i];
    s2 += a[i] * a[i];
    min = Math.min(min, a[i]);
    max = Math.max(max, a[i]);
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), min, max };
}

// Statistical checks on N = 512·384 = 196608 samples. The sample mean's std is σ/√N ≈ σ/443,
// so 0.01·σ is over 4 standard errors; the sample std's relative error is ~1/√(2N) ≈ 0.0016
// for a normal and ~0.002 for a uniform, so 2% is ~10 standard errors.
Deno.test("Linear default init is PyTorch's U(±1/√in) for weight and bias", async () => {
  const fc = new Linear(512, 384, { seed: 11 });
  const bound = 1 / Math.sqrt(512);
  const w = stats(await fc.weight.toArray());
  assert.ok(w.min >= -bound && w.max <= bound, `weight in [${w.min}, ${w.max}], bound ${bound}`);
  assert.ok(w.min < -0.99 * bound && w.max > 0.99 * bound, "samples fill the interval");
  assert.ok(Math.abs(w.mean) < 0.01 * bound, `weight mean ${w.mean}`);
  const uniformStd = bound / Math.sqrt(3);
  assert.ok(Math.abs(w.std / uniformStd - 1) < 0.02, `weight std ${w.std}, want ${uniformStd}`);
  const b = await fc.bias.toArray();
  const bs = stats(b);
  assert.ok(bs.min >= -bound && bs.max <= bound, `bias in [${bs.min}, ${bs.max}]`);
  // 384 samples: a std within 15% of the uniform's is over 4 standard errors (0.036 each).
  assert.ok(Math.abs(bs.std / uniformStd - 1) < 0.15, `bias std ${bs.std}`);
  const w0 = (await fc.weight.toArray()).subarray(0, 384);
  assert.notDeepEqual([...b], [...w0], "bias draws from its own seed");
  fc.dispose();
});

Deno.test("Linear and Embedding with std draw N(0, std); Linear's bias is zero", async () => {
  const std = 0.02;
  const fc = new Linear(512, 384, { seed: 12, std });
  const w = await fc.weight.toArray();
  const ws = stats(w);
  assert.ok(Math.abs(ws.mean) < 0.01 * std, `weight mean ${ws.mean}`);
  assert.ok(Math.abs(ws.std / std - 1) < 0.02, `weight std ${ws.std}`);
  // A normal puts 4.55% of its mass beyond 2σ (a uniform of the same std puts none); the
  // sample fraction's standard error is 0.047%, so ±0.3% is over 6 of them.
  const tail = w.filter((v) => Math.abs(v) > 2 * std).length / w.length;
  assert.ok(Math.abs(tail - 0.0455) < 0.003, `fraction beyond 2σ: ${tail}`);
  assert.deepEqual([...await fc.bias.toArray()], new Array(384).fill(0));
  fc.dispose();

  const emb = new Embedding(768, 256, { seed: 13, std });
  const es = stats(await emb.weight.toArray());
  assert.ok(Math.abs(es.mean) < 0.01 * std && Math.abs(es.std / std - 1) < 0.02, `${es.std}`);
  emb.dispose();
  const unit = new Embedding(768, 256, { seed: 13 });
  const us = stats(await unit.weight.toArray());
  assert.ok(Math.abs(us.std - 1) < 0.02, `std defaults to 1, got ${us.std}`);
  unit.dispose();

  // The same seed reproduces the same weights.
  const again = new Linear(512, 384, { seed: 12, std });
  assert.deepEqual(await again.weight.toArray(), w);
  again.dispose();
});

Deno.test("Linear.forward is project (x·Wᵀ) plus the bias, and goes through project", async () => {
  const fc = new Linear(5, 3, { seed: 4 });
  const x = Tensor.fromArray(Float32Array.from({ length: 10 }, (_, i) => i / 7 - 0.5), [2, 5]);
  const p = await fc.project(x).toArray();
  const y = await fc.forward(x).toArray();
  const b = await fc.bias.toArray();
  for (let i = 0; i < y.length; i++) assert.equal(y[i], Math.fround(p[i] + b[i % 3]));
  // An override of project (what an adapter does) is what forward uses.
  class Zeroed extends Linear {
    override project(x: Tensor): Tensor {
      return scale(super.project(x), 0);
    }
  }
  const z = new Zeroed(5, 3, { seed: 4 });
  assert.deepEqual([...await z.forward(x).toArray()], [...b, ...b]);
  z.dispose();
  fc.dispose();
});

Deno.test("Linear adopts given weight and bias, keeping their requiresGrad; wrong shapes throw", () => {
  const w = Tensor.fromArray(new Float32Array(6), [2, 3]);
  const b = Tensor.fromArray(new Float32Array(2), [2]);
  b.requiresGrad = true;
  const fc = new Linear(3, 2, { weight: w, bias: b });
  assert.equal(fc.weight, w);
  assert.deepEqual([w.requiresGrad, b.requiresGrad], [false, true]);
  assert.throws(() => new Linear(2, 3, { weight: w, bias: b }), /cannot adopt weight \[2,3\]/);
  fc.dispose();
});
