import assert from "node:assert/strict";
import { counters, scopeAsync, Tensor } from "../../mod.ts";
import "../_helpers.ts";

function rssBytes(): number {
  const s = Deno.readTextFileSync("/proc/self/status");
  return Number(s.match(/VmRSS:\s+(\d+)/)![1]) * 1024;
}

Deno.test("repeated uploads reuse staging buffers and do not grow host memory", async () => {
  const t = Tensor.empty([4_000_000]);
  const data = new Float32Array(1_000_000).fill(1.5);
  const upload = () =>
    scopeAsync(async () => {
      for (let s = 0; s < t.size; s += data.length) t.write(data, s);
      await Promise.resolve();
    });
  for (let i = 0; i < 3; i++) await upload(); // warm-up: staging buffers and driver memory
  const created = counters().stagingCreated;
  const rss = rssBytes();
  for (let i = 0; i < 10; i++) await upload(); // 160 MB of writes
  assert.equal(counters().stagingCreated - created, 0, "staging buffers are reused");
  // queue.writeBuffer would have kept ~160 MB; allow allocator noise.
  assert.ok(rssBytes() - rss < 48e6, `RSS grew by ${rssBytes() - rss} bytes`);
  const back = await t.toArray();
  assert.equal(back[0], 1.5);
  assert.equal(back[t.size - 1], 1.5);
  t.dispose();
});
