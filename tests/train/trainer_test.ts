// The Trainer's own duties on a toy task: evaluation every epoch, the best checkpoint by the
// task's metric in either direction or the loss-or-EM rule, the warmup and schedule options,
// freezing, and the run directory with its rotation of checkpoints.

import assert from "node:assert/strict";
import {
  crossEntropy,
  Linear,
  lossOnlyTask,
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
  assert.deepEqual(p.state.best, { value: 5, loss: 1, step: 8 });
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
  assert.deepEqual(p.state.best, { value: 5, loss: 1, step: 8 }, "the evaluation at step 8 counts");

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

Deno.test("savePolicy loss-or-em: best/ follows the notebook's rule", async () => {
  const out = await Deno.makeTempDir();
  // All three are saved: loss 3 (the first), loss 1 (lower), and loss 2 with score 4: the loss
  // rose, but the metric branch has no record yet (the notebook's starts at EM 0).
  const evals = [{ score: 3, loss: 3 }, { score: 5, loss: 1 }, { score: 4, loss: 2 }];
  const t = new Trainer(toyTask(evals), options(out, { savePolicy: "loss-or-em" }));
  await t.fit();
  t.dispose();
  assert.equal(await Deno.readTextFile(`${out}/best/eval.txt`), "2");
  assert.deepEqual((await readTrainerPointer(out)).state.best, { value: 4, loss: 1, step: 12 });
  await Deno.remove(out, { recursive: true });
});

Deno.test("saveTotalLimit keeps the last N checkpoints and never the best's", async () => {
  const dirs = (out: string) =>
    [...Deno.readDirSync(out)].filter((e) => e.name.startsWith("checkpoint-")).map((e) => e.name)
      .sort();
  const evals = [{ score: 9, loss: 1 }, { score: 1, loss: 1 }, { score: 2, loss: 1 }, {
    score: 3,
    loss: 1,
  }];
  const out = await Deno.makeTempDir();
  const t = new Trainer(toyTask(evals), options(out, { epochs: 4, saveTotalLimit: 2 }));
  await t.fit();
  t.dispose();
  assert.deepEqual(dirs(out), ["checkpoint-0000004", "checkpoint-0000016"], "best at 4");

  const one = await Deno.makeTempDir();
  const t1 = new Trainer(toyTask(evals), options(one, { epochs: 4, saveTotalLimit: 1 }));
  await t1.fit();
  t1.dispose();
  assert.deepEqual(dirs(one), ["checkpoint-0000004", "checkpoint-0000016"], "HF keeps 2");

  const plain = await Deno.makeTempDir();
  const t0 = new Trainer(toyTask(evals), options(plain, { epochs: 4 }));
  await t0.fit();
  t0.dispose();
  assert.deepEqual(dirs(plain), ["checkpoint-0000016"], "without the limit: the last");
  for (const d of [out, one, plain]) await Deno.remove(d, { recursive: true });
});

/** Embeddings, a layer and a head over 8 points: the names freezing picks from. */
function freezeTask(): TrainTask<Int32Array> & { parts: Record<string, Linear> } {
  const parts = {
    "enc.embeddings": new Linear(2, 3, { seed: 1 }),
    "enc.layer": new Linear(3, 3, { seed: 2 }),
    head: new Linear(3, 2, { seed: 3 }),
  };
  const x = Tensor.fromArray([0, 1, 1, 0, 1, 1, 0, 0, 2, 1, 1, 2, 0, 2, 2, 0], [8, 2]);
  const y = Tensor.fromArray(new Int32Array([0, 1, 0, 1, 0, 1, 0, 1]), [8]);
  const model = {
    namedParameters: (): [string, Tensor][] =>
      Object.entries(parts).flatMap(([p, m]) =>
        m.namedParameters().map(([n, t]): [string, Tensor] => [`${p}.${n}`, t])
      ),
    train: () => {},
  };
  const fwd = () =>
    parts.head.forward(parts["enc.layer"].forward(parts["enc.embeddings"].forward(x)));
  return {
    ...lossOnlyTask({ model, size: 8, loss: () => crossEntropy(fwd(), y) }),
    isHead: (n) => n.startsWith("head."),
    parts,
  };
}

Deno.test("freeze: no gradient and no AdamW state until the boundary step, then training", async () => {
  for (
    const [freeze, frozen] of [["embeddings", ["enc.embeddings"]], ["backbone", [
      "enc.embeddings",
      "enc.layer",
    ]]] as const
  ) {
    const task = freezeTask();
    // 4 steps an epoch: 0.6 epochs is steps 1-3.
    const t = new Trainer(task, options("", { freeze, freezeEpochs: 0.6, maxSteps: 6 }));
    assert.equal(t.unfreezeStep, 3);
    const weights = async () =>
      Object.fromEntries(
        await Promise.all(
          Object.entries(task.parts).map(async ([k, m]) => [k, await m.weight.toArray()] as const),
        ),
      );
    const w0 = await weights();
    for (let step = 1; step <= 6; step++) {
      await t.step(step, () => new Int32Array(0), false);
      const w = await weights();
      for (const k of Object.keys(task.parts)) {
        const isFrozen = (frozen as readonly string[]).includes(k) && step <= 3;
        assert.equal(
          w[k].every((v, i) => v === w0[k][i]),
          isFrozen,
          `${freeze}: ${k} at step ${step} ${isFrozen ? "frozen" : "trained"}`,
        );
      }
      const st = t.opt.state();
      const params = t.opt.groups.flatMap((g) => g.params);
      params.forEach((p, i) => {
        const isFrozen = frozen.some((k) => task.parts[k].weight === p || task.parts[k].bias === p);
        const steps = isFrozen ? Math.max(0, step - 3) : step;
        assert.equal(st.steps![i], steps, `${freeze}: step count at ${step}`);
        assert.equal(st.m[i] === null, steps === 0, `${freeze}: moments at ${step}`);
      });
    }
    t.dispose();
  }
});

Deno.test("freeze is refused with f16, without a head, and where it names no parameter", () => {
  const base = { freezeEpochs: 1, maxSteps: 2 };
  assert.throws(
    () =>
      new Trainer(freezeTask(), options("", { ...base, freeze: "embeddings", precision: "f16" })),
    /--freeze: does not combine with --precision f16/,
  );
  const headless = { ...freezeTask(), isHead: undefined };
  assert.throws(
    () => new Trainer(headless, options("", { ...base, freeze: "backbone" })),
    /--freeze backbone: this task does not say which parameters are its head/,
  );
  const fc = new Linear(2, 2, { seed: 0 });
  const bare = lossOnlyTask({ model: fc, size: 2, loss: () => fc.forward(fc.weight) });
  assert.throws(
    () => new Trainer(bare, options("", { ...base, freeze: "embeddings" })),
    /--freeze embeddings: no trained parameter is in it/,
  );
});

Deno.test("batchStream walks epoch after epoch from a resumed position, counting tokens", async () => {
  const { batchStream, lossOnlyTask, Linear, Tensor, initGpu } = await import("../../mod.ts");
  await initGpu();
  const task = lossOnlyTask({
    model: new Linear(1, 1, { seed: 0 }),
    size: 5,
    loss: () => Tensor.fromArray([0]),
    batch: (idx: Int32Array) => [...idx],
    tokens: (b: number[]) => 10 * b.length,
  });
  const s = batchStream(task, { batchSize: 2, seed: 3 });
  const epoch0 = [s.next(), s.next(), s.next()];
  assert.deepEqual(epoch0.flat().sort(), [0, 1, 2, 3, 4]);
  assert.equal(epoch0[2].length, 1, "the epoch's last batch is short");
  const first1 = s.next();
  assert.deepEqual([s.epoch, s.cursor, s.tokens], [1, 2, 70]);
  // A stream resumed at that point draws what the first one draws next.
  const resumed = batchStream(task, { batchSize: 2, seed: 3 }, { epoch: 1, cursor: 2, tokens: 70 });
  assert.deepEqual(resumed.next(), s.next());
  assert.equal(first1.length, 2);
});
