import { sliceLastDim } from "../../src/ops/slice.ts";
import { Tensor } from "../../src/tensor.ts";
import { gradcheck, randn } from "../_helpers.ts";

function sliceRef(x: Float64Array, cols: number, start: number, end: number): Float64Array {
  const rows = x.length / cols;
  const w = end - start;
  const y = new Float64Array(rows * w);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < w; c++) y[r * w + c] = x[r * cols + start + c];
  }
  return y;
}

// A copy is exact; the backward scatters the gradient, and central differences of a
// linear function are exact up to float64 rounding.
const EXACT = { atol: 0, rtol: 0 };
const BWD = { atol: 1e-7, rtol: 1e-7 };

Deno.test("sliceLastDim on odd shapes, QA logits and a batch of 1", async () => {
  const cases: [number[], number, number][] = [
    [[7, 13, 5], 1, 4],
    [[7, 13, 5], 4, 5],
    [[3, 5, 2], 0, 1], // start logits of [B, S, 2]
    [[3, 5, 2], 1, 2], // end logits
    [[1, 9], 0, 9],
    [[1, 1, 11], 3, 10],
    [[6], 2, 5],
  ];
  for (const [n, [shape, start, end]] of cases.entries()) {
    const cols = shape.at(-1)!;
    await gradcheck({
      inputs: [{ data: randn(shape.reduce((a, b) => a * b), 60 + n), shape }],
      op: ([x]) => {
        const y = sliceLastDim(x, start, end);
        const want = [...shape.slice(0, -1), end - start];
        if (y.shape.join() !== want.join()) throw new Error(`shape [${y.shape}], want [${want}]`);
        return y;
      },
      ref: ([x]) => sliceRef(x, cols, start, end),
      fwd: EXACT,
      bwd: BWD,
    });
  }
});

Deno.test("sliceLastDim accepts an empty range and rejects bad ones", async () => {
  const x = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
  const e = sliceLastDim(x, 2, 2);
  if (e.shape.join() !== "2,0" || (await e.toArray()).length !== 0) throw new Error("empty slice");
  e.dispose();
  for (const [s, t] of [[-1, 2], [2, 1], [0, 4], [0.5, 2]]) {
    let threw = false;
    try {
      sliceLastDim(x, s, t);
    } catch (err) {
      threw = err instanceof RangeError;
    }
    if (!threw) throw new Error(`[${s}, ${t}) was accepted`);
  }
  x.dispose();
});
