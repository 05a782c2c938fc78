// The CLIs fetch only what they load: with nodeModulesDir "auto", Deno installs every npm
// package of deno.json's imports and of deno.lock before running anything, so TensorFlow.js
// (the bench's alone, pinned in tools/bench/deno.lock) must stay out of both and out of the
// CLIs' module graphs.

import assert from "node:assert/strict";
import { runDeno } from "./_data.ts";

const root = new URL("../", import.meta.url);
const TFJS = /@tensorflow\//;

Deno.test("no CLI module graph reaches TensorFlow.js", async () => {
  const clis = [...Deno.readDirSync(new URL("src/cli/", root))]
    .filter((e) => e.name.endsWith(".ts") && !e.name.startsWith("_")).map((e) => e.name);
  for (const name of ["train.ts", "eval.ts", "predict.ts", "score.ts"]) {
    assert.ok(clis.includes(name), name);
  }
  for (const cli of clis) {
    const p = await runDeno(["info", "--json", `src/cli/${cli}`]);
    assert.equal(p.code, 0, p.stderr);
    const info = JSON.parse(p.stdout) as {
      modules: { specifier: string }[];
      npmPackages: Record<string, unknown>;
    };
    const npm = Object.keys(info.npmPackages);
    assert.ok(npm.some((k) => k.startsWith("tokenizers@")), `${cli}: ${npm}`);
    const tf = [...npm, ...info.modules.map((m) => m.specifier)].filter((s) => TFJS.test(s));
    assert.deepEqual(tf, [], `src/cli/${cli} reaches TensorFlow.js`);
  }
});

Deno.test("root deno.json and deno.lock pin no TensorFlow.js", () => {
  const config = Deno.readTextFileSync(new URL("deno.json", root));
  const imports = config.slice(
    config.indexOf('"imports"'),
    config.indexOf("}", config.indexOf('"imports"')),
  );
  assert.doesNotMatch(imports, TFJS, "deno.json imports");
  const lock = JSON.parse(Deno.readTextFileSync(new URL("deno.lock", root))) as {
    npm?: Record<string, unknown>;
    specifiers?: Record<string, string>;
  };
  const pinned = [...Object.keys(lock.npm ?? {}), ...Object.keys(lock.specifiers ?? {})];
  assert.deepEqual(
    pinned.filter((k) => TFJS.test(k)),
    [],
    "deno.lock pins TensorFlow.js, so every CLI would install it: something loaded " +
      "tools/bench/tfjs.ts without --config tools/bench/deno.json; restore deno.lock from git",
  );
});
