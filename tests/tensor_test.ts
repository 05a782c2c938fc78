import assert from "node:assert/strict";
import { gpu, keep, scope, scopeAsync, Tensor } from "../mod.ts";
import "./_helpers.ts";

Deno.test("fromArray and toArray round-trip f32 and i32", async () => {
  const f = Tensor.fromArray(new Float32Array([1.5, -2, 3e-8]), [3]);
  assert.deepEqual([...await f.toArray()], [...new Float32Array([1.5, -2, 3e-8])]);
  const i = Tensor.fromArray(new Int32Array([7, -1, 2 ** 30]), [1, 3]);
  const back = await i.toArray();
  assert.ok(back instanceof Int32Array);
  assert.deepEqual([...back], [7, -1, 2 ** 30]);
  assert.equal(i.dtype, "i32");
  f.dispose();
  i.dispose();
});

Deno.test("shapes are validated", () => {
  assert.throws(() => Tensor.fromArray([1, 2, 3], [2, 2]), /do not fill/);
  assert.throws(() => Tensor.empty([2, -1]), /invalid shape/);
  const t = Tensor.fromArray([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(t.view([2, -1]).shape, [2, 3]);
  assert.throws(() => t.view([4, -1]), /cannot view/);
  t.dispose();
});

Deno.test("views share storage; the buffer returns to the pool after the last dispose", async () => {
  const pool = gpu().pool;
  const live = pool.stats().liveBytes;
  const t = Tensor.fromArray([1, 2, 3, 4]);
  const v = t.view([2, 2]);
  t.dispose();
  assert.deepEqual([...await v.toArray()], [1, 2, 3, 4]);
  assert.ok(pool.stats().liveBytes > live);
  v.dispose();
  assert.equal(pool.stats().liveBytes, live);
  assert.throws(() => v.binding(), /after dispose/);
});

Deno.test("scope releases what it created, except returned and kept tensors", async () => {
  const pool = gpu().pool;
  const live = pool.stats().liveBytes;
  let inner: Tensor | null = null;
  const out = scope(() => {
    inner = Tensor.fromArray([1]);
    keep(Tensor.fromArray([2])).dispose();
    return { a: Tensor.fromArray([3]), list: [Tensor.fromArray([4])] };
  });
  assert.ok(inner!.disposed);
  assert.ok(!out.a.disposed && !out.list[0].disposed);
  const v = await scopeAsync(async () => await Tensor.fromArray([5]).item());
  assert.equal(v, 5);
  out.a.dispose();
  out.list[0].dispose();
  assert.equal(pool.stats().liveBytes, live);
});
