import assert from "node:assert/strict";
import { biasGelu, biasResidualLayerNorm } from "../../src/ops/fused.ts";
import { gelu } from "../../src/ops/activations.ts";
import { layerNorm } from "../../src/ops/layernorm.ts";
import { add } from "../../src/ops/elementwise.ts";
import { backward, mul, scopeAsync, sum, Tensor } from "../../mod.ts";
import { assertClose, erfc64, gradcheck, randn } from "../_helpers.ts";
import { layerNorm64 } from "../_ref.ts";

const gelu64 = (x: number) => x * 0.5 * erfc64(-x / Math.SQRT2);

/** Float64 LayerNorm(x + bias + residual) over rows of length h, biased variance. */
function lnRef(
  x: Float64Array,
  b: Float64Array,
  r: Float64Array,
  g: Float64Array,
  be: Float64Array,
  eps: number,
) {
  return layerNorm64(x.map((v, i) => v + b[i % b.length] + r[i]), g, be, eps);
}

const size = (s: number[]) => s.reduce((a, d) => a * d, 1);

function checkGelu(shape: number[], seed: number, std = 1.5) {
  const n = shape.at(-1)!;
  return gradcheck({
    inputs: [{ data: randn(size(shape), seed, std), shape }, {
      data: randn(n, seed + 1),
      shape: [n],
    }],
    op: ([x, b]) => biasGelu(x, b),
    ref: ([x, b]) => x.map((v, i) => gelu64(v + b[i % n])),
    // One f32 add (half an ulp of |x + b|) then the GELU of activations.wgsl (a few ulps).
    // Measured on lavapipe and GL: 1.5% of the old 1e-6 + 1e-5|y| bound (4.8e-7); 8x here.
    fwd: { atol: 1.2e-7, rtol: 1.2e-6 },
    // dbias sums up to 150 f32 terms; finite differences in float64 are exact to ~1e-9.
    // Measured: 0.44% of the old 1e-5 + 1e-4|g| bound (5.2e-6 on a large dbias); 9x here.
    bwd: { atol: 4e-7, rtol: 4e-6 },
    seed,
  });
}

Deno.test("biasGelu matches float64 gelu(x + bias) on odd shapes, batch of 1", async () => {
  await checkGelu([7, 13], 1);
  await checkGelu([1, 5], 2);
  await checkGelu([2, 3, 37], 3);
  await checkGelu([150, 3], 4); // dbias over more rows than one 64-row chunk
  await checkGelu([3, 11], 5, 6); // tails: |x + bias| up to ~20
});

/** Runs `f` with grads on copies of `data`; returns the output and every input's gradient. */
function withGrads(
  data: { x: number[] | Float64Array; shape: number[] }[],
  w: Float64Array,
  f: (ts: Tensor[]) => Tensor,
) {
  return scopeAsync(async () => {
    const ts = data.map(({ x, shape }) => {
      const t = Tensor.fromArray(Float32Array.from(x), shape);
      t.requiresGrad = true;
      return t;
    });
    const y = f(ts);
    backward(sum(mul(y, Tensor.fromArray(Float32Array.from(w), y.shape))));
    return [await y.toArray(), ...await Promise.all(ts.map((t) => t.grad!.toArray()))];
  });
}

Deno.test("biasGelu equals gelu(add(x, bias)): same forward bits, same gradients", async () => {
  for (const [rows, n, seed] of [[7, 13, 10], [130, 37, 11]]) {
    const data = [{ x: randn(rows * n, seed, 2), shape: [rows, n] }, {
      x: randn(n, seed + 1),
      shape: [n],
    }];
    const w = randn(rows * n, seed + 2);
    const [y1, dx1, db1] = await withGrads(data, w, ([x, b]) => biasGelu(x, b));
    const [y2, dx2, db2] = await withGrads(data, w, ([x, b]) => gelu(add(x, b)));
    assert.deepEqual(y1, y2, "forward");
    assert.deepEqual(dx1, dx2, "dx");
    // dbias: chunked partial sums against one sequential sum, both f32 (measured 4.8e-6,
    // 9% of this bound: 11x).
    assertClose(db1, db2, { atol: 1e-5, rtol: 1e-5 }, "dbias");
  }
});

