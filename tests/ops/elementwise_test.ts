import { add, fill, mul, scale, sub } from "../../mod.ts";
import { gradcheck, randn } from "../_helpers.ts";

// f32 rounding of one add/mul is ~6e-8 relative; gradients here are sums of a few terms.
// Measured on lavapipe and GL: forward within 1.2e-7 (3.6% of the old 1e-6 + 1e-6|y| bound),
// gradients 1.8e-6 (0.14% of the old 1e-4 + 1e-3|g|); these bounds are 8x and 11x that.
const FWD = { atol: 3e-7, rtol: 3e-7 };
const BWD = { atol: 1.5e-6, rtol: 1.5e-5 };

Deno.test("add broadcasts a bias vector over rows (7x13 + 13)", async () => {
  await gradcheck({
    inputs: [{ data: randn(91, 1), shape: [7, 13] }, { data: randn(13, 2), shape: [13] }],
    op: ([a, b]) => add(a, b),
    ref: ([a, b]) => a.map((v, i) => v + b[i % 13]),
    fwd: FWD,
    bwd: BWD,
  });
});

Deno.test("add with the bias first, and same shapes, batch of 1", async () => {
  await gradcheck({
    inputs: [{ data: randn(5, 3), shape: [5] }, { data: randn(35, 4), shape: [1, 7, 5] }],
    op: ([b, a]) => add(b, a),
    ref: ([b, a]) => a.map((v, i) => v + b[i % 5]),
    fwd: FWD,
    bwd: BWD,
  });
  await gradcheck({
    inputs: [{ data: randn(35, 5), shape: [7, 5] }, { data: randn(35, 6), shape: [7, 5] }],
    op: ([a, b]) => sub(a, b),
    ref: ([a, b]) => a.map((v, i) => v - b[i]),
    fwd: FWD,
    bwd: BWD,
  });
});

Deno.test("mul broadcasts and scale multiplies by a constant", async () => {
  await gradcheck({
    inputs: [{ data: randn(7 * 13 * 5, 7), shape: [7, 13, 5] }, { data: randn(5, 8), shape: [5] }],
    op: ([a, b]) => mul(a, b),
    ref: ([a, b]) => a.map((v, i) => v * b[i % 5]),
    fwd: FWD,
    bwd: BWD,
  });
  await gradcheck({
    inputs: [{ data: randn(17, 9), shape: [17] }],
    op: ([a]) => scale(a, -0.37),
    ref: ([a]) => a.map((v) => v * -0.37),
    fwd: FWD,
    bwd: BWD,
  });
});

Deno.test("fill writes f32 and i32 patterns", async () => {
  const f = await fill([3, 5], 2.5).toArray();
  if (!f.every((v) => v === 2.5)) throw new Error(`fill f32: ${f}`);
  const i = await fill([7], -3, "i32").toArray();
  if (!(i instanceof Int32Array) || !i.every((v) => v === -3)) throw new Error(`fill i32: ${i}`);
});
