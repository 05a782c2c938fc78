// Elementwise kernels. `b` broadcasts over `a` by repetition: b[i % nb], which covers a
// bias vector over the last dim and same-shape operands alike.

#include "lib/index.wgsl"

struct P { n: u32, nb: u32, s: f32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(g, nw);
  if (i < p.n) { y[i] = a[i] + p.s * b[i % p.nb]; }
}

@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(g, nw);
  if (i < p.n) { y[i] = a[i] * b[i % p.nb]; }
}

// Unary kernels bind `a` and `y` only; they use their own bindings to keep layouts exact.
struct Q { n: u32, s: f32 }
@group(0) @binding(0) var<uniform> q: Q;
@group(0) @binding(1) var<storage, read> ua: array<f32>;
@group(0) @binding(2) var<storage, read_write> uy: array<f32>;

@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(g, nw);
  if (i < q.n) { uy[i] = ua[i] * q.s; }
}

// y[i] = a[0] * s: the gradient of a sum or mean spread back over its input.
@compute @workgroup_size(256)
fn expand(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(g, nw);
  if (i < q.n) { uy[i] = ua[0] * q.s; }
}

struct F { n: u32, v: u32 }
@group(0) @binding(0) var<uniform> f: F;
@group(0) @binding(1) var<storage, read_write> fy: array<u32>;

// Fills with a raw 32-bit pattern, so one kernel serves f32 and i32.
@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(g, nw);
  if (i < f.n) { fy[i] = f.v; }
}
