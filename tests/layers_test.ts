// The layering of src/, checked from every file's import lines: no cycles, nothing imports a
// layer above its own, and the core a browser loads never reaches a Deno-only API or a
// non-relative (npm:, node:, mapped) module. LAYERS below is the one statement of the order.

import assert from "node:assert/strict";

/**
 * Bottom to top. A file may import its own folder and any lower layer; folders that share a
 * layer are independent of each other. Files directly in src/ form the "." folder.
 */
const LAYERS: string[][] = [
  ["util"], // user-facing errors, the host PRNG, guarded environment access
  // Host I/O, used by models and train alike and needing only util: the file seam
  // (files.ts) and the safetensors format are Deno-free, the rest (Deno files, atomic
  // writes, downloads, text files, the terminal progress bar) is Deno's side.
  ["io"],
  ["gpu"], // device, pool, kernels, staging
  ["."], // tensor.ts, the unrecorded primitives.ts, autograd.ts
  ["ops"],
  ["nn"],
  ["models", "optim"],
  ["text", "train"],
  ["qa", "classify", "mlm"], // tasks, independent of each other
  ["retrieval"], // open-domain QA: retrievers, and reading their passages with the QA task
  ["cli"],
];

/** What a browser loads: these folders and every module they import statically. */
const CORE = ["util", "gpu", ".", "ops", "nn", "models", "optim"];

interface Edge {
  to: string;
  dynamic: boolean;
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function importsOf(code: string): { spec: string; dynamic: boolean }[] {
  const out: { spec: string; dynamic: boolean }[] = [];
  const stat = /(?:^|[;\s])(?:import|export)\s+(?:[\w*{}\s,$]*?\s*from\s*)?["']([^"']+)["']/g;
  for (const m of code.matchAll(stat)) out.push({ spec: m[1], dynamic: false });
  for (const m of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    out.push({ spec: m[1], dynamic: true });
  }
  return out;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) walk(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const s of spec.split("/")) {
    if (s === "..") parts.pop();
    else if (s !== ".") parts.push(s);
  }
  return parts.join("/");
}

function folderOf(file: string): string {
  const rest = file.replace(/^src\//, "").split("/");
  return rest.length === 1 ? "." : rest[0];
}

function layerOf(folder: string): number {
  const i = LAYERS.findIndex((l) => l.includes(folder));
  if (i < 0) throw new Error(`src/${folder}/ is in no layer: add it to LAYERS`);
  return i;
}

const files = walk("src").sort();
const code = new Map(files.map((f) => [f, stripComments(Deno.readTextFileSync(f))]));
const graph = new Map<string, Edge[]>();
const external = new Map<string, string[]>();
for (const f of files) {
  const edges: Edge[] = [];
  for (const { spec, dynamic } of importsOf(code.get(f)!)) {
    if (spec.startsWith(".")) edges.push({ to: resolve(f, spec), dynamic });
    else if (!dynamic) external.set(f, [...external.get(f) ?? [], spec]);
  }
  graph.set(f, edges);
}

Deno.test("the import parser sees every kind of import line", () => {
  const found = importsOf(stripComments(`import a from "./a.ts";
import type { B } from "./b.ts";
import {
  c,
  type C,
} from "../c.ts";
import "./d.ts";
export * from "./e.ts";
export { f } from "./f.ts";
/** import { nope } from "./mod.ts"; */
// import "./nope.ts";
const g = await import("./g.ts");`));
  assert.deepEqual(found.map((i) => i.spec), [
    "./a.ts",
    "./b.ts",
    "../c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
  ]);
  assert.deepEqual(found.filter((i) => i.dynamic).map((i) => i.spec), ["./g.ts"]);
});

Deno.test("every relative import in src/ names an existing file", () => {
  const missing = [...graph].flatMap(([f, es]) =>
    es.filter((e) => !graph.has(e.to)).map((e) => `${f} -> ${e.to}`)
  );
  assert.deepEqual(missing, []);
});

Deno.test("src/ has no import cycles", () => {
  // Dynamic imports load lazily, after their importer, so they cannot form a load-time cycle.
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    stack.push(f);
    for (const e of graph.get(f) ?? []) {
      if (e.dynamic) continue;
      const s = state.get(e.to);
      if (s === "open") cycles.push([...stack.slice(stack.indexOf(e.to)), e.to].join(" -> "));
      else if (s === undefined) visit(e.to);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of files) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

Deno.test("nothing in src/ imports from a higher layer or a sibling folder", () => {
  const bad: string[] = [];
  for (const [f, es] of graph) {
    const from = folderOf(f);
    for (const e of es) {
      const to = folderOf(e.to);
      if (to === from) continue;
      const [lf, lt] = [layerOf(from), layerOf(to)];
      if (lt > lf) bad.push(`${f} imports ${e.to} (${to} is above ${from})`);
      else if (lt === lf) bad.push(`${f} imports ${e.to} (${to} and ${from} are siblings)`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("the browser core reaches no Deno API and no npm:, node: or mapped module", () => {
  const reached = new Set<string>();
  const visit = (f: string) => {
    if (reached.has(f) || !graph.has(f)) return;
    reached.add(f);
    for (const e of graph.get(f)!) if (!e.dynamic) visit(e.to);
  };
  for (const f of files) if (CORE.includes(folderOf(f))) visit(f);
  const bad: string[] = [];
  for (const f of [...reached].sort()) {
    for (const spec of external.get(f) ?? []) bad.push(`${f} imports ${spec}`);
    // `globalThis.Deno?.…` (a guarded read, see src/util/env.ts) is allowed; `Deno.` is not.
    const lines = code.get(f)!.split("\n");
    lines.forEach((l, i) => {
      if (/\bDeno\./.test(l)) bad.push(`${f}:${i + 1} uses Deno: ${l.trim()}`);
    });
  }
  assert.deepEqual(bad, []);
});
