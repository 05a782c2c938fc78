// Float64 host references shared by the op, layer, optimizer and QA tests: one copy each, so
// a test that disagrees with the GPU disagrees with the same reference everywhere. No GPU here.

import type { QaFeature } from "../src/qa/features.ts";

/** Shape of a (batched) product op(a)·op(b): op(a) is [M, K], op(b) is [K, N]. */
export interface MatmulDims {
  /** Products in the batch (default 1). */
  batch?: number;
  M: number;
  N: number;
  K: number;
  /** a is stored [K, M] (transposed). */
  ta?: boolean;
  /** b is stored [N, K] (transposed). */
  tb?: boolean;
}

/**
 * Float64 op(a)·op(b) for `batch` products, [batch, M, N]. With `shareA` / `shareB` every
 * product uses the one matrix (batch stride 0), as a broadcast weight does.
 */
export function matmul64(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  d: MatmulDims,
  share: { a?: boolean; b?: boolean } = {},
): Float64Array {
  const { M, N, K, ta = false, tb = false } = d;
  const batch = d.batch ?? 1;
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const oa = share.a ? 0 : z * M * K, ob = share.b ? 0 : z * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          s += a[oa + (ta ? k * M + m : m * K + k)] * b[ob + (tb ? n * K + k : k * N + n)];
        }
        out[z * M * N + m * N + n] = s;
      }
    }
  }
  return out;
}

/**
 * Gradients of L = sum(w ⊙ op(a)·op(b)) laid out like a and b: d op(a) = w·op(b)ᵀ and
 * d op(b) = op(a)ᵀ·w, transposed back where a or b is stored transposed.
 */
export function matmulGrads64(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  w: ArrayLike<number>,
  d: MatmulDims,
): { da: Float64Array; db: Float64Array } {
  const { M, N, K, ta = false, tb = false, batch } = d;
  const da = ta
    ? matmul64(b, w, { batch, M: K, N: M, K: N, ta: tb, tb: true })
    : matmul64(w, b, { batch, M, N: K, K: N, tb: !tb });
  const db = tb
    ? matmul64(w, a, { batch, M: N, N: K, K: M, ta: true, tb: ta })
    : matmul64(a, w, { batch, M: K, N, K: M, ta: !ta });
  return { da, db };
}

/** Float64 torch.nn.LayerNorm over rows of length g.length: biased variance, eps inside the sqrt. */
export function layerNorm64(
  x: ArrayLike<number>,
  g: ArrayLike<number>,
  b: ArrayLike<number>,
  eps: number,
): Float64Array {
  const h = g.length;
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / h; r++) {
    let mu = 0;
    for (let j = 0; j < h; j++) mu += x[r * h + j];
    mu /= h;
    let v = 0;
    for (let j = 0; j < h; j++) v += (x[r * h + j] - mu) ** 2;
    const s = 1 / Math.sqrt(v / h + eps);
    for (let j = 0; j < h; j++) y[r * h + j] = (x[r * h + j] - mu) * s * g[j] + b[j];
  }
  return y;
}

/** Float64 state of one parameter under torch.optim.AdamW (eps 1e-8 outside the sqrt). */
export class AdamW64 {
  /** First moment. */
  m: Float64Array;
  /** Second moment. */
  v: Float64Array;
  constructor(public p: Float64Array) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }

  /** Step `t` (from 1) with gradient g scaled by `gs` (a clipping or unscaling factor). */
  step(g: ArrayLike<number>, t: number, lr: number, wd: number, gs = 1, b1 = 0.9, b2 = 0.999) {
    const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
    for (let i = 0; i < this.p.length; i++) {
      const gi = g[i] * gs;
      this.p[i] -= lr * wd * this.p[i];
      this.m[i] = b1 * this.m[i] + (1 - b1) * gi;
      this.v[i] = b2 * this.v[i] + (1 - b2) * gi * gi;
      this.p[i] -= lr * (this.m[i] / bc1) / (Math.sqrt(this.v[i] / bc2) + 1e-8);
    }
  }
}

/** A valid answer span of a QA window, with the score utils_qa.py gives it. */
export interface SpanRef {
  /** The answer text: the context between the first and last token's offsets. */
  text: string;
  /** start logit + end logit, summed in f32 as numpy sums float32 logits. */
  score: number;
  /** Feature index and token indexes, for messages. */
  at: [number, number, number];
}

/**
 * Every valid span of an example's windows, best first: both tokens in the context (non-null
 * offsets), end not before start, at most `maxLen` tokens. Exhaustive, so it equals
 * utils_qa.py's answer whenever its n-best size covers every token of a window.
 */
export function spansByScore(
  context: string,
  features: readonly Pick<QaFeature, "offsets">[],
  start: readonly ArrayLike<number>[],
  end: readonly ArrayLike<number>[],
  maxLen: number,
): SpanRef[] {
  const out: SpanRef[] = [];
  features.forEach((f, fi) => {
    const off = f.offsets!;
    const n = Math.min(off.length, start[fi].length);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n && j - i < maxLen; j++) {
        if (!off[i] || !off[j]) continue;
        out.push({
          text: context.slice(off[i]![0], off[j]![1]),
          score: Math.fround(start[fi][i] + end[fi][j]),
          at: [fi, i, j],
        });
      }
    }
  });
  return out.sort((a, b) => b.score - a.score);
}

/** ‖a − b‖ / ‖b‖ (the reference's norm floored at 1e-12): one tensor's relative error. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}