function checkLn(shape: number[], seed: number, opts: { eps?: number; offset?: number } = {}) {
  const h = shape.at(-1)!;
  const eps = opts.eps ?? 1e-12;
  const big = (opts.offset ?? 0) !== 0;
  return gradcheck({
    inputs: [
      { data: randn(size(shape), seed).map((v) => v + (opts.offset ?? 0)), shape },
      { data: randn(h, seed + 1), shape: [h] },
      { data: randn(size(shape), seed + 2), shape },
      { data: randn(h, seed + 3, 0.5).map((v) => v + 1), shape: [h] },
      { data: randn(h, seed + 4), shape: [h] },
    ],
    op: ([x, b, r, g, be]) => biasResidualLayerNorm(x, b, r, g, be, eps),
    ref: ([x, b, r, g, be]) => lnRef(x, b, r, g, be, eps),
    // As layernorm_test.ts: a few ulps of |y| ~ 3 near 0; at ~1e4 the f32 sum x + b + r and
    // the mean are off by up to an ulp (1e-3), shifting y by that times |gamma|.
    // Measured on lavapipe and GL: small offsets 1.7% of the old 2e-5 + 1e-5|y| (8.2e-7), 8.8x
    // here; at ~1e4 36% of 4e-3 (1.4e-3), left at 2.8x.
    fwd: big ? { atol: 4e-3, rtol: 0 } : { atol: 3e-6, rtol: 1.5e-6 },
    // dx, dbias and dgamma carry xhat's error times |dy| ~ 1, summed over rows for the params.
    // Measured: small offsets 0.31% of the old 1e-4 + 1e-3|g| (1.1e-5 on a large dgamma), 8x
    // here; at ~1e4 21% of 5e-3 + 5e-3|g|, left at 4.8x.
    bwd: big ? { atol: 5e-3, rtol: 5e-3 } : { atol: 2.5e-6, rtol: 2.5e-5 },
    seed,
  });
}

Deno.test("biasResidualLayerNorm matches float64 on odd widths and batch of 1", async () => {
  await checkLn([7, 13], 20);
  await checkLn([1, 37], 21);
  await checkLn([2, 3, 300], 22, { eps: 1e-5 });
  await checkLn([150, 5], 23); // parameter gradients over several 64-row chunks
  await checkLn([1, 1, 1], 24, { eps: 1e-5 }); // H = 1: y = beta, gradients of x vanish
  await checkLn([2, 1100], 26); // past the 1024 elements a row keeps in registers
});

Deno.test("biasResidualLayerNorm is stable for sums ~1e4 with unit variance", async () => {
  await checkLn([5, 300], 25, { offset: 1e4 });
});

Deno.test("biasResidualLayerNorm equals layerNorm(add(add(x, bias), residual))", async () => {
  for (const [rows, h, seed] of [[7, 13, 30], [130, 300, 31]]) {
    const data = [
      { x: randn(rows * h, seed, 2), shape: [rows, h] },
      { x: randn(h, seed + 1), shape: [h] },
      { x: randn(rows * h, seed + 2), shape: [rows, h] },
      { x: randn(h, seed + 3, 0.5).map((v) => v + 1), shape: [h] },
      { x: randn(h, seed + 4), shape: [h] },
    ];
    const w = randn(rows * h, seed + 5);
    const fused = await withGrads(
      data,
      w,
      ([x, b, r, g, be]) => biasResidualLayerNorm(x, b, r, g, be, 1e-12),
    );
    const plain = await withGrads(
      data,
      w,
      ([x, b, r, g, be]) => layerNorm(add(add(x, b), r), g, be, 1e-12),
    );
    // Same arithmetic in the forward and dx; the parameter sums differ in order only
    // (measured 5.7e-6 at worst, 9.5% of this bound: 10.5x).
    ["y", "dx", "dbias", "dresidual", "dgamma", "dbeta"].forEach((name, i) =>
      assertClose(fused[i], plain[i], { atol: 2e-5, rtol: 1e-5 }, `${name} [${rows}, ${h}]`)
    );
    assert.deepEqual(fused[1], fused[3], "dx and dresidual are the same gradient");
  }
});

Deno.test("biasResidualLayerNorm with x as its own residual gets both gradients", async () => {
  const h = 9;
  const x = randn(3 * h, 40);
  const [b, g, be] = [randn(h, 41), randn(h, 42).map((v) => v + 1), randn(h, 43)];
  const w = randn(3 * h, 44);
  const [, dx] = await withGrads(
    [{ x, shape: [3, h] }, { x: b, shape: [h] }, { x: g, shape: [h] }, { x: be, shape: [h] }],
    w,
    ([t, bb, gg, bbe]) => biasResidualLayerNorm(t, bb, t, gg, bbe),
  );
  const [, dx2] = await withGrads(
    [{ x, shape: [3, h] }, { x: b, shape: [h] }, { x: g, shape: [h] }, { x: be, shape: [h] }],
    w,
    ([t, bb, gg, bbe]) => layerNorm(add(add(t, bb), t), gg, bbe),
  );
  // Measured bit-identical on lavapipe and GL.
  assertClose(dx, dx2, { atol: 0, rtol: 0 }, "dx");
});
