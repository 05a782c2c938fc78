// lstm against a float64 reference of nn.LSTM's equations and finite differences on odd shapes,
// and against PyTorch's nn.LSTM (tools/lstm_golden.py: outputs and every gradient).

import assert from "node:assert/strict";
import {
  backward,
  initGpu,
  lstm,
  type LstmWeights,
  mul,
  openSafetensors,
  scopeAsync,
  sum,
  Tensor,
} from "../../mod.ts";
import { assertClose, gradcheck, randn } from "../_helpers.ts";
import { relErr } from "../_ref.ts";

await initGpu();

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * nn.LSTM(batch_first=True) in float64: x [B, S, I], per direction [wih, whh, bih, bhh];
 * with `lens`, sequence b covers its first lens[b] positions (packed), zeros after.
 */
function lstm64(
  x: Float64Array,
  dirs: Float64Array[][],
  [b, s, i, h]: number[],
  lens?: number[],
): Float64Array {
  const nd = dirs.length;
  const y = new Float64Array(b * s * nd * h);
  for (let d = 0; d < nd; d++) {
    const [wih, whh, bih, bhh] = dirs[d];
    for (let r = 0; r < b; r++) {
      const len = lens ? lens[r] : s;
      let hp = new Float64Array(h);
      let cp = new Float64Array(h);
      for (let k = 0; k < len; k++) {
        const t = d === 0 ? k : len - 1 - k;
        const a = new Float64Array(4 * h);
        for (let g = 0; g < 4 * h; g++) {
          let v = bih[g] + bhh[g];
          for (let m = 0; m < i; m++) v += wih[g * i + m] * x[(r * s + t) * i + m];
          for (let m = 0; m < h; m++) v += whh[g * h + m] * hp[m];
          a[g] = v;
        }
        const hn = new Float64Array(h);
        const cn = new Float64Array(h);
        for (let j = 0; j < h; j++) {
          cn[j] = sigmoid(a[h + j]) * cp[j] + sigmoid(a[j]) * Math.tanh(a[2 * h + j]);
          hn[j] = sigmoid(a[3 * h + j]) * Math.tanh(cn[j]);
          y[(r * s + t) * nd * h + d * h + j] = hn[j];
        }
        hp = hn;
        cp = cn;
      }
    }
  }
  return y;
}

function weights(ts: Tensor[]): LstmWeights[] {
  const out: LstmWeights[] = [];
  for (let k = 0; k < ts.length; k += 4) {
    out.push({ weightIh: ts[k], weightHh: ts[k + 1], biasIh: ts[k + 2], biasHh: ts[k + 3] });
  }
  return out;
}

async function check(dims: number[], nd: number, seed: number, lens?: number[]) {
  const [b, s, i, h] = dims;
  const dir = (k: number) => [
    { data: randn(4 * h * i, seed + 10 * k + 1, 0.5), shape: [4 * h, i] },
    { data: randn(4 * h * h, seed + 10 * k + 2, 0.5), shape: [4 * h, h] },
    { data: randn(4 * h, seed + 10 * k + 3, 0.5), shape: [4 * h] },
    { data: randn(4 * h, seed + 10 * k + 4, 0.5), shape: [4 * h] },
  ];
  await gradcheck({
    inputs: [
      { data: randn(b * s * i, seed), shape: [b, s, i] },
      ...Array.from({ length: nd }, (_, k) => dir(k)).flat(),
    ],
    op: ([x, ...w]) => lstm(x, weights(w), lens),
    ref: ([x, ...w]) => {
      const dirs = [];
      for (let k = 0; k < w.length; k += 4) dirs.push(w.slice(k, k + 4));
      return lstm64(x, dirs, dims, lens);
    },
    fwd: { atol: 2e-6, rtol: 2e-6 },
    bwd: { atol: 2e-5, rtol: 2e-4 },
    seed,
  });
}

Deno.test("bidirectional lstm matches float64 nn.LSTM and finite differences (B3 S5 I7 H5)", async () => {
  await check([3, 5, 7, 5], 2, 1);
});

