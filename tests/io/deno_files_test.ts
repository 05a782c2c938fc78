import assert from "node:assert/strict";
import { denoFiles } from "../../src/io/deno_files.ts";

const dir = await Deno.makeTempDir({ prefix: "deno_files_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

Deno.test("denoFiles: stat, mkdir, atomic write, whole and positioned reads", async () => {
  assert.equal(await denoFiles.stat(`${dir}/none`), null);
  await denoFiles.mkdir(`${dir}/a/b`);
  assert.deepEqual(await denoFiles.stat(`${dir}/a/b`), {
    isFile: false,
    isDirectory: true,
    size: (await Deno.stat(`${dir}/a/b`)).size,
  });
  const path = `${dir}/a/b/f.bin`;
  await denoFiles.writeAtomic(path, [new Uint8Array([1, 2]), new Uint8Array([3, 4, 5])]);
  assert.equal((await denoFiles.stat(path))?.size, 5);
  assert.deepEqual([...await denoFiles.readFile(path)], [1, 2, 3, 4, 5]);
  const src = await denoFiles.open(path);
  try {
    assert.equal(src.size, 5);
    const [x, y] = await Promise.all([src.readAt(3, 2), src.readAt(0, 2)]);
    assert.deepEqual([...x, ...y], [4, 5, 1, 2]);
    await assert.rejects(() => src.readAt(4, 2), /unexpected end of file/);
  } finally {
    src.close?.();
  }
});
