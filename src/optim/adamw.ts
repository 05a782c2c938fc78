// AdamW with PyTorch's update rule, one launch per parameter (per 16M-element range), with
// per-group learning rate and weight decay. Nothing is read back: gradient clipping comes
// in as a one-element GPU tensor that scales every gradient.

import { f32, grid, launch, u32 } from "../gpu/kernel.ts";
import { keep, Tensor } from "../tensor.ts";
import { chunkElements, fill, zeros } from "../ops/elementwise.ts";

/** Parameters sharing a learning rate and a weight decay. */
export interface ParamGroup {
  /** The tensors this group updates. */
  params: Tensor[];
  /** Learning rate. */
  lr: number;
  /** Decoupled weight decay coefficient (0 for none). */
  weightDecay: number;
}

/** Adam hyper-parameters shared by every group. */
export interface AdamWOptions {
  /** Decay rates of the first and second moments; default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the denominator for stability; default 1e-8. */
  eps?: number;
}

/**
 * Optimizer state for checkpoints: the step count and both moments of every parameter, in
 * the order of the groups' params. A moment is null until its parameter first had a gradient.
 */
export interface AdamWState {
  /** Steps taken so far. */
  step: number;
  /**
   * Each parameter's own step count (PyTorch's `state[p]["step"]`): the steps at which it had a
   * gradient. Absent (states saved before it existed): `step` for a parameter with moments, else 0.
   */
  steps?: number[];
  /** First moments (running mean of gradients), one per parameter. */
  m: (Tensor | null)[];
  /** Second moments (running mean of squared gradients), one per parameter. */
  v: (Tensor | null)[];
}

/**
 * torch.optim.AdamW (amsgrad off): decoupled weight decay `p -= lr wd p`, then the Adam
 * step with bias corrections. As in PyTorch, a parameter without a gradient is not touched,
 * and its moments and its own step count start at its first step with one: a parameter
 * unfrozen at step s has moments from zero and bias corrections 1 - β^(t - s), as it would
 * joining a PyTorch optimizer (or a fresh param group) at s.
 *
 * @example
 * ```ts
 * import { AdamW, initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const w = Tensor.fromArray([1, -2]);
 * w.requiresGrad = true;
 * const opt = new AdamW([{ params: [w], lr: 0.1, weightDecay: 0.01 }]);
 * w.grad = Tensor.fromArray([0.5, -0.5]);
 * opt.step();
 * opt.zeroGrad();
 * console.log(await w.toArray()); // ≈ [0.899, -1.898]
 * ```
 */
export class AdamW {
  /** The groups; their `lr` and `weightDecay` may be changed between steps. */
  readonly groups: ParamGroup[];
  /** Decay rates of the first and second moments. */
  readonly betas: [number, number];
  /** Added to the denominator for stability. */
  readonly eps: number;
  #step = 0;
  #steps: number[];
  #m: (Tensor | null)[];
  #v: (Tensor | null)[];
  #one: Tensor | null = null;

  /** An optimizer over `groups`, with zeroed moments. */
  constructor(groups: ParamGroup[], opts: AdamWOptions = {}) {
    this.groups = groups;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    const n = this.#params().length;
    this.#steps = new Array(n).fill(0);
    this.#m = new Array(n).fill(null);
    this.#v = new Array(n).fill(null);
  }

  #params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** How many steps have been taken. */
  get stepCount(): number {
    return this.#step;
  }

