// Resumable, verified downloads of Hugging Face checkpoints, the KorQuAD v1.0 files, or one URL.
// Everything fetched is treated as hostile data: names that come from the network are checked
// before they touch the filesystem, pickle checkpoints (which run code when loaded) and code
// files from the hub are refused, and nothing downloaded is ever executed.

import { createHash, type Hash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { ProgressBar } from "./progress.ts";
import { DownloadError } from "../util/errors.ts";

/** What a download name means: a hub repo at a revision, the KorQuAD v1.0 files, or one URL. */
export type DownloadSource =
  | { readonly kind: "hub"; readonly repo: string; readonly revision: string }
  | { readonly kind: "korquad-v1" }
  | { readonly kind: "url"; readonly url: string };

/** Where to download from and how to report; every field is optional. */
export interface DownloadOptions {
  /** Hub endpoint; default `$HF_ENDPOINT`, else `https://huggingface.co`. */
  readonly hfEndpoint?: string;
  /** Hub token sent to the hub endpoint only (never to a CDN it redirects to); default `$HF_TOKEN`. */
  readonly hfToken?: string;
  /** URL of the folder holding the KorQuAD files; default `$KORQUAD_ENDPOINT`, else the official site. */
  readonly korquadEndpoint?: string;
  /** Draw a progress bar per file on stderr (default true). */
  readonly progress?: boolean;
  /** Receives one line per file (default: stderr). */
  readonly log?: (line: string) => void;
  /** Abort a request that delivers no bytes for this long (default 60 000 ms); the .part is kept. */
  readonly idleTimeoutMs?: number;
}

/** Per-file options of {@linkcode downloadFile}. */
export interface FileOptions extends DownloadOptions {
  /** The known sha256 (hex); otherwise the one the server publishes, if any, is used. */
  readonly sha256?: string;
  /** Return null on 404 instead of throwing. */
  readonly optional?: boolean;
}

/** One file that is now complete on disk. */
export interface DownloadedFile {
  /** Its plain file name. */
  readonly name: string;
  /** Its path (`dir/name`). */
  readonly path: string;
  /** Its size in bytes. */
  readonly bytes: number;
  /** Its sha256 (hex), when it was computed. */
  readonly sha256?: string;
  /** Whether the sha256 was checked against a published or known hash. */
  readonly verified: boolean;
  /** `skipped`: it was already complete; `resumed`: a .part was continued. */
  readonly status: "downloaded" | "resumed" | "skipped";
}

/** The official KorQuAD v1.0 files, with the sha256 where it is known. */
export const KORQUAD_V1_FILES: readonly { readonly name: string; readonly sha256?: string }[] = [
  { name: "KorQuAD_v1.0_train.json" },
  {
    name: "KorQuAD_v1.0_dev.json",
    sha256: "25ffeb51e6c51ec02c071b60a10188e10005c144110f0d876b26079d80a35bdf",
  },
  // The official scorer, stored as a file for reference; it is never executed here.
  { name: "evaluate-v1.0.py" },
];

const HF_DEFAULT = "https://huggingface.co";
const KORQUAD_DEFAULT = "https://korquad.github.io/dataset";
const MAX_REDIRECTS = 10;
const PICKLE = /\.(bin|pkl|pickle|pt|pth|ckpt|joblib|mar)$/i;
const REPO = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._\/-]{0,254}$/;
const NO_NET =
  "if this machine has no network, copy the files by hand as weights/README.md describes";

/**
 * Parses a download name: `korquad-v1`, an `http(s)://` URL, or a hub repo id with an optional
 * `@revision` (default `main`).
 *
 * @throws {DownloadError} for anything else (other URL schemes, malformed repo ids).
 * @example
 * ```ts
 * import { parseSource } from "webgpu-bert";
 * console.log(parseSource("klue/bert-base@v1")); // { kind: "hub", repo: "klue/bert-base", revision: "v1" }
 * ```
 */
