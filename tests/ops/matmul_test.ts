import { matmul } from "../../src/ops/matmul.ts";
import { Tensor } from "../../src/tensor.ts";
import { assertClose, gradcheck, randn } from "../_helpers.ts";
import { matmul64 } from "../_ref.ts";

// f32 sums of L unit-normal products: rounding errors of random sign grow like √L·u·L (u = 6e-8),
// the worst case like L²·u/2; 1e-6·L covers the former with a wide margin for L up to ~1000.
// Each gradient element is itself such a sum over the other two dims (w is unit normal too), and
// central differences of the bilinear float64 reference are exact up to ~1e-10.
// Measured on lavapipe and GL: 7.1% of the old 1e-6·L + 1e-5|y| bound at worst; 8.5x here.
const tol = (L: number) => ({ atol: 6e-7 * L, rtol: 6e-6 });

const COMBOS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
const name = (ta: boolean, tb: boolean) => `${ta ? "Aᵀ" : "A"}·${tb ? "Bᵀ" : "B"}`;

/** Gradchecks one product; shapes follow from the dims and flags. */
async function check(
  d: { batch?: number; M: number; N: number; K: number; ta?: boolean; tb?: boolean },
  seed: number,
) {
  const { M, N, K, ta = false, tb = false } = d;
  const lead = d.batch ? [d.batch] : [];
  const z = d.batch ?? 1;
  await gradcheck({
    inputs: [
      { data: randn(z * M * K, seed), shape: [...lead, ...(ta ? [K, M] : [M, K])] },
      { data: randn(z * K * N, seed + 1), shape: [...lead, ...(tb ? [N, K] : [K, N])] },
    ],
    op: ([a, b]) => matmul(a, b, { transA: ta, transB: tb }),
    ref: ([a, b]) => matmul64(a, b, d),
    fwd: tol(K),
    bwd: tol(Math.max(M, N, K)),
  });
}

Deno.test("2-D [7,13]·[13,5], all four transpose combinations", async () => {
  for (const [ta, tb] of COMBOS) {
    await check({ M: 7, N: 5, K: 13, ta, tb }, 1).catch((e) => {
      throw new Error(`${name(ta, tb)}: ${e.message}`);
    });
  }
});

Deno.test("2-D with multiple-of-4 dims (vec4 loads and stores), all combinations", async () => {
  for (const [ta, tb] of COMBOS) {
    await check({ M: 8, N: 12, K: 4, ta, tb }, 3);
    // Only some operands have a contiguous dim that is a multiple of 4.
    await check({ M: 5, N: 7, K: 8, ta, tb }, 5);
  }
});

Deno.test("Linear: [2,7,13]·Wᵀ with W [5,13] flattens rows; dW sums over all of them", async () => {
  for (const tb of [true, false]) {
    await gradcheck({
      inputs: [
        { data: randn(2 * 7 * 13, 7), shape: [2, 7, 13] },
        { data: randn(5 * 13, 8), shape: tb ? [5, 13] : [13, 5] },
      ],
      op: ([x, w]) => matmul(x, w, { transB: tb }),
      ref: ([x, w]) => matmul64(x, w, { M: 14, N: 5, K: 13, tb }),
      fwd: tol(13),
      bwd: tol(14),
    });
  }
  const y = matmul(Tensor.empty([2, 7, 13]), Tensor.empty([5, 13]), { transB: true });
  if (y.shape.join() !== "2,7,5") throw new Error(`Linear output shape [${y.shape}]`);
  y.dispose();
});

Deno.test("batched [3,7,13]·[3,13,5], all combinations, and attention Q·Kᵀ", async () => {
  for (const [ta, tb] of COMBOS) {
    await check({ batch: 3, M: 7, N: 5, K: 13, ta, tb }, 11).catch((e) => {
      throw new Error(`${name(ta, tb)}: ${e.message}`);
    });
  }
  // Q [3, 7, 13] · Kᵀ with K [3, 7, 13]: scores [3, 7, 7].
  await check({ batch: 3, M: 7, N: 7, K: 13, tb: true }, 13);
});

Deno.test("batch of 1, 1xKx1 shapes and 1-row Linear", async () => {
  await check({ batch: 1, M: 7, N: 5, K: 13 }, 17);
  await check({ batch: 1, M: 7, N: 5, K: 13, ta: true, tb: true }, 19);
  for (const [ta, tb] of COMBOS) {
    await check({ M: 1, N: 1, K: 13, ta, tb }, 23);
    await check({ batch: 2, M: 1, N: 1, K: 13, ta, tb }, 29);
  }
  await gradcheck({
    inputs: [
      { data: randn(13, 31), shape: [1, 1, 13] },
      { data: randn(5 * 13, 37), shape: [5, 13] },
    ],
    op: ([x, w]) => matmul(x, w, { transB: true }),
    ref: ([x, w]) => matmul64(x, w, { M: 1, N: 5, K: 13, tb: true }),
    fwd: tol(13),
    bwd: tol(13),
  });
});

Deno.test("larger non-multiple shapes match the reference (forward)", async () => {
  const cases = [
    { M: 67, N: 45, K: 131 },
    { M: 70, N: 261, K: 9, ta: true },
    { batch: 2, M: 68, N: 132, K: 44, tb: true },
    { batch: 2, M: 130, N: 20, K: 24, ta: true, tb: true },
  ];
  for (const d of cases) {
    const { M, N, K, ta = false, tb = false } = d;
    const z = d.batch ?? 1, lead = d.batch ? [z] : [];
    const a = randn(z * M * K, M), b = randn(z * K * N, N);
    const ta32 = Float32Array.from(a), tb32 = Float32Array.from(b);
    const A = Tensor.fromArray(ta32, [...lead, ...(ta ? [K, M] : [M, K])]);
    const B = Tensor.fromArray(tb32, [...lead, ...(tb ? [N, K] : [K, N])]);
    const y = matmul(A, B, { transA: ta, transB: tb });
    assertClose(await y.toArray(), matmul64(ta32, tb32, d), tol(K), JSON.stringify(d));
    [A, B, y].forEach((t) => t.dispose());
  }
});

Deno.test("the same inputs give bit-identical outputs", async () => {
  const A = Tensor.fromArray(Float32Array.from(randn(67 * 131, 41)), [67, 131]);
  const B = Tensor.fromArray(Float32Array.from(randn(131 * 45, 43)), [131, 45]);
  const y1 = matmul(A, B), y2 = matmul(A, B);
  const [r1, r2] = [await y1.toArray(), await y2.toArray()];
  if (!r1.every((v, i) => Object.is(v, r2[i]))) throw new Error("matmul is not deterministic");
  [A, B, y1, y2].forEach((t) => t.dispose());
});

Deno.test("mismatched shapes throw", () => {
  const a = Tensor.empty([7, 13]), b = Tensor.empty([12, 5]), c = Tensor.empty([2, 7, 13]);
  const d = Tensor.empty([3, 13, 5]), bt = b.view([5, 12]), v = Tensor.empty([13]);
  const throws = (f: () => unknown, what: string) => {
    try {
      f();
    } catch {
      return;
    }
    throw new Error(`expected an error: ${what}`);
  };
  throws(() => matmul(a, b), "inner dims");
  throws(() => matmul(c, d), "batch sizes");
  throws(() => matmul(c, bt, { transA: true }), "transA with 3-D a and 2-D b");
  throws(() => matmul(v, b), "1-D a");
  [a, b, c, d, bt, v].forEach((t) => t.dispose());
});
