import assert from "node:assert/strict";
import { type BestScore, nextBest, type SavePolicy } from "../../mod.ts";

type Row = [SavePolicy, BestScore | null, number, number, boolean, BestScore | null];

// [policy, records, metric, eval loss, greater is better, new records (null: not saved)]
const TABLE: Row[] = [
  ["metric", null, 50, 2, true, { value: 50, loss: 2, step: 7 }],
  ["metric", { value: 50, loss: 2 }, 51, 9, true, { value: 51, loss: 9, step: 7 }],
  ["metric", { value: 50, loss: 2 }, 49, 0.1, true, null],
  ["metric", { value: 50, loss: 2 }, 50, 1, true, { value: 50, loss: 1, step: 7 }],
  ["metric", { value: 50, loss: 2 }, 50, 2, true, null],
  ["metric", { value: 2, loss: 2 }, 1.5, 1.5, false, { value: 1.5, loss: 1.5, step: 7 }],
  ["metric", { value: NaN, loss: 2 }, 10, 3, true, { value: 10, loss: 3, step: 7 }],
  // loss-or-em: the loss first (ties save), the metric record untouched.
  ["loss-or-em", null, 60, 1.2, true, { value: NaN, loss: 1.2, step: 7 }],
  ["loss-or-em", { value: NaN, loss: 1.2 }, 50, 1.2, true, { value: NaN, loss: 1.2, step: 7 }],
  ["loss-or-em", { value: 70, loss: 1.2 }, 10, 1.1, true, { value: 70, loss: 1.1, step: 7 }],
  // The loss rose: the metric decides against its own record (none yet: saved; ties save).
  ["loss-or-em", { value: NaN, loss: 1.2 }, 0, 1.3, true, { value: 0, loss: 1.2, step: 7 }],
  ["loss-or-em", { value: 62, loss: 1.2 }, 62, 1.3, true, { value: 62, loss: 1.2, step: 7 }],
  ["loss-or-em", { value: 62, loss: 1.2 }, 63, 5, true, { value: 63, loss: 1.2, step: 7 }],
  ["loss-or-em", { value: 62, loss: 1.2 }, 61.9, 1.3, true, null],
  // A NaN eval loss never beats the loss record; the metric may still save.
  ["loss-or-em", { value: 62, loss: 1.2 }, 61, NaN, true, null],
  ["loss-or-em", { value: 62, loss: 1.2 }, 64, NaN, true, { value: 64, loss: 1.2, step: 7 }],
  // A metric where lower is better turns the second test around.
  ["loss-or-em", { value: 3, loss: 1 }, 2, 2, false, { value: 2, loss: 1, step: 7 }],
  ["loss-or-em", { value: 3, loss: 1 }, 4, 2, false, null],
];

Deno.test("nextBest: the metric rule and the notebook's loss-or-em rule", () => {
  for (const [policy, best, value, loss, greater, want] of TABLE) {
    assert.deepEqual(
      nextBest(policy, best, { value, loss, step: 7 }, greater),
      want,
      `${policy} ${JSON.stringify(best)} ← metric ${value} loss ${loss}`,
    );
  }
});
