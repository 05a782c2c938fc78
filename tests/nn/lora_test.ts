import assert from "node:assert/strict";
import { assertClose, dropMask, gradcheck, randn } from "../_helpers.ts";
import { matmul64 } from "../_ref.ts";
import { Linear } from "../../src/nn/layers.ts";
import { LoraLinear } from "../../src/nn/lora.ts";
import { Tensor } from "../../src/tensor.ts";
import { backward } from "../../src/autograd.ts";
import { sum } from "../../src/ops/reduce.ts";
import { dropout } from "../../src/ops/dropout.ts";

const IN = 13, OUT = 5, R = 3;

/** Float64 PEFT LoRA: x·Wᵀ + b + s · ((m ⊙ x)·Aᵀ)·Bᵀ over the rows of x [n, IN]. */
function loraRef(
  [x, w, b, a, bm]: Float64Array[],
  s: number,
  mask?: Float64Array,
): Float64Array {
  const rows = x.length / IN;
  const y = matmul64(x, w, { M: rows, N: OUT, K: IN, tb: true });
  const xd = mask ? x.map((v, i) => v * mask[i]) : x;
  const low = matmul64(xd, a, { M: rows, N: R, K: IN, tb: true });
  const up = matmul64(low, bm, { M: rows, N: OUT, K: R, tb: true });
  return y.map((v, i) => v + b[i % OUT] + s * up[i]);
}

// A LoraLinear whose tensors are gradcheck's, so that every gradient lands there.
function withTensors(l: LoraLinear, [w, b, a, bm]: Tensor[]): LoraLinear {
  l.dispose();
  return Object.assign(l, { weight: w, bias: b, loraA: a, loraB: bm });
}

// Each output adds a 13-term and a 3-term f32 product (B's inputs themselves 13-term sums) to
// the base's: Linear's bounds (tests/nn/layers_test.ts) doubled for the second path.
const FWD = { atol: 4e-6, rtol: 2e-6 };
const BWD = { atol: 8e-7, rtol: 8e-6 };

for (const [shape, p] of [[[2, 3, IN], 0], [[7, IN], 0], [[2, 3, IN], 0.3]] as const) {
  Deno.test(`LoraLinear(${IN}→${OUT}, r ${R}) forward and gradients on [${shape}], dropout ${p}`, async () => {
    const n = shape.reduce((a, d) => a * d, 1);
    const seed = 1234;
    const alpha = 7; // scaling 7/3: not a power of two
    await gradcheck({
      inputs: [
        { data: randn(n, 1), shape: [...shape] },
        { data: randn(OUT * IN, 2), shape: [OUT, IN] },
        { data: randn(OUT, 3), shape: [OUT] },
        { data: randn(R * IN, 4), shape: [R, IN] },
        { data: randn(OUT * R, 5), shape: [OUT, R] }, // B non-zero, unlike the init
      ],
      op: ([x, ...ps]) => {
        const l = withTensors(
          new LoraLinear(new Linear(IN, OUT, { seed: 0 }), {
            r: R,
            alpha,
            seed: 1,
            dropout: p,
            drop: { next: (t, q, training) => dropout(t, q, seed, training) },
          }),
          ps,
        );
        const y = l.forward(x);
        assert.deepEqual(y.shape, [...shape.slice(0, -1), OUT]);
        return y;
      },
      ref: (xs) => loraRef(xs, alpha / R, p ? dropMask(n, p, seed) : undefined),
      fwd: FWD,
      bwd: BWD,
    });
  });
}

Deno.test("LoraLinear: PEFT's init (A in ±1/√in, B zero) leaves the layer's output unchanged; base frozen", async () => {
  const base = new Linear(IN, OUT, { seed: 3 });
  const xs = Float32Array.from(randn(2 * IN, 9));
  const x = Tensor.fromArray(xs, [2, IN]);
  const before = await base.forward(x).toArray();
  const l = new LoraLinear(base, { r: 4, alpha: 8, seed: 5 });
  assert.equal(l.weight, base.weight, "the base weight is adopted, not copied");
  assert.deepEqual(l.namedParameters().map(([n, t]) => [n, t.shape, t.requiresGrad]), [
    ["weight", [OUT, IN], false],
    ["bias", [OUT], false],
    ["lora_A.weight", [4, IN], true],
    ["lora_B.weight", [OUT, 4], true],
  ]);
  const a = await l.loraA.toArray();
  const bound = 1 / Math.sqrt(IN);
  assert.ok(a.every((v) => Math.abs(v) <= bound), "A within the kaiming bound");
  assert.ok(Math.max(...a) > 0.8 * bound && Math.min(...a) < -0.8 * bound, "A spans the bound");
  assert.ok((await l.loraB.toArray()).every((v) => v === 0));
  assert.equal(l.scaling, 2);
  assertClose(await l.forward(x).toArray(), before, { atol: 0, rtol: 0 });
  backward(sum(l.forward(x)));
  assert.equal(l.weight.grad, null, "frozen");
  assert.equal(l.bias.grad, null, "frozen");
  assert.ok(l.loraA.grad && l.loraB.grad);
  assert.equal(
    new LoraLinear(new Linear(4, 2, { seed: 0 }), { r: 4, alpha: 8, seed: 0, rslora: true })
      .scaling,
    4,
  );
  x.dispose();
  l.dispose();
});

Deno.test("LoraLinear: bad r, alpha or dropout, and dropout without a source, are refused", () => {
  const base = () => new Linear(4, 2, { seed: 0 });
  assert.throws(() => new LoraLinear(base(), { r: 0, alpha: 1, seed: 0 }), /rank r must be/);
  assert.throws(
    () => new LoraLinear(base(), { r: 2, alpha: 0, seed: 0 }),
    /alpha must be positive/,
  );
  assert.throws(() => new LoraLinear(base(), { r: 2, alpha: 1, seed: 0, dropout: 1 }), /\[0, 1\)/);
  assert.throws(
    () => new LoraLinear(base(), { r: 2, alpha: 1, seed: 0, dropout: 0.1 }),
    /needs a dropout source/,
  );
});

Deno.test("LoraLinear.mergedWeight is W + scaling·B·A", async () => {
  const l = new LoraLinear(new Linear(IN, OUT, { seed: 3 }), { r: R, alpha: 5, seed: 5 });
  const bm = Float32Array.from(randn(OUT * R, 6));
  l.loraB.write(bm);
  const [w, a] = [await l.weight.toArray(), await l.loraA.toArray()];
  const ba = matmul64(Float64Array.from(bm), Float64Array.from(a), { M: OUT, N: IN, K: R });
  const want = Float64Array.from(w, (v, i) => v + (5 / R) * ba[i]);
  assertClose(await l.mergedWeight().toArray(), want, { atol: 1e-6, rtol: 1e-6 });
  l.dispose();
});
