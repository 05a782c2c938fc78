// Measurements of this framework: matmul, one BERT layer forward + backward, training steps,
// and the buffer pool's memory counters. Every timed run ends with `await sync()`.

import { gpu } from "../../src/gpu/device.ts";
import { counters, sync } from "../../src/gpu/kernel.ts";
import { backward, clearTape, noGrad } from "../../src/autograd.ts";
import {
  matmul,
  type MatmulPrecision,
  matmulPrecision,
  setMatmulPrecision,
} from "../../src/ops/matmul.ts";
import { mul, zeros } from "../../src/ops/elementwise.ts";
import { sum } from "../../src/ops/reduce.ts";
import { lossOnlyTask, Trainer } from "../../src/train/trainer.ts";
import {
  attentionPolicy,
  type BertBatch,
  BertLayer,
  BertSelfAttention,
  DropoutCtx,
} from "../../src/models/bert.ts";
import { BertForQuestionAnswering } from "../../src/models/bert_qa.ts";
import { applyLora } from "../../src/models/lora.ts";
import { type BertConfig, bertConfig } from "../../src/models/config.ts";
import { scope, Tensor } from "../../src/tensor.ts";
import { LAYER, type MatmulShape, type ModelSize, VOCAB } from "./spec.ts";
import { randomData, reason, rng, timeMedian, type Timing } from "./timing.ts";

/** A HF config of the given size, vocabulary 30522, positions 512. */
export function configOf(s: ModelSize, layers = s.layers): BertConfig {
  return bertConfig({
    vocab_size: VOCAB,
    hidden_size: s.hidden,
    num_hidden_layers: layers,
    num_attention_heads: s.heads,
    intermediate_size: s.inter,
    max_position_embeddings: 512,
  });
}

/**
 * Time of `matmul(a, b)` on random operands of shape `s`, at the given matmul precision ("f16"
 * needs shader-f16; the precision in force before is restored).
 */
export async function matmulTime(
  s: MatmulShape,
  warmup: number,
  n: number,
  precision: MatmulPrecision = "f32",
): Promise<Timing> {
  const lead = s.batch > 1 ? [s.batch] : [];
  const a = Tensor.fromArray(randomData(s.batch * s.M * s.K, 1), [...lead, s.M, s.K]);
  const b = Tensor.fromArray(randomData(s.batch * s.K * s.N, 2), [...lead, s.K, s.N]);
  const before = matmulPrecision();
  setMatmulPrecision(precision);
  try {
    return await timeMedian(
      async () => {
        const y = matmul(a, b);
        await sync();
        y.dispose();
      },
      warmup,
      n,
    );
  } finally {
    setMatmulPrecision(before);
    a.dispose();
    b.dispose();
  }
}

/** Host copies of a layer's weights by HF name, to build the same layer elsewhere. */
export type Weights = Record<string, { data: Float32Array; shape: number[] }>;

/** The benchmark layer's inputs and outputs, for a cross-check with another framework. */
export interface LayerRun {
  /** Median forward + backward time. */
  timing: Timing;
  /** The layer's weights. */
  weights: Weights;
  /** Input x [B, S, H]. */
  x: Float32Array;
  /** The fixed random tensor R; the loss is sum(layer(x) * R). */
  r: Float32Array;
  /** layer(x) [B, S, H]. */
  y: Float32Array;
}

/**
 * Forward + backward of one BERT-base encoder layer (dropout off), the loss being
 * sum(layer(x) * R); gradients of every parameter are computed and then dropped.
 */
