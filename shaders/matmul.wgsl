// Register-tiled matmul: C[z] = op(A[z]) · op(B[z]), where op transposes under TRANS_A / TRANS_B.
// Row-major A is [M, K] ([K, M] when TRANS_A), B is [K, N] ([N, K] when TRANS_B), C is [M, N];
// batch z = workgroup_id.z, at strides sa and sb (0 shares one matrix across the batch) and M * N.
//
// Each thread accumulates an 8x16 block of C as 2x4 mat4x4f tiles; a workgroup of WX x 8 threads
// covers 64 x 16*WX of C. Operands are read from storage in 4x4 tiles, 4 k at a time, with no
// workgroup-memory staging: on lavapipe a workgroup-memory load is a loop over the SIMD lanes just
// like a storage load, so staging only added stores and barriers (17 vs 21 GFLOP/s at 1024^3).
// What costs there is the number of loads, hence the large per-thread block; a vec4 load costs about
// twice a scalar one, so VEC_A / VEC_B use them when the contiguous dimension is a multiple of 4.
// Accumulation order is fixed: k ascending, 4 at a time, each group summed by a 4x4 product.
// Buffers are bound as vec4 arrays with sizes rounded up to 16 bytes; scalars index into them.

struct P { M: u32, N: u32, K: u32, sa: u32, sb: u32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// The contiguous dimension of A (K, or M when TRANS_A) is a multiple of 4; likewise B and C (N).
override VEC_A: bool = false;
override VEC_B: bool = false;
override VEC_C: bool = false;
// Threads along N: 8 (128 columns per workgroup), or 4 when N <= 64 so that no thread idles.
override WX: u32 = 8u;

fn ld1(i: u32, ok: bool, isA: bool) -> f32 {
  let j = select(0u, i, ok);
  var v: f32;
  if (isA) { v = a[j >> 2u][j & 3u]; } else { v = b[j >> 2u][j & 3u]; }
  return select(0.0, v, ok);
}

// Elements i .. i+3 of A or B; `ok` says which lie inside the matrix. With `vec`, i is a multiple
// of 4 and the four are all inside or all outside.
fn ld4(i: u32, ok: vec4<bool>, isA: bool, vec: bool) -> vec4f {
  if (vec) {
    let j = select(0u, i >> 2u, ok.x);
    var v: vec4f;
    if (isA) { v = a[j]; } else { v = b[j]; }
    return select(vec4f(), v, ok.x);
  }
  return vec4f(ld1(i, ok.x, isA), ld1(i + 1u, ok.y, isA), ld1(i + 2u, ok.z, isA),
               ld1(i + 3u, ok.w, isA));
}

// Rows r .. r+3, columns q .. q+3 of the R x Q row-major matrix at `base`, zero outside it.
// Column j of the result is row r + j.
fn tile(base: u32, r: u32, q: u32, R: u32, Q: u32, isA: bool, vec: bool) -> mat4x4f {
  let okq = vec4u(q, q + 1u, q + 2u, q + 3u) < vec4u(Q);
  let i = base + r * Q + q;
  return mat4x4f(
    ld4(i, okq & vec4(r < R), isA, vec),
    ld4(i + Q, okq & vec4(r + 1u < R), isA, vec),
    ld4(i + 2u * Q, okq & vec4(r + 2u < R), isA, vec),
    ld4(i + 3u * Q, okq & vec4(r + 3u < R), isA, vec));
}

// Column kk is op(A)[m .. m+3, k + kk].
fn tileA(base: u32, m: u32, k: u32) -> mat4x4f {
  if (TRANS_A) { return tile(base, k, m, p.K, p.M, true, VEC_A); }
  return transpose(tile(base, m, k, p.M, p.K, true, VEC_A));
}

// Column j is op(B)[k .. k+3, n + j].
fn tileB(base: u32, k: u32, n: u32) -> mat4x4f {
  if (TRANS_B) { return tile(base, n, k, p.N, p.K, false, VEC_B); }
  return transpose(tile(base, k, n, p.K, p.N, false, VEC_B));
}

#include "lib/tile_store.wgsl"

@compute @workgroup_size(WX, 8)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m = wid.y * 64u + lid.y * 8u;
  let n = (wid.x * WX + lid.x) * 16u;
  let ba = wid.z * p.sa;
  let bb = wid.z * p.sb;
  var c00 = mat4x4f(); var c01 = mat4x4f(); var c02 = mat4x4f(); var c03 = mat4x4f();
  var c10 = mat4x4f(); var c11 = mat4x4f(); var c12 = mat4x4f(); var c13 = mat4x4f();
  for (var k = 0u; k < p.K; k += 4u) {
    let a0 = tileA(ba, m, k);
    let a1 = tileA(ba, m + 4u, k);
    let b0 = tileB(bb, k, n);
    let b1 = tileB(bb, k, n + 4u);
    let b2 = tileB(bb, k, n + 8u);
    let b3 = tileB(bb, k, n + 12u);
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
  }
  // Dynamic indexing keeps the epilogue a loop: unrolled, its 128 scalar stores (each a loop over
  // the SIMD lanes on lavapipe) made the pipeline take seconds to compile.
  let tiles = array(c00, c01, c02, c03, c10, c11, c12, c13);
  let bc = wid.z * p.M * p.N;
  for (var t = 0u; t < 8u; t++) {
    store(bc, m + (t / 4u) * 4u, n + (t % 4u) * 4u, tiles[t]);
  }
}
