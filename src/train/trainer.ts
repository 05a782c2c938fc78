// One training loop for every task, as HF's Trainer: AdamW (no decay on biases and LayerNorm),
// linear warmup/decay, gradient accumulation, clipping, f16 loss scaling, the NaN guard, SIGINT
// and --stop-after, crash-safe checkpoints with bit-exact resume, progress, metrics.jsonl, the
// plot, evaluation every N steps and the best checkpoint by the task's metric (or the
// loss-or-EM rule), a rotation of the last checkpoints, and freezing the embeddings or the
// backbone for the first epochs. A task brings only what is its own: see {@linkcode TrainTask}.

import { backward, noGrad } from "../autograd.ts";
import { add, scale, zeros } from "../ops/elementwise.ts";
import { type MatmulPrecision, matmulPrecision, setMatmulPrecision } from "../ops/matmul.ts";
import { AdamW } from "../optim/adamw.ts";
import { clipCoefficient, gradNorm, nonFiniteGuard } from "../optim/clip.ts";
import { LossScaler, type LossScalerOptions, type LossScalerState } from "../optim/loss_scale.ts";
import { linearWarmupDecay } from "../optim/schedule.ts";
import { keep, scopeAsync, type Tensor } from "../tensor.ts";
import { hostFiles } from "../io/files.ts";
import { UsageError } from "../util/errors.ts";
import { onInterrupt } from "../util/env.ts";
import { bucketedEpochOrder, epochOrder, groupedEpochOrder } from "./sampler.ts";
import { type BestScore, nextBest, type SavePolicy } from "./save_policy.ts";

/** The task-independent hyperparameters of a run (the CLI's run, optimizer and reliability flags). */
export interface TrainerOptions {
  /** Run directory: checkpoints, best/, metrics.jsonl and plot.svg. */
  out: string;
  /** Passes over the training items (may be fractional). */
  epochs: number;
  /** Optimizer steps; overrides `epochs`. */
  maxSteps?: number;
  /** Items per micro-batch. */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
  /** Evaluate and checkpoint every this many steps, or every epoch (and always at the end). */
  evalEvery: number | "epoch";
  /** Seed of the data order and of dropout. */
  seed: number;
  /** Peak learning rate. */
  lr: number;
  /** Fraction of the steps spent in linear warmup. */
  warmupRatio: number;
  /** Warmup steps; overrides `warmupRatio` when given (HF's `warmup_steps`). */
  warmupSteps?: number;
  /** AdamW weight decay; biases and LayerNorm weights get none. */
  weightDecay: number;
  /** Peak learning rate of the task head's parameters (see `TrainTask.isHead`); default `lr`. */
  headLr?: number;
  /**
   * After warmup the LR falls linearly to 0 at the last step ("linear", the default) or stays
   * at its peak ("constant"), as HF's `lr_scheduler_type`.
   */
  lrSchedule?: "linear" | "constant";
  /** AdamW's betas; default [0.9, 0.999]. */
  adamBetas?: [number, number];
  /** AdamW's epsilon; default 1e-8. */
  adamEps?: number;
  /** Gradient clipping norm; default 1.0. */
  maxGradNorm?: number;
  /** Read the loss back every this many steps (a readback is a GPU sync). */
  logEvery: number;
  /** Also write a resumable checkpoint every this many steps (without evaluating). */
  saveEvery?: number;
  /**
   * Batch items of similar length, as Hugging Face's `group_by_length`: each epoch's shuffle
   * is cut into megabatches of 50 batches, each sorted longest first (see
   * {@linkcode groupedEpochOrder}).
   */
  groupByLength?: boolean;
  /**
   * Batch within this many equal-count length buckets, batches of all buckets shuffled together
   * (see {@linkcode bucketedEpochOrder}). Ignored with `groupByLength`; default 1 (plain shuffle).
   */
  lengthBuckets?: number;
  /** Stop after this many steps of this session, saving a resumable checkpoint. */
  stopAfter?: number;
  /** Test aid: make the loss NaN at this step. */
  injectNanAt?: number;
  /** No progress bar or log lines on stderr. */
  quiet?: boolean;
  /**
   * Matmul precision (default "f32"). "f16" rounds every matmul operand to f16 (needs the
   * device feature `shader-f16`; resolve it with `resolvePrecision` first) with f32 master
   * weights and dynamic loss scaling: a step whose scaled gradients overflow is skipped and the
   * scale halves. metrics.jsonl then gets `loss_scale` and `skipped_steps`.
   */
  precision?: MatmulPrecision;
  /** The f16 loss scaler's constants (default torch.cuda.amp.GradScaler's). */
  lossScaler?: LossScalerOptions;
  /**
   * Freeze the encoder's embeddings (`*.embeddings.*`) or the whole backbone (all but the task
   * head, by `TrainTask.isHead`) for the first `freezeEpochs` epochs: those parameters get no
   * gradient (no backward work) and no AdamW state until the step boundary
   * `ceil(freezeEpochs × stepsPerEpoch)`; after it their moments start from zero and their
   * bias corrections count from there, as PyTorch's AdamW does for a parameter whose first
   * gradient comes then. Not with f16 (the loss scaler's skips count from step 1).
   */
  freeze?: "embeddings" | "backbone";
  /** Epochs (may be fractional) that `freeze` lasts. */
  freezeEpochs?: number;
  /**
   * HF's `label_smoothing_factor` for the task's training cross-entropies (read by the task;
   * see `crossEntropy`); default 0.
   */
  labelSmoothing?: number;
  /** When an evaluation replaces best/ (see {@linkcode nextBest}); default "metric". */
  savePolicy?: SavePolicy;
  /**
   * Keep at most this many `checkpoint-<step>/` directories, as HF's `save_total_limit`: the
   * oldest go once a new one is saved, but never the best evaluation's (kept as HF keeps
   * `best_model_checkpoint`, which may make N + 1 with N = 1). Default: the newest only.
   */
  saveTotalLimit?: number;
}

