// `deno task bench [--json] [--quick] [--skip-tfjs] [--skip-torch]`: this framework next to
// TensorFlow.js WebGPU (same adapter) and a PyTorch CPU step, each timed the same way: warm-up,
// then the median of N runs that each end when the work has completed. Also the buffer pool's
// memory counters. A readable table goes to stdout, progress to stderr, and with --json a
// final JSON line.

import { initGpu } from "../src/gpu/device.ts";
import { flops, LAYER, MATMUL_SHAPES, SIZES } from "./bench/spec.ts";
import {
  attentionMemory,
  layerFwdBwd,
  liveBytes,
  matmulTime,
  memory,
  type MemoryReport,
  trainTime,
} from "./bench/ours.ts";
import { closeTfjs, loadTfjs, tfLayerFwdBwd, tfMatmulTime } from "./bench/tfjs.ts";
import { torchSteps } from "./bench/torch.ts";
import { reason } from "./bench/timing.ts";

const args = new Set(Deno.args);
for (const a of args) {
  if (!["--json", "--quick", "--skip-tfjs", "--skip-torch"].includes(a)) {
    console.error(`bench: unknown flag ${a} (flags: --json --quick --skip-tfjs --skip-torch)`);
    Deno.exit(2);
  }
}
const quick = args.has("--quick");
// [warm-up, N] per timing. --quick (the CI smoke test) keeps the compared shapes but times
// fewer runs, skips BERT-mini, and measures BERT-base memory on 1 layer at batch 1.
type Runs = [number, number];
const RUNS: {
  matmul: Runs;
  layer: Runs;
  tiny: Runs;
  mini: Runs | null;
  live: number;
  base: { layers: number; batch: number };
} = quick
  ? {
    matmul: [1, 2],
    layer: [0, 1],
    tiny: [1, 1],
    mini: null,
    live: 5,
    base: { layers: 1, batch: 1 },
  }
  : {
    matmul: [2, 7],
    layer: [1, 5],
    tiny: [2, 5],
    mini: [1, 3],
    live: 100,
    base: { layers: 12, batch: 8 },
  };
const TRAIN = { batch: 8, seq: 384 };
const LIVE = { batch: 8, seq: 128 };
const ATTN_SEQS = [128, 384, 512];

const log = (msg: string) => console.error(`bench: ${msg}`);
const r1 = (x: number | null | undefined, d = 1) => (x == null ? null : +x.toFixed(d));
const errors: Record<string, string> = {};
const result: Record<string, unknown> = {};

async function section<R>(name: string, f: () => Promise<R>): Promise<R | null> {
  log(name);
  try {
    return await f();
  } catch (e) {
    errors[name] = reason(e);
    log(`${name} failed: ${errors[name]}`);
    return null;
  }
}

const { info } = await initGpu();
result.adapter = { name: info.name, backend: info.backend, fallback: info.isFallback };
result.quick = quick;
result.runs = RUNS;

// --- TensorFlow.js ---
const tfjs = args.has("--skip-tfjs") ? { error: "skipped (--skip-tfjs)" } : await loadTfjs();
const tf = "tf" in tfjs ? tfjs.tf : null;
result.tfjs = "tf" in tfjs ? { version: tfjs.version, backend: "webgpu" } : { error: tfjs.error };

// --- matmul ---
const matmul: Record<string, Record<string, unknown>> = {};
for (const s of MATMUL_SHAPES) {
  const ours = await section(
    `matmul ${s.label}`,
    () => matmulTime(s, RUNS.matmul[0], RUNS.matmul[1]),
  );
  const theirs = tf
    ? await section(
      `tfjs matmul ${s.label}`,
      () => tfMatmulTime(tf, s, RUNS.matmul[0], RUNS.matmul[1]),
    )
    : null;
  matmul[s.key] = {
    shape: [s.batch, s.M, s.K, s.N],
    ours_ms: r1(ours?.ms, 2),
    ours_gflops: ours ? r1(flops(s) / ours.ms / 1e6, 2) : null,
    tfjs_ms: r1(theirs?.ms, 2),
    tfjs_gflops: r1(theirs?.gflops, 2),
  };
}
result.matmul = matmul;
result.matmul_1024_gflops = matmul["1024"].ours_gflops;
result.tfjs_matmul_1024_gflops = matmul["1024"].tfjs_gflops;

