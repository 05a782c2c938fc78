// Mixed-precision matmul: C[z] = op(A[z]) · op(B[z]) with both operands rounded to f16 and the
// products and sums in f32. Needs the `shader-f16` feature; src/ops/matmul.ts only launches it
// under setMatmulPrecision("f16"), which requires it.
//
// Two passes. `pack` rounds each operand to f16 once and stores op(A) as [Mp, Kp] and op(B) as
// [Kp, Np], row-major, zero-padded (Kp a multiple of 8, Mp and Np multiples of a workgroup's
// tile), so the transposes, the edges and the rounding all happen there, O(MK + KN) work.
// `matmul` then has matmul.wgsl's register tiling (each thread an 8x16 block of C as 2x4
// mat4x4f tiles, a workgroup of WX x 8 threads 64 x 16*WX of C, k ascending 4 at a time, each
// group summed by a 4x4 product) with no bounds checks in its loop, and reads 8 halves per
// 16-byte load where matmul.wgsl reads 4 floats: on lavapipe, where the number of loads is what
// costs, that makes it faster than the f32 kernel rather than slower (rounding as each operand
// is loaded instead cost a conversion per element per tile and halved the speed).
// An operand beyond the f16 range becomes ±inf: that is how an overflow under dynamic loss
// scaling shows up (src/optim/loss_scale.ts).

enable f16;

struct K { R: u32, C: u32, Rp: u32, Cp: u32, stride: u32, trans: u32 }
@group(0) @binding(0) var<uniform> kp: K;
@group(0) @binding(1) var<storage, read> px: array<f32>;
@group(0) @binding(2) var<storage, read_write> py: array<vec4h>;

// Round to nearest even overflows from 65520 on; WGSL leaves [65504, 65536) to the
// implementation, so that band is made ±inf here to agree with IEEE everywhere.
fn to_f16(v: f32) -> f16 {
  let inf = bitcast<f32>((bitcast<u32>(v) & 0x80000000u) | 0x7f800000u);
  return f16(select(v, inf, abs(v) >= 65520.0));
}

// Elements [r, c .. c+3] of the [Rp, Cp] padded f16 copy of X[z], whose logical [R, C] element
// (r, c) is x[r * C + c], or x[c * R + r] when `trans` (X stored transposed); z = global z.
@compute @workgroup_size(256)
fn pack(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let q = kp.Cp / 4u;
  let i = g.x + g.y * nw.x * 256u;
  let z = g.z;
  if (i >= kp.Rp * q) { return; }
  let r = i / q;
  let c = (i % q) * 4u;
  var o = vec4h();
  if (r < kp.R) {
    for (var j = 0u; j < 4u; j++) {
      if (c + j < kp.C) {
        let at = select(r * kp.C + c + j, (c + j) * kp.R + r, kp.trans == 1u);
        o[j] = to_f16(px[z * kp.stride + at]);
      }
    }
  }
  py[z * kp.Rp * q + i] = o;
}

// sa, sb: batch strides of the packed operands in 16-byte units (0 shares one matrix).
struct P { M: u32, N: u32, Kp: u32, Np: u32, sa: u32, sb: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<vec4u>;
@group(0) @binding(2) var<storage, read> b: array<vec4u>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;

// C's row length N is a multiple of 4 (vec4 stores).
override VEC_C: bool = false;
// Threads along N: 8 (128 columns per workgroup), or 4 when N <= 64 so that no thread idles.
override WX: u32 = 8u;

// Halves 0-3 and 4-7 of 8 packed ones, widened (exactly) to f32.
fn lo(u: vec4u) -> vec4f { return vec4f(unpack2x16float(u.x), unpack2x16float(u.y)); }
fn hi(u: vec4u) -> vec4f { return vec4f(unpack2x16float(u.z), unpack2x16float(u.w)); }

#include "lib/tile_store.wgsl"

@compute @workgroup_size(WX, 8)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m = wid.y * 64u + lid.y * 8u;
  let n = (wid.x * WX + lid.x) * 16u;
  // Row lengths in loads of 8 halves.
  let k8 = p.Kp / 8u;
  let n8 = p.Np / 8u;
  let ba = wid.z * p.sa + m * k8;
  let bb = wid.z * p.sb + n / 8u;
  var c00 = mat4x4f(); var c01 = mat4x4f(); var c02 = mat4x4f(); var c03 = mat4x4f();
  var c10 = mat4x4f(); var c11 = mat4x4f(); var c12 = mat4x4f(); var c13 = mat4x4f();
  for (var k = 0u; k < k8; k++) {
    // Rows m .. m+7 of op(A), columns 8k .. 8k+7.
    var ra: array<vec4u, 8>;
    for (var i = 0u; i < 8u; i++) { ra[i] = a[ba + i * k8 + k]; }
    for (var h = 0u; h < 2u; h++) {
      // Column kk of a0 is op(A)[m .. m+3, 8k + 4h + kk]; a1 has rows m+4 .. m+7.
      var a0: mat4x4f;
      var a1: mat4x4f;
      if (h == 0u) {
        a0 = transpose(mat4x4f(lo(ra[0]), lo(ra[1]), lo(ra[2]), lo(ra[3])));
        a1 = transpose(mat4x4f(lo(ra[4]), lo(ra[5]), lo(ra[6]), lo(ra[7])));
      } else {
        a0 = transpose(mat4x4f(hi(ra[0]), hi(ra[1]), hi(ra[2]), hi(ra[3])));
        a1 = transpose(mat4x4f(hi(ra[4]), hi(ra[5]), hi(ra[6]), hi(ra[7])));
      }
      // Rows 8k + 4h .. +3 of op(B), columns n .. n+7 (q) and n+8 .. n+15 (s); column j of b0
      // is op(B)[8k + 4h .. +3, n + j].
      let at = bb + (k * 8u + h * 4u) * n8;
      let q0 = b[at]; let q1 = b[at + n8]; let q2 = b[at + 2u * n8]; let q3 = b[at + 3u * n8];
      let s0 = b[at + 1u]; let s1 = b[at + n8 + 1u];
      let s2 = b[at + 2u * n8 + 1u]; let s3 = b[at + 3u * n8 + 1u];
      let b0 = transpose(mat4x4f(lo(q0), lo(q1), lo(q2), lo(q3)));
      let b1 = transpose(mat4x4f(hi(q0), hi(q1), hi(q2), hi(q3)));
      let b2 = transpose(mat4x4f(lo(s0), lo(s1), lo(s2), lo(s3)));
      let b3 = transpose(mat4x4f(hi(s0), hi(s1), hi(s2), hi(s3)));
      c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
      c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    }
  }
  let tiles = array(c00, c01, c02, c03, c10, c11, c12, c13);
  let bc = wid.z * p.M * p.N;
  for (var t = 0u; t < 8u; t++) {
    store(bc, m + (t / 4u) * 4u, n + (t % 4u) * 4u, tiles[t]);
  }
}
