// The readable report, made from the same object as the JSON line so that the two agree.

import type { LiveReport, MemoryReport } from "./ours.ts";
import { MATMUL_SHAPES } from "./spec.ts";

/** One matmul shape's results. */
export interface MatmulResult {
  shape: number[];
  ours_ms: number | null;
  ours_gflops: number | null;
  tfjs_ms: number | null;
  tfjs_gflops: number | null;
}

/** The fields of the bench's JSON line that the report reads. */
export interface BenchResult {
  adapter: { name: string; backend: string; fallback: boolean };
  quick: boolean;
  tfjs: { version?: string; backend?: string; error?: string };
  torch: { version?: string; threads?: number; device?: string; error?: string };
  matmul: Record<string, MatmulResult>;
  layer_fwd_bwd_ms: number | null;
  tfjs_layer_fwd_bwd_ms: number | null;
  tfjs_layer_max_abs_diff: number | null;
  memory_base: MemoryReport | { layers: number; batch: number; error: string | null };
  memory_base_lora?: MemoryReport | { layers: number; batch: number; error: string | null };
  attention_extra_bytes: Record<string, number | null>;
  live: LiveReport | null;
  errors: Record<string, string>;
  [key: string]: unknown;
}

const mib = (b: number | null | undefined) => (b == null ? "-" : `${(b / 2 ** 20).toFixed(1)} MiB`);
const cell = (x: unknown) => (typeof x === "number" ? String(x) : "-");
const ratio = (a: unknown, b: unknown) =>
  typeof a === "number" && typeof b === "number" && b > 0 ? (a / b).toFixed(2) : "-";

/** The comparison table, then memory and counters, then what failed or was skipped. */
export function formatReport(r: BenchResult): string {
  const rows: string[][] = [["measurement", "ours", "tfjs-webgpu / torch-cpu", "ratio"]];
  for (const s of MATMUL_SHAPES) {
    const m = r.matmul[s.key];
    rows.push([
      `matmul ${s.label} GFLOP/s`,
      cell(m.ours_gflops),
      cell(m.tfjs_gflops),
      ratio(m.ours_gflops, m.tfjs_gflops),
    ]);
  }
  rows.push([
    "matmul 1024x1024 · 1024x1024 f16 GFLOP/s",
    cell(r.matmul_f16_1024_gflops),
    "-",
    "-",
  ]);
  rows.push([
    "BERT-base layer fwd+bwd ms",
    cell(r.layer_fwd_bwd_ms),
    cell(r.tfjs_layer_fwd_bwd_ms),
    ratio(r.tfjs_layer_fwd_bwd_ms, r.layer_fwd_bwd_ms),
  ]);
  for (const n of ["tiny", "mini"]) {
    const ours = r[`${n}_train_tokens_per_s`], torch = r[`torch_${n}_train_tokens_per_s`];
    rows.push([`BERT-${n} train tokens/s`, cell(ours), cell(torch), ratio(ours, torch)]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = [
    `adapter: ${r.adapter.name} (backend ${r.adapter.backend})${r.quick ? "  [--quick]" : ""}`,
  ];
  for (const row of rows) {
    lines.push(row.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  "));
  }
  lines.push("ratio: ours/tfjs GFLOP/s, tfjs/ours ms, ours/torch tokens/s (above 1: ours faster)");
  if (r.tfjs_layer_max_abs_diff != null) {
    lines.push(`layer output, ours vs tfjs: max |diff| ${r.tfjs_layer_max_abs_diff}`);
  }
  const m = r.memory_base;
  if ("train_peak_bytes" in m) {
    const what =
      `BERT-base (${m.layers} layers, ${m.params} params), batch ${m.batch}, seq ${m.seq}`;
    const trainS = (m.train_step_ms / 1000).toFixed(1), inferS = (m.infer_ms / 1000).toFixed(1);
    lines.push(
      `${what}, one training step (${trainS} s): peak ${mib(m.train_peak_bytes)}` +
        ` = params ${mib(m.param_bytes)} + grads ${mib(m.grad_bytes)}` +
        ` + AdamW ${mib(m.optimizer_bytes)} + activations ${mib(m.activation_bytes)}`,
      `${what}, inference (${inferS} s): peak ${mib(m.infer_peak_bytes)}` +
        ` = params ${mib(m.param_bytes)} + activations ${mib(m.infer_activation_bytes)}`,
    );
  }
  const ml = r.memory_base_lora;
  if (ml && "train_peak_bytes" in ml && ml.lora) {
    const pct = (100 * ml.trainable_params / ml.params).toFixed(2);
    lines.push(
      `  with LoRA (r ${ml.lora.r} on ${ml.lora.targets.join(",")}; ${ml.trainable_params} of ` +
        `${ml.params} params trainable, ${pct}%), one training step ` +
        `(${(ml.train_step_ms / 1000).toFixed(1)} s): peak ${mib(ml.train_peak_bytes)}` +
        ` = params ${mib(ml.param_bytes)} + grads ${mib(ml.grad_bytes)}` +
        ` + AdamW ${mib(ml.optimizer_bytes)} + activations ${mib(ml.activation_bytes)}`,
    );
  }
  const attn = Object.entries(r.attention_extra_bytes).map(([s, b]) => `seq ${s} ${mib(b)}`);
  lines.push(`self-attention fwd+bwd extra peak (batch 1, 12 heads): ${attn.join(", ")}`);
  const l = r.live;
  if (l) {
    const staging = l.staging_created_after_step1 == null
      ? ""
      : ` (+${l.staging_created_after_step1} upload staging)`;
    const [first, last, max] = [l.live_bytes_first, l.live_bytes_last, l.live_bytes_max].map(mib);
    const perStep = `${l.submits_per_step.toFixed(1)} submits, ${l.launches_per_step} launches`;
    lines.push(
      `BERT-tiny, ${l.steps} steps at batch ${l.batch}, seq ${l.seq}: live bytes ${first} first,` +
        ` ${last} last, ${max} max; ${l.buffers_created_after_step1} buffers created after` +
        ` step 1${staging}; ${perStep} per step`,
    );
  }
  for (const [k, v] of Object.entries(r.errors)) lines.push(`failed: ${k}: ${v}`);
  const f16 = r.matmul_f16 as { error?: string } | undefined;
  if (f16?.error) lines.push(`matmul f16: null (${f16.error})`);
  if (r.tfjs.error) lines.push(`tfjs: null (${r.tfjs.error})`);
  if (r.torch.error) lines.push(`torch: null (${r.torch.error})`);
  if (r.quick) lines.push("BERT-mini: skipped (--quick)");
  return lines.join("\n");
}
