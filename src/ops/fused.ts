// Fused Linear epilogues: gelu(x + bias) and LayerNorm(x + bias + residual), each one kernel
// forward, replacing two or three launches and the intermediate tensors they keep alive.
// Every reduction (dbias, dgamma, dbeta) sums per-chunk partials in a fixed order.

import { accumulateGrad, needsGrad, record } from "../autograd.ts";
import { f32, grid, launch, u32 } from "../gpu/kernel.ts";
import { gpu } from "../gpu/device.ts";
import { Tensor } from "../tensor.ts";
import { chunkElements } from "./elementwise.ts";
import { sumToShape } from "./reduce.ts";
import { rowKernel } from "./_rows.ts";

// Rows per partial column sum: many threads at BERT sizes (4096 rows x 3072 columns gives
// 64 x 3072 threads) while each still loops a while. A multiple of 64, so that a range of
// whole chunks starts at a multiple of 256 bytes, as binding offsets must.
const CHUNK = 64;

function rowsOf(x: Tensor, v: Tensor, op: string, name: string): [number, number] {
  const n = x.shape.at(-1) ?? 0;
  if (x.dtype !== "f32" || v.dtype !== "f32") throw new Error(`${op}: needs f32 tensors`);
  if (n < 1 || v.size !== n || v.shape.length !== 1) {
    throw new Error(`${op}: ${name} [${v.shape}] must be [${n}], the last dim of x [${x.shape}]`);
  }
  return [x.size / n, n];
}

/**
 * Rows per chunk of the dbias partial sums (a multiple of CHUNK, at most 65535 chunks) and rows
 * per launch: all of them when x fits one binding, else whole chunks, so that every range
 * starts at a multiple of 256 bytes.
 */
function chunking(rows: number, cols: number): { per: number; span: number } {
  const per = CHUNK * Math.ceil(Math.max(CHUNK, Math.ceil(rows / 65535)) / CHUNK);
  const bindable = Math.min(chunkElements(), gpu().info.limits.maxStorageBufferBindingSize / 4);
  if (rows * cols <= bindable) return { per, span: Math.max(1, rows) };
  const span = per * Math.floor(bindable / (cols * per));
  if (span < 1) throw new Error(`biasGelu: ${per} rows of ${cols} do not fit one binding`);
  return { per, span };
}

/**
 * `gelu(x + bias)` in one kernel, with the exact erf GELU of `gelu`; `x` is
 * [..., N] and `bias` [N] (BertIntermediate's Linear bias). Equal to `gelu(add(x, bias))`.
 * The backward computes dx and per-chunk sums of dbias in one kernel, then sums the chunks.
 *
 * @example
 * ```ts
 * import { biasGelu, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const y = biasGelu(Tensor.fromArray([-2, 0, 0, 2], [2, 2]), Tensor.fromArray([1, 1]));
 * console.log(await y.toArray()); // ≈ [-0.1587, 0.8413, 0.8413, 2.9960]
 * ```
 */
export function biasGelu(x: Tensor, bias: Tensor): Tensor {
  const [rows, cols] = rowsOf(x, bias, "biasGelu", "bias");
  const { per, span } = chunking(rows, cols);
  const y = Tensor.empty(x.shape);
  for (let r0 = 0; r0 < rows; r0 += span) {
    const n = Math.min(span, rows - r0) * cols;
    launch({
      shader: "fused",
      entry: "bias_gelu",
      params: [u32(n), u32(cols)],
      bindings: [x.binding(r0 * cols, n), bias.binding(), y.binding(r0 * cols, n)],
      workgroups: grid(n, 256),
    });
  }
  return record(y, [x, bias], (g) => {
    const dz = Tensor.empty(x.shape);
    const chunks = Math.ceil(rows / per);
    const part = Tensor.empty([chunks, cols]);
    for (let r0 = 0; r0 < rows; r0 += span) {
      const nr = Math.min(span, rows - r0);
      launch({
        shader: "fused",
        entry: "bias_gelu_grad",
        params: [u32(nr), u32(cols), u32(per), u32(r0 / per)],
        bindings: [
          x.binding(r0 * cols, nr * cols),
          bias.binding(),
          g.binding(r0 * cols, nr * cols),
          dz.binding(r0 * cols, nr * cols),
          part.binding(),
        ],
        workgroups: [Math.ceil(cols / 256), Math.ceil(nr / per)],
      });
    }
    if (bias.requiresGrad) accumulateGrad(bias, sumToShape(part, [cols]));
    part.dispose();
    accumulateGrad(x, dz);
  });
}