/** What a model must offer the Trainer: its parameters, a training switch, dropout seeding. */
export interface TrainableModel {
  /** Every parameter with its HF name; those with `requiresGrad` are trained. */
  namedParameters(): [string, Tensor][];
  /** Switches dropout on (true) or off. */
  train(on: boolean): void;
  /** Dropout masks are a function of (run seed, step, site): a resumed run draws the same ones. */
  setDropoutStep?(seed: number, step: number): void;
}

/** One evaluation's result, as a task reports it. */
export interface TaskEvaluation {
  /** The task's metrics by their logged names, e.g. `{ exact_match, f1 }`. */
  metrics: Record<string, number>;
  /** Mean evaluation loss; breaks ties of the best metric (lower wins). */
  loss: number;
  /** Wall-clock seconds of the evaluation. */
  seconds: number;
}

/**
 * What a task brings to the {@linkcode Trainer}: its model, its training items (already turned
 * into features), how to batch them and compute the loss, how to evaluate, which metric is
 * better, and how to save the model and the task's artifacts.
 */
export interface TrainTask<Batch, Evaluation extends TaskEvaluation = TaskEvaluation> {
  /** Shown in logs and the plot's title, e.g. "QA". */
  readonly title: string;
  /** The model being trained. */
  readonly model: TrainableModel;
  /** Number of training items (features); the Trainer samples indices `0..size-1`. */
  readonly size: number;
  /** One line on the data, e.g. "300 examples → 324 features". */
  readonly summary: string;
  /** Whether a parameter belongs to the task head, which `headLr` trains at its own rate. */
  isHead?(name: string): boolean;
  /** Tokens of each item, for length grouping and buckets; without it they are not offered. */
  lengths?(): ArrayLike<number>;
  /**
   * Called before the batches of each optimizer step are built: a task whose batches are
   * random (masked-LM masks) draws them from (seed, step), so a resumed run re-creates them.
   */
  beginStep?(seed: number, step: number): void;
  /** The model input of the items `indices`, with labels. */
  batch(indices: Int32Array): Batch;
  /** Tokens a batch costs (padding included), for tokens/s. */
  tokens(batch: Batch): number;
  /** The scalar training loss of a batch (with the tape on). */
  loss(batch: Batch): Tensor;
  /** Evaluates the model (the Trainer restores training mode afterwards). */
  evaluate(): Promise<Evaluation>;
  /**
   * The metric that picks the best checkpoint (a key of `metrics`, or "eval_loss"), and whether
   * higher is better; ties go to the lower eval loss.
   */
  readonly best: { metric: string; greaterIsBetter: boolean };
  /** How an evaluation reads in the log, e.g. "EM 80.00 F1 85.00". */
  describe(e: Evaluation): string;
  /** Saves the model and what it needs (config, tokenizer) in HF layout into `dir`. */
  save(dir: string): Promise<void>;
  /** Files of a saved model that also live at the run dir's root (HF layout). */
  readonly rootFiles: readonly string[];
  /** Writes the task's artifacts of an evaluation (for QA, predictions and n-best) into `dir`. */
  writeArtifacts?(dir: string, e: Evaluation): Promise<void>;
}

