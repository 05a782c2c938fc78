// The Trainer's own duties on a toy task: evaluation every epoch, the best checkpoint by the
// task's metric in either direction, the warmup and schedule options, and the run directory.

import assert from "node:assert/strict";
import {
  crossEntropy,
  Linear,
  readJsonl,
  readTrainerPointer,
  type TaskEvaluation,
  Tensor,
  Trainer,
  type TrainerOptions,
  TrainingInterrupted,
  type TrainTask,
  UsageError,
} from "../../mod.ts";
import "../_helpers.ts";

/** A Linear classifier on 8 fixed points; each evaluation reports the next of `evals`. */
function toyTask(evals: { score: number; loss: number }[]): TrainTask<Int32Array> {
  const fc = new Linear(2, 2, { seed: 1 });
  const x = Tensor.fromArray([0, 1, 1, 0, 1, 1, 0, 0, 2, 1, 1, 2, 0, 2, 2, 0], [8, 2]);
  const y = Tensor.fromArray(new Int32Array([0, 1, 0, 1, 0, 1, 0, 1]), [8]);
  let k = 0;
  let saved = -1;
  return {
    title: "toy",
    model: fc,
    size: 8,
    summary: "8 points",
    batch: (idx) => idx.slice(),
    tokens: (b) => b.length,
    loss: () => crossEntropy(fc.forward(x), y),
    evaluate(): Promise<TaskEvaluation> {
      saved = k;
      const e = evals[k++];
      return Promise.resolve({ metrics: { score: e.score }, loss: e.loss, seconds: 0 });
    },
    best: { metric: "score", greaterIsBetter: true },
    describe: (e) => `score ${e.metrics.score}`,
    save: (dir) => Deno.writeTextFile(`${dir}/eval.txt`, String(saved)),
    rootFiles: ["eval.txt"],
  };
}

function options(out: string, more: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    out,
    epochs: 3,
    batchSize: 2,
    gradAccum: 1,
    evalEvery: "epoch",
    seed: 0,
    lr: 0.1,
    warmupRatio: 0,
    weightDecay: 0,
    logEvery: 1,
    quiet: true,
    ...more,
  };
}

const EVALS = [{ score: 3, loss: 3 }, { score: 5, loss: 1 }, { score: 4, loss: 2 }];

Deno.test("evalEvery 'epoch' evaluates at each epoch's end and at the end; best by the metric", async () => {
  const out = await Deno.makeTempDir();
  const t = new Trainer(toyTask(EVALS), options(out));
  assert.equal(t.stepsPerEpoch, 4);
  const r = await t.fit();
  t.dispose();
  assert.equal(r.steps, 12);
  const evals = (await readJsonl(`${out}/metrics.jsonl`)).filter((m) => "score" in m);
  assert.deepEqual(evals.map((m) => [m.step, m.epoch, m.score, m.eval_loss]), [
    [4, 1, 3, 3],
    [8, 2, 5, 1],
    [12, 3, 4, 2],
  ]);
  assert.equal(await Deno.readTextFile(`${out}/best/eval.txt`), "1", "the 5 of the second eval");
  assert.equal(await Deno.readTextFile(`${out}/eval.txt`), "2", "the root holds the last");
  const p = await readTrainerPointer(out);
  assert.deepEqual(p.state.best, { value: 5, loss: 1 });
  // The plot marks each evaluation as a point.
  const svg = await Deno.readTextFile(`${out}/plot.svg`);
  assert.equal(svg.match(/<circle/g)?.length, 6, "3 eval losses and 3 scores");
  await Deno.remove(out, { recursive: true });
});

Deno.test("best by eval_loss, lower wins; ties of the metric go to the lower eval loss", async () => {
  const out = await Deno.makeTempDir();
  const task = { ...toyTask(EVALS), best: { metric: "eval_loss", greaterIsBetter: false } };
  const t = new Trainer(task, options(out));
  await t.fit();
  t.dispose();
  assert.equal(await Deno.readTextFile(`${out}/best/eval.txt`), "1");

  const tie = await Deno.makeTempDir();
  const evals = [{ score: 5, loss: 2 }, { score: 5, loss: 1 }, { score: 4, loss: 0 }];
  const t2 = new Trainer(toyTask(evals), options(tie));
  await t2.fit();
  t2.dispose();
  assert.equal(await Deno.readTextFile(`${tie}/best/eval.txt`), "1");
  await Deno.remove(out, { recursive: true });
  await Deno.remove(tie, { recursive: true });
});

Deno.test("warmupSteps overrides warmupRatio; lrSchedule constant holds the peak after warmup", async () => {
  const out = await Deno.makeTempDir();
  const linear = new Trainer(toyTask(EVALS), options(out, { warmupRatio: 0.5, warmupSteps: 2 }));
  assert.equal(linear.warmup, 2);
  assert.deepEqual([1, 2, 3, 12].map((s) => linear.lrScale(s)), [0, 0.5, 1, 0.1]);
  linear.dispose();
  const constant = new Trainer(
    toyTask(EVALS),
    options(out, { warmupRatio: 0.25, lrSchedule: "constant" }),
  );
  assert.equal(constant.warmup, 3);
  assert.deepEqual([1, 2, 4, 12].map((s) => constant.lrScale(s)), [0, 1 / 3, 1, 1]);
  constant.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("a stop at an evaluation saves the best including it; a finished run does not resume", async () => {
  const out = await Deno.makeTempDir();
  const t = new Trainer(toyTask(EVALS), options(out, { stopAfter: 8 }));
  await assert.rejects(() => t.fit(), TrainingInterrupted);
  t.dispose();
  const p = await readTrainerPointer(out);
  assert.equal(p.step, 8);
  assert.deepEqual(p.state.best, { value: 5, loss: 1 }, "the evaluation at step 8 counts");

  const done = new Trainer(toyTask(EVALS), options(out, { maxSteps: 8 }));
  await assert.rejects(
    () =>
      done.fit({
        step: 8,
        epoch: 2,
        cursor: 0,
        tokens: 0,
        best: null,
        checkpointDir: p.dir,
      }),
    (e) => e instanceof UsageError && /already at step 8 of 8/.test(e.message),
  );
  done.dispose();
  await Deno.remove(out, { recursive: true });
});
