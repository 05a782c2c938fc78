import assert from "node:assert/strict";
import { fixture } from "../_data.ts";
import { startServer } from "../../src/cli/_web.ts";
import { errorLines, runScript } from "./_run.ts";

Deno.test("serve: the page, its bundle, the shaders and the model; nothing outside them", async () => {
  const s = await startServer({ port: 0, model: fixture("bert_qa_odd") });
  try {
    const get = async (path: string) => {
      const r = await fetch(new URL(path, s.url));
      return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
    };
    const page = await get("/");
    assert.equal(page.status, 200);
    assert.match(page.text, /src="\/bundle\/app\.js"/);
    const app = await get("/bundle/app.js");
    assert.equal(app.status, 200);
    assert.match(app.type!, /javascript/);
    // The bundle loads shaders relative to itself; what only a host runs is in other chunks.
    assert.doesNotMatch(app.text, /\bDeno\.(?!errors)/);
    assert.equal((await get("/shaders/matmul.wgsl")).status, 200);
    assert.equal((await get("/model/config.json")).status, 200);
    // Dot segments are resolved by the URL itself (to /config.json); encoded slashes are refused.
    assert.equal((await get("/model/%2e%2e/config.json")).status, 404);
    assert.equal((await get("/shaders/..%2f..%2fdeno.json")).status, 400);
    assert.equal((await get("/nothing")).status, 404);
  } finally {
    await s.close();
  }
});

Deno.test("serve: bad flags and a missing model are one error line and exit 2", async () => {
  for (
    const [args, want] of [
      [["--port", "x"], /^error: --port: must be an integer/],
      [["--model", "/no/such/dir"], /^error: \/no\/such\/dir: model directory not found/],
      [["--bogus"], /^error: Unknown option '--bogus'/],
    ] as [string[], RegExp][]
  ) {
    const r = await runScript("serve", args);
    assert.equal(r.code, 2, r.stderr);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, r.stderr);
    assert.match(errs[0], want);
  }
});
