import assert from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { clipCoefficient, gradNorm } from "../../src/optim/clip.ts";
import { assertClose, randn } from "../_helpers.ts";

function normRef(grads: ArrayLike<number>[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/** Parameters of the given sizes with random gradients (and the gradients, as f32). */
function params(sizes: number[], seed: number) {
  const grads = sizes.map((n, k) => Float32Array.from(randn(n, seed + k, k + 1)));
  const ps = sizes.map((n, k) => {
    const p = Tensor.fromArray(new Float32Array(n));
    p.grad = Tensor.fromArray(grads[k]);
    return p;
  });
  return { ps, grads };
}

Deno.test("gradNorm over odd sizes, several chunks, and a parameter without a gradient", async () => {
  const { ps, grads } = params([1, 7 * 13, 8192 * 2 + 5, 3, 8191], 1);
  const frozen = Tensor.fromArray([100, 100]);
  const norm = gradNorm([ps[0], frozen, ...ps.slice(1)]);
  // f32 sums of ~25k squares in a tree. Measured on lavapipe and GL: 2.0e-8 relative (0.2% of
  // the old 1e-5) for 25k squares, 1.4e-9 for 91; the f32 rounding of the result alone is up to
  // 6e-8, so 2e-7 (10x the larger, about three half-ulps) is the bound for both.
  assertClose([await norm.item()], [normRef(grads)], { atol: 0, rtol: 2e-7 }, "norm");
  const one = gradNorm([ps[1]]);
  assertClose([await one.item()], [normRef([grads[1]])], { atol: 0, rtol: 2e-7 }, "one param");
  const none = gradNorm([frozen]);
  if ((await none.item()) !== 0) throw new Error("norm of no gradients should be 0");
  [...ps, frozen, norm, one, none].forEach((t) => t.dispose());
});

Deno.test("gradNorm of a gradient over 16M elements binds it in ranges", async () => {
  const n = 16 * 1024 * 1024 + 4099;
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) g[i] = ((i % 4093) - 2046) / 1024;
  const p = Tensor.fromArray(new Float32Array(1));
  const big = Tensor.fromArray(new Float32Array(1));
  p.grad = Tensor.fromArray([3]);
  big.grad = Tensor.fromArray(g);
  const norm = gradNorm([p, big]);
  // 16M squares summed as 2k tree-summed chunks of 8192. Measured on lavapipe and GL: 1.3e-7
  // relative (1.3% of the old 1e-5); 10x here.
  assertClose([await norm.item()], [normRef([[3], g])], { atol: 0, rtol: 1.3e-6 }, "norm");
  [p, big, norm].forEach((t) => t.dispose());
});

Deno.test("clipCoefficient is min(1, maxNorm / (norm + 1e-6)), as clip_grad_norm_", async () => {
  for (const [norm, maxNorm] of [[4, 1], [0.5, 1], [1, 1], [0, 1], [123.25, 7]]) {
    const n = Tensor.fromArray([norm]);
    const c = clipCoefficient(n, maxNorm);
    // One f32 division: 1 ulp.
    const expect = Math.min(1, maxNorm / (norm + 1e-6));
    // Measured on lavapipe and GL: 23% of this bound at worst (norm 1); 4.3x, about 1.5 ulps.
    assertClose([await c.item()], [expect], { atol: 0, rtol: 2e-7 }, `norm ${norm}`);
    [n, c].forEach((t) => t.dispose());
  }
});

Deno.test("a non-finite norm gives a NaN coefficient, AdamW skips the step, the guard names it", async () => {
  const { AdamW, nonFiniteGuard, zeros } = await import("../../mod.ts");
  const w = Tensor.fromArray([1, -2, 3]);
  w.requiresGrad = true;
  w.grad = Tensor.fromArray([NaN, 1, 1]);
  const opt = new AdamW([{ params: [w], lr: 0.1, weightDecay: 0.01 }]);
  const norm = gradNorm([w]);
  const coef = clipCoefficient(norm, 1);
  assert.ok(Number.isNaN(await coef.item()));
  opt.step(1, coef);
  assert.deepEqual([...await w.toArray()], [1, -2, 3], "parameters untouched");
  const bad = zeros([1], "i32");
  nonFiniteGuard(Tensor.fromArray([0.5]), Tensor.fromArray([2]), bad, 3);
  assert.equal(await bad.item(), 0, "finite values record nothing");
  nonFiniteGuard(Tensor.fromArray([0.5]), norm, bad, 4);
  nonFiniteGuard(Tensor.fromArray([Infinity]), Tensor.fromArray([1]), bad, 5);
  assert.equal(await bad.item(), 4, "the first bad step is kept");
  [w, norm, coef, bad].forEach((t) => t.dispose());
  opt.dispose();
});
