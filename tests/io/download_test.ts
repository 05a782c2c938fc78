// Downloader tests against a local fake of the Hugging Face hub (these machines have no
// internet): resolve URLs, 404s, LFS 302 redirects to a "CDN" with sha256 ETags, Range/206,
// sharded and .bin-only repos, hostile shard names, a wrong hash and a cut connection.

import assert from "node:assert/strict";
import { hasData, SHARED } from "../_helpers.ts";
import {
  download,
  downloadFile,
  KORQUAD_V1_FILES,
  parseSource,
  safeFileName,
  sha256FromEtag,
} from "../../src/io/download.ts";
import { DownloadError } from "../../src/util/errors.ts";
import { encodeSafetensors, openCheckpoint } from "../../src/io/safetensors.ts";
import { FakeHub, sha, shutdown } from "../_hub.ts";
import { fixture } from "../_data.ts";
import { loadTokenizerDir } from "../../src/text/tokenizer_dir.ts";

const enc = new TextEncoder();

/** Deterministic bytes of length n (compressible data would not matter: identity encoding). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

const CONFIG = enc.encode(JSON.stringify({ model_type: "bert", hidden_size: 4 }));
const VOCAB = enc.encode("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n가\n");
const MODEL = encodeSafetensors([
  { name: "w", dtype: "F32", shape: [3, 5], data: new Float32Array(15).map((_, i) => i / 7) },
  { name: "b", dtype: "F32", shape: [5], data: [1, 2, 3, 4, 5] },
]);

const tmp = await Deno.makeTempDir({ prefix: "download_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
let dirs = 0;
/** A fresh empty target folder two levels below tmp, so escapes are easy to detect. */
const target = () => `${tmp}/t${++dirs}/out`;

/** Runs `fn` with a fresh fake hub and quiet options, then shuts the server down. */
async function withHub(
  fn: (
    hub: FakeHub,
    o: { hfEndpoint: string; progress: false; log: (l: string) => void },
    log: string[],
  ) => Promise<void>,
) {
  const hub = new FakeHub();
  const log: string[] = [];
  try {
    await fn(hub, { hfEndpoint: hub.base, progress: false, log: (l) => log.push(l) }, log);
  } finally {
    await hub.close();
  }
}

async function rejects(p: Promise<unknown>, source: string, fault: RegExp): Promise<DownloadError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DownloadError, String(e));
    assert.equal(e.source, source);
    assert.match(e.fault, fault);
    assert.ok(!e.message.includes("\n"), "one line");
    return e;
  }
  throw new Error("expected a DownloadError");
}

const ls = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("parseSource: hub ids with revisions, korquad-v1, URLs; everything else refused", () => {
  assert.deepEqual(parseSource("bert-base-multilingual-cased"), {
    kind: "hub",
    repo: "bert-base-multilingual-cased",
    revision: "main",
  });
  assert.deepEqual(parseSource("klue/bert-base@v1.0"), {
    kind: "hub",
    repo: "klue/bert-base",
    revision: "v1.0",
  });
  assert.deepEqual(parseSource("sangrimlee/bert-base-multilingual-cased-korquad@refs/pr/1"), {
    kind: "hub",
    repo: "sangrimlee/bert-base-multilingual-cased-korquad",
    revision: "refs/pr/1",
  });
  assert.deepEqual(parseSource("korquad-v1"), { kind: "korquad-v1" });
  assert.deepEqual(parseSource("https://x.org/a/b.json"), {
    kind: "url",
    url: "https://x.org/a/b.json",
  });
  for (const bad of ["", "a/b/c", "../x", "a/..", "-x", "a b", "x@", "x@../main", "a//b"]) {
    assert.throws(() => parseSource(bad), DownloadError, bad);
  }
  for (const bad of ["file:///etc/passwd", "ftp://x/y", "javascript:alert(1)"]) {
    assert.throws(() => parseSource(bad), /only http and https/, bad);
  }
});

