// TensorFlow.js on its WebGPU backend, on the same adapter (it requests its own device from
// navigator.gpu): the same matmuls, and the same BERT layer built from tfjs ops.
// Deno needs no navigator/OffscreenCanvas shim: navigator.gpu exists, and tfjs touches
// OffscreenCanvas only for pixel ops. Gradients need the workaround in loadTfjs.

// Full npm specifiers, pinned in tools/bench/deno.lock (the bench runs with --config
// tools/bench/deno.json) and kept out of the root deno.json and deno.lock, from which
// nodeModulesDir "auto" would install tfjs for every CLI. tfjs is loaded lazily, so
// --skip-tfjs needs neither the network nor the npm cache.
// deno-lint-ignore no-import-prefix
import type * as TfCore from "npm:@tensorflow/tfjs-core@4.22.0";
import { flops, LAYER, type MatmulShape } from "./spec.ts";
import { randomData, reason, timeMedian, type Timing } from "./timing.ts";
import type { Weights } from "./ours.ts";

type Tf = typeof TfCore;
type T = TfCore.Tensor;

// The members of tfjs-backend-webgpu's WebGPUBackend that complete its queued work.
interface WebGpuBackend {
  commandEncoder: GPUCommandEncoder | null;
  queue: GPUQueue;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** tfjs with the "webgpu" backend active, or why it could not start. */
export async function loadTfjs(): Promise<{ tf: Tf; version: string } | { error: string }> {
  try {
    // deno-lint-ignore no-import-prefix
    const tf = await import("npm:@tensorflow/tfjs-core@4.22.0");
    // Workaround: tfjs-core's own bundle registers no gradients, and its per-file ESM
    // (dist/register_all_gradients.js) uses extensionless imports Deno cannot resolve. The
    // @tensorflow/tfjs bundle registers them all into this same tfjs-core instance.
    // deno-lint-ignore no-import-prefix
    await import("npm:@tensorflow/tfjs@4.22.0");
    // deno-lint-ignore no-import-prefix
    await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
    if (!(await tf.setBackend("webgpu"))) throw new Error("tf.setBackend('webgpu') failed");
    await tf.ready();
    return { tf, version: tf.version_core };
  } catch (e) {
    return { error: reason(e) };
  }
}

/** Submits tfjs's pending commands and waits until the GPU has run them. */
export async function tfSync(tf: Tf): Promise<void> {
  const b = tf.backend() as unknown as WebGpuBackend;
  if (b.commandEncoder) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  await b.queue.onSubmittedWorkDone();
}

/** Time of `tf.matMul(a, b)` on random operands of shape `s`. */
export async function tfMatmulTime(
  tf: Tf,
  s: MatmulShape,
  warmup: number,
  n: number,
): Promise<Timing & { gflops: number }> {
  const lead = s.batch > 1 ? [s.batch] : [];
  const a = tf.tensor(randomData(s.batch * s.M * s.K, 1), [...lead, s.M, s.K]);
  const b = tf.tensor(randomData(s.batch * s.K * s.N, 2), [...lead, s.K, s.N]);
  try {
    const t = await timeMedian(
      async () => {
        const y = tf.matMul(a, b);
        await tfSync(tf);
        y.dispose();
      },
      warmup,
      n,
    );
    return { ...t, gflops: flops(s) / t.ms / 1e6 };
  } finally {
    tf.dispose([a, b]);
  }
}

/**
 * One BERT post-LN encoder layer in tfjs ops, the same equations as src/models/bert.ts:
 * LayerNorm through tf.moments, exact GELU 0.5·x·(1 + erf(x/√2)), heads by reshape/transpose.
 */
function bertLayer(tf: Tf, w: Record<string, T>, x: T, mask: T): T {
  const { batch: B, seq: S, hidden: H, heads: A, eps } = LAYER;
  const D = H / A;
  const lin = (t: T, name: string) =>
    tf.add(tf.matMul(t, w[`${name}.weight`], false, true), w[`${name}.bias`]);
  const ln = (t: T, name: string) => {
    const { mean, variance } = tf.moments(t, -1, true);
    const n = tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(n, w[`${name}.weight`]), w[`${name}.bias`]);
  };
  const gelu = (t: T) => tf.mul(tf.mul(t, 0.5), tf.add(1, tf.erf(tf.mul(t, Math.SQRT1_2))));
  const heads = (t: T) =>
    tf.reshape(tf.transpose(tf.reshape(t, [B, S, A, D]), [0, 2, 1, 3]), [B * A, S, D]);
  const q = heads(lin(x, "attention.self.query"));
  const k = heads(lin(x, "attention.self.key"));
  const v = heads(lin(x, "attention.self.value"));
  const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D));
  const probs = tf.softmax(tf.add(tf.reshape(scores, [B, A, S, S]), mask));
  const ctx = tf.matMul(tf.reshape(probs, [B * A, S, S]), v);
  const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [B, A, S, D]), [0, 2, 1, 3]), [B * S, H]);
  const a = ln(tf.add(lin(merged, "attention.output.dense"), x), "attention.output.LayerNorm");
  const i = gelu(lin(a, "intermediate.dense"));
  return ln(tf.add(lin(i, "output.dense"), a), "output.LayerNorm");
}

/**
 * Forward + backward (tf.variableGrads of sum(layer(x) * R) over every weight) of the layer
 * with our weights and inputs; `maxAbsDiff` compares its forward output with ours.
 */
export async function tfLayerFwdBwd(
  tf: Tf,
  weights: Weights,
  xd: Float32Array,
  rd: Float32Array,
  ours: Float32Array,
  warmup: number,
  n: number,
): Promise<{ timing: Timing; maxAbsDiff: number }> {
  const { batch: B, seq: S, hidden: H } = LAYER;
  const w: Record<string, TfCore.Variable> = {};
  for (const [name, { data, shape }] of Object.entries(weights)) {
    const t = tf.tensor(data, shape);
    w[name] = tf.variable(t, true, `bench/${name}`);
    t.dispose();
  }
  const x = tf.tensor(xd, [B * S, H]);
  const r = tf.tensor(rd, [B * S, H]);
  const mask = tf.zeros([B, 1, 1, S]);
  try {
    const y = tf.tidy(() => bertLayer(tf, w, x, mask));
    const yd = await y.data();
    y.dispose();
    let maxAbsDiff = 0;
    for (let i = 0; i < yd.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(yd[i] - ours[i]));
    }
    const vars = Object.values(w);
    const timing = await timeMedian(
      async () => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(bertLayer(tf, w, x, mask), r)),
          vars,
        );
        await tfSync(tf);
        tf.dispose([value, ...Object.values(grads)]);
      },
      warmup,
      n,
    );
    return { timing, maxAbsDiff };
  } finally {
    tf.dispose([x, r, mask, ...Object.values(w)]);
  }
}

/** Releases tfjs's device and buffers. */
export function closeTfjs(tf: Tf): void {
  tf.disposeVariables();
  tf.removeBackend("webgpu");
}