/**
 * A task of only a model, its items and a loss, for driving {@linkcode Trainer.step} with
 * batches of your own (a fixed order, a benchmark, an example): it has no evaluation, and
 * saves nothing, so {@linkcode Trainer.fit} refuses it at the first evaluation.
 *
 * @example
 * ```ts
 * import { crossEntropy, initGpu, Linear, lossOnlyTask, Tensor, Trainer } from "webgpu-bert";
 * await initGpu();
 * const fc = new Linear(2, 2, { seed: 0 });
 * const x = Tensor.fromArray([0, 1, 1, 0], [2, 2]);
 * const y = Tensor.fromArray(new Int32Array([1, 0]), [2]);
 * const task = lossOnlyTask({ model: fc, size: 2, loss: () => crossEntropy(fc.forward(x), y) });
 * const t = new Trainer(task, { out: "", epochs: 1, maxSteps: 3, batchSize: 2, gradAccum: 1,
 *   evalEvery: 3, seed: 0, lr: 0.1, warmupRatio: 0, weightDecay: 0, logEvery: 1 });
 * console.log(await t.step(1, () => null, true)); // the first step's loss
 * t.dispose();
 * ```
 */
export function lossOnlyTask<Batch>(part: {
  model: TrainableModel;
  size: number;
  loss: (batch: Batch) => Tensor;
  batch?: (indices: Int32Array) => Batch;
  tokens?: (batch: Batch) => number;
}): TrainTask<Batch> {
  return {
    title: "training",
    summary: `${part.size} items`,
    batch: (idx) => part.batch ? part.batch(idx) : idx as Batch,
    tokens: part.tokens ?? (() => 0),
    evaluate: () => Promise.reject(new Error("this task has no evaluation: drive Trainer.step")),
    best: { metric: "eval_loss", greaterIsBetter: false },
    describe: () => "",
    save: () => Promise.resolve(),
    rootFiles: [],
    ...part,
  };
}

/** Where a resumed run picks up: the trainer state saved with its last checkpoint. */
export interface ResumeState {
  /** Last completed optimizer step. */
  step: number;
  /** Epoch and position in that epoch's item order. */
  epoch: number;
  /** Items of the current epoch already consumed. */
  cursor: number;
  /** Tokens processed so far (for tokens/s). */
  tokens: number;
  /** Best metric so far and its eval loss (runs saved before the Trainer wrote `em`). */
  best: BestScore | { em: number; loss: number } | null;
  /** The verified checkpoint directory to restore optimizer moments from. */
  checkpointDir: string;
  /** The loss scaler's state, saved by f16 runs. */
  lossScale?: LossScalerState;
}

