// Fused scaled dot-product attention: softmax(q·kᵀ·scale + mask)·v without an S×S buffer.
// The forward saves each row's softmax max and sum; the backward recomputes the scores tile by
// tile (FlashAttention-2): one kernel for D = rowsum(dO ⊙ O), one for dQ over key tiles, one
// for dK and dV over query tiles, so every gradient element has one writer and no atomics.
// Kernels are register-blocked (see shaders/attention.wgsl); the first use of a head size
// compiles its pipelines, a few seconds each on lavapipe and GL (Mesa caches them on disk).

import { accumulateGrad, needsGrad, record } from "../autograd.ts";
import { type Binding, f32, grid, launch, type Param, u32 } from "../gpu/kernel.ts";
import { gpu } from "../gpu/device.ts";
import { Tensor } from "../tensor.ts";

/** Dropout on the attention probabilities, applied inside the fused kernel. */
export interface AttentionDropout {
  /** Probability of zeroing a probability, in [0, 1). */
  p: number;
  /** Seed, taken modulo 2^32 (derive one per layer and step with `deriveSeed`). */
  seed: number;
}

const ROWS = 64; // query rows (forward, dQ) or keys (dK, dV) per workgroup: 16 threads x 4
const MAX_HEAD = 64;

// The kernels read and write vec4s: round the bound range up to 16 bytes (pool buffers are
// larger); columns past the head size are never read or written.
function vec4Binding(t: Tensor): Binding {
  const b = t.binding();
  const size = Math.ceil(b.size / 16) * 16;
  if (b.offset + size > b.buffer.size) throw new Error(`attention: buffer of ${b.name} too small`);
  return { ...b, size };
}

/**
 * Scaled dot-product attention, `softmax(q·kᵀ·scale + mask)·v`, fused into one kernel that
 * never materializes the [S, S] scores: extra memory is O(B·A·S), the per-row softmax max and
 * sum saved for the backward. `q`, `k`, `v` are [B, A, S, D] (heads split, D ≤ 64) and the
 * result has the same shape. `mask` is HF's additive key mask [B, S] (0 to keep, a large
 * negative such as float32 min to drop), or null. Masking follows `softmax` with a
 * mask: a fully masked row attends uniformly to all S keys, never NaN.
 *
 * With `dropout`, P is dropped with the hash of `dropout.ts` at P's index in [B, A, S, S], so
 * a seed gives the mask `dropout(softmax(...), p, seed)` would. Differentiable in q, k and v;
 * the mask gets no gradient.
 *
 * @example
 * ```ts
 * import { attention, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const q = Tensor.fromArray([1, 0, 0, 1], [1, 1, 2, 2]);
 * const v = Tensor.fromArray([1, 2, 3, 4], [1, 1, 2, 2]);
 * const mask = Tensor.fromArray([0, -3.4028234663852886e38], [1, 2]);
 * console.log(await attention(q, q, v, mask, 1).toArray()); // [1, 2, 1, 2]: key 1 is masked
 * ```
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
  dropout?: AttentionDropout,
): Tensor {
  const [b, a, s, d] = q.shape;
  const same = (t: Tensor) => t.shape.length === 4 && t.shape.join() === q.shape.join();
  if (!same(q) || !same(k) || !same(v)) {
    throw new Error(
      `attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] must be one [B, A, S, D]`,
    );
  }
  if (d < 1 || d > MAX_HEAD || s < 1) {
    throw new Error(`attention: needs 1 <= D <= ${MAX_HEAD} and S >= 1, got [${q.shape}]`);
  }
  if (mask && (mask.shape.length !== 2 || mask.shape.join() !== [b, s].join())) {
    throw new Error(`attention: mask [${mask.shape}] must be [B, S] = [${b}, ${s}]`);
  }
  if ([q, k, v, mask ?? q].some((t) => t.dtype !== "f32")) {
    throw new Error("attention: q, k, v and mask must be f32");
  }
  const pDrop = dropout?.p ?? 0;
  if (!(pDrop >= 0 && pDrop < 1)) throw new RangeError(`attention: dropout p must be in [0, 1)`);
  const heads = b * a;
  const max = gpu().info.limits.maxComputeWorkgroupsPerDimension;
  if (heads > max || Math.ceil(s / ROWS) > max) {
    throw new Error(`attention: B·A = ${heads} or S/${ROWS} exceeds ${max} workgroups`);
  }
  const params: Param[] = [
    u32(s),
    u32(a),
    f32(scale),
    u32(mask ? 1 : 0),
    u32((dropout?.seed ?? 0) >>> 0),
    // Threshold 0 keeps every element; a p so small it rounds to 0 is no dropout either.
    u32(Math.min(0xffffffff, Math.floor(pDrop * 2 ** 32))),
    f32(1 / (1 - pDrop)),
  ];
  const constants = { HD: d, VEC: d % 4 === 0 ? 1 : 0 };
  const m = (mask ?? q).binding();
  const tiles = [Math.ceil(s / ROWS), heads] as const;
  const y = Tensor.empty(q.shape);
  const stats = Tensor.empty([heads * s, 2]);
  launch({
    shader: "attention",
    entry: "forward",
    constants,
    params,
    bindings: [...[q, k, v].map(vec4Binding), m, vec4Binding(y), stats.binding()],
    workgroups: tiles,
  });
  if (!needsGrad(q, k, v)) {
    stats.dispose();
    return y;
  }
  return record(y, [q, k, v], (g) => {
    const rows = heads * s;
    const info = Tensor.empty([rows, 4]);
    launch({
      shader: "attention",
      entry: "backward_rows",
      constants,
      params: [u32(rows)],
      bindings: [vec4Binding(g), vec4Binding(y), stats.binding(), info.binding()],
      workgroups: grid(rows, 64),
    });
    const ins = [...[q, k, v].map(vec4Binding), m, vec4Binding(g), info.binding()];
    if (q.requiresGrad) {
      const dq = Tensor.empty(q.shape);
      launch({
        shader: "attention",
        entry: "backward_dq",
        constants,
        params,
        bindings: [...ins, vec4Binding(dq)],
        workgroups: tiles,
      });
      accumulateGrad(q, dq);
    }
    if (k.requiresGrad || v.requiresGrad) {
      const dk = Tensor.empty(k.shape);
      const dv = Tensor.empty(v.shape);
      launch({
        shader: "attention",
        entry: "backward_dkv",
        constants,
        params,
        bindings: [...ins, vec4Binding(dk), vec4Binding(dv)],
        workgroups: tiles,
      });
      accumulateGrad(k, dk);
      accumulateGrad(v, dv);
    }
    info.dispose();
    stats.dispose();
  });
}
