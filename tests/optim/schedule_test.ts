import assert from "node:assert/strict";
import { linearWarmupDecay } from "../../mod.ts";

Deno.test("linear warmup then linear decay, as HF get_linear_schedule_with_warmup", () => {
  // HF: lr_lambda(step) = step/max(1,warmup) before warmup, else max(0,(total-step)/max(1,total-warmup)).
  assert.equal(linearWarmupDecay(0, 10, 110), 0);
  assert.equal(linearWarmupDecay(5, 10, 110), 0.5);
  assert.equal(linearWarmupDecay(10, 10, 110), 1);
  assert.equal(linearWarmupDecay(60, 10, 110), 0.5);
  assert.equal(linearWarmupDecay(110, 10, 110), 0);
  assert.equal(linearWarmupDecay(200, 10, 110), 0);
  assert.equal(linearWarmupDecay(0, 0, 10), 1);
});