export async function layerFwdBwd(warmup: number, n: number): Promise<LayerRun> {
  const { batch: B, seq: S, hidden: H } = LAYER;
  const c = configOf({ hidden: H, layers: 1, heads: LAYER.heads, inter: LAYER.inter });
  const layer = new BertLayer(c, 0, new DropoutCtx()).train(false);
  const params = layer.parameters();
  const xd = randomData(B * S * H, 3), rd = randomData(B * S * H, 4);
  const x = Tensor.fromArray(xd, [B, S, H]);
  const r = Tensor.fromArray(rd, [B, S, H]);
  const mask = zeros([B, S]);
  try {
    const timing = await timeMedian(
      async () => {
        scope(() => backward(sum(mul(layer.forward(x, mask), r))));
        for (const p of params) p.grad = null;
        await sync();
      },
      warmup,
      n,
    );
    const y = noGrad(() => scope(() => layer.forward(x, mask)));
    const yd = await y.toArray() as Float32Array;
    y.dispose();
    const weights: Weights = {};
    for (const [name, t] of layer.namedParameters()) {
      weights[name] = { data: await t.toArray() as Float32Array, shape: [...t.shape] };
    }
    return { timing, weights, x: xd, r: rd, y: yd };
  } finally {
    for (const t of [x, r, mask]) t.dispose();
    layer.dispose();
  }
}

/** A training batch of random tokens: question third, context rest, random answer spans. */
export function randomBatch(
  batch: number,
  seq: number,
  seed: number,
): BertBatch & { startPositions: Int32Array; endPositions: Int32Array } {
  const r = rng(seed);
  const n = batch * seq;
  const inputIds = Int32Array.from({ length: n }, () => Math.floor(r() * VOCAB));
  const tokenTypeIds = Int32Array.from({ length: n }, (_, i) => (i % seq < seq / 3 ? 0 : 1));
  const startPositions = Int32Array.from({ length: batch }, () => Math.floor(r() * seq));
  const endPositions = startPositions.map((s) => Math.min(seq - 1, s + 3));
  return { batch, seq, inputIds, tokenTypeIds, startPositions, endPositions };
}

/** The Trainer over one fixed batch, with the CLI's optimizer (lr 3e-5, decay 0.01). */
function trainerFor(
  model: BertForQuestionAnswering,
  batch: ReturnType<typeof randomBatch>,
): Trainer<typeof batch> {
  return new Trainer(
    lossOnlyTask({
      model,
      size: 1,
      batch: () => batch,
      loss: (b) => model.forward(b).loss!,
    }),
    {
      out: "",
      epochs: 1,
      maxSteps: 1e9,
      batchSize: batch.batch,
      gradAccum: 1,
      evalEvery: 1e9,
      seed: 0,
      lr: 3e-5,
      warmupRatio: 0,
      weightDecay: 0.01,
      logEvery: 1e9,
      quiet: true,
    },
  );
}

/** One full step of the real Trainer (forward, backward, clip, AdamW); returns when the GPU is done. */
async function trainStep(
  trainer: Trainer<ReturnType<typeof randomBatch>>,
  step: number,
): Promise<void> {
  try {
    await trainer.step(step, () => trainer.task.batch(new Int32Array(1)), false);
  } catch (e) {
    clearTape();
    trainer.opt.zeroGrad();
    throw e;
  }
  await sync();
}

/** Median time of a BERT-QA training step (dropout on), and its throughput. */
export async function trainTime(
  size: ModelSize,
  batch: number,
  seq: number,
  warmup: number,
  n: number,
): Promise<{ timing: Timing; tokensPerS: number; params: number }> {
  const model = new BertForQuestionAnswering(configOf(size), { seed: 0 });
  const trainer = trainerFor(model, randomBatch(batch, seq, 5));
  let step = 0;
  try {
    const timing = await timeMedian(() => trainStep(trainer, ++step), warmup, n);
    const params = model.parameters().reduce((a, p) => a + p.size, 0);
    return { timing, tokensPerS: (batch * seq) / (timing.ms / 1000), params };
  } finally {
    trainer.dispose();
    model.dispose();
    await trim();
  }
}

