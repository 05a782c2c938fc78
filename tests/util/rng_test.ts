import assert from "node:assert/strict";
import { mulberry32 } from "../../src/util/rng.ts";

Deno.test("mulberry32 is seeded, stays in [0, 1) and keeps its sequence", () => {
  const a = mulberry32(42), b = mulberry32(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  // Data orders and the synthetic data set are pinned by this sequence.
  const r = mulberry32(1);
  assert.deepEqual([r(), r(), r()], [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
});