export function parseSource(spec: string): DownloadSource {
  if (spec === "korquad-v1") return { kind: "korquad-v1" };
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(spec)) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new DownloadError(spec, "not a valid URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new DownloadError(spec, "only http and https URLs are downloaded");
    }
    return { kind: "url", url: url.href };
  }
  const at = spec.indexOf("@");
  const repo = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? "main" : spec.slice(at + 1);
  if (!REPO.test(repo) || repo.includes("..")) {
    throw new DownloadError(
      show(spec),
      "not a Hugging Face repo id (name or owner/name, optionally @revision), korquad-v1, or an http(s) URL",
    );
  }
  if (!REVISION.test(revision) || revision.includes("..")) {
    throw new DownloadError(show(spec), `bad revision "${show(revision)}"`);
  }
  return { kind: "hub", repo, revision };
}

/**
 * Checks that `name` (which came from the network) is a plain file name and returns its path
 * inside `dir`. Refused: empty names, `/`, `\`, `:`, NUL and control characters, `..`, a leading
 * `.`, and anything that would resolve outside `dir`.
 *
 * @throws {DownloadError} `<name>: unsafe file name: <why>`.
 * @example
 * ```ts
 * import { safeFileName } from "webgpu-bert";
 * console.log(safeFileName("weights/x", "model.safetensors")); // weights/x/model.safetensors
 * try {
 *   safeFileName("weights/x", "../../evil");
 * } catch (e) {
 *   console.log((e as Error).message); // ../../evil: unsafe file name: contains a path separator
 * }
 * ```
 */
export function safeFileName(dir: string, name: string): string {
  const why = name === ""
    ? "empty"
    : /[\/\\]/.test(name)
    ? "contains a path separator"
    : /\p{Cc}/u.test(name)
    ? "contains a control character"
    : name.includes("..")
    ? 'contains ".."'
    : name.startsWith(".")
    ? 'starts with "."'
    : name.includes(":")
    ? 'contains ":"'
    : name.length > 255
    ? "longer than 255 characters"
    : "";
  const root = resolve(dir);
  if (!why && dirname(resolve(root, name)) === root) return join(dir, name);
  throw new DownloadError(show(name), `unsafe file name: ${why || "resolves outside the target"}`);
}

/**
 * The sha256 an ETag carries, if it is one: 64 hex digits, optionally quoted and `W/`-prefixed
 * (as the hub sends for LFS files). Returns lower-case hex or undefined.
 *
 * @example
 * ```ts
 * import { sha256FromEtag } from "webgpu-bert";
 * console.log(sha256FromEtag(`W/"${"AB".repeat(32)}"`)); // "abab…ab"
 * console.log(sha256FromEtag('"5d1f-3a"')); // undefined
 * ```
 */
export function sha256FromEtag(etag: string | null | undefined): string | undefined {
  const m = etag?.trim().match(/^(?:W\/)?"?([0-9a-fA-F]{64})"?$/);
  return m ? m[1].toLowerCase() : undefined;
}

/**
 * Downloads what `spec` names (see {@linkcode parseSource}) into the folder `to`:
 * a hub repo's `config.json`, safetensors weights (single or sharded) and tokenizer files;
 * the KorQuAD v1.0 train/dev files and scorer; or one URL. Files already complete are skipped.
 *
 * @throws {DownloadError} for refused names, HTTP errors, hash mismatches and no network.
 * @example Needs the network, so the doc tests skip it (`ignore`).
 * ```ts ignore
 * import { download } from "webgpu-bert";
 * const files = await download("klue/bert-base", "weights/klue-bert-base");
 * console.log(files.map((f) => `${f.name} ${f.status}`));
 * ```
 */
