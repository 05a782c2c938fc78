// Matrix products: Linear layers (2-D weight, leading dims of x flattened into rows) and batched
// products (attention heads). The backward reuses the forward kernel with other transpose flags.
// A process-wide precision policy, set by the caller (a CLI or trainer), picks the kernel: the
// model code never knows whether its products round their inputs to f16.

import { accumulateGrad, record } from "../autograd.ts";
import { type Binding, grid, launch, u32 } from "../gpu/kernel.ts";
import { gpu } from "../gpu/device.ts";
import { Tensor } from "../tensor.ts";
import { swapCopy } from "./_swap.ts";

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

/** What {@linkcode matmul} rounds its operands to: "f32" (none) or "f16" (mixed precision). */
export type MatmulPrecision = "f32" | "f16";

let policy: MatmulPrecision = "f32";

/**
 * Sets the precision of every {@linkcode matmul} launched from now on, forward and backward
 * (a backward uses the precision its forward ran with). "f16" rounds both operands to f16
 * (±inf beyond ±65504) and keeps products and sums in f32, the matmul half of mixed-precision
 * training (shaders/matmul_f16.wgsl); it needs the device feature `shader-f16` and throws
 * without it (see {@linkcode resolvePrecision} for a clean fallback).
 *
 * Tolerance: the QA logits of a random BERT-tiny stay within 1e-3 (absolute) of f32's;
 * observed 1.7e-4 to 2.8e-4 for logits up to 0.9 (tests/ops/matmul_f16_test.ts). The fused
 * attention kernel computes its own products and stays f32. On lavapipe the f16 kernel is
 * faster than the f32 one: it reads 8 halves per load where the f32 kernel reads 4 floats.
 *
 * @example
 * ```ts
 * import { initGpu, matmulPrecision, resolvePrecision, setMatmulPrecision } from "webgpu-bert";
 * const { info } = await initGpu();
 * const r = resolvePrecision("f16", info.features, info.name);
 * if (r.warning) console.error(`warning: ${r.warning}`);
 * setMatmulPrecision(r.precision);
 * console.log(matmulPrecision()); // "f16" where the adapter has shader-f16
 * ```
 */
export function setMatmulPrecision(p: MatmulPrecision): void {
  if (p !== "f32" && p !== "f16") throw new Error(`matmul precision must be f32 or f16, got ${p}`);
  if (p === "f16" && !gpu().info.features.includes("shader-f16")) {
    throw new Error(`matmul precision f16 needs shader-f16, which ${gpu().info.name} lacks`);
  }
  policy = p;
}

/** The precision set by {@linkcode setMatmulPrecision} ("f32" until then). */
export function matmulPrecision(): MatmulPrecision {
  return policy;
}

/**
 * The precision to use for a requested one given the device's features: "f16" only when
 * `features` has `shader-f16`, else "f32" with a one-line `warning` to show the user
 * (`shader-f16 not available on <adapter>; using f32`).
 *
 * @example
 * ```ts
 * import { resolvePrecision } from "webgpu-bert";
 * console.log(resolvePrecision("f16", [], "llvmpipe"));
 * // { precision: "f32", warning: "shader-f16 not available on llvmpipe; using f32" }
 * ```
 */
export function resolvePrecision(
  requested: MatmulPrecision,
  features: readonly string[],
  adapter: string,
): { precision: MatmulPrecision; warning: string | null } {
  if (requested === "f16" && !features.includes("shader-f16")) {
    return { precision: "f32", warning: `shader-f16 not available on ${adapter}; using f32` };
  }
  return { precision: requested, warning: null };
}

const ROWS = 64; // rows of C per workgroup; columns are 16 * WX (see shaders/matmul.wgsl)

// The shader reads vec4s: round the bound range up to 16 bytes (pool buffers are larger).
function vec4Binding(t: Tensor): Binding {
  const b = t.binding();
  const size = Math.ceil(b.size / 16) * 16;
  if (b.offset + size > b.buffer.size) throw new Error(`matmul: buffer of ${b.name} too small`);
  return { ...b, size };
}