/** What a finished run reports. */
export interface TrainResult<Evaluation extends TaskEvaluation = TaskEvaluation> {
  /** The final evaluation. */
  final: Evaluation;
  /** Wall-clock time of training, evaluations excluded, in seconds. */
  trainSeconds: number;
  /** Optimizer steps taken in all. */
  steps: number;
  /** Training throughput in tokens (padding included) per second. */
  tokensPerS: number;
}

/** The run stopped early (SIGINT or --stop-after) after saving a resumable checkpoint. */
export class TrainingInterrupted extends Error {
  /** Stopped after `step`; the resumable checkpoint is in the run directory `out`. */
  constructor(readonly step: number, readonly out: string) {
    super(
      `stopped after step ${step}; a resumable checkpoint is in ${out} (resume with --resume ${out})`,
    );
    this.name = "TrainingInterrupted";
  }
}

/** The loss or the gradient norm was NaN/Inf; nothing after the last checkpoint was saved. */
export class NonFiniteError extends Error {
  /** Non-finite at `step`; `out` is the run directory holding the last good checkpoint. */
  constructor(readonly step: number, out: string) {
    super(
      `non-finite loss or gradient norm at step ${step}; stopped (that step's update was skipped; ` +
        `the last good checkpoint in ${out} is intact)`,
    );
    this.name = "NonFiniteError";
  }
}

function noDecay(name: string): boolean {
  return name.endsWith(".bias") || name.includes("LayerNorm");
}

function bestOf(b: ResumeState["best"] | undefined): BestScore | null {
  if (!b) return null;
  const best = "value" in b ? b : { value: b.em, loss: b.loss };
  // JSON saves NaN as null; nextBest reads a NaN record as none.
  return { ...best, value: best.value ?? NaN, loss: best.loss ?? NaN };
}

/** The parameters `freeze` names: of those the run trains, the embeddings or all but the head. */
function frozenBy(
  freeze: "embeddings" | "backbone",
  named: [string, Tensor][],
  isHead: ((name: string) => boolean) | undefined,
): Tensor[] {
  if (freeze === "backbone" && !isHead) {
    throw new UsageError("--freeze backbone: this task does not say which parameters are its head");
  }
  const pick = freeze === "embeddings"
    ? (n: string) => /(^|\.)embeddings\./.test(n)
    : (n: string) => !isHead!(n);
  const out = named.filter(([n]) => pick(n)).map(([, t]) => t);
  if (!out.length) throw new UsageError(`--freeze ${freeze}: no trained parameter is in it`);
  return out;
}

/** Where a {@linkcode batchStream} stands: the epoch, the position in its order, tokens drawn. */
export interface BatchCursor {
  /** Epoch of the next batch. */
  epoch: number;
  /** Items of that epoch already drawn. */
  cursor: number;
  /** Tokens of every batch drawn so far (padding included), for tokens/s. */
  tokens: number;
}

/**
 * The Trainer's micro-batches of `task`: each epoch's order (a seeded shuffle, or by length as
 * `o.groupByLength` / `o.lengthBuckets` ask) cut into `o.batchSize` items, epoch after epoch,
 * from `at` (a resumed run's position) or the start. {@linkcode Trainer.fit} draws from one;
 * a caller driving {@linkcode Trainer.step} itself (a page training for N steps) can too.
 *
 * @example
 * ```ts
 * import { batchStream, initGpu, Linear, lossOnlyTask, Tensor } from "webgpu-bert";
 * await initGpu();
 * const task = lossOnlyTask({ model: new Linear(1, 1, { seed: 0 }), size: 5, loss: () => Tensor.fromArray([0]),
 *   batch: (idx: Int32Array) => [...idx], tokens: (b: number[]) => b.length });
 * const s = batchStream(task, { batchSize: 2, seed: 0 });
 * console.log(s.next(), s.next(), s.next(), s.epoch, s.tokens); // 5 items, then epoch 1
 * ```
 */
