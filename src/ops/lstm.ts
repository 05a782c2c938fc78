// A one-layer LSTM, uni- or bidirectional, as PyTorch's nn.LSTM(batch_first=True): the input
// projections of all time steps are one matmul per direction; the recurrence runs in
// shaders/lstm.wgsl, one workgroup per sequence looping over time inside one dispatch, and its
// backward (BPTT) likewise in reverse. Shapes: B batch, S time, I input, H hidden per direction,
// D directions; x [B, S, I], y [B, S, D*H].

import { accumulateGrad, needsGrad, record } from "../autograd.ts";
import { launch, u32 } from "../gpu/kernel.ts";
import { Tensor } from "../tensor.ts";
import { add } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { sumToShape } from "./reduce.ts";
import { swapCopy } from "./_swap.ts";

/**
 * The parameters of one LSTM direction, as nn.LSTM's `weight_ih_l0`, `weight_hh_l0`,
 * `bias_ih_l0`, `bias_hh_l0` (or their `_reverse` set): rows in gate order i, f, g, o.
 */
export interface LstmWeights {
  /** [4H, I] */
  weightIh: Tensor;
  /** [4H, H] */
  weightHh: Tensor;
  /** [4H] */
  biasIh: Tensor;
  /** [4H] */
  biasHh: Tensor;
}

/**
 * One LSTM layer over `x` [B, S, I] from a zero state, as PyTorch's
 * `nn.LSTM(I, H, batch_first=True, bidirectional=directions.length === 2)`: `directions[0]`
 * runs forward in time, `directions[1]` (if given) backward, and the output is their hidden
 * states side by side, [B, S, H] or [B, S, 2H] (forward first). Differentiable in `x` and
 * every weight.
 *
 * Without `lengths` every sequence runs over all S positions, padding included, as plain
 * nn.LSTM does (the backward direction then starts at position S - 1). With `lengths` (B
 * values in [0, S]), sequence b runs over its first `lengths[b]` positions only (the backward
 * direction starting at `lengths[b] - 1`) and its later positions output zeros, as
 * `pack_padded_sequence` then `pad_packed_sequence` give: each sequence's output then does not
 * depend on how much padding its batch has.
 *
 * @throws {Error} on mismatched shapes, or lengths outside [0, S].
 * @example
 * ```ts
 * import { initGpu, lstm, Tensor } from "webgpu-bert";
 * await initGpu();
 * const [i, h] = [3, 2];
 * const w = (n: number) => Tensor.fromArray(new Float32Array(n).fill(0.1), [n]);
 * const dir = () => ({ weightIh: w(4 * h * i).view([4 * h, i]), weightHh: w(4 * h * h).view([4 * h, h]),
 *   biasIh: w(4 * h), biasHh: w(4 * h) });
 * const x = Tensor.fromArray(new Float32Array(2 * 5 * i).fill(1), [2, 5, i]);
 * const y = lstm(x, [dir(), dir()], [5, 3]);
 * console.log(y.shape); // [2, 5, 4]: forward and backward states; row 1 is zero past position 2
 * ```
 */
