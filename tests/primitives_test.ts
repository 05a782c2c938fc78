// The tape's own kernels, below autograd and the ops: gradient accumulation must give the same
// bits as the recorded add, since gradients and trained weights are pinned bit for bit.

import assert from "node:assert/strict";
import "./_helpers.ts";
import { addInto, binary, expand, fill, fillInPlace } from "../src/primitives.ts";
import * as elementwise from "../src/ops/elementwise.ts";
import { Tensor } from "../src/tensor.ts";

Deno.test("addInto is add without a record, bit for bit", async () => {
  const a = Tensor.fromArray([0.1, -2.5, 3e-8, 1e30]);
  const b = Tensor.fromArray([0.2, 2.5, -3e-8, 1e30]);
  assert.deepEqual(await addInto(a, b).toArray(), await elementwise.add(a, b).toArray());
  const f = (x: number) => Math.fround(x);
  assert.deepEqual([...await binary("mul", a, Tensor.fromArray([2]), 1).toArray()], [
    f(0.1) * 2,
    -5,
    f(3e-8) * 2,
    f(1e30) * 2,
  ]);
});

Deno.test("fill, fillInPlace and expand write every element", async () => {
  assert.deepEqual([...await fill([3], 7).toArray()], [7, 7, 7]);
  const t = fill([2], 0, "i32");
  fillInPlace(t, -3);
  assert.deepEqual([...await t.toArray()], [-3, -3]);
  assert.deepEqual([...await expand(Tensor.fromArray([2]), [2, 2], 0.5).toArray()], [1, 1, 1, 1]);
});

Deno.test("ops re-export the primitives themselves, not copies", () => {
  assert.equal(elementwise.addInto, addInto);
  assert.equal(elementwise.fill, fill);
  assert.equal(elementwise.expand, expand);
});
