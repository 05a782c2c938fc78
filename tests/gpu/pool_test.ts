import assert from "node:assert/strict";
import { gpu } from "../../mod.ts";
import { sizeClass } from "../../src/gpu/pool.ts";
import "../_helpers.ts";

Deno.test("size classes round up by at most 25% and are monotone", () => {
  let prev = 0;
  for (let b = 1; b < 5_000_000; b = Math.ceil(b * 1.37) + 1) {
    const c = sizeClass(b);
    assert.ok(c >= b && c % 4 === 0, `class of ${b} is ${c}`);
    assert.ok(c <= Math.max(256, b * 1.25 + 4), `class of ${b} is ${c}`);
    assert.ok(c >= prev);
    prev = c;
  }
});

Deno.test("a released buffer is reused for the same size class", () => {
  const pool = gpu().pool;
  const a = pool.acquire(1000, "a");
  const before = pool.stats();
  pool.release(a);
  const b = pool.acquire(1001, "b");
  assert.equal(b, a);
  assert.equal(pool.stats().created, before.created);
  assert.equal(pool.stats().liveBytes, before.liveBytes);
  pool.release(b);
});