// --- one BERT-base layer, forward + backward ---
const layer = await section(
  "BERT-base layer fwd+bwd",
  () => layerFwdBwd(RUNS.layer[0], RUNS.layer[1]),
);
const tfLayer = tf && layer
  ? await section(
    "tfjs BERT-base layer fwd+bwd",
    () => tfLayerFwdBwd(tf, layer.weights, layer.x, layer.r, layer.y, RUNS.layer[0], RUNS.layer[1]),
  )
  : null;
result.layer = { ...LAYER, dropout: false, gelu: "erf", loss: "sum(layer(x) * R)" };
result.layer_fwd_bwd_ms = r1(layer?.timing.ms);
result.tfjs_layer_fwd_bwd_ms = r1(tfLayer?.timing.ms);
result.tfjs_layer_max_abs_diff = tfLayer ? +tfLayer.maxAbsDiff.toExponential(2) : null;
if (tf) closeTfjs(tf);

// --- training steps, ours and PyTorch CPU ---
const tiny = await section(
  "BERT-tiny train step",
  () => trainTime(SIZES.tiny, TRAIN.batch, TRAIN.seq, RUNS.tiny[0], RUNS.tiny[1]),
);
const miniRuns = RUNS.mini;
const mini = miniRuns
  ? await section(
    "BERT-mini train step",
    () => trainTime(SIZES.mini, TRAIN.batch, TRAIN.seq, miniRuns[0], miniRuns[1]),
  )
  : null;
const torch = args.has("--skip-torch")
  ? { error: "skipped (--skip-torch)" }
  : (await section("PyTorch CPU train steps", () =>
    torchSteps([
      { name: "tiny", size: SIZES.tiny, ...TRAIN, warmup: RUNS.tiny[0], n: RUNS.tiny[1] },
      ...(miniRuns
        ? [{ name: "mini", size: SIZES.mini, ...TRAIN, warmup: miniRuns[0], n: miniRuns[1] }]
        : []),
    ]))) ?? { error: errors["PyTorch CPU train steps"] };
result.torch = "runs" in torch
  ? { version: torch.version, threads: torch.threads, device: "cpu" }
  : { error: torch.error };
result.train = { ...TRAIN, optimizer: "AdamW", clip: 1.0, dropout: 0.1 };
for (const [name, ours] of [["tiny", tiny], ["mini", mini]] as const) {
  const ref = "runs" in torch ? torch.runs[name] ?? null : null;
  result[`${name}_params`] = ours?.params ?? null;
  result[`${name}_train_step_ms`] = r1(ours?.timing.ms);
  result[`${name}_train_tokens_per_s`] = r1(ours?.tokensPerS);
  result[`torch_${name}_train_step_ms`] = r1(ref?.step_ms);
  result[`torch_${name}_train_tokens_per_s`] = r1(ref?.tokens_per_s);
  result[`${name}_vs_torch`] = ours && ref ? r1(ours.tokensPerS / ref.tokens_per_s, 3) : null;
}

// --- memory ---
const memName = `BERT-base memory (${RUNS.base.layers} layers, batch ${RUNS.base.batch})`;
const mem = await section(
  memName,
  () => memory(RUNS.base.layers, RUNS.base.batch, TRAIN.seq, SIZES.base),
);
const memErr = mem && "error" in mem ? mem.error : null;
if (memErr) errors[memName] = memErr;
const memOk = mem && !("error" in mem) ? mem as MemoryReport : null;
result.memory_base = memOk ?? { ...RUNS.base, error: memErr ?? errors[memName] };
result.peak_train_bytes_base = memOk?.train_peak_bytes ?? null;
result.peak_infer_bytes_base = memOk?.infer_peak_bytes ?? null;

const attn: Record<string, number | null> = {};
for (const s of ATTN_SEQS) {
  attn[s] = await section(`attention memory seq ${s}`, () => attentionMemory(s));
}
result.attention_extra_bytes = attn;
result.attention = { batch: 1, hidden: LAYER.hidden, heads: LAYER.heads, training: true };

