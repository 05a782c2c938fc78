// LayerNorm over the last dim of x [rows, H], as PyTorch: biased variance, eps inside the sqrt.
// Row kernels run one workgroup per row (row = wid.x + wid.y * nw.x, folded past 65535) and
// reduce with a fixed-order tree in workgroup memory, so results are deterministic.

const WG = 256u;

struct P { rows: u32, h: u32, eps: f32 }

#include "lib/tree_sum.wgsl"

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u,
           @builtin(local_invocation_index) l: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= p.rows) { return; }
  let base = row * p.h;
  let n = f32(p.h);
  // Summing x - x[0] rather than x keeps the mean accurate when |mean| >> std
  // (x ~ 1e4, std ~ 1): the differences are small and nearly exact in f32.
  let shift = x[base];
  var s = 0.0;
  for (var j = l; j < p.h; j += WG) { s += x[base + j] - shift; }
  let mu = shift + tree_sum(l, s) / n;
  // Two passes: the centered sum of squares does not cancel like E[x^2] - E[x]^2.
  var q = 0.0;
  for (var j = l; j < p.h; j += WG) {
    let c = x[base + j] - mu;
    q += c * c;
  }
  let r = inverseSqrt(tree_sum(l, q) / n + p.eps);
  for (var j = l; j < p.h; j += WG) {
    y[base + j] = (x[base + j] - mu) * r * gamma[j] + beta[j];
  }
  if (l == 0u) {
    mean[row] = mu;
    rstd[row] = r;
  }
}

@group(0) @binding(0) var<uniform> bp: P;
@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bx: array<f32>;
@group(0) @binding(3) var<storage, read> bgamma: array<f32>;
@group(0) @binding(4) var<storage, read> bmean: array<f32>;
@group(0) @binding(5) var<storage, read> brstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> bdx: array<f32>;

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), with g = dy * gamma.
@compute @workgroup_size(256)
fn backward_x(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u,
              @builtin(local_invocation_index) l: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= bp.rows) { return; }
  let base = row * bp.h;
  let mu = bmean[row];
  let r = brstd[row];
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = l; j < bp.h; j += WG) {
    let g = bdy[base + j] * bgamma[j];
    sg += g;
    sgx += g * (bx[base + j] - mu) * r;
  }
  let t = tree_sum2(l, sg, sgx) / f32(bp.h);
  for (var j = l; j < bp.h; j += WG) {
    let g = bdy[base + j] * bgamma[j];
    let xh = (bx[base + j] - mu) * r;
    bdx[base + j] = r * (g - t.x - xh * t.y);
  }
}

struct Q { rows: u32, h: u32, chunk: u32 }
@group(0) @binding(0) var<uniform> pq: Q;
@group(0) @binding(1) var<storage, read> pdy: array<f32>;
@group(0) @binding(2) var<storage, read> px: array<f32>;
@group(0) @binding(3) var<storage, read> pmean: array<f32>;
@group(0) @binding(4) var<storage, read> prstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> pgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> pbeta: array<f32>;

// First stage of dgamma = sum_rows dy * xhat and dbeta = sum_rows dy: one thread per
// (column, chunk of rows) writes partial sums [chunks, H]; a fixed-order sum over chunks follows.
@compute @workgroup_size(256)
fn backward_params(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let j = gid.x;
  if (j >= pq.h) { return; }
  let c = wid.y;
  let end = min((c + 1u) * pq.chunk, pq.rows);
  var sg = 0.0;
  var sb = 0.0;
  for (var i = c * pq.chunk; i < end; i++) {
    let dy = pdy[i * pq.h + j];
    sg += dy * (px[i * pq.h + j] - pmean[i]) * prstd[i];
    sb += dy;
  }
  pgamma[c * pq.h + j] = sg;
  pbeta[c * pq.h + j] = sb;
}

// ---- One thread per row, for short rows: no workgroup memory and no barriers, which on lavapipe
// cost more than a short row's arithmetic (row = gid.x + gid.y * nw.x * 64). Same formulas, with
// the row summed in index order.

@compute @workgroup_size(64)
fn forward_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let row = gid.x + gid.y * nw.x * 64u;
  if (row >= p.rows) { return; }
  let base = row * p.h;
  let n = f32(p.h);
  let shift = x[base];
  var s = 0.0;
  for (var j = 0u; j < p.h; j++) { s += x[base + j] - shift; }
  let mu = shift + s / n;
  var q = 0.0;
  for (var j = 0u; j < p.h; j++) {
    let c = x[base + j] - mu;
    q += c * c;
  }
  let r = inverseSqrt(q / n + p.eps);
  for (var j = 0u; j < p.h; j++) { y[base + j] = (x[base + j] - mu) * r * gamma[j] + beta[j]; }
  mean[row] = mu;
  rstd[row] = r;
}

@compute @workgroup_size(64)
fn backward_x_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let row = gid.x + gid.y * nw.x * 64u;
  if (row >= bp.rows) { return; }
  let base = row * bp.h;
  let mu = bmean[row];
  let r = brstd[row];
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = 0u; j < bp.h; j++) {
    let g = bdy[base + j] * bgamma[j];
    sg += g;
    sgx += g * (bx[base + j] - mu) * r;
  }
  let t = vec2f(sg, sgx) / f32(bp.h);
  for (var j = 0u; j < bp.h; j++) {
    let g = bdy[base + j] * bgamma[j];
    let xh = (bx[base + j] - mu) * r;
    bdx[base + j] = r * (g - t.x - xh * t.y);
  }
}
