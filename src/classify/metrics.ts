// Classification metrics: accuracy, macro-F1 (scikit-learn's `f1_score(average="macro")`: the
// unweighted mean of the per-label F1 over the labels that occur in the gold or the predicted
// labels) and the confusion matrix.

/** Scores of a set of predictions. */
export interface ClassificationScore {
  /** Fraction of rows predicted right, 0–1. */
  accuracy: number;
  /** Unweighted mean of the per-label F1, 0–1. */
  macro_f1: number;
  /** `confusion[gold][predicted]` row counts. */
  confusion: number[][];
}

/**
 * Accuracy, macro-F1 and the confusion matrix of `predicted` against `gold` over `numLabels`.
 *
 * @example
 * ```ts
 * import { classificationScore } from "webgpu-bert";
 * const s = classificationScore([0, 1, 1, 0], [0, 1, 0, 0], 2);
 * console.log(s.accuracy, s.confusion); // 0.75 [[2, 0], [1, 1]]
 * ```
 */
export function classificationScore(
  gold: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numLabels: number,
): ClassificationScore {
  if (gold.length !== predicted.length) {
    throw new Error(`${gold.length} gold labels but ${predicted.length} predictions`);
  }
  const confusion = Array.from({ length: numLabels }, () => new Array(numLabels).fill(0));
  let right = 0;
  for (let i = 0; i < gold.length; i++) {
    confusion[gold[i]][predicted[i]]++;
    if (gold[i] === predicted[i]) right++;
  }
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < numLabels; c++) {
    const goldN = confusion[c].reduce((a, b) => a + b, 0);
    const predN = confusion.reduce((a, row) => a + row[c], 0);
    if (goldN + predN === 0) continue;
    present++;
    f1Sum += (2 * confusion[c][c]) / (goldN + predN);
  }
  return {
    accuracy: gold.length ? right / gold.length : 0,
    macro_f1: present ? f1Sum / present : 0,
    confusion,
  };
}
