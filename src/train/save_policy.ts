// When an evaluation replaces best/: by the task's metric (HF's metric_for_best_model), or by the
// ODQA reader notebook's rule (train_mrc.py), which watches the eval loss first and EM second.

/** How the Trainer decides that an evaluation is the new best (see {@linkcode nextBest}). */
export type SavePolicy = "metric" | "loss-or-em";

/** The save policies, by their `--save-policy` names. */
export const SAVE_POLICIES: readonly SavePolicy[] = ["metric", "loss-or-em"];

/**
 * The records an evaluation is compared with. Under "metric": the best evaluation's metric and
 * eval loss. Under "loss-or-em": the lowest eval loss and the highest metric that each made a
 * save, kept apart (`value` NaN until the metric first made one). `step`: the evaluation saved.
 */
export interface BestScore {
  /** The value of the task's best metric. */
  value: number;
  /** The eval loss. */
  loss: number;
  /** The step of the evaluation saved last (runs saved before it was recorded: absent). */
  step?: number;
}

/**
 * The new records if the evaluation at `step` (`value` of the task's metric, eval loss `loss`)
 * is saved as best, else null.
 *
 * - "metric": saved when the metric improves on the best (`greaterIsBetter` says which way),
 *   or equals it at a lower eval loss; the first finite evaluation is always saved.
 * - "loss-or-em" (the notebook's rule): saved when the eval loss is at most the lowest loss
 *   saved so far (that record moves), otherwise when the metric is at least as good as the
 *   highest metric saved by this second branch (that record moves; the first such comparison
 *   always saves, as the notebook's record starts at EM 0). Ties save, as in the notebook.
 *
 * @example
 * ```ts
 * import { nextBest } from "webgpu-bert";
 * const first = nextBest("loss-or-em", null, { value: 60, loss: 1.2, step: 100 }, true);
 * console.log(first); // { value: NaN, loss: 1.2, step: 100 }
 * console.log(nextBest("loss-or-em", first, { value: 62, loss: 1.3, step: 200 }, true));
 * // { value: 62, loss: 1.2, step: 200 }: the loss rose but EM was a new record
 * ```
 */
export function nextBest(
  policy: SavePolicy,
  best: BestScore | null,
  e: { value: number; loss: number; step: number },
  greaterIsBetter: boolean,
): BestScore | null {
  const sign = greaterIsBetter ? 1 : -1;
  if (policy === "metric") {
    if (!best || !Number.isFinite(best.value)) return { ...e };
    const better = sign * (e.value - best.value) > 0 ||
      (e.value === best.value && e.loss < best.loss);
    return better ? { ...e } : null;
  }
  const lowest = best && Number.isFinite(best.loss) ? best.loss : Infinity;
  const record = best?.value ?? NaN;
  if (e.loss <= lowest) return { value: record, loss: e.loss, step: e.step };
  if (!Number.isFinite(record) || sign * (e.value - record) >= 0) {
    return { value: e.value, loss: lowest, step: e.step };
  }
  return null;
}
