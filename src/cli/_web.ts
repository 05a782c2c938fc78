// The web page's server, shared by `serve` and `browser-eval`: the page (examples/web/), its
// bundle (built from examples/web/app.ts by `deno bundle` when the server starts), shaders/ and
// an optional model directory, all read-only, on 127.0.0.1.

import { DataError } from "./_common.ts";

const ROOT = new URL("../../", import.meta.url);

/** Where each URL path prefix is served from (the bundle's directory is added at start). */
const MOUNTS: [string, URL][] = [
  ["/shaders/", new URL("shaders/", ROOT)],
  ["/web/", new URL("examples/web/", ROOT)],
];

/** The URL path a served model's files are under: `/model/config.json`, … */
export const MODEL_PATH = "/model/";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  wgsl: "text/plain; charset=utf-8",
  json: "application/json; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  png: "image/png",
  safetensors: "application/octet-stream",
};

/** A running server: its base URL, and how to stop it (the bundle's files go with it). */
export interface WebServer {
  /** e.g. `http://127.0.0.1:8000/`. */
  url: string;
  /** Stops serving and removes the built bundle. */
  close(): Promise<void>;
}

/**
 * Bundles the page for the browser: one ES module per entry, code split so that what only a
 * host loads (dynamic imports of Deno files, checkpoints, the native tokenizer) stays in chunks
 * the page never fetches; npm: and node: imports are left external for the same reason.
 */
export async function bundlePage(outdir: string): Promise<void> {
  const p = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["bundle", "--quiet", "--platform", "browser", "--format", "esm", "--code-splitting"],
      ...["--external", "npm:*", "--external", "node:*", "--outdir", outdir],
      "examples/web/app.ts",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (p.code !== 0) {
    const err = new TextDecoder().decode(p.stderr).split("\n").find((l) => /error/i.test(l));
    throw new Error(`bundling examples/web/app.ts failed: ${err ?? `exit ${p.code}`}`);
  }
}

/** The file under `base` that `rest` (a URL path remainder) names, or null if it leaves it. */
function inside(base: URL, rest: string): URL | null {
  const parts = decodeURIComponent(rest).split("/");
  if (parts.some((p) => p === ".." || p.includes("\\") || p.includes("\0"))) return null;
  return new URL(parts.map(encodeURIComponent).join("/"), base);
}

async function fileResponse(url: URL): Promise<Response> {
  try {
    const file = await Deno.open(url, { read: true });
    const st = await file.stat();
    if (!st.isFile) {
      file.close();
      return new Response("not found\n", { status: 404 });
    }
    const ext = url.pathname.split(".").pop() ?? "";
    return new Response(file.readable, {
      headers: {
        "content-type": TYPES[ext] ?? "application/octet-stream",
        "content-length": String(st.size),
        "cache-control": "no-store",
      },
    });
  } catch {
    return new Response("not found\n", { status: 404 });
  }
}

/**
 * Serves the page on 127.0.0.1:`port` (0: any free port): `/` is examples/web/index.html,
 * `/bundle/` the freshly built page module, `/shaders/` the WGSL files (fetched relative to the
 * bundle, as src/gpu/shaders.ts does from a checkout), and `/model/` the directory `model`,
 * when given. A missing model directory is a {@linkcode DataError}.
 */
export async function startServer(
  opts: { port: number; model?: string; quiet?: boolean },
): Promise<WebServer> {
  if (opts.model !== undefined) {
    const st = await Deno.stat(opts.model).catch(() => null);
    if (!st) throw new DataError(opts.model, "model directory not found");
    if (!st.isDirectory) throw new DataError(opts.model, "not a directory");
    if (!(await Deno.stat(`${opts.model}/config.json`).catch(() => null))) {
      throw new DataError(opts.model, "no config.json: not a model directory");
    }
  }
  const bundle = await Deno.makeTempDir({ prefix: "webgpu-bert-page-" });
  try {
    await bundlePage(bundle);
  } catch (e) {
    await Deno.remove(bundle, { recursive: true });
    throw e;
  }
  const mounts: [string, URL][] = [
    ...MOUNTS,
    ["/bundle/", new URL(`file://${bundle}/`)],
    ...(opts.model
      ? [[MODEL_PATH, new URL(`file://${await Deno.realPath(opts.model)}/`)] as [string, URL]]
      : []),
  ];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: opts.port,
    onListen: () => {},
  }, (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    if (path === "/" || path === "/index.html") {
      return fileResponse(new URL("examples/web/index.html", ROOT));
    }
    for (const [prefix, base] of mounts) {
      if (!path.startsWith(prefix)) continue;
      const url = inside(base, path.slice(prefix.length));
      return url ? fileResponse(url) : new Response("bad path\n", { status: 400 });
    }
    return new Response("not found\n", { status: 404 });
  });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  return {
    url,
    async close() {
      await server.shutdown();
      await Deno.remove(bundle, { recursive: true }).catch(() => {});
    },
  };
}
