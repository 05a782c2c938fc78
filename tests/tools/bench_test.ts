// Smoke test of `deno task bench`: the quick run finishes and its JSON has every key, each
// number positive (or non-negative for counts and differences) or null. Never asserts speed.

import assert from "node:assert/strict";
import { runDeno } from "../_data.ts";

const REQUIRED = [
  "matmul_1024_gflops",
  "tfjs_matmul_1024_gflops",
  "matmul_f16_1024_gflops",
  "layer_fwd_bwd_ms",
  "tfjs_layer_fwd_bwd_ms",
  "tiny_train_tokens_per_s",
  "torch_tiny_train_tokens_per_s",
  "peak_train_bytes_base",
];
// Measurements of ours that must succeed on any adapter (tfjs and torch may be absent).
const OURS = [
  "matmul_1024_gflops",
  "layer_fwd_bwd_ms",
  "tiny_train_tokens_per_s",
  "peak_train_bytes_base",
];

function numbers(v: unknown, path: string, out: [string, number][]): void {
  if (typeof v === "number") out.push([path, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => numbers(x, `${path}[${i}]`, out));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) numbers(x, `${path}.${k}`, out);
  }
}

Deno.test("bench --quick --json ends with a JSON line of positive-or-null measurements", async () => {
  const script = new URL("../../tools/bench.ts", import.meta.url).pathname;
  // As `deno task bench`: tfjs is pinned in the bench's own lockfile, not the root one.
  const config = new URL("../../tools/bench/deno.json", import.meta.url).pathname;
  // Generous: the quick run takes about a minute on a busy 2-core software adapter.
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 600_000);
  const { code, stdout, stderr } = await runDeno(
    ["run", "-A", "--config", config, script, "--quick", "--json"],
    { signal: ac.signal },
  ).finally(() => clearTimeout(timer));
  assert.equal(code, 0, stderr);
  const j = JSON.parse(stdout.trim().split("\n").at(-1)!);
  assert.equal(j.quick, true);
  assert.equal(typeof j.adapter?.name, "string");
  assert.equal(typeof j.adapter?.backend, "string");
  for (const k of REQUIRED) {
    assert.ok(k in j, `missing key ${k}`);
    assert.ok(j[k] === null || (typeof j[k] === "number" && j[k] > 0), `${k} = ${j[k]}`);
  }
  for (const k of OURS) {
    assert.ok(j[k] > 0, `${k} = ${j[k]}; errors: ${JSON.stringify(j.errors)}`);
  }
  for (const s of ["128", "384", "512"]) {
    assert.ok(j.attention_extra_bytes[s] > 0, `attention ${s}`);
  }
  assert.ok(j.live.live_bytes_last > 0);
  const all: [string, number][] = [];
  numbers(j, "", all);
  for (const [path, v] of all) assert.ok(Number.isFinite(v) && v >= 0, `${path} = ${v}`);
  // A tfjs or torch null must say why.
  if (j.tfjs_matmul_1024_gflops === null) assert.equal(typeof j.tfjs.error, "string");
  // The f16 matmul is measured exactly where the adapter has shader-f16.
  const hasF16 = j.matmul_f16?.error === undefined;
  assert.equal(j.matmul_f16_1024_gflops !== null, hasF16, JSON.stringify(j.matmul_f16));
  if (j.torch_tiny_train_tokens_per_s === null) assert.equal(typeof j.torch.error, "string");
});