/** Waits for recorded work, then gives free buffers back (none may be destroyed unsubmitted). */
async function trim(): Promise<void> {
  try {
    await sync();
  } catch { /* an error already reported by the section that caused it */ }
  gpu().pool.trim();
}

/** Pool bytes held by these tensors, each buffer counted once (views share buffers). */
export function pooledBytes(ts: (Tensor | null | undefined)[]): number {
  const bufs = new Set<GPUBuffer>();
  for (const t of ts) if (t && !t.disposed) bufs.add(t.storage.buffer);
  let n = 0;
  for (const b of bufs) n += b.size;
  return n;
}

/** Peak pool bytes of one training step and of one inference pass, with their breakdown. */
export interface MemoryReport {
  layers: number;
  batch: number;
  seq: number;
  params: number;
  /** Parameters with gradients and AdamW moments (all of them without LoRA). */
  trainable_params: number;
  /** The LoRA setup (PEFT's defaults for BERT QA: r 8 on query and value), or null. */
  lora: LoraSetup | null;
  train_peak_bytes: number;
  param_bytes: number;
  grad_bytes: number;
  optimizer_bytes: number;
  activation_bytes: number;
  train_step_ms: number;
  infer_peak_bytes: number;
  infer_activation_bytes: number;
  infer_ms: number;
}

/** LoRA adapters for {@linkcode memory}. */
export interface LoraSetup {
  r: number;
  alpha: number;
  targets: string[];
}

/**
 * Peak pool bytes (above what was live before the model existed) of one BERT-base training
 * step with the AdamW moments already allocated, then of one inference pass (no tape). With
 * `lora`, the base is frozen and only the adapters and the QA head train (PEFT's setup), so
 * gradients and moments exist for those alone.
 */
export async function memory(
  layers: number,
  batch: number,
  seq: number,
  size: ModelSize,
  lora: LoraSetup | null = null,
): Promise<MemoryReport | { error: string }> {
  const pool = gpu().pool;
  await sync();
  const live0 = pool.stats().liveBytes;
  let model: BertForQuestionAnswering | null = null;
  let trainer: Trainer<ReturnType<typeof randomBatch>> | null = null;
  try {
    model = new BertForQuestionAnswering(configOf(size, layers), { seed: 0 });
    if (lora) applyLora(model, { ...lora, seed: 0 });
    const data = randomBatch(batch, seq, 6);
    trainer = trainerFor(model, data);
    const opt = trainer.opt;
    // In the optimizer's order, which loadState expects.
    const params = opt.groups.flatMap((g) => g.params);
    // Zeroed moments make this one step look like any later one, whose moments already exist.
    opt.loadState({
      step: 0,
      m: params.map((p) => zeros(p.shape)),
      v: params.map((p) => zeros(p.shape)),
    });
    await sync();
    const all = model.namedParameters().map(([, t]) => t);
    const paramBytes = pooledBytes(all);
    const st = opt.state();
    const optBytes = pooledBytes([...st.m, ...st.v]);
    // Gradients have their trainable parameters' shapes, so the pool gives them the same size
    // classes; frozen weights get none.
    const gradBytes = pooledBytes(params);
    pool.resetPeak();
    let t0 = performance.now();
    await trainStep(trainer, 1);
    const trainMs = performance.now() - t0;
    const trainPeak = pool.stats().peakBytes - live0;
    trainer.dispose();
    trainer = null;
    await trim();
    model.train(false);
    await sync();
    pool.resetPeak();
    t0 = performance.now();
    noGrad(() => scope(() => void model!.forward(data)));
    await sync();
    const inferMs = performance.now() - t0;
    const inferPeak = pool.stats().peakBytes - live0;
    return {
      layers,
      batch,
      seq,
      params: all.reduce((a, p) => a + p.size, 0),
      trainable_params: params.reduce((a, p) => a + p.size, 0),
      lora,
      train_peak_bytes: trainPeak,
      param_bytes: paramBytes,
      grad_bytes: gradBytes,
      optimizer_bytes: optBytes,
      activation_bytes: trainPeak - paramBytes - gradBytes - optBytes,
      train_step_ms: trainMs,
      infer_peak_bytes: inferPeak,
      infer_activation_bytes: inferPeak - paramBytes,
      infer_ms: inferMs,
    };
  } catch (e) {
    clearTape();
    return { error: reason(e) };
  } finally {
    trainer?.dispose();
    model?.dispose();
    await trim();
  }
}

