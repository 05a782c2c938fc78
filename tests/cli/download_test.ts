// The download CLI as a user runs it: a subprocess pointed at a loopback fake hub through
// HF_ENDPOINT. Exit codes, the one-line errors, the JSON last line and resume across runs.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import "../_helpers.ts";
import { encodeSafetensors } from "../../src/io/safetensors.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const enc = new TextEncoder();
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const dir = await Deno.makeTempDir({ prefix: "download_cli_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const MODEL = encodeSafetensors([
  { name: "w", dtype: "F32", shape: [300, 100], data: new Float32Array(30_000).map((_, i) => i) },
]);
const CONFIG = enc.encode('{"model_type": "bert"}');
const VOCAB = enc.encode("[PAD]\n[UNK]\n");

/** Repo files by resolve path; LFS files answer 302 to /cdn/<sha> with the hash in X-Linked-Etag. */
const FILES: Record<string, { body: Uint8Array; lfs?: boolean }> = {
  "/org/ok/resolve/main/config.json": { body: CONFIG },
  "/org/ok/resolve/main/model.safetensors": { body: MODEL, lfs: true },
  "/org/ok/resolve/main/vocab.txt": { body: VOCAB },
  "/org/bin/resolve/main/config.json": { body: CONFIG },
  "/org/bin/resolve/main/pytorch_model.bin": { body: VOCAB, lfs: true },
  "/org/evil/resolve/main/config.json": { body: CONFIG },
  "/org/evil/resolve/main/model.safetensors.index.json": {
    body: enc.encode(JSON.stringify({ weight_map: { w: "../../evil" } })),
  },
  "/kq/KorQuAD_v1.0_train.json": { body: enc.encode('{"data": []}') },
  "/kq/KorQuAD_v1.0_dev.json": { body: enc.encode('{"data": ["not the real dev set"]}') },
};

let cutNext = false;
const ranges: (string | null)[] = [];

function handle(req: Request): Response {
  const path = decodeURIComponent(new URL(req.url).pathname);
  if (path.startsWith("/cdn/")) {
    const body = Object.values(FILES).find((f) => sha(f.body) === path.slice(5))?.body;
    if (!body) return new Response(null, { status: 404 });
    ranges.push(req.headers.get("range"));
    const from = Number(req.headers.get("range")?.match(/^bytes=(\d+)-$/)?.[1] ?? 0);
    const headers: Record<string, string> = { "content-length": String(body.length - from) };
    if (from) headers["content-range"] = `bytes ${from}-${body.length - 1}/${body.length}`;
    const rest = body.slice(from);
    if (req.method === "HEAD") return new Response(null, { status: from ? 206 : 200, headers });
    if (!cutNext) return new Response(rest, { status: from ? 206 : 200, headers });
    cutNext = false;
    // A third of the body, then the end of the stream: the connection drops mid-body.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(rest.slice(0, rest.length / 3));
        c.close();
      },
    });
    return new Response(stream, { status: from ? 206 : 200, headers });
  }
  const f = FILES[path];
  if (!f) return new Response("Entry not found", { status: 404 });
  if (!f.lfs) return new Response(req.method === "HEAD" ? null : f.body.slice());
  return new Response(null, {
    status: 302,
    headers: { location: `/cdn/${sha(f.body)}`, "x-linked-etag": `"${sha(f.body)}"` },
  });
}

/** Runs the CLI with a fake hub up (or `endpoint` instead), returning exit code and output lines. */
async function cli(args: string[], endpoint?: string) {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, handle);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "src/cli/download.ts", ...args],
      cwd: ROOT,
      env: {
        NO_COLOR: "1",
        DEBUG: "",
        HF_TOKEN: "",
        HF_ENDPOINT: endpoint ?? `http://127.0.0.1:${server.addr.port}`,
        KORQUAD_ENDPOINT: `http://127.0.0.1:${server.addr.port}/kq`,
      },
    }).output();
    const lines = (b: Uint8Array) => new TextDecoder().decode(b).split("\n").filter((l) => l);
    return { code: out.code, stdout: lines(out.stdout), stderr: lines(out.stderr) };
  } finally {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([server.shutdown(), new Promise((r) => timer = setTimeout(r, 5000))]);
    clearTimeout(timer);
  }
}

/** A user-facing error: exit 2, exactly one `error:` line starting with `prefix`, no stack. */
function assertUserError(r: Awaited<ReturnType<typeof cli>>, prefix: string) {
  assert.equal(r.code, 2, r.stderr.join("\n"));
  const errors = r.stderr.filter((l) => l.startsWith("error: "));
  assert.equal(errors.length, 1, r.stderr.join("\n"));
  assert.ok(errors[0].startsWith(prefix), `"${errors[0]}" does not start with "${prefix}"`);
  assert.ok(!r.stderr.some((l) => /^\s+at /.test(l)), "no stack trace");
}

