import { swapAxes12 } from "../../src/ops/permute.ts";
import { Tensor } from "../../src/tensor.ts";
import { gradcheck, randn } from "../_helpers.ts";

/** [A, B, C, D] -> [A, C, B, D] in float64. */
function swapRef(x: Float64Array, [a, b, c, d]: number[]): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      for (let k = 0; k < c; k++) {
        for (let l = 0; l < d; l++) {
          y[((i * c + k) * b + j) * d + l] = x[((i * b + j) * c + k) * d + l];
        }
      }
    }
  }
  return y;
}

// A copy is exact; the backward is the same copy of the gradient, and central differences
// of a linear function are exact up to float64 rounding.
const EXACT = { atol: 0, rtol: 0 };
const BWD = { atol: 1e-7, rtol: 1e-7 };

Deno.test("swapAxes12 on odd shapes, batch of 1 and unit dims", async () => {
  const shapes = [[3, 5, 7, 2], [1, 7, 3, 5], [2, 1, 3, 4], [2, 3, 1, 5], [1, 1, 1, 1], [
    1,
    13,
    4,
    8,
  ]];
  for (const [n, shape] of shapes.entries()) {
    const size = shape.reduce((a, b) => a * b);
    await gradcheck({
      inputs: [{ data: randn(size, 40 + n), shape }],
      op: ([x]) => {
        const y = swapAxes12(x);
        const want = [shape[0], shape[2], shape[1], shape[3]];
        if (y.shape.join() !== want.join()) throw new Error(`shape [${y.shape}], want [${want}]`);
        return y;
      },
      ref: ([x]) => swapRef(x, shape),
      fwd: EXACT,
      bwd: BWD,
    });
  }
});

Deno.test("swapAxes12 twice is the identity; other ranks are rejected", async () => {
  const data = Float32Array.from(randn(2 * 3 * 5 * 4, 50));
  const x = Tensor.fromArray(data, [2, 3, 5, 4]);
  const y = swapAxes12(x);
  const z = swapAxes12(y);
  const back = await z.toArray();
  if (!back.every((v, i) => v === data[i]) || z.shape.join() !== "2,3,5,4") {
    throw new Error("a double swap changed the tensor");
  }
  [x, y, z].forEach((t) => t.dispose());
  const flat = Tensor.fromArray([1, 2, 3, 4], [2, 2]);
  let threw = false;
  try {
    swapAxes12(flat);
  } catch {
    threw = true;
  }
  flat.dispose();
  if (!threw) throw new Error("a 2-D tensor was accepted");
});
