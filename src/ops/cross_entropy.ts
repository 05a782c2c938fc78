// Softmax cross-entropy with an ignore index and label smoothing, as
// torch.nn.functional.cross_entropy with reduction "mean" (and HF's LabelSmoother, which averages
// the same way). Everything stays on the GPU, including the count of counted rows.

import { accumulateGrad, needsGrad, record } from "../autograd.ts";
import { f32, grid, i32, launch, u32 } from "../gpu/kernel.ts";
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
 * `labelSmoothing` ε in [0, 1] is HF's `label_smoothing_factor`: the loss is
 * `(1 - ε) · nll + ε · mean over classes of -log p`, each term averaged over the counted rows.
 * HF's LabelSmoother (`nll.sum() / active` and `smoothed.sum() / (active · C)`) and torch's
 * `F.cross_entropy(label_smoothing=ε)` agree on this for class-index labels.
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
export function crossEntropy(
  logits: Tensor,
  labels: Tensor,
  ignoreIndex = -100,
  labelSmoothing = 0,
): Tensor {
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
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  }
  const stats = Tensor.empty([n, 2]); // per row: loss term, log-sum-exp
  byRowRange(n, c, (r0, rows) =>
    launch({
      shader: "cross_entropy",
      entry: "rows",
      params: [u32(rows), u32(c), u32(r0), i32(ignoreIndex), f32(labelSmoothing)],
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
          params: [u32(rows * c), u32(c), u32(r0), i32(ignoreIndex), f32(labelSmoothing)],
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