Deno.test("safeFileName: plain names pass, anything that could leave the folder is refused", () => {
  assert.equal(
    safeFileName("w/x", "model-00001-of-00002.safetensors"),
    "w/x/model-00001-of-00002.safetensors",
  );
  const bad = [
    "",
    ".",
    "..",
    "../../evil",
    "a/b",
    "a\\b",
    "/abs",
    "\\abs",
    ".hidden",
    "x\0y",
    "C:x",
    "a..b",
    "x\ny",
  ];
  for (const name of bad) {
    assert.throws(() => safeFileName("w/x", name), (e) => {
      assert.ok(e instanceof DownloadError);
      assert.match(e.message, /unsafe file name/);
      assert.ok(!/[\0\n]/.test(e.message), "control characters are escaped");
      return true;
    }, JSON.stringify(name));
  }
});

Deno.test("sha256FromEtag: 64 hex, optionally quoted and W/-prefixed; anything else is no hash", () => {
  const h = "0123456789abcdef".repeat(4);
  assert.equal(sha256FromEtag(h), h);
  assert.equal(sha256FromEtag(`"${h.toUpperCase()}"`), h);
  assert.equal(sha256FromEtag(`W/"${h}"`), h);
  for (const v of [null, undefined, "", `"${"1".repeat(40)}"`, '"5d1f-3a"', `${h}0`]) {
    assert.equal(sha256FromEtag(v), undefined, String(v));
  }
});

Deno.test("hub repo: config, LFS model via a 302 to the CDN, tokenizer files; rerun skips", async () => {
  await withHub(async (hub, o, log) => {
    hub.put("org/tiny", "config.json", { body: CONFIG });
    hub.put("org/tiny", "model.safetensors", { body: MODEL, lfs: true });
    hub.put("org/tiny", "vocab.txt", { body: VOCAB });
    hub.put("org/tiny", "tokenizer_config.json", { body: enc.encode("{}") });
    const to = target();
    const files = await download("org/tiny", to, o);
    assert.deepEqual(files.map((f) => [f.name, f.status, f.verified]), [
      ["config.json", "downloaded", false],
      ["model.safetensors", "downloaded", true],
      ["vocab.txt", "downloaded", false],
      ["tokenizer_config.json", "downloaded", false],
    ]);
    assert.deepEqual(ls(to), [
      "config.json",
      "model.safetensors",
      "tokenizer_config.json",
      "vocab.txt",
    ]);
    assert.deepEqual(await Deno.readFile(`${to}/model.safetensors`), MODEL);
    assert.equal(files[1].sha256, sha(MODEL));
    assert.ok(log.some((l) => l.startsWith("tokenizer.json: not present")));
    assert.ok(hub.paths().includes(`/cdn/${sha(MODEL)}`), "followed the redirect");
    assert.ok(!hub.paths("GET").concat(hub.paths("HEAD")).some((p) => /\.(bin|py|pkl)$/.test(p)));
    const ckpt = await openCheckpoint(to);
    assert.deepEqual([...await ckpt.readFloat32("b")], [1, 2, 3, 4, 5]);
    ckpt.close();

    const again = await download("org/tiny", to, o);
    assert.deepEqual(again.map((f) => [f.status, f.verified]), [
      ["skipped", false],
      ["skipped", true],
      ["skipped", false],
      ["skipped", false],
    ]);

    // No hash is published for small git files, so a changed size is what triggers a refetch.
    const config2 = enc.encode(JSON.stringify({ model_type: "bert", hidden_size: 8, x: 1 }));
    hub.put("org/tiny", "config.json", { body: config2 });
    const third = await download("org/tiny", to, o);
    assert.deepEqual(third.map((f) => f.status), ["downloaded", "skipped", "skipped", "skipped"]);
    assert.deepEqual(await Deno.readFile(`${to}/config.json`), config2);
  });
});

