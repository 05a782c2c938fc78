// `deno task bench [--json] [--quick] [--skip-tfjs] [--skip-torch]`: this framework next to
// TensorFlow.js WebGPU (same adapter) and a PyTorch CPU step, each timed the same way: warm-up,
// then the median of N runs that each end when the work has completed. Also the buffer pool's
// memory counters. A readable report goes to stdout, progress to stderr, and with --json a
// final JSON line.

import { initGpu } from "../src/gpu/device.ts";
import { flops, LAYER, layerParams, MATMUL_SHAPES, SIZES } from "./bench/spec.ts";
import {
  attentionMemory,
  layerFwdBwd,
  liveBytes,
  type LoraSetup,
  matmulTime,
  memory,
  trainTime,
} from "./bench/ours.ts";
import { closeTfjs, loadTfjs, tfLayerFwdBwd, tfMatmulTime } from "./bench/tfjs.ts";
import { torchSteps } from "./bench/torch.ts";
import { reason } from "./bench/timing.ts";
import { type BenchResult, formatReport, type MatmulResult } from "./bench/report.ts";

const FLAGS = ["--json", "--quick", "--skip-tfjs", "--skip-torch"];
const args = new Set(Deno.args);
for (const a of args) {
  if (!FLAGS.includes(a)) {
    console.error(`bench: unknown flag ${a} (flags: ${FLAGS.join(" ")})`);
    Deno.exit(2);
  }
}
const quick = args.has("--quick");
type Runs = [warmup: number, n: number];
// --quick (the CI smoke test) keeps the compared shapes but times fewer runs, skips
// BERT-mini, and measures BERT-base memory with 1 layer at batch 1.
const RUNS = {
  matmul: (quick ? [1, 2] : [2, 7]) as Runs,
  layer: (quick ? [0, 1] : [1, 5]) as Runs,
  tiny: (quick ? [1, 1] : [2, 5]) as Runs,
  mini: (quick ? null : [1, 3]) as Runs | null,
  live: quick ? 5 : 100,
  base: quick ? { layers: 1, batch: 1 } : { layers: 12, batch: 8 },
};
const TRAIN = { batch: 8, seq: 384 };
const LIVE = { batch: 8, seq: 128 };
const ATTN_SEQS = [128, 384, 512];

const round = (x: number | null | undefined, d = 1) => (x == null ? null : +x.toFixed(d));
const errors: Record<string, string> = {};

/** Runs one measurement; a failure is recorded in `errors` and yields null. */
async function section<R>(name: string, f: () => Promise<R>): Promise<R | null> {
  console.error(`bench: ${name}`);
  try {
    return await f();
  } catch (e) {
    errors[name] = reason(e);
    console.error(`bench: ${name} failed: ${errors[name]}`);
    return null;
  }
}

const { info } = await initGpu();

// TensorFlow.js runs first and releases its device before the memory-hungry parts.
const tfjs = args.has("--skip-tfjs") ? { error: "skipped (--skip-tfjs)" } : await loadTfjs();
const tf = "tf" in tfjs ? tfjs.tf : null;

const matmul: Record<string, MatmulResult> = {};
for (const s of MATMUL_SHAPES) {
  const [w, n] = RUNS.matmul;
  const ours = await section(`matmul ${s.label}`, () => matmulTime(s, w, n));
  const theirs = tf
    ? await section(`tfjs matmul ${s.label}`, () => tfMatmulTime(tf, s, w, n))
    : null;
  matmul[s.key] = {
    shape: [s.batch, s.M, s.K, s.N],
    ours_ms: round(ours?.ms, 2),
    ours_gflops: ours ? round(flops(s) / ours.ms / 1e6, 2) : null,
    tfjs_ms: round(theirs?.ms, 2),
    tfjs_gflops: round(theirs?.gflops, 2),
  };
}

// The f16 path (operands rounded to f16, f32 sums) at 1024³; null where shader-f16 is absent.
const hasF16 = info.features.includes("shader-f16");
const f16Shape = MATMUL_SHAPES.find((s) => s.key === "1024")!;
const f16 = hasF16
  ? await section(
    `matmul f16 ${f16Shape.label}`,
    () => matmulTime(f16Shape, RUNS.matmul[0], RUNS.matmul[1], "f16"),
  )
  : null;

const [lw, ln] = RUNS.layer;
const layer = await section("BERT-base layer fwd+bwd", () => layerFwdBwd(lw, ln));
const tfLayer = tf && layer
  ? await section(
    "tfjs BERT-base layer fwd+bwd",
    () => tfLayerFwdBwd(tf, layer.weights, layer.x, layer.r, layer.y, lw, ln),
  )
  : null;
if (tf) closeTfjs(tf);

const trainRuns = [{ name: "tiny", size: SIZES.tiny, runs: RUNS.tiny }];
if (RUNS.mini) trainRuns.push({ name: "mini", size: SIZES.mini, runs: RUNS.mini });
const ours: Record<string, Awaited<ReturnType<typeof trainTime>> | null> = {};
for (const { name, size, runs } of trainRuns) {
  ours[name] = await section(
    `BERT-${name} train step`,
    () => trainTime(size, TRAIN.batch, TRAIN.seq, runs[0], runs[1]),
  );
}
const torchName = "PyTorch CPU train steps";
const torch = args.has("--skip-torch") ? { error: "skipped (--skip-torch)" } : (await section(
  torchName,
  () => torchSteps(trainRuns.map((r) => ({ ...r, ...TRAIN, warmup: r.runs[0], n: r.runs[1] }))),
)) ?? { error: errors[torchName] };