const live = await section(
  `live bytes over ${RUNS.live} BERT-tiny steps`,
  () => liveBytes(SIZES.tiny, RUNS.live, LIVE.batch, LIVE.seq),
);
result.live = live;
result.errors = errors;

// --- report ---
const mb = (b: unknown) => (typeof b === "number" ? `${(b / 2 ** 20).toFixed(1)} MiB` : "-");
const num = (x: unknown, unit = "") => (typeof x === "number" ? `${x}${unit}` : "-");
const rows: string[][] = [];
const out = (...cells: unknown[]) => rows.push(cells.map((c) => String(c ?? "-")));
out("measurement", "ours", "tfjs-webgpu / torch-cpu", "ratio");
for (const s of MATMUL_SHAPES) {
  const m = matmul[s.key];
  const ratio = typeof m.ours_gflops === "number" && typeof m.tfjs_gflops === "number"
    ? (m.ours_gflops / m.tfjs_gflops).toFixed(2)
    : "-";
  out(`matmul ${s.label} GFLOP/s`, num(m.ours_gflops), num(m.tfjs_gflops), ratio);
}
const lr = layer && tfLayer ? (tfLayer.timing.ms / layer.timing.ms).toFixed(2) : "-";
out(
  "BERT-base layer fwd+bwd ms",
  num(result.layer_fwd_bwd_ms),
  num(result.tfjs_layer_fwd_bwd_ms),
  lr,
);
for (const n of ["tiny", "mini"]) {
  out(
    `BERT-${n} train tokens/s`,
    num(result[`${n}_train_tokens_per_s`]),
    num(result[`torch_${n}_train_tokens_per_s`]),
    num(result[`${n}_vs_torch`]),
  );
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const print = (r: string[]) =>
  console.log(r.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  "));
console.log(`adapter: ${info.name} (backend ${info.backend})${quick ? "  [--quick]" : ""}`);
print(rows[0]);
rows.slice(1).forEach(print);
if (tfLayer) {
  console.log(`layer outputs, ours vs tfjs: max |diff| ${tfLayer.maxAbsDiff.toExponential(2)}`);
}
console.log("ratio: ours/tfjs GFLOP/s, tfjs/ours ms, ours/torch tokens/s (above 1: ours faster)");
if (memOk) {
  const m = memOk;
  console.log(
    `BERT-base (${m.layers} layers, ${m.params} params) training step, batch ${m.batch}, seq ${m.seq}: ` +
      `peak ${mb(m.train_peak_bytes)} = params ${mb(m.param_bytes)} + grads ${
        mb(m.grad_bytes)
      } + ` +
      `AdamW ${mb(m.optimizer_bytes)} + activations ${mb(m.activation_bytes)} (${
        (m.train_step_ms / 1000).toFixed(1)
      } s)`,
  );
  console.log(
    `BERT-base inference, batch ${m.batch}, seq ${m.seq}: peak ${
      mb(m.infer_peak_bytes)
    } = params ` +
      `${mb(m.param_bytes)} + activations ${mb(m.infer_activation_bytes)} (${
        (m.infer_ms / 1000).toFixed(1)
      } s)`,
  );
}
console.log(
  `attention fwd+bwd extra peak (batch 1, 12 heads): ` +
    ATTN_SEQS.map((s) => `seq ${s} ${mb(attn[s])}`).join(", "),
);
if (live) {
  console.log(
    `BERT-tiny ${live.steps} steps (batch ${live.batch}, seq ${live.seq}): live ${
      mb(live.live_bytes_first)
    } ` +
      `first, ${mb(live.live_bytes_last)} last, ${mb(live.live_bytes_max)} max; ` +
      `${live.buffers_created_after_step1} buffers created after step 1; ` +
      `${live.submits_per_step.toFixed(1)} submits, ${
        live.launches_per_step.toFixed(0)
      } launches per step`,
  );
}
for (const [k, v] of Object.entries(errors)) console.log(`failed: ${k}: ${v}`);
if (!miniRuns) console.log("BERT-mini: skipped (--quick)");
if ("error" in tfjs) console.log(`tfjs: null (${tfjs.error})`);
if ("error" in torch) console.log(`torch: null (${torch.error})`);
if (args.has("--json")) console.log(JSON.stringify(result));
