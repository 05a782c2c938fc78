// browser.ts is what a page loads: its static module graph (dynamic imports load only when a
// host-only function runs) must reach no npm:, node: or remote module and no Deno API. The
// page's own module is walked too, since the bundle is built from it.

import assert from "node:assert/strict";
import { runDeno } from "./_data.ts";

interface Dep {
  specifier: string;
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface Info {
  modules: { specifier: string; dependencies?: Dep[]; error?: string }[];
}

/** Every module `entry` loads statically (type-only imports and dynamic imports excluded). */
async function staticGraph(entry: string): Promise<string[]> {
  const p = await runDeno(["info", "--json", entry]);
  assert.equal(p.code, 0, p.stderr);
  const info = JSON.parse(p.stdout) as Info;
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  const reached = new Set<string>();
  const visit = (spec: string) => {
    if (reached.has(spec)) return;
    reached.add(spec);
    for (const d of bySpec.get(spec)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) visit(d.code.specifier);
    }
  };
  visit(info.modules.find((m) => m.specifier.endsWith(entry.replace(/^\.\//, "")))!.specifier);
  return [...reached].sort();
}

function offenders(graph: string[]): string[] {
  const bad: string[] = [];
  for (const spec of graph) {
    if (!spec.startsWith("file://")) {
      bad.push(`reaches ${spec}`);
      continue;
    }
    const code = Deno.readTextFileSync(new URL(spec))
      .replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    code.split("\n").forEach((l, i) => {
      // A guarded `globalThis.Deno?.…` (src/util/env.ts) is allowed; `Deno.` is not.
      if (/\bDeno\./.test(l)) {
        bad.push(`${spec.replace(/^.*?\/(src|examples)\//, "$1/")}:${i + 1}: ${l.trim()}`);
      }
    });
  }
  return bad;
}

for (const entry of ["browser.ts", "examples/web/app.ts"]) {
  Deno.test(`${entry} loads no Deno API and no npm:, node: or remote module`, async () => {
    const graph = await staticGraph(entry);
    assert.ok(graph.some((s) => s.endsWith("/src/train/trainer.ts")), "the graph was walked");
    assert.deepEqual(offenders(graph), []);
  });
}

Deno.test("the walk catches what a page must not load", async () => {
  // mod.ts loads node: modules (the downloader's) and Deno's files: the check must see both.
  const bad = offenders(await staticGraph("mod.ts"));
  assert.ok(bad.some((b) => b.startsWith("reaches node:")), bad.join("\n"));
  assert.ok(bad.some((b) => b.startsWith("src/io/deno_files.ts")), bad.join("\n"));
});

Deno.test("every export of browser.ts has JSDoc, and its module example runs", async () => {
  const lint = await runDeno(["doc", "--lint", "browser.ts"]);
  assert.equal(lint.code, 0, lint.stderr);
  const doc = await runDeno(["test", "-A", "--doc", "browser.ts"]);
  assert.equal(doc.code, 0, doc.stderr + doc.stdout);
});
