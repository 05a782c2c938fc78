// LayerNorm over the last dim, with its backward (dx, dgamma, dbeta).

import { accumulateGrad, needsGrad, record } from "../autograd.ts";
import { f32, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { sumToShape } from "./reduce.ts";
import { rowKernel } from "./_rows.ts";

// Rows per partial sum of dgamma/dbeta: enough threads to fill a GPU at BERT sizes
// (4096 rows x 768 cols gives 64 x 768 threads) while each thread still loops a while.
const CHUNK = 64;

/**
 * Layer normalization over the last dim, as PyTorch's `LayerNorm`: for each row of
 * `x` [..., H], `(x - mean) / sqrt(var + eps) * gamma + beta`, with the biased variance.
 * `gamma` and `beta` have shape [H]. Differentiable in all three tensors.
 *
 * @example
 * ```ts
 * import { initGpu, layerNorm, Tensor } from "webgpu-bert";
 * await initGpu();
 * const x = Tensor.fromArray([1, 2, 3, 4, 6, 8], [2, 3]);
 * const y = layerNorm(x, Tensor.fromArray([1, 1, 1]), Tensor.fromArray([0, 0, 0]));
 * console.log(await y.toArray()); // ≈ [-1.2247, 0, 1.2247, -1.2247, 0, 1.2247]
 * ```
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-12): Tensor {
  const h = x.shape.at(-1) ?? 0;
  if (h < 1) throw new Error(`layerNorm: x [${x.shape}] needs a non-empty last dim`);
  if (gamma.size !== h || beta.size !== h) {
    throw new Error(`layerNorm: gamma [${gamma.shape}] and beta [${beta.shape}] must be [${h}]`);
  }
  const rows = x.size / h;
  const y = Tensor.empty(x.shape);
  // Saved for the backward; they live in the caller's scope like y, and the backward frees them.
  const mean = Tensor.empty([rows]);
  const rstd = Tensor.empty([rows]);
  launch({
    shader: "layernorm",
    ...rowKernel("forward", rows, h),
    params: [u32(rows), u32(h), f32(eps)],
    bindings: [
      x.binding(),
      gamma.binding(),
      beta.binding(),
      y.binding(),
      mean.binding(),
      rstd.binding(),
    ],
  });
  if (!needsGrad(x, gamma, beta)) {
    mean.dispose();
    rstd.dispose();
    return y;
  }
  return record(y, [x, gamma, beta], (g) => {
    if (x.requiresGrad) {
      const dx = Tensor.empty(x.shape);
      launch({
        shader: "layernorm",
        ...rowKernel("backward_x", rows, h),
        params: [u32(rows), u32(h), f32(eps)],
        bindings: [
          g.binding(),
          x.binding(),
          gamma.binding(),
          mean.binding(),
          rstd.binding(),
          dx.binding(),
        ],
      });
      accumulateGrad(x, dx);
    }
    if (gamma.requiresGrad || beta.requiresGrad) {
      const [dg, db] = paramGrads(g, x, mean, rstd, rows, h);
      accumulateGrad(gamma, dg);
      accumulateGrad(beta, db);
    }
    mean.dispose();
    rstd.dispose();
  });
}

/** dgamma and dbeta [H]: partial sums over chunks of rows, then a fixed-order sum of those. */
function paramGrads(
  g: Tensor,
  x: Tensor,
  mean: Tensor,
  rstd: Tensor,
  rows: number,
  h: number,
): [Tensor, Tensor] {
  // Chunks index workgroups along y, which stops at 65535.
  const per = Math.max(CHUNK, Math.ceil(rows / 65535));
  const chunks = Math.max(1, Math.ceil(rows / per));
  const pg = Tensor.empty([chunks, h]);
  const pb = Tensor.empty([chunks, h]);
  launch({
    shader: "layernorm",
    entry: "backward_params",
    params: [u32(rows), u32(h), u32(per)],
    bindings: [
      g.binding(),
      x.binding(),
      mean.binding(),
      rstd.binding(),
      pg.binding(),
      pb.binding(),
    ],
    workgroups: [Math.ceil(h / 256), chunks],
  });
  const dg = sumToShape(pg, [h]);
  const db = sumToShape(pb, [h]);
  pg.dispose();
  pb.dispose();
  return [dg, db];
}