/**
 * `LayerNorm(x + bias + residual)` over the last dim in one kernel (BertOutput's dense bias,
 * residual add and LayerNorm), as `layerNorm(add(add(x, bias), residual), gamma, beta, eps)`.
 * `x` and `residual` are [..., H]; `bias`, `gamma` and `beta` are [H]. When training it saves
 * the sum (one [..., H] tensor, where the unfused path keeps two) with the row mean and rstd.
 * Differentiable in all five; x and residual receive the same gradient tensor.
 *
 * @example
 * ```ts
 * import { biasResidualLayerNorm, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const x = Tensor.fromArray([1, 2, 3], [1, 3]);
 * const zero = Tensor.fromArray([0, 0, 0]);
 * const y = biasResidualLayerNorm(x, zero, x, Tensor.fromArray([1, 1, 1]), zero, 1e-12);
 * console.log(await y.toArray()); // ≈ [-1.2247, 0, 1.2247]
 * ```
 */
export function biasResidualLayerNorm(
  x: Tensor,
  bias: Tensor,
  residual: Tensor,
  gamma: Tensor,
  beta: Tensor,
  eps = 1e-12,
): Tensor {
  const op = "biasResidualLayerNorm";
  const [rows, h] = rowsOf(x, bias, op, "bias");
  rowsOf(x, gamma, op, "gamma");
  rowsOf(x, beta, op, "beta");
  if (residual.shape.join() !== x.shape.join() || residual.dtype !== "f32") {
    throw new Error(`${op}: residual [${residual.shape}] must match x [${x.shape}]`);
  }
  const inputs = [x, bias, residual, gamma, beta];
  const train = needsGrad(...inputs);
  const y = Tensor.empty(x.shape);
  const stats = Tensor.empty([rows, 2]);
  const sum = Tensor.empty(train ? x.shape : [1]);
  launch({
    shader: "fused",
    ...rowKernel("bias_residual_ln", rows, h),
    params: [u32(rows), u32(h), f32(eps), u32(train ? 1 : 0)],
    bindings: [
      x.binding(),
      bias.binding(),
      residual.binding(),
      gamma.binding(),
      beta.binding(),
      y.binding(),
      stats.binding(),
      sum.binding(),
    ],
  });
  if (!train) {
    stats.dispose();
    sum.dispose();
    return y;
  }
  return record(y, inputs, (g) => {
    const dh = Tensor.empty(x.shape);
    launch({
      shader: "fused",
      ...rowKernel("bias_residual_ln_dx", rows, h),
      params: [u32(rows), u32(h), f32(eps), u32(0)],
      bindings: [g.binding(), sum.binding(), gamma.binding(), stats.binding(), dh.binding()],
    });
    if (bias.requiresGrad || gamma.requiresGrad || beta.requiresGrad) {
      // Chunks index workgroups along y, which stops at 65535.
      const per = Math.max(CHUNK, Math.ceil(rows / 65535));
      const chunks = Math.ceil(rows / per);
      const part = Tensor.empty([chunks, 3, h]);
      launch({
        shader: "fused",
        entry: "bias_residual_ln_params",
        params: [u32(rows), u32(h), u32(per)],
        bindings: [g.binding(), sum.binding(), stats.binding(), dh.binding(), part.binding()],
        workgroups: [Math.ceil(h / 256), chunks],
      });
      const [dg, db, dbeta] = [0, 1, 2].map(() => Tensor.empty([h]));
      launch({
        shader: "fused",
        entry: "sum_parts3",
        params: [u32(chunks), u32(h)],
        bindings: [part.binding(), dg.binding(), db.binding(), dbeta.binding()],
        workgroups: [Math.ceil(h / 256)],
      });
      part.dispose();
      accumulateGrad(gamma, dg);
      accumulateGrad(bias, db);
      accumulateGrad(beta, dbeta);
    }
    accumulateGrad(residual, dh.view());
    accumulateGrad(x, dh);
    stats.dispose();
    sum.dispose();
  });
}