export async function download(
  spec: string,
  to: string,
  options: DownloadOptions = {},
): Promise<DownloadedFile[]> {
  const src = parseSource(spec);
  if (src.kind === "hub") return await downloadHubRepo(src.repo, src.revision, to, options);
  if (src.kind === "korquad-v1") {
    const base = endpoint(options.korquadEndpoint, "KORQUAD_ENDPOINT", KORQUAD_DEFAULT);
    const out: DownloadedFile[] = [];
    for (const f of KORQUAD_V1_FILES) {
      out.push((await downloadFile(`${base}/${f.name}`, to, f.name, { ...options, ...f }))!);
    }
    return out;
  }
  const url = new URL(src.url);
  let name: string;
  try {
    name = decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf("/") + 1));
  } catch {
    throw new DownloadError(src.url, "the URL's file name is not valid percent-encoding");
  }
  if (name === "") throw new DownloadError(src.url, "the URL names no file (it ends with /)");
  safeFileName(to, name);
  if (PICKLE.test(name)) throw new DownloadError(src.url, pickleFault(name));
  const hub = new URL(endpoint(options.hfEndpoint, "HF_ENDPOINT", HF_DEFAULT));
  if (url.host === hub.host && /\.pyc?$/i.test(name)) {
    throw new DownloadError(src.url, "code files from the hub are never downloaded");
  }
  return [(await downloadFile(src.url, to, name, options))!];
}

/**
 * Downloads a hub repo's `config.json`, `model.safetensors` (or the index and every shard it
 * names), and `tokenizer.json` / `vocab.txt` / `tokenizer_config.json` /
 * `special_tokens_map.json` where present. A repo with only `pytorch_model.bin` is refused.
 *
 * @throws {DownloadError} as {@linkcode download}.
 * @example Needs the network, so the doc tests skip it (`ignore`).
 * ```ts ignore
 * import { downloadHubRepo } from "webgpu-bert";
 * await downloadHubRepo("bert-base-multilingual-cased", "main", "weights/mbert");
 * ```
 */
export async function downloadHubRepo(
  repo: string,
  revision: string,
  to: string,
  options: DownloadOptions = {},
): Promise<DownloadedFile[]> {
  const src = parseSource(`${repo}@${revision}`);
  if (src.kind !== "hub") throw new DownloadError(repo, "not a Hugging Face repo id");
  const base = endpoint(options.hfEndpoint, "HF_ENDPOINT", HF_DEFAULT);
  const url = (f: string) => `${base}/${repo}/resolve/${encodeURIComponent(revision)}/${f}`;
  const get = (f: string, optional: boolean) =>
    downloadFile(url(f), to, f, { ...options, optional });
  const where = `${repo}@${revision}`;
  const out: DownloadedFile[] = [];

  const config = await get("config.json", false).catch((e) => {
    if (!(e instanceof DownloadError) || e.status !== 404) throw e;
    throw new DownloadError(e.source, `not found (HTTP 404): is "${where}" a model repo?`, 404);
  });
  out.push(config!);
  await readJson(config!.path);

  const single = await get("model.safetensors", true);
  if (single) out.push(single);
  else {
    const index = await get("model.safetensors.index.json", true);
    if (!index) {
      const bin = await exists(url("pytorch_model.bin"), options) ||
        await exists(url("pytorch_model.bin.index.json"), options);
      throw new DownloadError(
        where,
        bin
          ? pickleFault("pytorch_model.bin")
          : "no model.safetensors or its index at this revision",
      );
    }
    out.push(index);
    // Every shard name is checked before the first byte of any shard is fetched.
    const shards = shardNames(await readJson(index.path), index.path);
    for (const s of shards) {
      safeFileName(to, s);
      if (!s.endsWith(".safetensors")) {
        throw new DownloadError(show(s), "shard names must end in .safetensors; refused");
      }
    }
    for (const s of shards) out.push((await get(s, false))!);
  }

  let tokenizer = false;
  for (
    const f of ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
  ) {
    const got = await get(f, true);
    if (got) out.push(got);
    if (got && (f === "tokenizer.json" || f === "vocab.txt")) tokenizer = true;
  }
  if (!tokenizer) {
    throw new DownloadError(where, "neither tokenizer.json nor vocab.txt is in the repo");
  }
  return out;
}

