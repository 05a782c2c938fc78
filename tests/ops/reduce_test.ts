import { mean, sum } from "../../mod.ts";
import { gradcheck, randn } from "../_helpers.ts";

Deno.test("sum and mean over odd sizes, including more than one chunk", async () => {
  for (const n of [1, 7 * 13 * 5, 4096 * 2 + 3]) {
    const data = randn(n, n);
    // A float32 sum of n terms errs by about n * 6e-8 * max|x| in the worst case.
    const tol = { atol: 1e-6 * n, rtol: 1e-5 };
    const small = n < 1000;
    await gradcheck({
      inputs: [{ data, shape: [n], grad: small }],
      op: ([x]) => sum(x),
      ref: ([x]) => [x.reduce((a, b) => a + b, 0)],
      fwd: tol,
      bwd: { atol: 1e-4, rtol: 1e-4 },
    });
    await gradcheck({
      inputs: [{ data, shape: [n], grad: small }],
      op: ([x]) => mean(x),
      ref: ([x]) => [x.reduce((a, b) => a + b, 0) / n],
      fwd: { atol: 1e-6, rtol: 1e-5 },
      bwd: { atol: 1e-6, rtol: 1e-4 },
    });
  }
});