export function batchStream<Batch>(
  task: Pick<TrainTask<Batch>, "size" | "batch" | "tokens" | "lengths">,
  o: Pick<TrainerOptions, "batchSize" | "seed" | "groupByLength" | "lengthBuckets"> & {
    gradAccum?: number;
  },
  at?: BatchCursor,
): BatchCursor & { next(): Batch } {
  const lengths = task.lengths?.();
  const orderOf = (e: number) =>
    lengths && o.groupByLength
      ? groupedEpochOrder(lengths, o.batchSize * (o.gradAccum ?? 1), o.seed, e)
      : lengths && (o.lengthBuckets ?? 1) > 1
      ? bucketedEpochOrder(lengths, o.batchSize, o.lengthBuckets!, o.seed, e)
      : epochOrder(task.size, o.seed, e);
  const s = { epoch: at?.epoch ?? 0, cursor: at?.cursor ?? 0, tokens: at?.tokens ?? 0 };
  let order = orderOf(s.epoch);
  return Object.assign(s, {
    next(): Batch {
      if (s.cursor >= order.length) {
        s.epoch++;
        s.cursor = 0;
        order = orderOf(s.epoch);
      }
      const idx = order.subarray(s.cursor, Math.min(s.cursor + o.batchSize, order.length));
      s.cursor += idx.length;
      const b = task.batch(idx);
      s.tokens += task.tokens(b);
      return b;
    },
  });
}

/**
 * Trains a task's model. Build it, then call {@linkcode Trainer.fit} for a whole run, or
 * {@linkcode Trainer.step} to drive single optimizer steps over batches of your own.
 *
 * @example
 * ```ts
 * import { crossEntropy, initGpu, Linear, lossOnlyTask, Tensor, Trainer } from "webgpu-bert";
 * await initGpu();
 * const fc = new Linear(2, 2, { seed: 0 });
 * const x = Tensor.fromArray([0, 1, 1, 0], [2, 2]);
 * const y = Tensor.fromArray(new Int32Array([1, 0]), [2]);
 * const t = new Trainer(
 *   lossOnlyTask({ model: fc, size: 2, loss: () => crossEntropy(fc.forward(x), y) }),
 *   { out: "", epochs: 1, maxSteps: 5, batchSize: 2, gradAccum: 1, evalEvery: 5, seed: 0,
 *     lr: 0.1, warmupRatio: 0, weightDecay: 0, logEvery: 1, quiet: true },
 * );
 * for (let step = 1; step <= 5; step++) console.log(await t.step(step, () => null, true));
 * t.dispose();
 * ```
 */
export class Trainer<Batch, Evaluation extends TaskEvaluation = TaskEvaluation> {
  /** The optimizer over the model's trainable parameters. */
  readonly opt: AdamW;
  /** Total optimizer steps of the run. */
  readonly total: number;
  /** Warmup steps of the linear schedule. */
  readonly warmup: number;
  /** Optimizer steps per epoch. */
  readonly stepsPerEpoch: number;
  /** Steps 1..`unfreezeStep` train without the `freeze` parameters (0: none frozen). */
  readonly unfreezeStep: number;
  private readonly params: Tensor[];
  private readonly frozen: Tensor[];
  private readonly scaler: LossScaler | null;
  private readonly firstBad: Tensor;
  private readonly precisionBefore: MatmulPrecision;