/**
 * Downloads one URL to `dir/name` through `dir/name.part`: resumes a .part with a Range request,
 * verifies the sha256 (given, or published by the hub as an LFS ETag), then renames the .part
 * into place. An existing complete file is skipped. Redirects are followed (http/https only).
 * Returns null for a 404 when `options.optional` is set.
 *
 * @throws {DownloadError} on HTTP errors, hash mismatch (the .part is deleted), lost connections
 * (the .part is kept for the next run) and unreachable hosts.
 * @example
 * ```ts
 * import { downloadFile } from "webgpu-bert";
 * // A local server stands in for the network; a KorQuAD or hub URL is fetched the same way.
 * const server = Deno.serve({ port: 0, onListen() {} }, () => new Response("hello\n"));
 * const url = `http://127.0.0.1:${server.addr.port}/hello.txt`;
 * const dir = await Deno.makeTempDir();
 * const f = await downloadFile(url, dir, "hello.txt", { progress: false, log: () => {} });
 * console.log(f?.sha256); // 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function downloadFile(
  url: string,
  dir: string,
  name: string,
  options: FileOptions = {},
): Promise<DownloadedFile | null> {
  const path = safeFileName(dir, name);
  const part = `${path}.part`;
  const log = options.log ?? ((l: string) => console.error(l));
  await Deno.mkdir(dir, { recursive: true });
  const known = options.sha256?.toLowerCase();
  const existing = await regularFileSize(path);
  if (existing !== undefined && known) {
    const sha = await hashFile(path);
    if (sha === known) return skipped(name, path, existing, sha, true, log);
    log(`${name}: exists but its sha256 differs; downloading again`);
  }
  let from = existing === undefined ? (await regularFileSize(part)) ?? 0 : 0;
  for (let attempt = 0;; attempt++) {
    const got = await open(url, options, from > 0 ? from : undefined);
    const res = got.res;
    if (res.status === 404 || res.status === 410) {
      await drop(got);
      if (options.optional) {
        log(`${name}: not present, skipped`);
        return null;
      }
      throw new DownloadError(url, `not found (HTTP ${res.status})`, res.status);
    }
    if (res.status === 416 || (res.status === 206 && rangeStart(res) !== from)) {
      await drop(got);
      if (attempt > 0) throw new DownloadError(url, `bad range answer (HTTP ${res.status})`);
      // The .part does not fit what the server has now; start over rather than guess.
      await Deno.remove(part).catch(() => {});
      from = 0;
      continue;
    }
    if (!res.ok) {
      await drop(got);
      throw new DownloadError(url, httpFault(res), res.status);
    }
    const expected = known ?? got.sha256;
    if (existing !== undefined && !known) {
      // Without a published hash, the size is the only sign that the remote file changed.
      const size = got.size ??
        (res.status === 200 ? num(res.headers.get("content-length")) : undefined);
      const sha = expected ? await hashFile(path) : undefined;
      if (expected ? sha === expected : size === undefined || size === existing) {
        await drop(got);
        return skipped(name, path, existing, sha, !!expected, log);
      }
      log(`${name}: exists but its ${expected ? "sha256" : "size"} differs; downloading again`);
    }
    return await receive(got, url, name, path, from, expected, options, log);
  }
}

interface Opened {
  res: Response;
  sha256?: string;
  size?: number;
  idle: Idle;
}

/** Arms an AbortController that fires when no progress is reported for `ms`. */
class Idle {
  readonly ctl = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly ms: number) {
    this.touch();
  }
  touch(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.ctl.abort(), this.ms);
  }
  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** GET (or HEAD) with redirects followed by hand, so each hop can be checked and the hub's LFS
 * hash read from the redirect itself (the CDN's own ETag is not a sha256). */
async function open(
  url: string,
  o: DownloadOptions,
  rangeFrom?: number,
  method = "GET",
): Promise<Opened> {
  const hub = new URL(endpoint(o.hfEndpoint, "HF_ENDPOINT", HF_DEFAULT));
  const token = o.hfToken ?? env("HF_TOKEN");
  const idle = new Idle(o.idleTimeoutMs ?? 60_000);
  let cur = new URL(url);
  let sha256: string | undefined;
  let size: number | undefined;
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      // identity: a compressed body would not match Content-Length, Range or the hash.
      const headers: Record<string, string> = { "accept-encoding": "identity" };
      if (rangeFrom !== undefined) headers.range = `bytes=${rangeFrom}-`;
      const isHub = cur.origin === hub.origin;
      if (token && isHub) headers.authorization = `Bearer ${token}`;
      let res: Response;
      try {
        res = await fetch(cur, { method, headers, redirect: "manual", signal: idle.ctl.signal });
      } catch (e) {
        const why = idle.ctl.signal.aborted ? `no answer in ${idle.ms / 1000} s` : cause(e);
        throw new DownloadError(cur.href, `cannot reach ${cur.host} (${why}); ${NO_NET}`);
      }
      sha256 ??= sha256FromEtag(res.headers.get("x-linked-etag")) ??
        (isHub ? sha256FromEtag(res.headers.get("etag")) : undefined);
      size ??= num(res.headers.get("x-linked-size"));
      const loc = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !loc) return { res, sha256, size, idle };
      await res.body?.cancel();
      const next = URL.parse(loc, cur);
      if (!next) throw new DownloadError(cur.href, "redirect to a malformed URL refused");
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new DownloadError(
          cur.href,
          `redirect to a non-http(s) URL refused (${next.protocol})`,
        );
      }
      if (cur.protocol === "https:" && next.protocol === "http:") {
        throw new DownloadError(cur.href, "redirect from https to plain http refused");
      }
      cur = next;
    }
    throw new DownloadError(url, `more than ${MAX_REDIRECTS} redirects`);
  } catch (e) {
    idle.clear();
    throw e;
  }
}

