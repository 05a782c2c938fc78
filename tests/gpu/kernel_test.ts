import assert from "node:assert/strict";
import { counters, gpu, mul, scale, scope, sync, Tensor } from "../../mod.ts";
import { flush, grid, shaderModules } from "../../src/gpu/kernel.ts";
import "../_helpers.ts";

Deno.test("grid folds workgroups past the per-dimension limit", () => {
  const max = gpu().info.limits.maxComputeWorkgroupsPerDimension;
  assert.deepEqual(grid(100, 256), [1, 1, 1]);
  const [x, y] = grid(256 * (max + 5), 256);
  assert.equal(x, max);
  assert.equal(y, 2);
});

Deno.test("a scale over more than 65535 workgroups covers every element", async () => {
  const n = 256 * 65535 + 1000;
  const x = Tensor.fromArray(new Float32Array(n).fill(1));
  const y = scale(x, 3);
  const out = await y.toArray();
  assert.equal(out[0], 3);
  assert.equal(out[n - 1], 3);
  assert.equal(out.filter((v) => v !== 3).length, 0);
  x.dispose();
  y.dispose();
});

Deno.test("launches recorded in a step are submitted once", async () => {
  await sync();
  const before = counters();
  const x = Tensor.fromArray([1, 2, 3]);
  const afterUpload = counters();
  scope(() => {
    let y = x;
    for (let i = 0; i < 10; i++) y = mul(y, x);
  });
  flush();
  const after = counters();
  assert.equal(after.launches - afterUpload.launches, 10);
  assert.equal(after.submits - afterUpload.submits, 1);
  assert.ok(afterUpload.submits - before.submits <= 1);
  x.dispose();
});

Deno.test("uploading into a reused buffer does not clobber launches recorded earlier", async () => {
  const a = Tensor.fromArray([1, 2, 3, 4]);
  const b = scale(a, 2); // recorded, not yet submitted
  a.dispose(); // a's buffer goes back to the pool
  const c = Tensor.fromArray([100, 100, 100, 100]); // takes that buffer
  assert.deepEqual([...await b.toArray()], [2, 4, 6, 8]);
  assert.deepEqual([...await c.toArray()], [100, 100, 100, 100]);
  b.dispose();
  c.dispose();
});

Deno.test("pipelines key on the expanded shader source, not the shader's name", async () => {
  const { shaders } = gpu();
  const code = shaders.get("elementwise")!;
  const x = Tensor.fromArray([1, 2, 3]);
  const run = async () => {
    const y = scale(x, 2);
    const out = [...await y.toArray()];
    y.dispose();
    return out;
  };
  try {
    assert.deepEqual(await run(), [2, 4, 6]);
    const before = shaderModules();
    const edited = code.replace("uy[i] = ua[i] * q.s;", "uy[i] = ua[i] * q.s + 1.0;");
    assert.notEqual(edited, code);
    shaders.set("elementwise", edited);
    assert.deepEqual(await run(), [3, 5, 7]);
    assert.equal(shaderModules(), before + 1);
    shaders.set("elementwise", code);
    assert.deepEqual(await run(), [2, 4, 6]);
    assert.equal(shaderModules(), before + 1);
  } finally {
    shaders.set("elementwise", code);
    x.dispose();
  }
});
