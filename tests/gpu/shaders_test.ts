import assert from "node:assert/strict";
import { gpu } from "../../mod.ts";
import { expandShader, SHADER_NAMES } from "../../src/gpu/shaders.ts";
import "../_helpers.ts";

const ROOT = new URL("../../shaders/", import.meta.url);

// Every .wgsl under shaders/, by path relative to it.
function wgslFiles(dir = ROOT, prefix = ""): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory
      ? wgslFiles(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`)
      : e.name.endsWith(".wgsl")
      ? [prefix + e.name]
      : []
  ).sort();
}

// Functions of a WGSL source: name, whether an entry point, and the text after the name.
function functions(src: string): { name: string; entry: boolean; rest: string }[] {
  const code = src.replace(/\/\/[^\n]*/g, "");
  const out = [];
  for (const m of code.matchAll(/((?:@\w+(?:\([^)]*\))?\s*)*)\bfn\s+(\w+)/g)) {
    // The function runs to the brace that closes its body.
    let depth = 0;
    let end = m.index + m[0].length;
    for (let seen = false; end < code.length && !(seen && depth === 0); end++) {
      if (code[end] === "{") [depth, seen] = [depth + 1, true];
      else if (code[end] === "}") depth--;
    }
    const rest = code.slice(m.index + m[0].length, end).replace(/\s+/g, " ").trim();
    out.push({ name: m[2], entry: m[1].includes("@compute"), rest });
  }
  return out;
}

Deno.test("every shaders/*.wgsl is listed and every listed shader exists", () => {
  const files = wgslFiles().filter((f) => !f.includes("/")).map((n) => n.slice(0, -5));
  assert.deepEqual(files, [...SHADER_NAMES].sort());
});

Deno.test("shaders/lib holds helpers only, each included by some shader", async () => {
  const lib = wgslFiles().filter((f) => f.startsWith("lib/"));
  assert.ok(lib.length > 0);
  const used = new Set<string>();
  const read = (url: URL) => {
    used.add(url.href);
    return Deno.readTextFile(url);
  };
  for (const name of SHADER_NAMES) await expandShader(new URL(`${name}.wgsl`, ROOT), read);
  for (const f of lib) {
    const url = new URL(f, ROOT);
    assert.ok(used.has(url.href), `${f} is included by no shader`);
    const entries = functions(Deno.readTextFileSync(url)).filter((x) => x.entry);
    assert.deepEqual(entries.map((x) => x.name), [], `${f} has entry points`);
  }
});

Deno.test("no WGSL helper function is defined in two files of shaders/", () => {
  // Entry points are exempt: each pipeline names its own (`forward` of layernorm, softmax, …).
  const byName = new Map<string, string[]>();
  const byText = new Map<string, string[]>();
  for (const f of wgslFiles()) {
    for (const fn of functions(Deno.readTextFileSync(new URL(f, ROOT)))) {
      if (!fn.entry) byName.set(fn.name, [...byName.get(fn.name) ?? [], f]);
      // A copy under another name is a copy too.
      byText.set(fn.rest, [...byText.get(fn.rest) ?? [], `${f}:${fn.name}`]);
    }
  }
  const twice = [...byName].filter(([, fs]) => fs.length > 1).map(([n, fs]) => `${n}: ${fs}`);
  assert.deepEqual(twice, [], "move the function into shaders/lib/ and #include it");
  const copies = [...byText.values()].filter((fs) => fs.length > 1);
  assert.deepEqual(copies, [], "identical function bodies");
});

Deno.test("every shader compiles without errors", async () => {
  const { device, shaders, info: dev } = gpu();
  for (const name of SHADER_NAMES) {
    const code = shaders.get(name)!;
    assert.ok(!code.includes("#include"), `${name} has an unexpanded include`);
    // Such a shader (matmul_f16) is only used when the device has the feature.
    const needsF16 = /^enable f16;/m.test(code);
    if (needsF16 && !dev.features.includes("shader-f16")) {
      console.warn(`skipped: shader ${name} needs shader-f16, which ${dev.name} lacks`);
      continue;
    }
    const m = device.createShaderModule({ code, label: name });
    const info = await m.getCompilationInfo();
    const errors = info.messages.filter((x) => x.type === "error").map((x) => x.message);
    assert.deepEqual(errors, [], name);
  }
});

Deno.test("shaders load by URL relative to the module, not the working directory", async () => {
  const cwd = Deno.cwd();
  try {
    Deno.chdir("/");
    const { loadShaders } = await import("../../src/gpu/shaders.ts");
    const s = await loadShaders();
    assert.equal(s.size, SHADER_NAMES.length);
  } finally {
    Deno.chdir(cwd);
  }
});

// Writes `files` into a fresh directory and returns its file URL.
async function tree(files: Record<string, string>): Promise<URL> {
  const dir = await Deno.makeTempDir();
  for (const [path, text] of Object.entries(files)) {
    const url = new URL(path, `file://${dir}/`);
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeTextFile(url, text);
  }
  return new URL(`file://${dir}/`);
}

Deno.test("includes nest, resolve relative to their file, and paste each file once", async () => {
  const dir = await tree({
    "main.wgsl": '#include "lib/a.wgsl"\n#include "lib/b.wgsl"\nfn main() {}\n',
    "lib/a.wgsl": '#include "c.wgsl"\nfn a() {}\n',
    "lib/b.wgsl": '#include "c.wgsl"\n#include "a.wgsl"\nfn b() {}\n',
    "lib/c.wgsl": "fn c() {}\n",
  });
  try {
    const reads: string[] = [];
    const read = (url: URL) => {
      reads.push(url.href.slice(dir.href.length));
      return fetch(url).then((r) => r.text());
    };
    const out = await expandShader(new URL("main.wgsl", dir), read);
    assert.equal(out, "fn c() {}\nfn a() {}\nfn b() {}\nfn main() {}\n");
    assert.deepEqual(reads, ["main.wgsl", "lib/a.wgsl", "lib/c.wgsl", "lib/b.wgsl"]);
    // The default reader fetches, as in a browser.
    assert.equal(await expandShader(new URL("main.wgsl", dir)), out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing include is an error naming it and the files that lead to it", async () => {
  const dir = await tree({
    "main.wgsl": '#include "lib/a.wgsl"\n',
    "lib/a.wgsl": '#include "nope.wgsl"\n',
  });
  try {
    await assert.rejects(
      expandShader(new URL("main.wgsl", dir)),
      (e: Error) =>
        /main\.wgsl -> .*lib\/a\.wgsl -> .*lib\/nope\.wgsl: cannot load/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an include cycle is an error showing the cycle", async () => {
  const dir = await tree({
    "main.wgsl": '#include "a.wgsl"\n',
    "a.wgsl": '#include "b.wgsl"\n',
    "b.wgsl": '#include "a.wgsl"\n',
    "self.wgsl": '#include "self.wgsl"\n',
  });
  const short = (e: Error) => e.message.replaceAll(dir.href, "");
  try {
    await assert.rejects(expandShader(new URL("main.wgsl", dir)), (e: Error) => {
      assert.equal(short(e), "shader include cycle: main.wgsl -> a.wgsl -> b.wgsl -> a.wgsl");
      return true;
    });
    await assert.rejects(expandShader(new URL("self.wgsl", dir)), (e: Error) => {
      assert.equal(short(e), "shader include cycle: self.wgsl -> self.wgsl");
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