function gemm(
  a: Tensor,
  b: Tensor,
  ta: boolean,
  tb: boolean,
  d: Dims,
  shape: number[],
  prec: MatmulPrecision,
): Tensor {
  const { batch, M, N, K, batched } = d;
  const wx = N <= 64 ? 4 : 8;
  const groups = [Math.ceil(N / (16 * wx)), Math.ceil(M / ROWS), batch] as const;
  const max = gpu().info.limits.maxComputeWorkgroupsPerDimension;
  if (groups.some((g) => g > max)) {
    throw new Error(`matmul: [${M}x${K}]·[${K}x${N}] x ${batch} needs more than ${max} workgroups`);
  }
  const y = Tensor.empty(shape);
  if (y.size === 0) return y;
  if (prec === "f16") {
    gemmF16(a, b, ta, tb, d, y, wx);
    return y;
  }
  // A shared [N, K] b (a Linear weight) is copied to [K, N] first: with b transposed, the SIMD
  // lanes of a thread row (consecutive columns n) read rows K floats apart, and at BERT-tiny
  // shapes (512 x 128 x 128) that product took 2.5x as long as the untransposed one.
  const bt = tb && !batched && N * K <= TRANSPOSE_B_MAX ? swapCopy(b, [1, N, K, 1]) : null;
  const tbEff = tb && !bt;
  const v = (x: boolean) => (x ? 1 : 0);
  launch({
    shader: "matmul",
    entry: "matmul",
    constants: {
      TRANS_A: v(ta),
      TRANS_B: v(tbEff),
      VEC_A: v((ta ? M : K) % 4 === 0),
      VEC_B: v((tbEff ? K : N) % 4 === 0),
      VEC_C: v(N % 4 === 0),
      WX: wx,
    },
    params: [u32(M), u32(N), u32(K), u32(batched ? M * K : 0), u32(batched ? K * N : 0)],
    bindings: [vec4Binding(a), vec4Binding(bt ?? b), vec4Binding(y)],
    workgroups: groups,
  });
  bt?.dispose();
  return y;
}

/**
 * Elements of a shared b up to which a transposed b is copied untransposed first: measured to
 * pay at BERT-tiny widths; at 1024^3 the transposed read was within 5% already (BENCHMARKS.md).
 */
const TRANSPOSE_B_MAX = 1 << 18;

// op(X) as a zero-padded [Rp, Cp] f16 copy (per batch entry when `batched`), held in an f32
// tensor of half the element count.
function packF16(
  x: Tensor,
  [R, C]: [number, number],
  [Rp, Cp]: [number, number],
  trans: boolean,
  batch: number,
): Tensor {
  const y = Tensor.empty([(batch * Rp * Cp) / 2]);
  const [gx, gy] = grid((Rp * Cp) / 4, 256);
  launch({
    shader: "matmul_f16",
    entry: "pack",
    params: [u32(R), u32(C), u32(Rp), u32(Cp), u32(R * C), u32(trans ? 1 : 0)],
    bindings: [x.binding(), y.binding()],
    workgroups: [gx, gy, batch],
  });
  return y;
}

// The f16 kernel (shaders/matmul_f16.wgsl): both operands rounded into padded f16 copies, then
// the same register tiling as the f32 kernel over them.
function gemmF16(a: Tensor, b: Tensor, ta: boolean, tb: boolean, d: Dims, y: Tensor, wx: number) {
  const { batch, M, N, K, batched } = d;
  // K pads to whole 8-half loads (at least one, so that K = 0 still binds something), M and
  // N to whole workgroup tiles, so that the kernel's loop needs no bounds checks.
  const Kp = Math.max(8, Math.ceil(K / 8) * 8), Np = Math.ceil(N / (16 * wx)) * 16 * wx;
  const Mp = Math.ceil(M / ROWS) * ROWS;
  const z = batched ? batch : 1;
  const pa = packF16(a, [M, K], [Mp, Kp], ta, z);
  const pb = packF16(b, [K, N], [Kp, Np], tb, z);
  launch({
    shader: "matmul_f16",
    entry: "matmul",
    constants: { VEC_C: N % 4 === 0 ? 1 : 0, WX: wx },
    params: [
      u32(M),
      u32(N),
      u32(Kp),
      u32(Np),
      u32(batched ? (Mp * Kp) / 8 : 0),
      u32(batched ? (Kp * Np) / 8 : 0),
    ],
    bindings: [pa.binding(), pb.binding(), vec4Binding(y)],
    workgroups: [Np / (16 * wx), Mp / ROWS, batch],
  });
  pa.dispose();
  pb.dispose();
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
 * `b` is 2-D), computed by the same kernel with other transpose flags. Under
 * {@linkcode setMatmulPrecision}("f16") all three products round their operands to f16.
 *
 * @example
 * ```ts
 * import { initGpu, matmul, Tensor } from "webgpu-bert";
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
  const prec = policy;
  const y = gemm(a, b, ta, tb, d, shape, prec);
  return record(y, [a, b], (g) => {
    // dA = dC · op(B)ᵀ, or op(B) · dCᵀ when A is stored transposed.
    if (a.requiresGrad) {
      accumulateGrad(
        a,
        ta
          ? gemm(b, g, tb, true, { ...d, M: K, N: M, K: N }, [...a.shape], prec)
          : gemm(g, b, false, !tb, { ...d, M, N: K, K: N }, [...a.shape], prec),
      );
    }
    // dB = op(A)ᵀ · dC, or dCᵀ · op(A) when B is stored transposed; a 2-D b sums over all rows
    // because they are the inner dimension of this product.
    if (b.requiresGrad) {
      accumulateGrad(
        b,
        tb
          ? gemm(g, a, true, ta, { ...d, M: N, N: K, K: M }, [...b.shape], prec)
          : gemm(a, g, !ta, false, { ...d, M: K, N, K: M }, [...b.shape], prec),
      );
    }
  });
}