/**
 * Extra peak pool bytes of one BERT-base self-attention forward + backward (training mode,
 * batch 1): the peak minus what was live before (its inputs and parameters).
 */
export async function attentionMemory(
  seq: number,
  mode: "fused" | "unfused" = "fused",
): Promise<number> {
  attentionPolicy.mode = mode;
  const { hidden: H } = LAYER;
  const c = configOf({ hidden: H, layers: 1, heads: LAYER.heads, inter: LAYER.inter });
  const attn = new BertSelfAttention(c, 0, new DropoutCtx());
  const x = Tensor.fromArray(randomData(seq * H, 7), [1, seq, H]);
  x.requiresGrad = true;
  const r = Tensor.fromArray(randomData(seq * H, 8), [1, seq, H]);
  const mask = zeros([1, seq]);
  const pool = gpu().pool;
  try {
    await sync();
    const before = pool.stats().liveBytes;
    pool.resetPeak();
    scope(() => backward(sum(mul(attn.forward(x, mask), r))));
    await sync();
    return pool.stats().peakBytes - before;
  } finally {
    for (const t of [x, r, mask]) t.dispose();
    attn.dispose();
    attentionPolicy.mode = "auto";
    await trim();
  }
}

/** Pool and submit counters over `steps` BERT-tiny training steps. */
export interface LiveReport {
  steps: number;
  batch: number;
  seq: number;
  live_bytes_before: number;
  live_bytes_first: number;
  live_bytes_last: number;
  live_bytes_max: number;
  buffers_created_after_step1: number;
  /** Upload staging buffers created after step 1, where the kernel layer counts them. */
  staging_created_after_step1: number | null;
  submits_per_step: number;
  launches_per_step: number;
  peak_bytes: number;
}

// Read defensively: older kernel layers count no staging buffers.
const staging = (c: object): number | null =>
  (c as { stagingCreated?: number }).stagingCreated ?? null;

/** Live pool bytes after each of `steps` training steps, and what was created after step 1. */
export async function liveBytes(
  size: ModelSize,
  steps: number,
  batch: number,
  seq: number,
): Promise<LiveReport> {
  const pool = gpu().pool;
  await sync();
  const before = pool.stats().liveBytes;
  const model = new BertForQuestionAnswering(configOf(size), { seed: 0 });
  const trainer = trainerFor(model, randomBatch(batch, seq, 9));
  try {
    pool.resetPeak();
    const live: number[] = [];
    let created1 = 0;
    let c1 = counters();
    for (let s = 1; s <= steps; s++) {
      await trainStep(trainer, s);
      live.push(pool.stats().liveBytes);
      if (s === 1) {
        created1 = pool.stats().created;
        c1 = counters();
      }
    }
    const c = counters();
    const per = Math.max(1, steps - 1);
    return {
      steps,
      batch,
      seq,
      live_bytes_before: before,
      live_bytes_first: live[0],
      live_bytes_last: live[live.length - 1],
      live_bytes_max: Math.max(...live),
      buffers_created_after_step1: pool.stats().created - created1,
      staging_created_after_step1: staging(c) === null ? null : staging(c)! - staging(c1)!,
      submits_per_step: (c.submits - c1.submits) / per,
      launches_per_step: (c.launches - c1.launches) / per,
      peak_bytes: pool.stats().peakBytes,
    };
  } finally {
    trainer.dispose();
    model.dispose();
    await trim();
  }
}
