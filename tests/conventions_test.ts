// Conventions kept true by checks that run with the tests: formatting, lint, types,
// JSDoc on every export of mod.ts, and one test file per src file.

import assert from "node:assert/strict";

async function run(args: string[]): Promise<{ ok: boolean; out: string }> {
  const p = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { ok: p.success, out: dec.decode(p.stdout) + dec.decode(p.stderr) };
}

Deno.test("deno fmt --check is clean", async () => {
  const r = await run(["fmt", "--check"]);
  assert.ok(r.ok, r.out);
});

Deno.test("deno lint is clean", async () => {
  const r = await run(["lint"]);
  assert.ok(r.ok, r.out);
});

Deno.test("deno check passes on mod.ts, examples and CLIs", async () => {
  const files = ["mod.ts"];
  for (const dir of ["examples", "src/cli", "tools"]) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.name.endsWith(".ts")) files.push(`${dir}/${e.name}`);
      }
    } catch { /* directory absent */ }
  }
  const r = await run(["check", ...files]);
  assert.ok(r.ok, r.out);
});

Deno.test("every export of mod.ts has JSDoc", async () => {
  const r = await run(["doc", "--lint", "mod.ts"]);
  assert.ok(r.ok, r.out);
});

Deno.test("every src file has a test file beside its mirror path", () => {
  const missing: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (p.endsWith(".ts") && !e.name.startsWith("_")) {
        const t = p.replace(/^src\//, "tests/").replace(/\.ts$/, "_test.ts");
        try {
          Deno.statSync(t);
        } catch {
          missing.push(`${p} (expected ${t})`);
        }
      }
    }
  };
  walk("src");
  assert.deepEqual(missing, []);
});
