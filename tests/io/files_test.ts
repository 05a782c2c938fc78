import assert from "node:assert/strict";
import { bytesSource, denoFiles, hostFiles } from "../../mod.ts";

Deno.test("hostFiles is Deno's file system under Deno", async () => {
  assert.equal(await hostFiles(), denoFiles);
});

Deno.test("bytesSource reads copies of ranges and refuses reads past the end", async () => {
  const bytes = new Uint8Array([1, 2, 3, 4]);
  const s = bytesSource(bytes);
  assert.equal(s.size, 4);
  const r = await s.readAt(1, 2);
  assert.deepEqual([...r], [2, 3]);
  r[0] = 9;
  assert.equal(bytes[1], 2);
  await assert.rejects(() => s.readAt(3, 2), RangeError);
});
