// The f16 matmul path (setMatmulPrecision("f16")): forward and both backward products against a
// float64 reference of the f16-rounded operands, overflow to ±inf, and the fallback helper.

import assert from "node:assert/strict";
import { backward, noGrad } from "../../src/autograd.ts";
import { gpu } from "../../src/gpu/device.ts";
import { mul } from "../../src/ops/elementwise.ts";
import {
  matmul,
  matmulPrecision,
  resolvePrecision,
  setMatmulPrecision,
} from "../../src/ops/matmul.ts";
import { sum } from "../../src/ops/reduce.ts";
import { BertForQuestionAnswering } from "../../src/models/bert_qa.ts";
import { bertConfig, PRESETS } from "../../src/models/config.ts";
import { scopeAsync, Tensor } from "../../src/tensor.ts";
import { assertClose, HAS_F16, randn, withoutF16 } from "../_helpers.ts";
import { matmul64, type MatmulDims, matmulGrads64 } from "../_ref.ts";

const NO_F16 = withoutF16("f16 matmul tests");

/** Runs `fn` with f16 matmuls, restoring f32 whatever happens. */
async function f16<T>(fn: () => Promise<T>): Promise<T> {
  setMatmulPrecision("f16");
  try {
    return await fn();
  } finally {
    setMatmulPrecision("f32");
  }
}

const r16 = (x: number) => Math.f16round(x);

/**
 * Float64 C = op(r(A))·op(r(B)) and the gradients of L = sum(W * C), where r rounds to f16
 * (the GPU rounds the upstream gradient W too, since it is an operand of the backward products).
 */
function reference(a: Float32Array, b: Float32Array, w: Float32Array, d: MatmulDims) {
  const [ra, rb, rw] = [a, b, w].map((x) => Float64Array.from(x, r16));
  return { c: matmul64(ra, rb, d), ...matmulGrads64(ra, rb, rw, d) };
}

// The products of two f16 values are exact in f32 (11 + 11 significant bits), so the only error
// left is the f32 summation, as in the f32 kernel: random-sign rounding errors grow like √L·u·L
// (u = 6e-8) for L unit-normal terms; 1e-6·L covers that with a wide margin. The float64
// reference sums the same rounded products exactly.
// Measured on lavapipe: 5.1% of the old 1e-6·L + 1e-5|y| bound at worst; 9.8x here.
const tol = (L: number) => ({ atol: 5e-7 * L, rtol: 5e-6 });

async function check(d: MatmulDims, seed: number): Promise<void> {
  const { M, N, K, ta = false, tb = false } = d;
  const z = d.batch ?? 1, lead = d.batch ? [z] : [];
  const a = Float32Array.from(randn(z * M * K, seed));
  const b = Float32Array.from(randn(z * K * N, seed + 1));
  const w = Float32Array.from(randn(z * M * N, seed + 2));
  const want = reference(a, b, w, d);
  const got = await f16(() =>
    scopeAsync(async () => {
      const A = Tensor.fromArray(a, [...lead, ...(ta ? [K, M] : [M, K])]);
      const B = Tensor.fromArray(b, [...lead, ...(tb ? [N, K] : [K, N])]);
      A.requiresGrad = B.requiresGrad = true;
      const y = matmul(A, B, { transA: ta, transB: tb });
      backward(sum(mul(y, Tensor.fromArray(w, y.shape))));
      return { c: await y.toArray(), da: await A.grad!.toArray(), db: await B.grad!.toArray() };
    })
  );
  const what = JSON.stringify(d);
  assertClose(got.c, want.c, tol(K), `forward ${what}`);
  assertClose(got.da, want.da, tol(N), `dA ${what}`);
  assertClose(got.db, want.db, tol(M), `dB ${what}`);
}

const COMBOS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

Deno.test({
  name: "f16 matmul: 2-D [7,13]·[13,5] and vec4 shapes, all transposes, forward and backward",
  ignore: NO_F16,
  fn: async () => {
    for (const [ta, tb] of COMBOS) {
      await check({ M: 7, N: 5, K: 13, ta, tb }, 1);
      await check({ M: 8, N: 12, K: 4, ta, tb }, 3);
      await check({ M: 1, N: 1, K: 13, ta, tb }, 5);
    }
  },
});