/** Releases a response that will not be read. */
async function drop(got: Opened): Promise<void> {
  got.idle.clear();
  await got.res.body?.cancel();
}

/** Whether a URL answers a HEAD with success (nothing is downloaded). */
async function exists(url: string, o: DownloadOptions): Promise<boolean> {
  const got = await open(url, o, undefined, "HEAD");
  await drop(got);
  return got.res.ok;
}

/** Streams the body into the .part, hashing as it goes, then verifies and renames it. */
async function receive(
  got: Opened,
  url: string,
  name: string,
  path: string,
  from: number,
  expected: string | undefined,
  o: DownloadOptions,
  log: (l: string) => void,
): Promise<DownloadedFile> {
  const { res, idle } = got;
  const part = `${path}.part`;
  const resume = res.status === 206 && from > 0;
  const start = resume ? from : 0;
  const length = res.headers.get("content-encoding")
    ? undefined
    : num(res.headers.get("content-length"));
  const total = length !== undefined ? start + length : got.size;
  const h = createHash("sha256");
  if (resume) await hashFile(part, h);
  const file = await Deno.open(
    part,
    resume ? { append: true } : { write: true, create: true, truncate: true },
  );
  const bar = o.progress !== false && total ? new ProgressBar(total - start, name) : undefined;
  const t0 = performance.now();
  let done = start;
  let drawn = 0;
  const draw = () => {
    const s = (performance.now() - t0) / 1000;
    bar!.update(done - start, {
      MB: `${mb(done)}/${mb(total!)}`,
      "MB/s": s > 0 ? ((done - start) / 1e6 / s).toFixed(1) : "?",
    });
  };
  try {
    for await (const chunk of res.body ?? []) {
      idle.touch();
      for (let w = 0; w < chunk.length;) w += await file.write(chunk.subarray(w));
      h.update(chunk);
      done += chunk.length;
      if (bar && performance.now() - drawn > 200) {
        drawn = performance.now();
        draw();
      }
    }
    if (total !== undefined && done > total) {
      await Deno.remove(part).catch(() => {});
      throw new DownloadError(url, `got ${done} bytes, more than the ${total} announced`);
    }
    if (total !== undefined && done < total) throw new Error("the body ended early");
    await file.syncData();
  } catch (e) {
    if (e instanceof DownloadError) throw e;
    const why = idle.ctl.signal.aborted ? `no data for ${idle.ms / 1000} s` : cause(e);
    throw new DownloadError(
      url,
      `connection lost after ${mb(done)} of ${total === undefined ? "?" : mb(total)} MB ` +
        `(${why}); ${part} was kept: run the same command again to resume`,
    );
  } finally {
    idle.clear();
    file.close();
    if (bar) {
      draw();
      bar.done();
    }
  }
  const sha = h.digest("hex");
  if (expected && sha !== expected) {
    await Deno.remove(part).catch(() => {});
    throw new DownloadError(
      url,
      `sha256 mismatch: expected ${expected}, got ${sha}; the partial file was deleted`,
    );
  }
  if (got.size !== undefined && done !== got.size) {
    await Deno.remove(part).catch(() => {});
    throw new DownloadError(url, `size mismatch: expected ${got.size} bytes, got ${done}`);
  }
  await Deno.rename(part, path);
  log(`${name}: ${mb(done)} MB${resume ? " (resumed)" : ""}, ${verdict(!!expected)}`);
  return {
    name,
    path,
    bytes: done,
    sha256: sha,
    verified: !!expected,
    status: resume ? "resumed" : "downloaded",
  };
}