Deno.test("hub repo: revision in the resolve URL; sharded index; W/ etag; tokenizer.json only", async () => {
  await withHub(async (hub, o) => {
    const s1 = encodeSafetensors([{ name: "a", dtype: "F32", shape: [2], data: [1, 2] }]);
    const s2 = encodeSafetensors([{ name: "b", dtype: "F32", shape: [3], data: [3, 4, 5] }]);
    const index = {
      metadata: { total_size: 20 },
      weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" },
    };
    const rev = "refs/pr/7";
    hub.put("org/sharded", "config.json", { body: CONFIG }, rev);
    hub.put("org/sharded", "model.safetensors.index.json", {
      body: enc.encode(JSON.stringify(index)),
    }, rev);
    hub.put("org/sharded", "model-00001-of-00002.safetensors", { body: s1, lfs: true }, rev);
    hub.put("org/sharded", "model-00002-of-00002.safetensors", {
      body: s2,
      lfs: true,
      etag: `W/"${sha(s2).toUpperCase()}"`,
    }, rev);
    hub.put("org/sharded", "tokenizer.json", { body: enc.encode('{"model": {}}') }, rev);
    const to = target();
    const files = await download(`org/sharded@${rev}`, to, o);
    assert.deepEqual(files.map((f) => f.name), [
      "config.json",
      "model.safetensors.index.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "tokenizer.json",
    ]);
    assert.ok(files[2].verified && files[3].verified);
    assert.ok(hub.requests.some((r) => r.path === "/org/sharded/resolve/refs/pr/7/config.json"));
    const ckpt = await openCheckpoint(to);
    assert.deepEqual([...await ckpt.readFloat32("b")], [3, 4, 5]);
    ckpt.close();
  });
});

Deno.test("hub repo: only pytorch_model.bin is refused without fetching it", async () => {
  await withHub(async (hub, o) => {
    hub.put("org/binonly", "config.json", { body: CONFIG });
    hub.put("org/binonly", "pytorch_model.bin", { body: bytes(64, 1), lfs: true });
    hub.put("org/binonly", "vocab.txt", { body: VOCAB });
    const to = target();
    await rejects(
      download("org/binonly", to, o),
      "org/binonly@main",
      /pickle.*safe_serialization=True/,
    );
    assert.ok(!hub.paths("GET").some((p) => p.endsWith(".bin")), "never GET a .bin");
    assert.ok(!ls(to).some((n) => n.includes(".bin")));
  });
});

Deno.test("hub repo: required files missing, and a repo without any tokenizer", async () => {
  await withHub(async (hub, o) => {
    const e = await rejects(
      download("org/nothing", target(), o),
      `${hub.base}/org/nothing/resolve/main/config.json`,
      /not found \(HTTP 404\).*org\/nothing@main/,
    );
    assert.equal(e.status, 404);
    hub.put("org/empty", "config.json", { body: CONFIG });
    await rejects(download("org/empty", target(), o), "org/empty@main", /no model\.safetensors/);
    hub.put("org/notok", "config.json", { body: CONFIG });
    hub.put("org/notok", "model.safetensors", { body: MODEL, lfs: true });
    await rejects(
      download("org/notok", target(), o),
      "org/notok@main",
      /neither tokenizer\.json nor vocab\.txt/,
    );
    hub.put("org/html", "config.json", { body: enc.encode("<html>captive portal</html>") });
    await assert.rejects(download("org/html", target(), o), /config\.json: not valid JSON/);
  });
});

Deno.test("hub repo: hostile shard names in the index are refused before any shard is fetched", async () => {
  for (
    const evil of [
      "../../evil",
      "../../evil.safetensors",
      "/tmp/evil.safetensors",
      "sub/x.safetensors",
      "x.py",
    ]
  ) {
    await withHub(async (hub, o) => {
      const index = { weight_map: { a: "ok.safetensors", b: evil } };
      hub.put("org/evil", "config.json", { body: CONFIG });
      hub.put("org/evil", "model.safetensors.index.json", {
        body: enc.encode(JSON.stringify(index)),
      });
      hub.put("org/evil", "ok.safetensors", { body: MODEL, lfs: true });
      const to = target();
      await rejects(
        download("org/evil", to, o),
        evil,
        /unsafe file name|must end in \.safetensors/,
      );
      assert.deepEqual(hub.paths().map((p) => p.split("/").pop()), [
        "config.json",
        "model.safetensors",
        "model.safetensors.index.json",
      ], "no shard was requested");
      assert.deepEqual(ls(`${to}/..`), ["out"], "nothing written beside the target");
      assert.deepEqual(ls(to), ["config.json", "model.safetensors.index.json"]);
    });
  }
});