  /**
   * Updates every parameter that has a gradient, with each group's lr times `lrScale` (for
   * schedules) and every gradient multiplied by `gradScale[0]` if given (e.g. the result of
   * `clipCoefficient`). A non-finite `gradScale[0]` leaves every parameter and moment as it was.
   *
   * `skipped` (i32, one element) counts the calls so far, this one included, whose
   * `gradScale` was not finite (e.g. `LossScaler.skipped`). With it the bias corrections use
   * the count of steps actually taken, computed on the GPU, so a skipped step leaves no trace
   * at all, as when torch's GradScaler skips `optimizer.step()`; without it they use every
   * call, as torch.optim.AdamW does. The skips are counted from the first call, so with
   * `skipped` every trained parameter must have had a gradient since then (no unfreezing).
   */
  step(lrScale = 1, gradScale?: Tensor, skipped?: Tensor): void {
    if (gradScale && gradScale.size !== 1) {
      throw new Error(`AdamW: gradScale must be one element, got [${gradScale.shape}]`);
    }
    if (skipped && (skipped.size !== 1 || skipped.dtype !== "i32")) {
      throw new Error(`AdamW: skipped must be one i32 element, got [${skipped.shape}]`);
    }
    const scale = gradScale ?? (this.#one ??= keep(fill([1], 1)));
    this.#step++;
    const [b1, b2] = this.betas;
    // Bias corrections by a parameter's own step count; on the GPU with skips, one per count.
    const biases = new Map<number, Tensor>();
    const biasOf = (t: number) => {
      let bias = biases.get(t);
      if (!bias) {
        bias = Tensor.empty([2]);
        launch({
          shader: "optim",
          entry: "adamw_bias",
          params: [u32(t), f32(b1), f32(1 - b1), f32(b2), f32(1 - b2)],
          bindings: [skipped!.binding(0, 1), bias.binding()],
          workgroups: [1],
        });
        biases.set(t, bias);
      }
      return bias;
    };
    let k = 0;
    for (const group of this.groups) {
      const lr = group.lr * lrScale;
      for (const p of group.params) {
        const i = k++;
        const g = p.grad;
        if (!g) continue;
        if (g.size !== p.size) {
          throw new Error(`AdamW: gradient [${g.shape}] does not match ${p.name} [${p.shape}]`);
        }
        const m = this.#m[i] ??= keep(zeros(p.shape));
        const v = this.#v[i] ??= keep(zeros(p.shape));
        const t = ++this.#steps[i];
        const bias = skipped ? biasOf(t) : null;
        const bc1 = 1 - b1 ** t;
        const bc2s = Math.sqrt(1 - b2 ** t);
        for (let start = 0; start < p.size; start += chunkElements()) {
          const n = Math.min(chunkElements(), p.size - start);
          const bindings = [
            p.binding(start, n),
            g.binding(start, n),
            m.binding(start, n),
            v.binding(start, n),
            scale.binding(0, 1),
          ];
          const shared = [u32(n), f32(1 - lr * group.weightDecay), f32(b1), f32(1 - b1)];
          launch(
            bias
              ? {
                shader: "optim",
                entry: "adamw_taken",
                params: [...shared, f32(b2), f32(1 - b2), f32(lr), f32(this.eps)],
                bindings: [...bindings, bias.binding()],
                workgroups: grid(n, 256),
              }
              : {
                shader: "optim",
                entry: "adamw",
                params: [...shared, f32(b2), f32(1 - b2), f32(lr / bc1), f32(bc2s), f32(this.eps)],
                bindings,
                workgroups: grid(n, 256),
              },
          );
        }
      }
    }
    for (const b of biases.values()) b.dispose();
  }

  /** Disposes every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.#params()) p.grad = null;
  }

  /** The live state (not copies): save it, do not dispose it. */
  state(): AdamWState {
    return { step: this.#step, steps: [...this.#steps], m: [...this.#m], v: [...this.#v] };
  }

  /** Replaces the state, taking ownership of the given moments (e.g. read from a checkpoint). */
  loadState(state: AdamWState): void {
    const params = this.#params();
    if (state.m.length !== params.length || state.v.length !== params.length) {
      throw new Error(`AdamW: state has ${state.m.length} moments for ${params.length} params`);
    }
    params.forEach((p, i) => {
      for (const t of [state.m[i], state.v[i]]) {
        if (t && t.size !== p.size) {
          throw new Error(`AdamW: moment [${t.shape}] does not match ${p.name} [${p.shape}]`);
        }
      }
    });
    const replace = (old: (Tensor | null)[], next: (Tensor | null)[]) =>
      old.map((t, i) => {
        const n = next[i];
        if (t && t !== n) t.dispose();
        return n ? keep(n) : null;
      });
    if (state.steps && state.steps.length !== params.length) {
      throw new Error(
        `AdamW: state has ${state.steps.length} step counts for ${params.length} params`,
      );
    }
    this.#steps = state.steps ? [...state.steps] : state.m.map((m) => m ? state.step : 0);
    this.#m = replace(this.#m, state.m);
    this.#v = replace(this.#v, state.v);
    this.#step = state.step;
  }

  /** Releases the moments. */
  dispose(): void {
    for (const t of [...this.#m, ...this.#v, this.#one]) t?.dispose();
    this.#m.fill(null);
    this.#v.fill(null);
    this.#one = null;
  }
}
