import assert from "node:assert/strict";
import { gpu, GpuLimitError, scale, Tensor } from "../../mod.ts";
import "../_helpers.ts";

Deno.test("a tensor over maxBufferSize is refused with its name, size and the limit", () => {
  const limit = gpu().info.limits.maxBufferSize;
  const rows = Math.ceil(limit / 4 / 1024) + 1;
  assert.throws(
    () => Tensor.empty([rows, 1024], "f32", "activations"),
    (e: Error) =>
      e instanceof GpuLimitError && /activations/.test(e.message) &&
      /maxBufferSize/.test(e.message) && /smaller batch/.test(e.message),
  );
});

Deno.test("binding a tensor over maxStorageBufferBindingSize names the tensor and the limit", () => {
  const limit = gpu().info.limits.maxStorageBufferBindingSize;
  const big = Tensor.empty([limit / 4 + 64], "f32", "huge");
  try {
    assert.throws(
      () => scale(big, 2),
      (e: Error) =>
        e instanceof GpuLimitError && /huge/.test(e.message) &&
        /maxStorageBufferBindingSize/.test(e.message),
    );
  } finally {
    big.dispose();
  }
});