Deno.test("a wrong published hash fails and deletes the .part; nothing is renamed into place", async () => {
  await withHub(async (hub, o) => {
    hub.put("org/bad", "config.json", { body: CONFIG });
    hub.put("org/bad", "model.safetensors", { body: MODEL, lfs: true, etag: `"${sha(CONFIG)}"` });
    const to = target();
    await rejects(
      download("org/bad", to, o),
      `${hub.base}/org/bad/resolve/main/model.safetensors`,
      new RegExp(`sha256 mismatch: expected ${sha(CONFIG)}, got ${sha(MODEL)}`),
    );
    assert.deepEqual(ls(to), ["config.json"]);
  });
});

Deno.test("a cut connection keeps the .part; the next run resumes with Range and verifies", async () => {
  await withHub(async (hub, o, log) => {
    const big = bytes(300_000, 7);
    hub.put("org/cut", "config.json", { body: CONFIG });
    hub.put("org/cut", "model.safetensors", { body: big, lfs: true, cutAt: 120_000 });
    hub.put("org/cut", "vocab.txt", { body: VOCAB });
    const to = target();
    await rejects(
      download("org/cut", to, o),
      `${hub.base}/org/cut/resolve/main/model.safetensors`,
      /connection lost.*run the same command again to resume/,
    );
    const partSize = Deno.statSync(`${to}/model.safetensors.part`).size;
    assert.ok(partSize > 0 && partSize <= 120_000, `part holds ${partSize} bytes`);
    assert.deepEqual(ls(to), ["config.json", "model.safetensors.part"]);

    const files = await download("org/cut", to, o);
    const model = files.find((f) => f.name === "model.safetensors")!;
    assert.equal(model.status, "resumed");
    assert.ok(model.verified);
    assert.equal(model.sha256, sha(big));
    assert.deepEqual(await Deno.readFile(`${to}/model.safetensors`), big);
    const cdn = hub.requests.filter((r) => r.path.startsWith("/cdn/") && r.method === "GET");
    assert.deepEqual(cdn.map((r) => r.range), [null, `bytes=${partSize}-`]);
    assert.deepEqual(ls(to), ["config.json", "model.safetensors", "vocab.txt"]);
    assert.ok(log.some((l) => l.includes("(resumed)")));
  });
});

Deno.test("a server that ignores Range restarts the file; a stale .part past the end restarts", async () => {
  await withHub(async (hub, o) => {
    const body = bytes(5000, 3);
    hub.put("org/x", "a.safetensors", { body, lfs: true, noRange: true });
    hub.put("org/x", "b.safetensors", { body, lfs: true });
    const to = target();
    await Deno.mkdir(to, { recursive: true });
    await Deno.writeFile(`${to}/a.safetensors.part`, bytes(1000, 99));
    await Deno.writeFile(`${to}/b.safetensors.part`, bytes(6000, 99));
    for (const n of ["a", "b"]) {
      const f = await downloadFile(
        `${hub.base}/org/x/resolve/main/${n}.safetensors`,
        to,
        `${n}.safetensors`,
        o,
      );
      assert.equal(f?.status, "downloaded");
      assert.ok(f?.verified);
      assert.deepEqual(await Deno.readFile(`${to}/${n}.safetensors`), body);
    }
    assert.deepEqual(ls(to), ["a.safetensors", "b.safetensors"]);
  });
});

