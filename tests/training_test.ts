// Whole-step properties of the core: a training loop does not leak GPU memory, reuses pooled
// buffers, submits once per step, and is bitwise deterministic for a seed.

import assert from "node:assert/strict";
import {
  AdamW,
  backward,
  clipCoefficient,
  counters,
  crossEntropy,
  dropout,
  gpu,
  gradNorm,
  Linear,
  noGrad,
  relu,
  scopeAsync,
  sync,
  Tensor,
} from "../mod.ts";
import { randn } from "./_helpers.ts";

function mlp(seed: number) {
  const fc1 = new Linear(13, 37, { seed });
  const fc2 = new Linear(37, 5, { seed: seed + 1 });
  const params = [...fc1.parameters(), ...fc2.parameters()];
  const opt = new AdamW([{ params, lr: 1e-2, weightDecay: 0.01 }]);
  const x = Tensor.fromArray(Float32Array.from(randn(7 * 13, seed)), [7, 13]);
  const y = Tensor.fromArray(new Int32Array([0, 1, 2, 3, 4, 0, 1]), [7]);
  const step = (i: number, read: boolean, update = true) =>
    scopeAsync(async () => {
      const h = dropout(relu(fc1.forward(x)), 0.1, 1000 + i);
      const loss = crossEntropy(fc2.forward(h), y);
      backward(loss);
      if (update) {
        noGrad(() => opt.step(1, clipCoefficient(gradNorm(params), 1.0)));
        opt.zeroGrad();
      }
      return read ? await loss.item() : NaN;
    });
  const dispose = () => {
    [x, y].forEach((t) => t.dispose());
    params.forEach((p) => p.dispose());
    opt.dispose();
  };
  return { step, params, dispose };
}

Deno.test("200 training steps keep the pool's live bytes flat and create no buffers", async () => {
  const m = mlp(1);
  const pool = gpu().pool;
  for (let i = 0; i < 5; i++) await m.step(i, false); // warm-up: moments and pool fill
  await sync();
  const live0 = pool.stats().liveBytes;
  const created0 = pool.stats().created;
  const submits0 = counters().submits;
  const staging0 = counters().stagingCreated;
  let first = NaN;
  let last = NaN;
  for (let i = 5; i < 205; i++) {
    const l = await m.step(i, i === 5 || i === 204);
    if (i === 5) first = l;
    if (i === 204) last = l;
    assert.equal(pool.stats().liveBytes, live0, `live bytes changed at step ${i}`);
  }
  assert.equal(pool.stats().created, created0, "no createBuffer in the hot loop");
  assert.ok(counters().stagingCreated - staging0 <= 2, "upload staging buffers are reused");
  // One submit per step (a loss readback submits the step's commands itself).
  assert.equal(counters().submits - submits0, 200);
  assert.ok(last < first, `loss went from ${first} to ${last}`);
  m.dispose();
});

Deno.test("the same seed gives bitwise-identical losses, weights and gradients", async () => {
  const run = async () => {
    const m = mlp(7);
    const losses = [];
    for (let i = 0; i < 5; i++) losses.push(await m.step(i, true));
    const weights = await Promise.all(m.params.map((p) => p.toArray()));
    await m.step(5, false, false); // gradients only, no update
    const grads = await Promise.all(m.params.map((p) => p.grad!.toArray()));
    m.dispose();
    return { losses, weights, grads };
  };
  const a = await run();
  const b = await run();
  assert.deepEqual(a.losses, b.losses);
  a.weights.forEach((w, i) => assert.deepEqual(w, b.weights[i]));
  a.grads.forEach((g, i) => assert.deepEqual(g, b.grads[i]));
});
