import assert from "node:assert/strict";
import { gpu } from "../../mod.ts";
import { SHADER_NAMES } from "../../src/gpu/shaders.ts";
import "../_helpers.ts";

Deno.test("every shaders/*.wgsl is listed and every listed shader exists", () => {
  const files = [...Deno.readDirSync(new URL("../../shaders/", import.meta.url))]
    .map((e) => e.name).filter((n) => n.endsWith(".wgsl")).map((n) => n.slice(0, -5)).sort();
  assert.deepEqual(files, [...SHADER_NAMES].sort());
});

Deno.test("every shader compiles without errors", async () => {
  const { device, shaders, info: dev } = gpu();
  for (const name of SHADER_NAMES) {
    // Such a shader (matmul_f16) is only used when the device has the feature.
    const needsF16 = /^enable f16;/m.test(shaders.get(name)!);
    if (needsF16 && !dev.features.includes("shader-f16")) {
      console.warn(`skipped: shader ${name} needs shader-f16, which ${dev.name} lacks`);
      continue;
    }
    const m = device.createShaderModule({ code: shaders.get(name)!, label: name });
    const info = await m.getCompilationInfo();
    const errors = info.messages.filter((x) => x.type === "error").map((x) => x.message);
    assert.deepEqual(errors, [], name);
  }
});

Deno.test("shaders load by URL relative to the module, not the working directory", async () => {
  const cwd = Deno.cwd();
  try {
    Deno.chdir("/");
    const { loadShaders } = await import("../../src/gpu/shaders.ts");
    const s = await loadShaders();
    assert.equal(s.size, SHADER_NAMES.length);
  } finally {
    Deno.chdir(cwd);
  }
});
