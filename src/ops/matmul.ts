// Matrix products: Linear layers (2-D weight, leading dims of x flattened into rows) and batched
// products (attention heads). The backward reuses the forward kernel with other transpose flags.

import { accumulateGrad, record } from "../autograd.ts";
import { type Binding, launch, u32 } from "../gpu/kernel.ts";
import { gpu } from "../gpu/device.ts";
import { Tensor } from "../tensor.ts";

/** Transposes applied to the operands of {@linkcode matmul}. */
export interface MatmulOptions {
  /** Use Aᵀ: `a` is [..., K, M]. */
  transA?: boolean;
  /** Use Bᵀ: `b` is [N, K] (or [batch, N, K]), e.g. a Linear weight [out, in]. */
  transB?: boolean;
}

// One kernel launch computes `batch` products op(A)[M, K] · op(B)[K, N]; `batched` says whether
// A and B advance by one matrix per batch entry (otherwise batch is 1).
interface Dims {
  batch: number;
  M: number;
  N: number;
  K: number;
  batched: boolean;
}

const ROWS = 64; // rows of C per workgroup; columns are 16 * WX (see shaders/matmul.wgsl)

// The shader reads vec4s: round the bound range up to 16 bytes (pool buffers are larger).
function vec4Binding(t: Tensor): Binding {
  const b = t.binding();
  const size = Math.ceil(b.size / 16) * 16;
  if (b.offset + size > b.buffer.size) throw new Error(`matmul: buffer of ${b.name} too small`);
  return { ...b, size };
}

function gemm(a: Tensor, b: Tensor, ta: boolean, tb: boolean, d: Dims, shape: number[]): Tensor {
  const { batch, M, N, K, batched } = d;
  const wx = N <= 64 ? 4 : 8;
  const groups = [Math.ceil(N / (16 * wx)), Math.ceil(M / ROWS), batch] as const;
  const max = gpu().info.limits.maxComputeWorkgroupsPerDimension;
  if (groups.some((g) => g > max)) {
    throw new Error(`matmul: [${M}x${K}]·[${K}x${N}] x ${batch} needs more than ${max} workgroups`);
  }
  const y = Tensor.empty(shape);
  if (y.size === 0) return y;
  const v = (x: boolean) => (x ? 1 : 0);
  launch({
    shader: "matmul",
    entry: "matmul",
    constants: {
      TRANS_A: v(ta),
      TRANS_B: v(tb),
      VEC_A: v((ta ? M : K) % 4 === 0),
      VEC_B: v((tb ? K : N) % 4 === 0),
      VEC_C: v(N % 4 === 0),
      WX: wx,
    },
    params: [u32(M), u32(N), u32(K), u32(batched ? M * K : 0), u32(batched ? K * N : 0)],
    bindings: [vec4Binding(a), vec4Binding(b), vec4Binding(y)],
    workgroups: groups,
  });
  return y;
}

function dims(a: Tensor, b: Tensor, ta: boolean, tb: boolean): { d: Dims; shape: number[] } {
  const as = a.shape, bs = b.shape;
  const fail = (why: string) =>
    new Error(`matmul: [${as}]${ta ? "ᵀ" : ""} · [${bs}]${tb ? "ᵀ" : ""}: ${why}`);
  if (a.dtype !== "f32" || b.dtype !== "f32") throw fail("operands must be f32");
  if (as.length < 2) throw fail("a needs at least 2 dims");
  const [bK, N] = tb ? [bs.at(-1)!, bs.at(-2)!] : [bs.at(-2)!, bs.at(-1)!];
  if (bs.length === 2) {
    if (ta && as.length !== 2) throw fail("transA with a 2-D b needs a 2-D a");
    const K = ta ? as[0] : as.at(-1)!;
    if (K !== bK) throw fail(`inner dims ${K} and ${bK} differ`);
    const lead = ta ? [as[1]] : as.slice(0, -1);
    const M = lead.reduce((x, y) => x * y, 1);
    return { d: { batch: 1, M, N, K, batched: false }, shape: [...lead, N] };
  }
  if (bs.length !== 3 || as.length !== 3) throw fail("b must be 2-D, or both 3-D (batched)");
  if (as[0] !== bs[0]) throw fail(`batch sizes ${as[0]} and ${bs[0]} differ`);
  const [M, K] = ta ? [as[2], as[1]] : [as[1], as[2]];
  if (K !== bK) throw fail(`inner dims ${K} and ${bK} differ`);
  return { d: { batch: as[0], M, N, K, batched: true }, shape: [as[0], M, N] };
}

/**
 * Matrix product `op(a) · op(b)`, where op transposes under `transA` / `transB`.
 *
 * - `b` 2-D ([K, N], or [N, K] with `transB`): every leading dim of `a` ([..., M, K]) is a row,
 *   so a Linear layer x[B, S, in] · Wᵀ with W [out, in] is `matmul(x, W, { transB: true })`,
 *   giving [B, S, out]. With `transA`, `a` must be 2-D [K, M].
 * - `b` 3-D [batch, K, N] with `a` [batch, M, K]: one product per batch entry (attention heads);
 *   the transposes apply per entry, e.g. Q·Kᵀ is `matmul(q, k, { transB: true })`.
 *
 * The gradients are matmuls too: dA = dC·op(B)ᵀ and dB = op(A)ᵀ·dC (summed over all rows when
 * `b` is 2-D), computed by the same kernel with other transpose flags.
 *
 * @example
 * ```ts
 * import { initGpu, matmul, Tensor } from "./mod.ts";
 * await initGpu();
 * const x = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
 * const w = Tensor.fromArray([1, 0, 0, 0, 1, 0], [2, 3]); // [out, in]
 * const y = matmul(x, w, { transB: true }); // [2, 2]
 * console.log(await y.toArray()); // [1, 2, 4, 5]
 * ```
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const ta = opts.transA ?? false, tb = opts.transB ?? false;
  const { d, shape } = dims(a, b, ta, tb);
  const { M, N, K } = d;
  const y = gemm(a, b, ta, tb, d, shape);
  return record(y, [a, b], (g) => {
    // dA = dC · op(B)ᵀ, or op(B) · dCᵀ when A is stored transposed.
    if (a.requiresGrad) {
      accumulateGrad(
        a,
        ta
          ? gemm(b, g, tb, true, { ...d, M: K, N: M, K: N }, [...a.shape])
          : gemm(g, b, false, !tb, { ...d, M, N: K, K: N }, [...a.shape]),
      );
    }
    // dB = op(A)ᵀ · dC, or dCᵀ · op(A) when B is stored transposed; a 2-D b sums over all rows
    // because they are the inner dimension of this product.
    if (b.requiresGrad) {
      accumulateGrad(
        b,
        tb
          ? gemm(g, a, true, ta, { ...d, M: N, N: K, K: M }, [...b.shape])
          : gemm(a, g, !ta, false, { ...d, M: K, N, K: M }, [...b.shape]),
      );
    }
  });
}