Deno.test("direct URLs: saved under the last segment; unsafe names, pickles and bad redirects refused", async () => {
  await withHub(async (hub, o) => {
    hub.files.set("/files/data.txt", { body: VOCAB });
    hub.files.set("/files/model.bin", { body: VOCAB });
    hub.files.set("/files/hop", { body: VOCAB, redirect: "/files/data.txt" });
    hub.files.set("/files/escape", { body: VOCAB, redirect: "file:///etc/passwd" });
    const to = target();
    const [f] = await download(`${hub.base}/files/data.txt`, to, o);
    assert.equal(f.path, `${to}/data.txt`);
    assert.deepEqual(await Deno.readFile(f.path), VOCAB);
    const [g] = await download(`${hub.base}/files/hop`, to, o);
    assert.equal(g.name, "hop");
    await rejects(
      download(`${hub.base}/files/..%2F..%2Fevil`, to, o),
      "../../evil",
      /unsafe file name/,
    );
    await rejects(download(`${hub.base}/files/.bashrc`, to, o), ".bashrc", /unsafe file name/);
    await rejects(download(`${hub.base}/files/`, to, o), `${hub.base}/files/`, /names no file/);
    await rejects(
      download(`${hub.base}/files/model.bin`, to, o),
      `${hub.base}/files/model.bin`,
      /pickle/,
    );
    await rejects(
      download(`${hub.base}/org/x/resolve/main/run.py`, to, o),
      `${hub.base}/org/x/resolve/main/run.py`,
      /code files/,
    );
    await rejects(
      download(`${hub.base}/files/escape`, to, o),
      `${hub.base}/files/escape`,
      /non-http\(s\) URL refused/,
    );
    assert.deepEqual(ls(to), ["data.txt", "hop"]);
    assert.ok(!hub.paths().includes("/files/model.bin"));
  });
});

Deno.test("a stalled connection is abandoned after idleTimeoutMs, keeping the .part", async () => {
  let cancelled = false;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes(1000, 5)); // then nothing more, ever
      },
      cancel() {
        cancelled = true;
      },
    });
    return new Response(body, { headers: { "content-length": "5000" } });
  });
  try {
    const to = target();
    const url = `http://127.0.0.1:${server.addr.port}/slow.dat`;
    await rejects(
      downloadFile(url, to, "slow.dat", { progress: false, log: () => {}, idleTimeoutMs: 300 }),
      url,
      /connection lost after 0\.0 of 0\.0 MB \(no data for 0\.3 s\).*was kept/,
    );
    assert.equal(Deno.statSync(`${to}/slow.dat.part`).size, 1000);
  } finally {
    await shutdown(server);
  }
  assert.ok(cancelled, "the server saw the client go away");
});

Deno.test("HF_TOKEN goes to the hub only, never to the other host it redirects to", async () => {
  await withHub(async (cdn, o) => {
    cdn.files.set("/blob", { body: MODEL });
    await withHub(async (hub) => {
      hub.put("org/private", "model.safetensors", {
        body: MODEL,
        redirect: `${cdn.base}/blob`,
      });
      const f = await downloadFile(
        `${hub.base}/org/private/resolve/main/model.safetensors`,
        target(),
        "model.safetensors",
        { ...o, hfEndpoint: hub.base, hfToken: "s3cret" },
      );
      assert.deepEqual(await Deno.readFile(f!.path), MODEL);
      assert.deepEqual(hub.requests.map((r) => r.auth), ["Bearer s3cret"]);
      assert.deepEqual(cdn.requests.map((r) => r.auth), [null]);
    });
  });
});

Deno.test("no network: one error naming the host and pointing at weights/README.md", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  const base = `http://127.0.0.1:${port}`;
  await rejects(
    download("bert-base-multilingual-cased", target(), {
      hfEndpoint: base,
      progress: false,
      log: () => {},
    }),
    `${base}/bert-base-multilingual-cased/resolve/main/config.json`,
    /cannot reach 127\.0\.0\.1:\d+ .*weights\/README\.md/,
  );
});