Deno.test("download CLI: a hub repo lands in --to; the last stdout line is JSON; rerun skips", async () => {
  const to = `${dir}/ok`;
  const r = await cli(["org/ok", "--to", to]);
  assert.equal(r.code, 0, r.stderr.join("\n"));
  const last = JSON.parse(r.stdout.at(-1)!);
  assert.equal(last.to, to);
  assert.deepEqual(last.files.map((f: { name: string; status: string }) => [f.name, f.status]), [
    ["config.json", "downloaded"],
    ["model.safetensors", "downloaded"],
    ["vocab.txt", "downloaded"],
  ]);
  assert.equal(last.files[1].sha256, sha(MODEL));
  assert.equal(last.files[1].verified, true);
  assert.deepEqual(await Deno.readFile(`${to}/model.safetensors`), MODEL);
  assert.ok(
    r.stderr.some((l) => l.startsWith("model.safetensors: ") && l.includes("sha256 verified")),
  );

  const again = await cli(["--to", to, "org/ok", "-q"]);
  assert.equal(again.code, 0, again.stderr.join("\n"));
  assert.deepEqual(again.stderr, [], "--quiet prints nothing to stderr");
  const files = JSON.parse(again.stdout.at(-1)!).files;
  assert.ok(files.every((f: { status: string }) => f.status === "skipped"));
});

Deno.test("download CLI: an interrupted download exits 2 keeping the .part; the rerun resumes", async () => {
  const to = `${dir}/cut`;
  cutNext = true;
  ranges.length = 0;
  const r = await cli(["org/ok", "--to", to]);
  assertUserError(r, "error: http://127.0.0.1:");
  assert.match(r.stderr.find((l) => l.startsWith("error: "))!, /connection lost .* to resume$/);
  const part = Deno.statSync(`${to}/model.safetensors.part`).size;
  assert.ok(part > 0 && part < MODEL.length, `part holds ${part} bytes`);

  const again = await cli(["org/ok", "--to", to]);
  assert.equal(again.code, 0, again.stderr.join("\n"));
  assert.deepEqual(ranges, [null, `bytes=${part}-`]);
  const model = JSON.parse(again.stdout.at(-1)!).files[1];
  assert.deepEqual([model.status, model.verified, model.sha256], ["resumed", true, sha(MODEL)]);
  assert.deepEqual(await Deno.readFile(`${to}/model.safetensors`), MODEL);
});

Deno.test("download CLI: pickle-only repos and hostile shard names are one error line, exit 2", async () => {
  const bin = await cli(["org/bin", "--to", `${dir}/bin`]);
  assertUserError(bin, "error: org/bin@main: pytorch_model.bin is a pickle checkpoint");
  const evil = await cli(["org/evil", "--to", `${dir}/evil/out`]);
  assertUserError(evil, "error: ../../evil: unsafe file name");
  assert.deepEqual([...Deno.readDirSync(`${dir}/evil`)].map((e) => e.name), ["out"]);
});

Deno.test("download CLI: korquad-v1 honours KORQUAD_ENDPOINT and enforces the dev sha256", async () => {
  const r = await cli(["korquad-v1", "--to", `${dir}/kq`]);
  assertUserError(r, "error: http://127.0.0.1:");
  assert.match(
    r.stderr.find((l) => l.startsWith("error: "))!,
    /\/kq\/KorQuAD_v1\.0_dev\.json: sha256 mismatch: expected 25ffeb51/,
  );
  assert.deepEqual([...Deno.readDirSync(`${dir}/kq`)].map((e) => e.name), [
    "KorQuAD_v1.0_train.json",
  ]);
});

Deno.test("download CLI: no network, a missing repo, bad names and usage errors exit 2", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = `http://127.0.0.1:${l.addr.port}`;
  l.close();
  const off = await cli(["bert-base-multilingual-cased", "--to", `${dir}/off`], closed);
  assertUserError(
    off,
    `error: ${closed}/bert-base-multilingual-cased/resolve/main/config.json: cannot reach`,
  );
  assert.ok(off.stderr[0].includes("weights/README.md"));

  const missing = await cli(["org/none", "--to", `${dir}/none`]);
  assertUserError(missing, "error: http://127.0.0.1:");
  assert.match(missing.stderr[0], /config\.json: not found \(HTTP 404\)/);

  assertUserError(
    await cli(["a/b/c", "--to", `${dir}/x`]),
    "error: a/b/c: not a Hugging Face repo id",
  );
  assertUserError(
    await cli(["file:///etc/passwd", "--to", `${dir}/x`]),
    "error: file:///etc/passwd:",
  );
  const noTo = await cli(["org/ok"]);
  assertUserError(noTo, "error: --to DIR is required");
  assert.ok(noTo.stderr.some((l) => l.startsWith("usage: ")));
  assertUserError(await cli(["--to", `${dir}/x`]), "error: NAME is required");
  assertUserError(await cli(["a", "b", "--to", `${dir}/x`]), "error: one NAME expected, got 2");
  assertUserError(await cli(["org/ok", "--to", `${dir}/x`, "--bogus"]), "error: Unknown option");
  const help = await cli(["--help"]);
  assert.equal(help.code, 0);
  assert.ok(help.stdout[0].startsWith("usage: "));
});
