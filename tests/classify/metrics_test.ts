import assert from "node:assert/strict";
import { classificationScore } from "../../src/classify/metrics.ts";

Deno.test("accuracy, macro-F1 and the confusion matrix, as scikit-learn computes them", () => {
  // sklearn: f1_score([0,0,1,1,2,2], [0,1,1,1,2,0], average="macro") = 0.6555...
  const s = classificationScore([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], 3);
  assert.equal(s.accuracy, 4 / 6);
  const f1 = [2 / 4, 4 / 5, 2 / 3];
  assert.ok(Math.abs(s.macro_f1 - (f1[0] + f1[1] + f1[2]) / 3) < 1e-15);
  assert.deepEqual(s.confusion, [[1, 1, 0], [0, 2, 0], [1, 0, 1]]);
});

Deno.test("a label absent from gold and predictions does not count in macro-F1", () => {
  const s = classificationScore([0, 1], [0, 1], 3);
  assert.equal(s.macro_f1, 1);
  assert.deepEqual(classificationScore([], [], 2), {
    accuracy: 0,
    macro_f1: 0,
    confusion: [[0, 0], [0, 0]],
  });
  assert.throws(() => classificationScore([0], [], 2), /1 gold labels but 0 predictions/);
});