Deno.test("one-direction lstm, a single step and a single sequence", async () => {
  await check([2, 4, 3, 6], 1, 2);
  await check([1, 1, 5, 3], 2, 3);
});

Deno.test("lstm with lengths runs each sequence over its own positions (packed)", async () => {
  await check([3, 5, 7, 5], 2, 4, [5, 2, 0]);
  await check([4, 6, 3, 4], 1, 5, [1, 6, 3, 4]);
});

Deno.test("lstm past one workgroup: H 300 (4H = 1200 gate rows)", async () => {
  const [b, s, i, h] = [2, 3, 4, 300];
  await gradcheck({
    inputs: [
      { data: randn(b * s * i, 6), shape: [b, s, i] },
      { data: randn(4 * h * i, 7, 0.1), shape: [4 * h, i], grad: false },
      { data: randn(4 * h * h, 8, 0.05), shape: [4 * h, h], grad: false },
      { data: randn(4 * h, 9, 0.1), shape: [4 * h], grad: false },
      { data: randn(4 * h, 10, 0.1), shape: [4 * h], grad: false },
    ],
    op: ([x, ...w]) => lstm(x, weights(w), [3, 2]),
    ref: ([x, ...w]) => lstm64(x, [w], [b, s, i, h], [3, 2]),
    fwd: { atol: 2e-6, rtol: 2e-6 },
    bwd: { atol: 2e-5, rtol: 2e-4 },
  });
});

Deno.test("lstm refuses bad shapes and lengths", () => {
  const t = (...shape: number[]) => Tensor.empty(shape);
  const w = { weightIh: t(8, 3), weightHh: t(8, 2), biasIh: t(8), biasHh: t(8) };
  assert.throws(() => lstm(t(1, 2, 4), [w]), /do not fit input size 4/);
  assert.throws(() => lstm(t(1, 2, 3), [w], [3]), /outside \[0, 2\]/);
  assert.throws(() => lstm(t(2, 2, 3), [w], [1]), /1 lengths for 2 sequences/);
  assert.throws(() => lstm(t(2, 2, 3), []), /1 or 2 directions/);
});

// tools/lstm_golden.py: nn.LSTM(7, 5, bidirectional=True, batch_first=True) in float64, plain
// over padded input and packed by lengths, L = sum(y * w).
Deno.test("lstm matches PyTorch nn.LSTM, plain and packed: output and every gradient", async () => {
  const g = await openSafetensors(
    new URL("../fixtures/lstm/golden.safetensors", import.meta.url).pathname,
  );
  try {
    const names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];
    const pnames = [...names, ...names.map((n) => `${n}_reverse`)];
    const lens = Array.from(await g.readInt32("lengths"));
    for (const mode of ["plain", "packed"]) {
      await scopeAsync(async () => {
        const x = Tensor.fromArray(await g.readFloat32("x"), g.tensors.get("x")!.shape);
        const ps = await Promise.all(
          pnames.map(async (n) =>
            Tensor.fromArray(await g.readFloat32(n), g.tensors.get(n)!.shape)
          ),
        );
        for (const t of [x, ...ps]) t.requiresGrad = true;
        const y = lstm(x, weights(ps), mode === "packed" ? lens : undefined);
        const w = Tensor.fromArray(await g.readFloat32("w"), y.shape);
        assertClose(
          await y.toArray(),
          await g.readFloat32(`${mode}.y`),
          { atol: 2e-6, rtol: 0 },
          `${mode} y`,
        );
        backward(sum(mul(y, w)));
        for (const [n, t] of [["x", x], ...pnames.map((n, k) => [n, ps[k]] as const)] as const) {
          const err = relErr(await t.grad!.toArray(), await g.readFloat32(`${mode}.grad.${n}`));
          assert.ok(err <= 1e-5, `${mode} grad ${n}: relative error ${err}`);
        }
      });
    }
  } finally {
    g.close();
  }
});