/**
 * BERT-base memory. A software adapter allocates host RAM, where running out kills the
 * process rather than failing an allocation: there a 1-layer, batch-1 probe is scaled up
 * first, and the full step is skipped, with the reason, if it would not fit.
 */
async function baseMemory(lora: LoraSetup | null = null): ReturnType<typeof memory> {
  const { layers, batch } = RUNS.base;
  if (info.isFallback && layers * batch > 1) {
    const probe = await memory(1, 1, TRAIN.seq, SIZES.base);
    if ("error" in probe) return probe;
    const params = probe.params + (layers - 1) * layerParams(SIZES.base);
    const state = (probe.param_bytes + probe.grad_bytes + probe.optimizer_bytes) *
      (params / probe.params);
    const need = state + probe.activation_bytes * layers * batch;
    const free = Deno.systemMemoryInfo().available;
    if (need > 0.9 * free) {
      const gib = (b: number) => (b / 2 ** 30).toFixed(1);
      return {
        error: `not run: one step needs about ${gib(need)} GiB of host memory on this software ` +
          `adapter, ${gib(free)} GiB available`,
      };
    }
  }
  return await memory(layers, batch, TRAIN.seq, SIZES.base, lora);
}
const memName = `BERT-base memory (${RUNS.base.layers} layers, batch ${RUNS.base.batch})`;
const mem = await section(memName, baseMemory);
if (mem && "error" in mem) errors[memName] = mem.error;
const memOk = mem && !("error" in mem) ? mem : null;
// The same step with LoRA as PEFT sets it up for BERT QA: r 8 on query and value, the head
// trained in full; gradients and AdamW moments for those parameters only.
const LORA: LoraSetup = { r: 8, alpha: 8, targets: ["query", "value"] };
const loraName = `${memName} with LoRA (r ${LORA.r}, ${LORA.targets.join(",")})`;
const memLora = await section(loraName, () => baseMemory(LORA));
if (memLora && "error" in memLora) errors[loraName] = memLora.error;
const memLoraOk = memLora && !("error" in memLora) ? memLora : null;

// The fused flash kernel's extra memory is O(S); the unfused path stores [A, S, S] scores.
const attn: Record<string, number | null> = {};
const attnUnfused: Record<string, number | null> = {};
for (const s of ATTN_SEQS) {
  attn[s] = await section(`attention memory seq ${s}`, () => attentionMemory(s, "fused"));
  attnUnfused[s] = await section(
    `unfused attention memory seq ${s}`,
    () => attentionMemory(s, "unfused"),
  );
}

const live = await section(
  `live bytes over ${RUNS.live} BERT-tiny steps`,
  () => liveBytes(SIZES.tiny, RUNS.live, LIVE.batch, LIVE.seq),
);

const result: BenchResult = {
  adapter: { name: info.name, backend: info.backend, fallback: info.isFallback },
  quick,
  runs: RUNS,
  tfjs: "tf" in tfjs ? { version: tfjs.version, backend: "webgpu" } : { error: tfjs.error },
  torch: "runs" in torch
    ? { version: torch.version, threads: torch.threads, device: "cpu" }
    : { error: torch.error },
  matmul,
  matmul_1024_gflops: matmul["1024"].ours_gflops,
  tfjs_matmul_1024_gflops: matmul["1024"].tfjs_gflops,
  matmul_f16_1024_gflops: f16 ? round(flops(f16Shape) / f16.ms / 1e6, 2) : null,
  matmul_f16: hasF16 ? { precision: "f16 operands, f32 accumulation" } : {
    error: `not run: ${info.name} lacks shader-f16`,
  },
  layer: { ...LAYER, dropout: false, gelu: "erf", loss: "sum(layer(x) * R)" },
  layer_fwd_bwd_ms: round(layer?.timing.ms),
  tfjs_layer_fwd_bwd_ms: round(tfLayer?.timing.ms),
  tfjs_layer_max_abs_diff: tfLayer ? +tfLayer.maxAbsDiff.toExponential(2) : null,
  train: { ...TRAIN, optimizer: "AdamW", clip: 1.0, dropout: 0.1 },
  memory_base: memOk ?? { ...RUNS.base, error: errors[memName] ?? null },
  peak_train_bytes_base: memOk?.train_peak_bytes ?? null,
  memory_base_lora: memLoraOk ?? { ...RUNS.base, error: errors[loraName] ?? null },
  peak_train_bytes_base_lora: memLoraOk?.train_peak_bytes ?? null,
  peak_infer_bytes_base: memOk?.infer_peak_bytes ?? null,
  attention: { batch: 1, hidden: LAYER.hidden, heads: LAYER.heads, training: true },
  attention_extra_bytes: attn,
  attention_unfused_extra_bytes: attnUnfused,
  live,
  errors,
};
for (const name of ["tiny", "mini"]) {
  const o = ours[name] ?? null;
  const ref = "runs" in torch ? torch.runs[name] ?? null : null;
  result[`${name}_params`] = o?.params ?? null;
  result[`${name}_train_step_ms`] = round(o?.timing.ms);
  result[`${name}_train_tokens_per_s`] = round(o?.tokensPerS);
  result[`torch_${name}_train_step_ms`] = round(ref?.step_ms);
  result[`torch_${name}_train_tokens_per_s`] = round(ref?.tokens_per_s);
  result[`${name}_vs_torch`] = o && ref ? round(o.tokensPerS / ref.tokens_per_s, 3) : null;
}

console.log(formatReport(result));
if (args.has("--json")) console.log(JSON.stringify(result));
