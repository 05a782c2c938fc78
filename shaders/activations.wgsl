// GELU (exact erf form), tanh and ReLU with their gradients.
// exp, erf and tanh are our own: drivers' exp may be off by many ulp (lavapipe: 17 ulp on
// [-20, 20]) and WGSL's tanh may overflow for large |x|, so results would depend on the GPU.
// Coefficients are minimax fits (Lawson) rounded to f32, checked in f32 against mpmath.

#include "lib/index.wgsl"
#include "lib/erf.wgsl"
#include "lib/normal.wgsl"
#include "lib/tanh.wgsl"

struct P { n: u32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Gradients bind the saved tensor (input or output), the incoming gradient and the result.
@group(0) @binding(0) var<uniform> q: P;
@group(0) @binding(1) var<storage, read> saved: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn erf_(z: f32) -> f32 {
  let t = abs(z);
  if (t < 0.921875) { return z + z * erf_small(z * z); }
  let r = 1.0 - erfc_tail(t, neg_square(t));
  return select(r, -r, z < 0.0);
}

@compute @workgroup_size(256)
fn erf(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(gid, nw);
  if (i < p.n) { y[i] = erf_(a[i]); }
}

@compute @workgroup_size(256)
fn gelu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(gid, nw);
  if (i < p.n) {
    let x = a[i];
    y[i] = x * cdf(x, 0.5 * neg_square(abs(x)));
  }
}

@compute @workgroup_size(256)
fn gelu_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(gid, nw);
  if (i < q.n) {
    let x = saved[i];
    let e = 0.5 * neg_square(abs(x));
    dx[i] = g[i] * (cdf(x, e) + x * pdf(x, e));
  }
}

@compute @workgroup_size(256)
fn tanh_fwd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(gid, nw);
  if (i < p.n) { y[i] = tanh_(a[i]); }
}

// saved = tanh's output y; (1 - y)(1 + y) keeps precision where y*y rounds to 1.
@compute @workgroup_size(256)
fn tanh_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(gid, nw);
  if (i < q.n) {
    let t = saved[i];
    dx[i] = g[i] * ((1.0 - t) * (1.0 + t));
  }
}

@compute @workgroup_size(256)
fn relu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(gid, nw);
  if (i < p.n) { y[i] = max(a[i], 0.0); }
}

@compute @workgroup_size(256)
fn relu_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = index(gid, nw);
  if (i < q.n) { dx[i] = select(0.0, g[i], saved[i] > 0.0); }
}
