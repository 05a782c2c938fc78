import assert from "node:assert/strict";
import { gpu, initGpu, NoAdapterError } from "../../mod.ts";
import "../_helpers.ts";

Deno.test("initGpu reports the adapter and the limits it was granted", async () => {
  const g = await initGpu();
  assert.equal(await initGpu(), g, "one device per process");
  assert.equal(gpu(), g);
  assert.ok(g.info.name.length > 0);
  // Requested at the adapter's maximum; Mesa's software adapters grant 128 MiB bindings.
  assert.ok(g.info.limits.maxStorageBufferBindingSize >= 128 * 1024 * 1024);
  assert.ok(g.info.limits.maxStorageBuffersPerShaderStage >= 8);
  assert.ok(Array.isArray(g.info.features));
});

Deno.test("the no-adapter error says how to get one", () => {
  const e = new NoAdapterError();
  assert.match(e.message, /mesa-vulkan-drivers/);
  assert.match(e.message, /GPU driver/);
});
