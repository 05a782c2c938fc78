// Pointwise activations: GELU (exact erf form, as HF's "gelu"), tanh (BERT pooler), ReLU.
// Each backward is one kernel over the saved input (or output, for tanh) and the gradient.

import { accumulateGrad, record } from "../autograd.ts";
import { grid, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { chunkElements } from "./elementwise.ts";

/** Runs an elementwise entry over same-sized `ins` into a new tensor, in bindable ranges. */
function map(entry: string, ins: Tensor[]): Tensor {
  const x = ins[0];
  if (x.dtype !== "f32") throw new Error(`${entry}: needs an f32 tensor, got ${x.dtype}`);
  const y = Tensor.empty(x.shape);
  const chunk = chunkElements();
  for (let start = 0; start < y.size; start += chunk) {
    const n = Math.min(chunk, y.size - start);
    launch({
      shader: "activations",
      entry,
      params: [u32(n)],
      bindings: [...ins.map((t) => t.binding(start, n)), y.binding(start, n)],
      workgroups: grid(n, 256),
    });
  }
  return y;
}

/**
 * GELU in its exact form, `0.5 * x * (1 + erf(x / sqrt(2)))` (HF's "gelu", not the tanh
 * approximation). The erf is accurate to 1e-7 absolute in f32 on every driver; the
 * negative tail keeps relative precision. Backward: `Φ(x) + x * φ(x)`.
 *
 * @example
 * ```ts
 * import { gelu, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * console.log(await gelu(Tensor.fromArray([-1, 0, 1])).toArray()); // [-0.1587, 0, 0.8413]
 * ```
 */
export function gelu(x: Tensor): Tensor {
  const y = map("gelu", [x]);
  return record(y, [x], (g) => {
    if (x.requiresGrad) accumulateGrad(x, map("gelu_grad", [x, g]));
  });
}

/**
 * Hyperbolic tangent, stable for any |x| (the BERT pooler). Backward: `1 - y²`.
 *
 * @example
 * ```ts
 * import { initGpu, tanh, Tensor } from "webgpu-bert";
 * await initGpu();
 * console.log(await tanh(Tensor.fromArray([-50, 0, 0.5])).toArray()); // [-1, 0, 0.4621]
 * ```
 */
export function tanh(x: Tensor): Tensor {
  const y = map("tanh_fwd", [x]);
  return record(y, [x], (g) => {
    if (x.requiresGrad) accumulateGrad(x, map("tanh_grad", [y, g]));
  });
}

/**
 * `max(x, 0)`. Backward passes the gradient where `x > 0`.
 *
 * @example
 * ```ts
 * import { initGpu, relu, Tensor } from "webgpu-bert";
 * await initGpu();
 * console.log(await relu(Tensor.fromArray([-2, 3])).toArray()); // [0, 3]
 * ```
 */
export function relu(x: Tensor): Tensor {
  const y = map("relu", [x]);
  return record(y, [x], (g) => {
    if (x.requiresGrad) accumulateGrad(x, map("relu_grad", [x, g]));
  });
}
