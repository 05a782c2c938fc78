// Softmax cross-entropy with an ignore index, as torch.nn.functional.cross_entropy with
// reduction "mean". Everything stays on the GPU, including the count of counted rows.

import { accumulateGrad, needsGrad, record } from "../autograd.ts";
import { grid, i32, launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { byRowRange as rowRanges } from "./_rows.ts";

const byRowRange = (n: number, c: number, f: (r0: number, rows: number) => void) =>
  rowRanges(n, c, "crossEntropy", f);

/**
 * Mean softmax cross-entropy of `logits` (`[N, C]`) against i32 `labels` (`[N]`), as a
 * scalar tensor. Rows whose label equals `ignoreIndex` are left out of the mean; so is any
 * row whose label lies outside `[0, C)` (PyTorch would raise an error; callers such as
 * question answering clamp positions to `C` and ignore them deliberately). If every row is
 * ignored the loss is NaN, like PyTorch, and the gradient is zero.
 *
 * @example
 * ```ts
 * import { crossEntropy, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const logits = Tensor.fromArray([2, 0, 0, 0, 5, 0], [2, 3]);
 * const labels = Tensor.fromArray(new Int32Array([0, -100]));
 * console.log(await crossEntropy(logits, labels).item()); // log(e^2 + 2) - 2 ≈ 0.2395
 * ```
 */
export function crossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  if (logits.shape.length !== 2 || logits.dtype !== "f32") {
    throw new Error(`crossEntropy: logits must be f32 [N, C], got [${logits.shape}]`);
  }
  const [n, c] = logits.shape;
  if (labels.dtype !== "i32" || labels.size !== n) {
    throw new Error(
      `crossEntropy: labels must be i32 [${n}], got ${labels.dtype} [${labels.shape}]`,
    );
  }
  if (c === 0) throw new Error("crossEntropy: no classes");
  const stats = Tensor.empty([n, 2]); // per row: loss term, log-sum-exp
  byRowRange(n, c, (r0, rows) =>
    launch({
      shader: "cross_entropy",
      entry: "rows",
      params: [u32(rows), u32(c), u32(r0), i32(ignoreIndex)],
      bindings: [logits.binding(r0 * c, rows * c), labels.binding(), stats.binding()],
      workgroups: grid(rows, 1),
    }));
  const loss = Tensor.empty([]);
  const count = Tensor.empty([1]);
  launch({
    shader: "cross_entropy",
    entry: "mean",
    params: [u32(n), u32(c), i32(ignoreIndex)],
    bindings: [stats.binding(), labels.binding(), loss.binding(), count.binding()],
    workgroups: [1],
  });
  if (!needsGrad(logits)) {
    stats.dispose();
    count.dispose();
    return loss;
  }
  return record(loss, [logits], (g) => {
    if (logits.requiresGrad) {
      const dx = Tensor.empty([n, c]);
      byRowRange(n, c, (r0, rows) =>
        launch({
          shader: "cross_entropy",
          entry: "backward",
          params: [u32(rows * c), u32(c), u32(r0), i32(ignoreIndex)],
          bindings: [
            logits.binding(r0 * c, rows * c),
            labels.binding(),
            stats.binding(),
            g.binding(0, 1),
            count.binding(),
            dx.binding(r0 * c, rows * c),
          ],
          workgroups: grid(rows * c, 256),
        }));
      accumulateGrad(logits, dx);
    }
    stats.dispose();
    count.dispose();
  });
}