Deno.test({
  name: "f16 matmul: batched [3,7,13]·[3,13,5], batch of 1, larger odd shapes",
  ignore: NO_F16,
  fn: async () => {
    for (const [ta, tb] of COMBOS) await check({ batch: 3, M: 7, N: 5, K: 13, ta, tb }, 11);
    await check({ batch: 1, M: 7, N: 5, K: 13, tb: true }, 17);
    await check({ M: 67, N: 45, K: 131 }, 19);
    await check({ batch: 2, M: 68, N: 132, K: 44, tb: true }, 23);
    await check({ batch: 2, M: 130, N: 20, K: 24, ta: true, tb: true }, 29);
    await check({ M: 70, N: 261, K: 9, ta: true }, 31);
  },
});

Deno.test({
  name: "f16 matmul: Linear [2,7,13]·Wᵀ with W [5,13] flattens rows; dW sums over all of them",
  ignore: NO_F16,
  fn: async () => {
    const x = Float32Array.from(randn(2 * 7 * 13, 37)), w = Float32Array.from(randn(5 * 13, 41));
    const g = Float32Array.from(randn(2 * 7 * 5, 43));
    const want = reference(x, w, g, { M: 14, N: 5, K: 13, tb: true });
    const got = await f16(() =>
      scopeAsync(async () => {
        const X = Tensor.fromArray(x, [2, 7, 13]), W = Tensor.fromArray(w, [5, 13]);
        X.requiresGrad = W.requiresGrad = true;
        const y = matmul(X, W, { transB: true });
        assert.deepEqual(y.shape, [2, 7, 5]);
        backward(sum(mul(y, Tensor.fromArray(g, y.shape))));
        return { c: await y.toArray(), da: await X.grad!.toArray(), db: await W.grad!.toArray() };
      })
    );
    assertClose(got.c, want.c, tol(13), "forward");
    assertClose(got.da, want.da, tol(5), "dX");
    assertClose(got.db, want.db, tol(14), "dW");
  },
});

Deno.test({
  name: "f16 matmul: inputs are rounded (differs from f32) and the result is deterministic",
  ignore: NO_F16,
  fn: async () => {
    const a = Float32Array.from(randn(67 * 131, 41)), b = Float32Array.from(randn(131 * 45, 43));
    const [r1, r2, r32] = await scopeAsync(async () => {
      const A = Tensor.fromArray(a, [67, 131]), B = Tensor.fromArray(b, [131, 45]);
      const [y1, y2] = await f16(() => Promise.resolve([matmul(A, B), matmul(A, B)]));
      return [await y1.toArray(), await y2.toArray(), await matmul(A, B).toArray()];
    });
    assert.ok(r1.every((v, i) => Object.is(v, r2[i])), "f16 matmul is not deterministic");
    let diff = 0;
    for (let i = 0; i < r1.length; i++) diff = Math.max(diff, Math.abs(r1[i] - r32[i]));
    // f16 keeps 11 significant bits: 131 products of unit normals differ by ~1e-2 in sum.
    assert.ok(diff > 1e-4 && diff < 0.2, `f16 vs f32 max |diff| ${diff}`);
  },
});

Deno.test({
  name: "f16 matmul: operands beyond ±65504 overflow to ±inf (65519 rounds to 65504)",
  ignore: NO_F16,
  fn: async () => {
    // Rows of A times B = [1, 1]ᵀ: one value and a 0.
    const a = Float32Array.from([70000, 0, -70000, 0, 65519, 0, 65520, 0, -1e30, 0, 3, 4]);
    const got = await f16(() =>
      scopeAsync(async () => {
        const y = matmul(Tensor.fromArray(a, [6, 2]), Tensor.fromArray([1, 1], [2, 1]));
        return [...await y.toArray()];
      })
    );
    assert.deepEqual(got, [Infinity, -Infinity, 65504, Infinity, -Infinity, 7]);
    // The f32 kernel keeps them finite.
    const f32 = await scopeAsync(
      async () => [
        ...await matmul(Tensor.fromArray(a, [6, 2]), Tensor.fromArray([1, 1], [2, 1])).toArray(),
      ],
    );
    assert.deepEqual(f32, [70000, -70000, 65519, 65520, -1e30, 7].map(Math.fround));
  },
});