  /** A trainer of `task` with options `o`; sets the matmul precision until `dispose`. */
  constructor(readonly task: TrainTask<Batch, Evaluation>, readonly o: TrainerOptions) {
    if (!task.size) throw new Error("no training items: the training set is empty");
    this.stepsPerEpoch = Math.ceil(task.size / (o.batchSize * o.gradAccum));
    this.total = o.maxSteps ?? Math.ceil(o.epochs * this.stepsPerEpoch);
    this.warmup = o.warmupSteps ?? Math.floor(o.warmupRatio * this.total);
    const named = task.model.namedParameters().filter(([, t]) => t.requiresGrad);
    this.params = named.map(([, t]) => t);
    if (o.freeze && o.precision === "f16") {
      throw new UsageError("--freeze: does not combine with --precision f16");
    }
    this.frozen = o.freeze ? frozenBy(o.freeze, named, task.isHead?.bind(task)) : [];
    this.unfreezeStep = o.freeze ? Math.ceil((o.freezeEpochs ?? 0) * this.stepsPerEpoch) : 0;
    // HF's groups: no decay on biases and LayerNorm weights; with headLr, the head's own pair.
    const head = o.headLr !== undefined && task.isHead ? task.isHead.bind(task) : () => false;
    const groups = [false, true].flatMap((isHead) => {
      const lr = isHead ? o.headLr! : o.lr;
      const mine = named.filter(([n]) => head(n) === isHead);
      if (isHead && !mine.length) return [];
      return [
        {
          params: mine.filter(([n]) => !noDecay(n)).map(([, t]) => t),
          lr,
          weightDecay: o.weightDecay,
        },
        { params: mine.filter(([n]) => noDecay(n)).map(([, t]) => t), lr, weightDecay: 0 },
      ];
    });
    this.opt = new AdamW(groups, { betas: o.adamBetas ?? [0.9, 0.999], eps: o.adamEps });
    this.precisionBefore = matmulPrecision();
    setMatmulPrecision(o.precision ?? "f32");
    this.scaler = o.precision === "f16" ? new LossScaler(o.lossScaler) : null;
    this.firstBad = keep(zeros([1], "i32"));
  }

  /** The LR multiplier of `step` (1-based): HF's linear warmup, then its decay or constant. */
  lrScale(step: number): number {
    if (this.o.lrSchedule === "constant" && step - 1 >= this.warmup) return 1;
    return linearWarmupDecay(step - 1, this.warmup, this.total);
  }

  /**
   * One optimizer step: the step's dropout seed, then `gradAccum` micro-batches from `next`,
   * each forward and backward (the
   * loss scaled for accumulation and by the f16 scaler), then the guard, clipping (or the
   * scaler's unscale and skip) and AdamW, all in one submission. Returns the summed loss when
   * `wantLoss` (a readback), else NaN. Throws {@linkcode NonFiniteError} once a non-finite loss
   * or gradient norm has been seen at a readback.
   */
  async step(step: number, next: () => Batch, wantLoss: boolean): Promise<number> {
    const { o, task, scaler, firstBad } = this;
    const lrScale = this.lrScale(step);
    // Frozen parameters need no gradient, so the backward never reaches them; AdamW then
    // leaves them, and their moments, untouched.
    for (const p of this.frozen) p.requiresGrad = step > this.unfreezeStep;
    task.model.setDropoutStep?.(o.seed, step);
    task.beginStep?.(o.seed, step);
    return await scopeAsync(async () => {
      let sum: Tensor | null = null;
      for (let m = 0; m < o.gradAccum; m++) {
        const out = task.loss(next());
        let l = o.gradAccum > 1 ? scale(out, 1 / o.gradAccum) : out;
        if (step === o.injectNanAt) l = scale(l, NaN);
        backward(scaler ? scaler.scaleLoss(l) : l);
        sum = sum ? noGrad(() => add(sum!, l)) : l;
      }
      noGrad(() => {
        const norm = gradNorm(this.params);
        if (scaler) {
          // An overflow of the scaled gradients is the scaler's: it skips the step and backs
          // off. The guard watches the unscaled loss, and the scale, which turns NaN only when
          // gradients stay non-finite at a scale far below any f16 overflow.
          const gradScale = scaler.update(norm, o.maxGradNorm ?? 1.0);
          nonFiniteGuard(sum!, scaler.scale, firstBad, step);
          this.opt.step(lrScale, gradScale, scaler.skipped);
        } else {
          nonFiniteGuard(sum!, norm, firstBad, step);
          this.opt.step(lrScale, clipCoefficient(norm, o.maxGradNorm ?? 1.0));
        }
      });
      this.opt.zeroGrad();
      if (!wantLoss) return NaN;
      const bad = await firstBad.item();
      if (bad) throw new NonFiniteError(bad, o.out);
      return await sum!.item();
    });
  }

