import assert from "node:assert/strict";
import { add, backward, mul, noGrad, parameter, scope, scopeAsync, sum, Tensor } from "../mod.ts";
import "./_helpers.ts";

Deno.test("a tensor used twice gets both gradient contributions", async () => {
  const x = parameter(Tensor.fromArray([1, 2, 3]), "x");
  await scopeAsync(async () => {
    backward(sum(add(x, x)));
    await Promise.resolve();
  });
  assert.deepEqual([...await x.grad!.toArray()], [2, 2, 2]);
  x.dispose();
});

Deno.test("gradients accumulate across backward calls until cleared", async () => {
  const x = parameter(Tensor.fromArray([1, 2]), "x");
  for (let i = 0; i < 3; i++) scope(() => backward(sum(mul(x, x))));
  assert.deepEqual([...await x.grad!.toArray()], [6, 12]);
  x.grad = null;
  assert.equal(x.grad, null);
  x.dispose();
});

Deno.test("frozen parameters and noGrad record nothing", async () => {
  const w = parameter(Tensor.fromArray([1, 2]), "w", false);
  const b = parameter(Tensor.fromArray([3, 4]), "b");
  scope(() => backward(sum(mul(w, b))));
  assert.equal(w.grad, null);
  assert.deepEqual([...await b.grad!.toArray()], [1, 2]);
  const y = noGrad(() => mul(b, b));
  assert.equal(y.requiresGrad, false);
  assert.throws(() => backward(sum(y)), /does not depend/);
  assert.throws(() => backward(b), /scalar/);
  [w, b, y].forEach((t) => t.dispose());
});
