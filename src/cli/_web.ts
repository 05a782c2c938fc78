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

const READY_TIMEOUT_MS = 600_000;

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

/** The browser `launchPage` starts when none is named. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** The browser's path: `chromium`, else $CHROMIUM, else Debian's; a missing one says what to install. */
export async function findChromium(chromium?: string): Promise<string> {
  const path = chromium ?? Deno.env.get("CHROMIUM") ?? DEFAULT_CHROMIUM;
  const st = await Deno.stat(path).catch(() => null);
  if (!st?.isFile) {
    throw new DataError(path, "chromium not found: apt-get install chromium (or give --chromium)");
  }
  return path;
}

/** The page open in headless Chromium, with the server behind it. */
export interface PageSession {
  /** The page's URL. */
  url: string;
  /** The WebGPU adapter the page got. */
  adapter: string;
  /**
   * Calls `window.webgpuBert[name](...args)` in the page and returns its result; the page
   * reports a failure on its status line, which becomes the thrown error's message.
   */
  call<T>(name: string, ...args: unknown[]): Promise<T>;
  /** The page's status line. */
  status(): Promise<string>;
  /** A PNG of the whole page. */
  screenshot(): Promise<Uint8Array>;
  /** Closes the browser and the server. */
  close(): Promise<void>;
}

/**
 * Serves the page (with `model` at {@linkcode MODEL_PATH}), opens it in headless Chromium
 * with WebGPU through puppeteer-core, and waits until it is ready (and has loaded the model).
 */
export async function launchPage(
  opts: { model?: string; chromium?: string; width?: number },
): Promise<PageSession> {
  const executablePath = await findChromium(opts.chromium);
  const server = await startServer({ port: 0, model: opts.model });
  // Loaded here: only browser-eval and the tests drive a browser.
  const { default: puppeteer } = await import("puppeteer-core");
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: ["--no-sandbox", "--enable-unsafe-webgpu"],
      // Evaluations and training run for minutes inside one call on a software adapter.
      protocolTimeout: 0,
      defaultViewport: { width: opts.width ?? 900, height: 800 },
    });
  } catch (e) {
    await server.close();
    throw new Error(`cannot start ${executablePath}: ${(e as Error).message.split("\n")[0]}`);
  }
  const close = async () => {
    await browser.close();
    await server.close();
  };
  let page: Awaited<ReturnType<typeof browser.newPage>>;
  try {
    page = await browser.newPage();
  } catch (e) {
    await close();
    throw e;
  }
  if (Deno.env.get("DEBUG") === "1") page.on("console", (m) => console.error(`page: ${m.text()}`));
  // A script that dies before the page says it is ready would otherwise leave us waiting.
  let pageError = "";
  page.on("pageerror", (e) => pageError ||= (e as Error).message.split("\n")[0]);
  const statusLine = () => page.$eval("#status", (e) => e.textContent ?? "");
  try {
    await page.goto(server.url);
    // The page sets data-ready once WebGPU is up and the served model (if any) has loaded; a
    // software adapter compiling every shader takes a while, but not ten minutes.
    await page.waitForFunction("document.body.dataset.ready", { timeout: READY_TIMEOUT_MS })
      .catch(() => {
        throw new Error(`the page did not start: ${pageError || "no answer in 10 minutes"}`);
      });
    const failed = await page.evaluate(
      "document.body.dataset.ready !== 'yes' || webgpuBert.lastStatus().error",
    );
    if (failed) throw new Error(await statusLine());
    const adapter = await page.evaluate("webgpuBert.adapter") as string;
    return {
      url: server.url,
      adapter,
      async call<T>(name: string, ...args: unknown[]): Promise<T> {
        const r = await page.evaluate(
          (name, args) =>
            (globalThis as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)
              .webgpuBert[name](...args),
          name,
          args,
        );
        if (r === undefined) throw new Error(await statusLine());
        return r as T;
      },
      status: statusLine,
      async screenshot() {
        return new Uint8Array(await page.screenshot({ fullPage: true, type: "png" }));
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
