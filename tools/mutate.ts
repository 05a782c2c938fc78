// Mutation check, run by hand (not a test): applies each small numerical mutation to a temp
// copy of the tree, runs the test files that should notice it, and reports which were caught.
// A mutation no test catches means the suite's tolerances are looser than the error it hides.
//
//   deno run -A tools/mutate.ts [name ...]      (all mutations by default)
//
// The copy lives at /tmp/mutate-*/tree with a `shared` link beside it, so tests that read
// ../shared/data still find it. Exit code 1 when any mutation survives.

import { openSafetensors, type TensorData, writeSafetensors } from "../mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface Mutation {
  name: string;
  /** Edits the copy at `tree`. */
  apply: (tree: string) => Promise<void>;
  /** Test files (relative to the root) expected to fail. */
  tests: string[];
}

/** Replaces `from` by `to` in `file`, requiring `count` occurrences (all replaced). */
async function edit(tree: string, file: string, from: string, to: string, count = 1) {
  const path = `${tree}/${file}`;
  const text = await Deno.readTextFile(path);
  const n = text.split(from).length - 1;
  if (n !== count) {
    throw new Error(`${file}: expected ${count} of ${JSON.stringify(from)}, found ${n}`);
  }
  await Deno.writeTextFile(path, text.replaceAll(from, to));
}

/** Multiplies every float of the PyTorch goldens (tests/fixtures/**\/golden*) by `factor`. */
async function scaleGoldens(tree: string, factor: number) {
  for (const dir of Deno.readDirSync(`${tree}/tests/fixtures`)) {
    if (!dir.isDirectory) continue;
    for (const f of Deno.readDirSync(`${tree}/tests/fixtures/${dir.name}`)) {
      const path = `${tree}/tests/fixtures/${dir.name}/${f.name}`;
      if (!f.name.startsWith("golden")) continue;
      if (f.name.endsWith(".safetensors")) {
        const r = await openSafetensors(path);
        const out: {
          name: string;
          dtype: "F32" | "I32" | "I64";
          shape: number[];
          data: TensorData;
        }[] = [];
        for (const [name, info] of r.tensors) {
          const data = await r.read(name);
          out.push({
            name,
            dtype: info.dtype as "F32" | "I32" | "I64",
            shape: [...info.shape],
            data: data instanceof Float32Array ? data.map((v) => v * factor) : data,
          });
        }
        const meta = r.metadata ?? undefined;
        r.close();
        await writeSafetensors(path, out, meta);
      } else if (f.name.endsWith(".json")) {
        const j = JSON.parse(await Deno.readTextFile(path));
        j.logged = j.logged.map((e: { step: number; loss: number }) => ({
          ...e,
          loss: e.loss * factor,
        }));
        j.short = j.short.map((v: number) => v * factor);
        await Deno.writeTextFile(path, JSON.stringify(j));
      }
    }
  }
}

const PARITY = [
  "tests/models/bert_qa_test.ts",
  "tests/models/bert_mlm_test.ts",
  "tests/models/roberta_test.ts",
  "tests/models/bert_test.ts",
  "tests/qa/parity_test.ts",
];

const MUTATIONS: Mutation[] = [
  {
    name: "goldens scaled by 1 + 2e-5",
    apply: (tree) => scaleGoldens(tree, 1 + 2e-5),
    tests: PARITY,
  },
  {
    // A config epsilon ignored for a nearby constant: the embeddings' LayerNorm uses 1e-6.
    name: "embeddings LayerNorm epsilon 1e-12 -> 1e-6",
    apply: (tree) =>
      edit(
        tree,
        "src/models/bert.ts",
        `this.LayerNorm = this.child("LayerNorm", new LayerNorm(c.hidden_size, c.layer_norm_eps));`,
        `this.LayerNorm = this.child("LayerNorm", new LayerNorm(c.hidden_size, 1e-6));`,
        2,
      ).then(() =>
        // Only the first (embeddings) site: restore the encoder's.
        restoreLast(
          tree,
          "src/models/bert.ts",
          "new LayerNorm(c.hidden_size, 1e-6)",
          "new LayerNorm(c.hidden_size, c.layer_norm_eps)",
        )
      ),
    tests: PARITY,
  },
  {
    name: "attention scale off by 0.1%",
    apply: (tree) =>
      edit(tree, "src/models/bert.ts", "1 / Math.sqrt(d)", "1.001 / Math.sqrt(d)", 2),
    tests: PARITY,
  },
  {
    name: "padding_idx dropped from the embedding's backward",
    apply: (tree) =>
      edit(
        tree,
        "src/nn/layers.ts",
        "return embedding(ids, this.weight, this.paddingIdx);",
        "return embedding(ids, this.weight);",
      ),
    tests: PARITY,
  },
];

async function restoreLast(tree: string, file: string, from: string, to: string) {
  const path = `${tree}/${file}`;
  const text = await Deno.readTextFile(path);
  const at = text.lastIndexOf(from);
  await Deno.writeTextFile(path, text.slice(0, at) + to + text.slice(at + from.length));
}

/** A copy of the working tree (tracked and untracked files, node_modules linked). */
async function copyTree(): Promise<string> {
  const base = await Deno.makeTempDir({ prefix: "mutate-" });
  const tree = `${base}/tree`;
  const ls = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  for (const f of new TextDecoder().decode(ls.stdout).split("\0").filter(Boolean)) {
    try {
      await Deno.mkdir(`${tree}/${f.slice(0, f.lastIndexOf("/") + 1)}`, { recursive: true });
      await Deno.copyFile(`${ROOT}${f}`, `${tree}/${f}`);
    } catch { /* deleted in the working tree */ }
  }
  for (const link of ["node_modules"]) {
    try {
      await Deno.symlink(`${ROOT}${link}`, `${tree}/${link}`);
    } catch { /* absent */ }
  }
  await Deno.symlink(new URL("../../shared", import.meta.url).pathname, `${base}/shared`);
  return tree;
}

async function runTests(tree: string, files: string[]): Promise<{ ok: boolean; failed: string[] }> {
  const failed: string[] = [];
  for (const f of files) {
    const p = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", f],
      cwd: tree,
      stdout: "null",
      stderr: "null",
    }).output();
    if (!p.success) failed.push(f);
  }
  return { ok: failed.length === 0, failed };
}

const wanted = Deno.args.length ? MUTATIONS.filter((m) => Deno.args.includes(m.name)) : MUTATIONS;
let survived = 0;
for (const m of wanted) {
  const tree = await copyTree();
  const t0 = performance.now();
  try {
    await m.apply(tree);
    const r = await runTests(tree, m.tests);
    const secs = ((performance.now() - t0) / 1000).toFixed(0);
    if (r.ok) survived++;
    console.log(
      r.ok
        ? `SURVIVED  ${m.name}  (${m.tests.join(", ")} all pass; ${secs} s)`
        : `caught    ${m.name}  by ${r.failed.join(", ")} (${secs} s)`,
    );
  } finally {
    await Deno.remove(tree.slice(0, tree.lastIndexOf("/")), { recursive: true });
  }
}
console.log(`${wanted.length - survived} of ${wanted.length} mutations caught`);
Deno.exit(survived ? 1 : 0);