Deno.test({
  name: "f16 matmul: a gradient overflow shows in dA while the forward stays finite",
  ignore: NO_F16,
  fn: async () => {
    const got = await f16(() =>
      scopeAsync(async () => {
        const A = Tensor.fromArray([1, 2, 3, 4], [2, 2]), B = Tensor.fromArray([1, 1], [2, 1]);
        A.requiresGrad = true;
        const y = matmul(A, B);
        // An upstream gradient of 1e5 (as a loss scale could make it) is beyond f16.
        backward(sum(mul(y, Tensor.fromArray([1, 1e5], [2, 1]))));
        return { y: [...await y.toArray()], da: [...await A.grad!.toArray()] };
      })
    );
    assert.deepEqual(got.y, [3, 7]);
    assert.deepEqual(got.da, [1, 1, Infinity, Infinity]);
  },
});

Deno.test({
  name: "f16 matmul: BERT-tiny QA logits stay within 1e-3 of f32 (the tolerance in the JSDoc)",
  ignore: NO_F16,
  fn: async () => {
    const cfg = bertConfig({ ...PRESETS.tiny, vocab_size: 1000, max_position_embeddings: 128 });
    const model = new BertForQuestionAnswering(cfg, { seed: 1 }).train(false);
    const [B, S] = [2, 64];
    const ids = Int32Array.from({ length: B * S }, (_, i) => (i * 7919 + 13) % 1000);
    const logits = () =>
      scopeAsync(async () => {
        const o = noGrad(() => model.forward({ batch: B, seq: S, inputIds: ids }));
        return [...await o.startLogits.toArray(), ...await o.endLogits.toArray()];
      });
    const ref = await logits();
    const got = await f16(logits);
    let diff = 0, max = 0;
    ref.forEach((x, i) => {
      diff = Math.max(diff, Math.abs(x - got[i]));
      max = Math.max(max, Math.abs(x));
    });
    // Observed 2.0e-4 to 2.8e-4 on BERT-tiny and -mini over a few seeds, for logits up to ~0.9:
    // f16 keeps 11 significant bits (relative 2.4e-4 per rounded operand), and the rounding
    // errors of random sign mostly cancel in the sums.
    console.log(
      `BERT-tiny logits, f16 vs f32: max |diff| ${diff.toExponential(2)} (max |logit| ${
        max.toFixed(3)
      })`,
    );
    assert.ok(diff <= 1e-3, `max |diff| ${diff}`);
    assert.ok(diff > 0, "f16 should round something");
    model.dispose();
  },
});

Deno.test("resolvePrecision falls back to f32 with a warning when shader-f16 is absent", () => {
  assert.deepEqual(resolvePrecision("f16", [], "llvmpipe (LLVM 15)"), {
    precision: "f32",
    warning: "shader-f16 not available on llvmpipe (LLVM 15); using f32",
  });
  assert.deepEqual(resolvePrecision("f16", ["shader-f16"], "x"), {
    precision: "f16",
    warning: null,
  });
  assert.deepEqual(resolvePrecision("f32", [], "x"), { precision: "f32", warning: null });
  assert.deepEqual(resolvePrecision("f32", ["shader-f16"], "x"), {
    precision: "f32",
    warning: null,
  });
  // On this device: the fallback is what setMatmulPrecision accepts.
  const { info } = gpu();
  const r = resolvePrecision("f16", info.features, info.name);
  setMatmulPrecision(r.precision);
  assert.equal(matmulPrecision(), HAS_F16 ? "f16" : "f32");
  setMatmulPrecision("f32");
  if (!HAS_F16) assert.throws(() => setMatmulPrecision("f16"), /needs shader-f16/);
  assert.equal(matmulPrecision(), "f32");
});
