// A loopback HTTP server standing in for the Hugging Face hub (these machines have no
// internet), shared by the downloader's tests and the download CLI's: resolve URLs, 404s, LFS
// 302 redirects to a "CDN" with sha256 ETags, Range/206, and connections cut mid-body.

import { createHash } from "node:crypto";

/** Hex sha256 of bytes. */
export const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** One file the fake hub serves. */
export interface Fake {
  body: Uint8Array;
  /** Served like an LFS file: 302 to /cdn/<sha> with the sha256 in X-Linked-Etag. */
  lfs?: boolean;
  /** The ETag value to publish instead of the true sha256 (for the wrong-hash test). */
  etag?: string;
  /** Close the connection after this many body bytes, on the first GET only. */
  cutAt?: number;
  /** Ignore Range headers (answer 200 with the whole body). */
  noRange?: boolean;
  /** Answer with a 302 to this Location instead. */
  redirect?: string;
}

/** A loopback HTTP server standing in for the hub; it records every request it gets. */
export class FakeHub {
  readonly files = new Map<string, Fake>();
  readonly requests: {
    method: string;
    path: string;
    range: string | null;
    auth: string | null;
  }[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly base: string;

  constructor() {
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      (req) => this.#handle(req),
    );
    this.base = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Adds a file of a hub repo (`repo`, `revision`, `name`). */
  put(repo: string, name: string, f: Fake, revision = "main"): void {
    this.files.set(`/${repo}/resolve/${revision}/${name}`, f);
  }

  /** Paths requested with `method`. */
  paths(method = "GET"): string[] {
    return this.requests.filter((r) => r.method === method).map((r) => r.path);
  }

  #handle(req: Request): Response {
    const url = new URL(req.url);
    const path = decodeURIComponent(url.pathname);
    const auth = req.headers.get("authorization");
    this.requests.push({ method: req.method, path, range: req.headers.get("range"), auth });
    if (path.startsWith("/cdn/")) {
      const f = [...this.files.values()].find((f) => sha(f.body) === path.slice(5));
      // A CDN's own ETag is not the sha256; the client must not mistake it for one.
      if (f) return this.#body(req, f, { etag: '"cdn-etag-1"' });
    }
    const f = this.files.get(path);
    if (!f) return new Response("Entry not found", { status: 404 });
    if (f.redirect) return new Response(null, { status: 302, headers: { location: f.redirect } });
    if (f.lfs) {
      const etag = f.etag ?? `"${sha(f.body)}"`;
      return new Response(null, {
        status: 302,
        headers: {
          location: `/cdn/${sha(f.body)}?X-Amz-Signature=x`,
          "x-linked-etag": etag,
          "x-linked-size": String(f.body.length),
          etag,
        },
      });
    }
    // Small git files: the ETag is a git blob sha1, which is not a sha256.
    return this.#body(req, f, { etag: `"${"1".repeat(40)}"` });
  }

  #body(req: Request, f: Fake, headers: Record<string, string>): Response {
    let body = f.body;
    let status = 200;
    const m = req.headers.get("range")?.match(/^bytes=(\d+)-$/);
    if (m && !f.noRange) {
      const from = Number(m[1]);
      if (from >= body.length) return new Response(null, { status: 416 });
      headers["content-range"] = `bytes ${from}-${body.length - 1}/${body.length}`;
      body = body.subarray(from);
      status = 206;
    }
    headers["content-length"] = String(body.length);
    if (req.method === "HEAD") return new Response(null, { status, headers });
    if (f.cutAt !== undefined && req.method === "GET") {
      const cut = f.cutAt;
      f.cutAt = undefined;
      // Fewer bytes than Content-Length, then the end: the server drops the connection.
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(body.slice(0, cut));
          c.close();
        },
      });
      return new Response(stream, { status, headers });
    }
    return new Response(body.slice(), { status, headers });
  }

  /** Stops the server, waiting at most 5 s. */
  close(): Promise<void> {
    return shutdown(this.#server);
  }
}

/** Stops a test server, waiting at most 5 s for open connections to end. */
export async function shutdown(server: Deno.HttpServer): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([server.shutdown(), new Promise((r) => timer = setTimeout(r, 5000))]);
  clearTimeout(timer);
}