Deno.test("korquad-v1: the three official files; the dev file's known sha256 is enforced", async () => {
  await withHub(async (hub, o) => {
    const train = enc.encode('{"version": "KorQuAD_v1.0_train", "data": []}');
    hub.files.set("/dataset/KorQuAD_v1.0_train.json", { body: train });
    hub.files.set("/dataset/KorQuAD_v1.0_dev.json", { body: enc.encode('{"data": []}') });
    hub.files.set("/dataset/evaluate-v1.0.py", { body: enc.encode("print('never run')\n") });
    const opts = { ...o, korquadEndpoint: `${hub.base}/dataset` };
    assert.deepEqual(KORQUAD_V1_FILES.map((f) => f.name), [
      "KorQuAD_v1.0_train.json",
      "KorQuAD_v1.0_dev.json",
      "evaluate-v1.0.py",
    ]);
    const to = target();
    await rejects(
      download("korquad-v1", to, opts),
      `${hub.base}/dataset/KorQuAD_v1.0_dev.json`,
      /sha256 mismatch: expected 25ffeb51/,
    );
    assert.deepEqual(ls(to), ["KorQuAD_v1.0_train.json"]);

    if (!hasData("korquad/KorQuAD_v1.0_dev.json")) return;
    const dev = await Deno.readFile(new URL("korquad/KorQuAD_v1.0_dev.json", SHARED));
    hub.files.set("/dataset/KorQuAD_v1.0_dev.json", { body: dev });
    const files = await download("korquad-v1", to, opts);
    assert.deepEqual(files.map((f) => [f.name, f.status, f.verified]), [
      ["KorQuAD_v1.0_train.json", "skipped", false],
      ["KorQuAD_v1.0_dev.json", "downloaded", true],
      ["evaluate-v1.0.py", "downloaded", false],
    ]);
    // Known hash and a complete file: skipped without asking the server.
    const before = hub.requests.length;
    const dl = await downloadFile(
      `${hub.base}/dataset/KorQuAD_v1.0_dev.json`,
      to,
      "KorQuAD_v1.0_dev.json",
      {
        ...opts,
        sha256: KORQUAD_V1_FILES[1].sha256,
      },
    );
    assert.equal(dl?.status, "skipped");
    assert.equal(hub.requests.length, before);
  });
});

// klue/roberta-{small,base,large} as the hub holds them on main: config.json,
// pytorch_model.bin (no safetensors), tokenizer.json, vocab.txt, tokenizer_config.json and
// special_tokens_map.json. The pickle is refused; a safetensors conversion at another
// revision downloads with all four tokenizer files, and the folder loads as KLUE's tokenizer.
Deno.test("klue/roberta-*: main's pickle is refused; a conversion brings every tokenizer file", async () => {
  const klue = (f: string) => Deno.readFileSync(fixture(`klue/${f}`));
  const saved = await Deno.makeTempDir({ dir: tmp });
  const tok = await loadTokenizerDir(fixture("klue/tokenizer"));
  await tok.save(saved);
  const tokenizerFiles: [string, Uint8Array][] = [
    ["tokenizer.json", Deno.readFileSync(`${saved}/tokenizer.json`)],
    ["vocab.txt", klue("tokenizer/vocab.txt")],
    ["tokenizer_config.json", klue("tokenizer/tokenizer_config.json")],
    ["special_tokens_map.json", klue("tokenizer/special_tokens_map.json")],
  ];
  for (const size of ["small", "base", "large"]) {
    await withHub(async (hub, o) => {
      const repo = `klue/roberta-${size}`;
      const put = (name: string, body: Uint8Array, rev: string, lfs = false) =>
        hub.put(repo, name, { body, lfs }, rev);
      for (const rev of ["main", "refs/pr/1"]) {
        put("config.json", klue(`roberta-${size}/config.json`), rev);
        put("pytorch_model.bin", bytes(64, 2), rev, true);
        for (const [name, body] of tokenizerFiles) put(name, body, rev);
      }
      put("model.safetensors", MODEL, "refs/pr/1", true);
      await rejects(download(repo, target(), o), `${repo}@main`, /pickle/);

      const to = target();
      const files = await download(`${repo}@refs/pr/1`, to, o);
      assert.deepEqual(files.map((f) => f.name), [
        "config.json",
        "model.safetensors",
        ...tokenizerFiles.map(([n]) => n),
      ]);
      assert.ok(!hub.paths("GET").some((p) => p.endsWith(".bin")), "never GET a .bin");
      const got = await loadTokenizerDir(to);
      assert.deepEqual([got.clsId, got.padId, got.sepId, got.unkId], [0, 1, 2, 3]);
      assert.equal((await got.encode("[MASK]", { addSpecialTokens: false })).ids[0], 4);
    });
  }
});
