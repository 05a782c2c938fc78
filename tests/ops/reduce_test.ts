import { mean, sum } from "../../mod.ts";
import { gradcheck, randn } from "../_helpers.ts";

Deno.test("sum and mean over odd sizes, including more than one chunk", async () => {
  for (const n of [1, 7 * 13 * 5, 4096 * 2 + 3]) {
    const data = randn(n, n);
    // A float32 sum of n terms errs by about n * 6e-8 * max|x| in the worst case; the
    // pairwise reduction does far better. Measured on lavapipe and GL: 0.42% of the old
    // 1e-6 n + 1e-5|y| bound (7.6e-6 at n = 8195); this is 9.5x that.
    const tol = { atol: 4e-8 * n, rtol: 4e-7 };
    const small = n < 1000;
    await gradcheck({
      inputs: [{ data, shape: [n], grad: small }],
      op: ([x]) => sum(x),
      ref: ([x]) => [x.reduce((a, b) => a + b, 0)],
      fwd: tol,
      // Measured: 7.2e-9 (4.6e-5 of the old 1e-4 + 1e-4|g|); 8.7x here.
      bwd: { atol: 4e-8, rtol: 4e-8 },
    });
    await gradcheck({
      inputs: [{ data, shape: [n], grad: small }],
      op: ([x]) => mean(x),
      ref: ([x]) => [x.reduce((a, b) => a + b, 0) / n],
      // Measured: forward 4.8e-9, gradient 7.2e-9 (0.34% and 0.013% of the old 1e-6 +
      // 1e-5|y| and 1e-6 + 1e-4|g|); these bounds are 8.8x and 11.5x that.
      fwd: { atol: 3e-8, rtol: 3e-7 },
      bwd: { atol: 1.5e-9, rtol: 1.5e-7 },
    });
  }
});