function skipped(
  name: string,
  path: string,
  bytes: number,
  sha256: string | undefined,
  verified: boolean,
  log: (l: string) => void,
): DownloadedFile {
  log(`${name}: already complete, ${verdict(verified)}`);
  return { name, path, bytes, sha256, verified, status: "skipped" };
}

function verdict(verified: boolean): string {
  return verified ? "sha256 verified" : "no published sha256 to check";
}

function pickleFault(name: string): string {
  return `${name} is a pickle checkpoint, refused because loading it can execute code; ` +
    `convert it on a trusted machine with transformers' save_pretrained(DIR, safe_serialization=True), ` +
    `or use a revision that has model.safetensors (e.g. a conversion PR: NAME@refs/pr/N); see weights/README.md`;
}

function httpFault(res: Response): string {
  const s = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  if (res.status === 401 || res.status === 403) {
    return `${s}: the repo does not exist, or it is private or gated (set HF_TOKEN for those)`;
  }
  if (res.status === 429) return `${s}: rate limited; try again later`;
  return s;
}

/** Size of a regular file, undefined if absent; a symlink or folder in its place is refused. */
async function regularFileSize(path: string): Promise<number | undefined> {
  try {
    const st = await Deno.lstat(path);
    if (!st.isFile) {
      throw new DownloadError(path, "exists but is not a regular file; refusing to write");
    }
    return st.size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function hashFile(path: string, h: Hash = createHash("sha256")): Promise<string> {
  const f = await Deno.open(path);
  for await (const chunk of f.readable) h.update(chunk);
  return h.copy().digest("hex");
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new DownloadError(path, `not valid JSON (${cause(e)})`);
  }
}

function shardNames(index: unknown, path: string): string[] {
  const map = (index as { weight_map?: unknown })?.weight_map;
  if (!map || typeof map !== "object" || Array.isArray(map)) {
    throw new DownloadError(path, "no weight_map object");
  }
  const names = new Set<string>();
  for (const v of Object.values(map)) {
    if (typeof v !== "string") {
      throw new DownloadError(path, "weight_map values must be file names");
    }
    names.add(v);
  }
  if (names.size === 0) throw new DownloadError(path, "weight_map is empty");
  return [...names].sort();
}

function rangeStart(res: Response): number | undefined {
  const m = res.headers.get("content-range")?.match(/^bytes (\d+)-/);
  return m ? Number(m[1]) : undefined;
}

function endpoint(given: string | undefined, name: string, fallback: string): string {
  const v = (given ?? env(name) ?? fallback).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]/.test(v)) throw new DownloadError(v, `${name} must be an http(s) URL`);
  return v;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: use the default
  }
}

function num(v: string | null): number | undefined {
  return v !== null && /^\d+$/.test(v) ? Number(v) : undefined;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function cause(e: unknown): string {
  const inner = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const msg = inner instanceof Error ? inner.message : String(inner);
  return msg.replace(/\s+/g, " ").replace(/^.*?: client error \(\w+\): /, "");
}

/** Names from the network may hold control characters; keep error lines one printable line. */
function show(s: string): string {
  return /\p{Cc}/u.test(s) ? JSON.stringify(s) : s;
}
