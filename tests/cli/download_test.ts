// The download CLI as a user runs it: a subprocess pointed at a loopback fake hub through
// HF_ENDPOINT. Exit codes, the one-line errors, the JSON last line and resume across runs.

import assert from "node:assert/strict";
import "../_helpers.ts";
import { encodeSafetensors } from "../../src/io/safetensors.ts";
import { runDeno } from "../_data.ts";
import { FakeHub, sha } from "../_hub.ts";

const enc = new TextEncoder();

const dir = await Deno.makeTempDir({ prefix: "download_cli_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const MODEL = encodeSafetensors([
  { name: "w", dtype: "F32", shape: [300, 100], data: new Float32Array(30_000).map((_, i) => i) },
]);
const CONFIG = enc.encode('{"model_type": "bert"}');
const VOCAB = enc.encode("[PAD]\n[UNK]\n");

/** The hub's repos and the KorQuAD host; `cutAt` drops the model's first GET after that many bytes. */
function stock(hub: FakeHub, cutAt?: number) {
  hub.put("org/ok", "config.json", { body: CONFIG });
  hub.put("org/ok", "model.safetensors", { body: MODEL, lfs: true, cutAt });
  hub.put("org/ok", "vocab.txt", { body: VOCAB });
  hub.put("org/bin", "config.json", { body: CONFIG });
  hub.put("org/bin", "pytorch_model.bin", { body: VOCAB, lfs: true });
  hub.put("org/evil", "config.json", { body: CONFIG });
  hub.put("org/evil", "model.safetensors.index.json", {
    body: enc.encode(JSON.stringify({ weight_map: { w: "../../evil" } })),
  });
  hub.files.set("/kq/KorQuAD_v1.0_train.json", { body: enc.encode('{"data": []}') });
  hub.files.set("/kq/KorQuAD_v1.0_dev.json", {
    body: enc.encode('{"data": ["not the real dev set"]}'),
  });
}

/**
 * Runs the CLI with a fresh fake hub up (HF_ENDPOINT is `endpoint` when given), returning exit
 * code, output lines and the requests the hub saw.
 */
async function cli(args: string[], opts: { endpoint?: string; cutAt?: number } = {}) {
  const hub = new FakeHub();
  stock(hub, opts.cutAt);
  try {
    const out = await runDeno(["run", "-A", "src/cli/download.ts", ...args], {
      env: {
        NO_COLOR: "1",
        DEBUG: "",
        HF_TOKEN: "",
        HF_ENDPOINT: opts.endpoint ?? hub.base,
        KORQUAD_ENDPOINT: `${hub.base}/kq`,
      },
    });
    const lines = (t: string) => t.split("\n").filter((l) => l);
    return {
      code: out.code,
      stdout: lines(out.stdout),
      stderr: lines(out.stderr),
      requests: hub.requests,
    };
  } finally {
    await hub.close();
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
  const r = await cli(["org/ok", "--to", to], { cutAt: 40_000 });
  assertUserError(r, "error: http://127.0.0.1:");
  assert.match(r.stderr.find((l) => l.startsWith("error: "))!, /connection lost .* to resume$/);
  const part = Deno.statSync(`${to}/model.safetensors.part`).size;
  assert.ok(part > 0 && part < MODEL.length, `part holds ${part} bytes`);

  const again = await cli(["org/ok", "--to", to]);
  assert.equal(again.code, 0, again.stderr.join("\n"));
  const cdnGets = [...r.requests, ...again.requests]
    .filter((q) => q.path.startsWith("/cdn/") && q.method === "GET");
  assert.deepEqual(cdnGets.map((q) => q.range), [null, `bytes=${part}-`]);
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
  const off = await cli(["bert-base-multilingual-cased", "--to", `${dir}/off`], {
    endpoint: closed,
  });
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
