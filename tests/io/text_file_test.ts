import assert from "node:assert/strict";
import { DataError } from "../../src/util/errors.ts";
import { decodeUtf8, parseJson, readUtf8 } from "../../src/io/text_file.ts";

const dir = await Deno.makeTempDir({ prefix: "text_file_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

Deno.test("readUtf8 names the file and the first bad byte", async () => {
  await Deno.writeFile(`${dir}/ok.txt`, new TextEncoder().encode("안녕"));
  assert.equal(await readUtf8(`${dir}/ok.txt`), "안녕");
  await Deno.writeFile(`${dir}/bad.txt`, new Uint8Array([0x61, 0x62, 0xff, 0x63]));
  await assert.rejects(
    () => readUtf8(`${dir}/bad.txt`),
    (e) => e instanceof DataError && /bad byte at offset 2/.test(e.message),
  );
  await assert.rejects(
    () => readUtf8(`${dir}/none.txt`),
    (e) => e instanceof DataError && e.message === `${dir}/none.txt: no such file`,
  );
});

Deno.test("parseJson turns a syntax error into a one-line DataError", () => {
  assert.deepEqual(parseJson('{"a": 1}', "x.json"), { a: 1 });
  assert.throws(
    () => parseJson("{\n", "x.json"),
    (e) => e instanceof DataError && e.file === "x.json" && !e.message.includes("\n"),
  );
});

Deno.test("decodeUtf8 drops a BOM and names the file and the first bad byte", () => {
  assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), "x.txt"), "a");
  assert.throws(
    () => decodeUtf8(new Uint8Array([0x61, 0xc3, 0x28]), "x.txt"),
    (e) => e instanceof DataError && e.message === "x.txt: not valid UTF-8 (bad byte at offset 2)",
  );
});