export function lstm(
  x: Tensor,
  directions: readonly LstmWeights[],
  lengths?: ArrayLike<number>,
): Tensor {
  if (x.shape.length !== 3 || x.dtype !== "f32") {
    throw new Error(`lstm: x must be f32 [B, S, I], got [${x.shape}]`);
  }
  const [b, s, i] = x.shape;
  if (directions.length !== 1 && directions.length !== 2) {
    throw new Error(`lstm: needs 1 or 2 directions, got ${directions.length}`);
  }
  const h = directions[0].weightHh.shape[1] ?? 0;
  for (const d of directions) {
    const ok = d.weightIh.shape.join() === `${4 * h},${i}` &&
      d.weightHh.shape.join() === `${4 * h},${h}` && d.biasIh.shape.join() === `${4 * h}` &&
      d.biasHh.shape.join() === `${4 * h}`;
    if (!ok || h < 1) {
      throw new Error(
        `lstm: weights [${d.weightIh.shape}], [${d.weightHh.shape}], [${d.biasIh.shape}], ` +
          `[${d.biasHh.shape}] do not fit input size ${i}: need [4H, ${i}], [4H, H], [4H], [4H]`,
      );
    }
  }
  const lens = Int32Array.from({ length: b }, (_, r) => lengths ? lengths[r] : s);
  if (lengths && lengths.length !== b) {
    throw new Error(`lstm: ${lengths.length} lengths for ${b} sequences`);
  }
  const bad = lens.findIndex((n) => !(Number.isInteger(n) && n >= 0 && n <= s));
  if (bad >= 0) {
    throw new Error(`lstm: length ${lengths![bad]} of sequence ${bad} is outside [0, ${s}]`);
  }
  const xps = directions.map((d) => matmul(x, d.weightIh, { transB: true })); // [B, S, 4H]
  const biases = directions.map((d) => add(d.biasIh, d.biasHh)); // [4H]
  return recurrence(xps, directions.map((d) => d.weightHh), biases, lens, [b, s, h]);
}

// The recurrence over precomputed input projections, one dispatch per direction (the second
// reversed), recorded as one node whose backward gives the grads of xps, whhs and biases.
function recurrence(
  xps: Tensor[],
  whhs: Tensor[],
  biases: Tensor[],
  lengths: Int32Array,
  [b, s, h]: number[],
): Tensor {
  const nd = xps.length;
  const y = Tensor.empty([b, s, nd * h]);
  const lens = Tensor.fromArray(lengths, [b]);
  const params = (d: number) => [u32(s), u32(h), u32(nd * h), u32(d * h), u32(d)];
  const saved = xps.map((xp, d) => {
    const gates = Tensor.empty([b, s, 4 * h]);
    const cells = Tensor.empty([b, s, h]);
    const hprev = Tensor.empty([b, s, h]);
    // W_hhᵀ [H, 4H]: consecutive threads (gate rows) then read consecutive floats.
    const whhT = swapCopy(whhs[d], [1, 4 * h, h, 1]);
    launch({
      shader: "lstm",
      entry: "forward",
      params: params(d),
      bindings: [
        xp.binding(),
        whhT.binding(),
        biases[d].binding(),
        lens.binding(),
        y.binding(),
        gates.binding(),
        cells.binding(),
        hprev.binding(),
      ],
      workgroups: [b],
    });
    whhT.dispose();
    return { gates, cells, hprev };
  });
  const free = () => {
    for (const t of saved) for (const u of Object.values(t)) u.dispose();
    lens.dispose();
  };
  if (!needsGrad(...xps, ...whhs, ...biases)) {
    free();
    return y;
  }
  return record(y, [...xps, ...whhs, ...biases], (g) => {
    const dh = Tensor.empty([b, h]);
    const dc = Tensor.empty([b, h]);
    for (let d = 0; d < nd; d++) {
      const { gates, cells, hprev } = saved[d];
      const dxp = Tensor.empty([b, s, 4 * h]);
      launch({
        shader: "lstm",
        entry: "backward",
        params: params(d),
        bindings: [
          g.binding(),
          whhs[d].binding(),
          gates.binding(),
          cells.binding(),
          lens.binding(),
          dxp.binding(),
          dh.binding(),
          dc.binding(),
        ],
        workgroups: [b],
      });
      // dW_hh = Σ over (b, t) of d a ⊗ h_prev; padding rows of dxp are zero.
      if (whhs[d].requiresGrad) {
        const rows = dxp.view([b * s, 4 * h]);
        const hp = hprev.view([b * s, h]);
        accumulateGrad(whhs[d], matmul(rows, hp, { transA: true }));
        rows.dispose();
        hp.dispose();
      }
      if (biases[d].requiresGrad) accumulateGrad(biases[d], sumToShape(dxp, [4 * h]));
      accumulateGrad(xps[d], dxp);
    }
    dh.dispose();
    dc.dispose();
    free();
  });
}
