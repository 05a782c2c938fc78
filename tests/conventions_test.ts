// Conventions kept true by checks that run with the tests: formatting, lint, types,
// JSDoc on every export of mod.ts (with an example on its functions and classes; the
// examples themselves run as doc tests: `deno task test` passes --doc over mod.ts and src/),
// and one test file per src file.

import assert from "node:assert/strict";
import { runDeno } from "./_data.ts";

async function run(args: string[]): Promise<{ ok: boolean; out: string }> {
  const p = await runDeno(args);
  return { ok: p.code === 0, out: p.stdout + p.stderr };
}

Deno.test("deno fmt --check is clean", async () => {
  const r = await run(["fmt", "--check"]);
  assert.ok(r.ok, r.out);
});

Deno.test("deno lint is clean", async () => {
  const r = await run(["lint"]);
  assert.ok(r.ok, r.out);
});

Deno.test("deno check passes on mod.ts, examples, CLIs and tools", async () => {
  const list = (dir: string) => {
    try {
      return [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".ts"))
        .map((e) => `${dir}/${e.name}`);
    } catch {
      return []; // directory absent
    }
  };
  const r = await run(["check", "mod.ts", ...list("examples"), ...list("src/cli")]);
  assert.ok(r.ok, r.out);
  // tools/ under the bench's config: checked under the root one, tfjs.ts's TensorFlow.js
  // imports would be written into the root deno.lock (see tests/deps_test.ts).
  const t = await run(["check", "--config", "tools/bench/deno.json", ...list("tools")]);
  assert.ok(t.ok, t.out);
});

Deno.test("every export of mod.ts has JSDoc", async () => {
  const r = await run(["doc", "--lint", "mod.ts"]);
  assert.ok(r.ok, r.out);
});

// Functions and classes of mod.ts without an @example when this check was added. Shrink it,
// never grow it: a new export gets an example, which `deno task test` then runs.
const NO_EXAMPLE_YET = new Set([
  "BertAttention",
  "BertEmbeddings",
  "BertIntermediate",
  "BertLayer",
  "BertOutput",
  "BertPooler",
  "BertSelfAttention",
  "BufferPool",
  "CheckpointError",
  "ConfigError",
  "DownloadError",
  "DropoutCtx",
  "GpuLimitError",
  "NoAdapterError",
  "NonFiniteError",
  "SafetensorsError",
  "TrainingInterrupted",
  "accumulateGrad",
  "addInto",
  "appendJsonl",
  "batchOf",
  "chunkElements",
  "clearTape",
  "counters",
  "evaluateQa",
  "expand",
  "fillInPlace",
  "gpu",
  "gradEnabled",
  "keep",
  "loadOptimizerState",
  "loadWeights",
  "matmulPrecision",
  "mean",
  "needsGrad",
  "noGradAsync",
  "numel",
  "ones",
  "parameter",
  "parseBertConfig",
  "predictLogits",
  "readBertConfig",
  "readJsonl",
  "readTrainerPointer",
  "record",
  "resolveShape",
  "saveModel",
  "saveQaModel",
  "saveTrainingCheckpoint",
  "scopeAsync",
  "score",
  "setScopeCloseHook",
  "setViewHook",
  "sizeClass",
  "sub",
  "sumAll",
  "sumToShape",
  "sync",
  "tableChunkRows",
  "trainQa",
  "zeros",
]);

Deno.test("every function and class of mod.ts has an @example", async () => {
  const r = await run(["doc", "--json", "mod.ts"]);
  assert.ok(r.ok, r.out);
  // deno doc --json: { nodes: { [url]: { symbols: [{ name, declarations: [{ kind, jsDoc }] }] } } }
  type Decl = { kind: string; jsDoc?: { tags?: { kind: string }[] } };
  const doc = JSON.parse(r.out) as {
    nodes: Record<string, { symbols: { name: string; declarations: Decl[] }[] }>;
  };
  const missing: string[] = [];
  const stale: string[] = [];
  for (const { name, declarations } of Object.values(doc.nodes)[0].symbols) {
    for (const d of declarations) {
      if (d.kind !== "function" && d.kind !== "class") continue;
      const has = d.jsDoc?.tags?.some((t) => t.kind === "example") ?? false;
      if (!has && !NO_EXAMPLE_YET.has(name)) missing.push(name);
      if (has && NO_EXAMPLE_YET.has(name)) stale.push(name);
    }
  }
  assert.deepEqual(missing, [], "exports of mod.ts without an @example");
  assert.deepEqual(stale, [], "have an @example now: remove them from NO_EXAMPLE_YET");
});

Deno.test("JSDoc examples import the library as webgpu-bert", () => {
  // deno.json maps "webgpu-bert" to ./mod.ts; "./mod.ts" would resolve beside each src file
  // when the doc tests run it. Private modules (src/cli/_common.ts) import themselves.
  const bad: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (p.endsWith(".ts")) {
        Deno.readTextFileSync(p).split("\n").forEach((line, i) => {
          if (/^\s*\*\s*import .* from "\.\.?\/[^"]*mod\.ts"/.test(line)) bad.push(`${p}:${i + 1}`);
        });
      }
    }
  };
  walk("src");
  assert.deepEqual(bad, []);
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

// Every file a command writes goes through src/io/atomic.ts (a temp file renamed into place),
// so an interrupted command leaves the old file or the new one, never a torn one. These are the
// places that call a writing Deno API directly, each with why, and how many calls it holds: a
// new call, here or anywhere else in src/, fails until it is atomic or listed with a reason.
const DIRECT_WRITES: Record<string, { calls: number; why: string }> = {
  "src/io/atomic.ts": { calls: 1, why: "the atomic writer itself: it creates the temp file" },
  "src/train/log.ts": {
    calls: 1,
    why: "metrics.jsonl is appended a line at a time (rewriting it per line is quadratic); " +
      "readJsonl skips a torn last line",
  },
  "src/io/download.ts": {
    calls: 1,
    why: "writes NAME.part (kept to resume a broken download), renamed into place once its " +
      "size and sha256 check",
  },
  "src/train/checkpoint.ts": {
    calls: 1,
    why: "copies a checkpoint file to a temp name (where a hard link fails), renamed into place",
  },
};

Deno.test("every file write in src/ is atomic or listed with its reason", () => {
  // Writing calls; Deno.open counts unless it opens read-only.
  const write =
    /\bDeno\.(writeFile|writeTextFile|create|copyFile|truncate|symlink)(Sync)?\s*\(|\bDeno\.open(Sync)?\s*\((?![^)]*\{\s*read:\s*true\s*\})[^)]*,/g;
  const found: Record<string, number> = {};
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (p.endsWith(".ts")) {
        // JSDoc examples and comments write temp files freely.
        const code = Deno.readTextFileSync(p).split("\n")
          .filter((l) => !/^\s*(\*|\/\/)/.test(l)).join("\n");
        const n = [...code.matchAll(write)].length;
        if (n) found[p] = n;
      }
    }
  };
  walk("src");
  const listed = Object.fromEntries(Object.entries(DIRECT_WRITES).map(([p, v]) => [p, v.calls]));
  assert.deepEqual(found, listed);
});
