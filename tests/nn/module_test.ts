import assert from "node:assert/strict";
import "../_helpers.ts";
import { Module } from "../../src/nn/module.ts";
import { Tensor } from "../../src/tensor.ts";

class Leaf extends Module {
  readonly x: Tensor;
  readonly y: Tensor;
  constructor(v: number) {
    super();
    this.x = this.param("x", Tensor.fromArray([v, v + 1]));
    this.y = this.param("y", Tensor.fromArray([v + 2], [1]));
  }
}

class Head extends Module {
  readonly inner: Leaf;
  constructor() {
    super();
    this.inner = this.child("inner", new Leaf(100));
  }
}

/** Children registered before a parameter, two nested levels, and dotted child names. */
class Root extends Module {
  readonly layers: Leaf[] = [];
  readonly head: Head;
  readonly scale: Tensor;
  constructor() {
    super();
    for (let i = 0; i < 2; i++) this.layers.push(this.child(`encoder.layer.${i}`, new Leaf(i)));
    this.head = this.child("head", new Head());
    this.scale = this.param("scale", Tensor.fromArray([1]));
  }
}

Deno.test("namedParameters: own parameters first, then children in registration order", () => {
  const m = new Root();
  assert.deepEqual(m.namedParameters().map(([n]) => n), [
    "scale",
    "encoder.layer.0.x",
    "encoder.layer.0.y",
    "encoder.layer.1.x",
    "encoder.layer.1.y",
    "head.inner.x",
    "head.inner.y",
  ]);
  const byName = new Map(m.namedParameters());
  assert.equal(byName.get("encoder.layer.1.x"), m.layers[1].x);
  assert.equal(byName.get("head.inner.y"), m.head.inner.y);
  assert.deepEqual(m.parameters(), m.namedParameters().map(([, t]) => t));
  assert.deepEqual(m.head.namedParameters("p.").map(([n]) => n), ["p.inner.x", "p.inner.y"]);
  assert.ok(m.parameters().every((t) => t.requiresGrad), "param() marks tensors trainable");
  m.dispose();
});

Deno.test("train() and freeze() reach every nested module and return the module", () => {
  const m = new Root();
  assert.ok(m.training && m.head.inner.training, "modules start in training mode");
  assert.equal(m.train(false), m);
  assert.deepEqual([m, ...m.layers, m.head, m.head.inner].map((x) => x.training), [
    false,
    false,
    false,
    false,
    false,
  ]);
  m.train();
  assert.ok(m.head.inner.training && m.layers[1].training);

  // Freezing a subtree leaves the rest trainable.
  assert.equal(m.head.freeze(), m.head);
  assert.deepEqual(
    m.namedParameters().filter(([, t]) => !t.requiresGrad).map(([n]) => n),
    ["head.inner.x", "head.inner.y"],
  );
  m.freeze();
  assert.ok(m.parameters().every((t) => !t.requiresGrad));
  m.freeze(false);
  assert.ok(m.parameters().every((t) => t.requiresGrad));
  m.dispose();
});

Deno.test("dispose releases every parameter, nested ones and gradients included", async () => {
  const m = new Root();
  assert.deepEqual([...await m.layers[1].x.toArray()], [1, 2]);
  m.head.inner.x.grad = Tensor.fromArray([0.5, 0.5]);
  const grad = m.head.inner.x.grad!;
  m.dispose();
  assert.ok(m.parameters().every((t) => t.disposed));
  assert.ok(grad.disposed);
  await assert.rejects(() => m.scale.toArray(), /used after dispose/);
});

Deno.test("a child registered under the empty name adds no path segment", () => {
  class Flat extends Module {
    readonly head: Head;
    readonly body: Leaf;
    constructor() {
      super();
      this.body = this.child("body", new Leaf(0));
      this.head = this.child("", new Head());
    }
  }
  const m = new Flat();
  assert.deepEqual(m.namedParameters().map(([n]) => n), [
    "body.x",
    "body.y",
    "inner.x",
    "inner.y",
  ]);
  assert.deepEqual(m.namedParameters("p.").map(([n]) => n).slice(2), ["p.inner.x", "p.inner.y"]);
  m.train(false);
  assert.equal(m.head.inner.training, false, "train() reaches an unnamed child");
  m.dispose();
});

Deno.test("replaceChild swaps the registered child and the same-named property", () => {
  const m = new Head();
  const old = m.inner;
  const fresh = new Leaf(7);
  assert.equal(m.replaceChild("inner", fresh), fresh);
  assert.equal(m.inner, fresh);
  assert.equal(new Map(m.namedParameters()).get("inner.x"), fresh.x);
  assert.throws(() => m.replaceChild("outer", new Leaf(1)), /no child module named "outer"/);
  old.dispose();
  m.dispose();
});

Deno.test("namedModules: paths as PyTorch's named_modules; namedChildren; namedTrainableParameters", () => {
  const m = new Root();
  assert.deepEqual(m.namedModules().map(([p]) => p), [
    "",
    "encoder.layer.0",
    "encoder.layer.1",
    "head",
    "head.inner",
  ]);
  assert.equal(m.namedModules("bert")[4][0], "bert.head.inner");
  assert.deepEqual(m.namedChildren().map(([n]) => n), [
    "encoder.layer.0",
    "encoder.layer.1",
    "head",
  ]);
  m.head.freeze();
  assert.deepEqual(m.namedTrainableParameters().map(([n]) => n), [
    "scale",
    "encoder.layer.0.x",
    "encoder.layer.0.y",
    "encoder.layer.1.x",
    "encoder.layer.1.y",
  ]);
  m.dispose();
});

Deno.test("replaceChild also swaps a property of another name that held the child", () => {
  class Dotted extends Module {
    readonly dense: Leaf;
    constructor() {
      super();
      this.dense = this.child("classifier.dense", new Leaf(1));
    }
  }
  const m = new Dotted();
  const fresh = new Leaf(5);
  m.replaceChild("classifier.dense", fresh);
  assert.equal(m.dense, fresh);
  assert.equal(m.namedParameters()[0][1], fresh.x);
  m.dispose();
});
