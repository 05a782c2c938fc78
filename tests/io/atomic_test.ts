// writeFileAtomic: content lands whole, and a failure mid-write (a throwing chunk source) leaves
// the previous file intact with no temporary file behind.

import assert from "node:assert/strict";
import "../_helpers.ts";
import { replaceFileAtomic, writeFileAtomic } from "../../src/io/atomic.ts";

const dir = await Deno.makeTempDir({ prefix: "atomic_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const enc = new TextEncoder();

function names(d: string): string[] {
  return [...Deno.readDirSync(d)].map((e) => e.name).sort();
}

Deno.test("writes bytes, sync and async chunk sources, and replaces an existing file", async () => {
  const d = await Deno.makeTempDir({ dir });
  const p = `${d}/out.bin`;
  await writeFileAtomic(p, enc.encode("first"));
  assert.equal(await Deno.readTextFile(p), "first");
  await writeFileAtomic(p, [enc.encode("sec"), enc.encode("ond")]);
  assert.equal(await Deno.readTextFile(p), "second");
  async function* gen() {
    for (let i = 0; i < 100; i++) yield new Uint8Array(10_000).fill(i);
  }
  await writeFileAtomic(p, gen());
  const got = await Deno.readFile(p);
  assert.equal(got.length, 1_000_000);
  assert.equal(got[999_999], 99);
  assert.deepEqual(names(d), ["out.bin"]);
});

Deno.test("a chunk source that throws mid-write leaves the previous file and no temp file", async () => {
  const d = await Deno.makeTempDir({ dir });
  const p = `${d}/model.safetensors`;
  await writeFileAtomic(p, enc.encode("previous content"));
  function* failing() {
    yield new Uint8Array(100_000).fill(1);
    throw new Error("disk full (simulated)");
  }
  await assert.rejects(writeFileAtomic(p, failing()), /disk full \(simulated\)/);
  async function* failingAsync() {
    yield enc.encode("partial");
    await Promise.resolve();
    throw new Error("producer failed");
  }
  await assert.rejects(writeFileAtomic(p, failingAsync()), /producer failed/);
  assert.equal(await Deno.readTextFile(p), "previous content");
  assert.deepEqual(names(d), ["model.safetensors"]);
});

Deno.test("a failed first write creates nothing", async () => {
  const d = await Deno.makeTempDir({ dir });
  const failing: Iterable<Uint8Array> = {
    [Symbol.iterator]() {
      throw new Error("nothing to write");
    },
  };
  await assert.rejects(writeFileAtomic(`${d}/new.bin`, failing), /nothing to write/);
  assert.deepEqual(names(d), []);
  await assert.rejects(writeFileAtomic(`${d}/no/such/dir.bin`, new Uint8Array(1)));
  assert.deepEqual(names(d), []);
});

Deno.test("replaceFileAtomic renames what a path-taking writer wrote; a failing writer leaves the old file", async () => {
  const d = await Deno.makeTempDir({ dir });
  const p = `${d}/tokenizer.json`;
  await replaceFileAtomic(p, (tmp) => Deno.writeTextFileSync(tmp, "old"));
  await assert.rejects(
    () =>
      replaceFileAtomic(p, (tmp) => {
        Deno.writeTextFileSync(tmp, "torn");
        throw new Error("disk full");
      }),
    /disk full/,
  );
  assert.equal(await Deno.readTextFile(p), "old");
  assert.deepEqual(names(d), ["tokenizer.json"]);
});
