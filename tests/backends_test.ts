// The kernels must pass on both Mesa software adapters: the default (Vulkan lavapipe when
// installed) runs the whole suite; this re-runs the op and core tests on GL. The files with
// multi-hundred-MiB range tests (embedding, cross-entropy, dropout, random, optimizer) take
// many minutes on GL's llvmpipe and are left to the default adapter here.
// It also imports mod.ts from another project by path, as a user's project would.

import assert from "node:assert/strict";
import { ROOT, runDeno } from "./_data.ts";

Deno.test("op, optimizer and core tests pass on the GL (llvmpipe) backend", async () => {
  const p = await runDeno([
    "test",
    "-A",
    "tests/ops",
    "tests/optim",
    "tests/gpu",
    "tests/tensor_test.ts",
    "tests/autograd_test.ts",
  ], { env: { DENO_WEBGPU_BACKEND: "gl" } });
  const out = p.stdout + p.stderr;
  // deno-lint-ignore no-control-regex
  const summary = out.replace(/\x1b\[[0-9;]*m/g, "").match(/\| (\d+) passed \| (\d+) failed/);
  assert.ok(summary, out.slice(-3000));
  assert.equal(summary[2], "0", out.slice(-3000));
  assert.ok(Number(summary[1]) > 50);
});

Deno.test("mod.ts loads from another project by local path, shaders included", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { add, initGpu, Tensor } from "${ROOT}mod.ts";
       await initGpu();
       console.log(JSON.stringify([...await add(Tensor.fromArray([1, 2]), Tensor.fromArray([3, 4])).toArray()]));`,
    );
    const p = await runDeno(["run", "-A", "main.ts"], { cwd: dir });
    const stdout = p.stdout.trim();
    assert.equal(p.code, 0, p.stderr);
    assert.equal(stdout.split("\n").pop(), "[4,6]");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