  /**
   * Trains to the end (or to `stopAfter`/SIGINT), evaluating every `evalEvery` steps and at the
   * end; writes the run directory: the last checkpoint at its root, the best by the task's
   * metric in `best/`, metrics.jsonl, plot.svg and the task's artifacts. `extraState` is saved
   * in `trainer_state.json` beside the loop's own state (a CLI keeps its data spec there).
   */
  async fit(
    resume?: ResumeState,
    extraState: Record<string, unknown> = {},
  ): Promise<TrainResult<Evaluation>> {
    const { o, task, scaler, total, warmup, stepsPerEpoch } = this;
    if (resume && resume.step >= total) {
      throw new UsageError(
        `the run in ${o.out} is already at step ${resume.step} of ${total}; ` +
          `give a larger --max-steps or --epochs to extend it`,
      );
    }
    if (scaler && resume?.lossScale) scaler.loadState(resume.lossScale);
    // The run directory, its logs and the progress bar are the host's: loaded here, so that a
    // page that only drives step() never loads them.
    const [files, host, log, { ProgressBar }] = await Promise.all([
      hostFiles(),
      import("./checkpoint.ts"),
      import("./log.ts"),
      import("../io/progress.ts"),
    ]);
    await files.mkdir(o.out);
    const metricsPath = `${o.out}/metrics.jsonl`;
    if (!o.quiet) {
      console.error(
        `train: ${task.summary}; ${total} steps ` +
          `(batch ${o.batchSize} × accum ${o.gradAccum}), warmup ${warmup}`,
      );
    }
    const evalEvery = o.evalEvery === "epoch" ? stepsPerEpoch : o.evalEvery;

    if (resume) await host.loadOptimizerState(resume.checkpointDir, task.model, this.opt);
    const batches = batchStream(task, o, resume);
    // This session's tokens, for tokens/s (`batches.tokens` also counts earlier sessions').
    const tokens0 = batches.tokens;
    const nextBatch = () => batches.next();

    const bar = o.quiet ? null : new ProgressBar(total, "train");
    const t0 = performance.now();
    let lastLoss = NaN;
    let lastLossStep = 0;
    let lastScale: number | undefined;
    let best = bestOf(resume?.best);
    const checkpoint = async (step: number) => {
      // A save is a sync point anyway: never save past a non-finite step.
      const bad = await this.firstBad.item();
      if (bad) throw new NonFiniteError(bad, o.out);
      const state = {
        ...extraState,
        step,
        epoch: batches.epoch,
        cursor: batches.cursor,
        tokens: batches.tokens,
        best,
        options: o,
        ...(scaler ? { lossScale: await scaler.state() } : {}),
      };
      await host.saveTrainingCheckpoint(
        o.out,
        step,
        task.model,
        this.opt,
        state,
        (dir) => task.save(dir),
        [...task.rootFiles],
        { limit: o.saveTotalLimit ?? 1, keepStep: o.saveTotalLimit ? best?.step : undefined },
      );
    };
    // f16 runs log the loss scale and the skipped steps with every loss they read back.
    const scaleFields = async (): Promise<Record<string, number>> => {
      if (!scaler) return {};
      const st = await scaler.state();
      return { loss_scale: st.scale, skipped_steps: st.skipped };
    };
    let interrupted = false;
    const stopListening = onInterrupt(() => {
      interrupted = true;
    });
    let last: Evaluation | null = null;
    let evalSeconds = 0;
    const tokensPerS = () =>
      (batches.tokens - tokens0) / ((performance.now() - t0) / 1000 - evalSeconds);
    const evaluate = async (step: number) => {
      const e0 = performance.now();
      let r: Evaluation;
      try {
        r = await task.evaluate();
      } finally {
        task.model.train(true);
      }
      last = r;
      await log.appendJsonl(metricsPath, {
        step,
        epoch: +(step / stepsPerEpoch).toFixed(3),
        loss: lastLossStep === step ? lastLoss : null,
        lr: o.lr * this.lrScale(step),
        eval_loss: r.loss,
        ...r.metrics,
        tokens_per_s: tokensPerS(),
        ...await scaleFields(),
      });
      await files.writeAtomic(
        `${o.out}/plot.svg`,
        new TextEncoder().encode(
          log.plotSvg(await log.readJsonl(metricsPath), `${task.title} training: ${o.out}`, {
            metrics: Object.keys(r.metrics),
          }),
        ),
      );
      const value = task.best.metric === "eval_loss" ? r.loss : r.metrics[task.best.metric];
      if (value === undefined) throw new Error(`the evaluation has no metric ${task.best.metric}`);
      const next = nextBest(
        o.savePolicy ?? "metric",
        best,
        { value, loss: r.loss, step },
        task.best.greaterIsBetter,
      );
      const better = next !== null;
      // The checkpoint records the best including this evaluation, so a resume keeps it.
      if (next) best = next;
      await checkpoint(step);
      await task.writeArtifacts?.(o.out, r);
      if (better) {
        await files.mkdir(`${o.out}/best`);
        await task.save(`${o.out}/best`);
        await task.writeArtifacts?.(`${o.out}/best`, r);
      }
      if (!o.quiet) {
        console.error(
          `\neval @${step}: ${task.describe(r)} ` +
            `eval_loss ${r.loss.toFixed(4)} (${r.seconds.toFixed(1)}s)`,
        );
      }
      evalSeconds += (performance.now() - e0) / 1000;
    };

    task.model.train(true);
    const first = (resume?.step ?? 0) + 1;
    try {
      for (let step = first; step <= total; step++) {
        const lrScale = this.lrScale(step);
        const wantLoss = step % o.logEvery === 0 || step === total;
        const loss = await this.step(step, nextBatch, wantLoss);
        if (wantLoss) {
          // A non-finite loss never gets here: the guard saw it and step() threw.
          lastLoss = loss;
          lastLossStep = step;
          const scaled = await scaleFields();
          lastScale = scaled.loss_scale ?? lastScale;
          await log.appendJsonl(metricsPath, { step, loss, lr: o.lr * lrScale, ...scaled });
        }
        bar?.update(step, {
          loss: Number.isFinite(lastLoss) ? lastLoss : "-",
          lr: o.lr * lrScale,
          "tok/s": Math.round(tokensPerS()),
          ...(scaler ? { scale: lastScale ?? "-" } : {}),
        });
        let saved = false;
        if (step % evalEvery === 0 && step !== total) {
          await evaluate(step);
          saved = true;
        } else if (o.saveEvery && step % o.saveEvery === 0 && step !== total) {
          await checkpoint(step);
          saved = true;
        }
        if (interrupted || (o.stopAfter && step - first + 1 >= o.stopAfter && step !== total)) {
          bar?.done();
          if (!saved) await checkpoint(step);
          throw new TrainingInterrupted(step, o.out);
        }
      }
    } finally {
      stopListening();
    }
    bar?.done();
    const trainSeconds = (performance.now() - t0) / 1000 - evalSeconds;
    await evaluate(total);
    return {
      final: last!,
      trainSeconds,
      steps: total,
      tokensPerS: (batches.tokens - tokens0) / trainSeconds,
    };
  }

  /** Frees the optimizer state and the guard, and restores the matmul precision. */
  dispose(): void {
    setMatmulPrecision(this.precisionBefore);
    this.scaler?.dispose();
    this.firstBad.dispose();
    this.opt.dispose();
  }
}
