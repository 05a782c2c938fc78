// Fused epilogues of BERT's Linear layers:
// - bias + exact GELU (BertIntermediate), forward in one kernel; the backward writes dz and
//   per-chunk partial sums of dbias in one kernel, then a fixed-order sum over chunks.
// - bias + residual + LayerNorm (BertOutput), one workgroup per row, saving mean, rstd and
//   (when training) the sum h = (x + bias) + residual. Each thread keeps its first NREG
//   elements of a row in registers across the passes: on lavapipe loads are what costs, and
//   layernorm.wgsl reads x three times.
// Column-partial kernels run one thread per (column, chunk of rows) and sum their chunk in row
// order; partials are then summed in chunk order, so every result is deterministic.

#include "lib/normal.wgsl"

fn gelu_(x: f32) -> f32 { return x * cdf(x, 0.5 * neg_square(abs(x))); }

fn gelu_grad_(x: f32) -> f32 {
  let e = 0.5 * neg_square(abs(x));
  return cdf(x, e) + x * pdf(x, e);
}

// n: elements in this launch (whole rows); cols: the bias length.
struct P { n: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// y = gelu(x + bias); index folded past 65535 workgroups.
@compute @workgroup_size(256)
fn bias_gelu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * 256u;
  if (i < p.n) { y[i] = gelu_(x[i] + bias[i % p.cols]); }
}

// rows: rows in this launch; per: rows per chunk; c0: this launch's first chunk in `part`.
struct G { rows: u32, cols: u32, per: u32, c0: u32 }
@group(0) @binding(0) var<uniform> pg: G;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gbias: array<f32>;
@group(0) @binding(3) var<storage, read> gdy: array<f32>;
@group(0) @binding(4) var<storage, read_write> gdz: array<f32>;
@group(0) @binding(5) var<storage, read_write> gpart: array<f32>;

// dz = dy * gelu'(x + bias), and part[c0 + chunk, j] = sum of dz over the chunk's rows.
@compute @workgroup_size(256)
fn bias_gelu_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let j = gid.x;
  if (j >= pg.cols) { return; }
  let c = wid.y;
  let end = min((c + 1u) * pg.per, pg.rows);
  let b = gbias[j];
  var s = 0.0;
  for (var i = c * pg.per; i < end; i++) {
    let at = i * pg.cols + j;
    let dz = gdy[at] * gelu_grad_(gx[at] + b);
    gdz[at] = dz;
    s += dz;
  }
  gpart[(pg.c0 + c) * pg.cols + j] = s;
}

// ---- bias + residual + LayerNorm.

const WG = 64u;
const NREG = 16u; // row elements per thread held in registers: H <= 1024 needs no reloads

#include "lib/tree_sum.wgsl"

// save: whether to write h for the backward (hs is a 1-element stand-in otherwise).
struct L { rows: u32, h: u32, eps: f32, save: u32 }
@group(0) @binding(0) var<uniform> pl: L;
@group(0) @binding(1) var<storage, read> lx: array<f32>;
@group(0) @binding(2) var<storage, read> lbias: array<f32>;
@group(0) @binding(3) var<storage, read> lres: array<f32>;
@group(0) @binding(4) var<storage, read> lgamma: array<f32>;
@group(0) @binding(5) var<storage, read> lbeta: array<f32>;
@group(0) @binding(6) var<storage, read_write> ly: array<f32>;
@group(0) @binding(7) var<storage, read_write> lstats: array<f32>;
@group(0) @binding(8) var<storage, read_write> lh: array<f32>;

// The LayerNorm input, added in the unfused path's order: (x + bias) + residual.
fn h_at(base: u32, j: u32) -> f32 { return (lx[base + j] + lbias[j]) + lres[base + j]; }

// y = LayerNorm(h) as layernorm.wgsl's forward (shifted mean, two-pass variance);
// stats[row] = (mean, rstd). Element j = l + i * WG of the row is hv[i] for i < NREG.
@compute @workgroup_size(64)
fn bias_residual_ln(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u,
                    @builtin(local_invocation_index) l: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= pl.rows) { return; }
  let base = row * pl.h;
  let n = f32(pl.h);
  // Summing h - h[0] keeps the mean accurate when |mean| >> std.
  let shift = h_at(base, 0u);
  var hv: array<f32, 16>;
  var s = 0.0;
  for (var i = 0u; i < NREG; i++) {
    let j = l + i * WG;
    if (j < pl.h) {
      hv[i] = h_at(base, j);
      s += hv[i] - shift;
      if (pl.save != 0u) { lh[base + j] = hv[i]; }
    }
  }
  for (var j = l + NREG * WG; j < pl.h; j += WG) {
    let v = h_at(base, j);
    s += v - shift;
    if (pl.save != 0u) { lh[base + j] = v; }
  }
  let mu = shift + tree_sum(l, s) / n;
  var q = 0.0;
  for (var i = 0u; i < NREG; i++) {
    if (l + i * WG < pl.h) {
      let c = hv[i] - mu;
      q += c * c;
    }
  }
  for (var j = l + NREG * WG; j < pl.h; j += WG) {
    let c = h_at(base, j) - mu;
    q += c * c;
  }
  let r = inverseSqrt(tree_sum(l, q) / n + pl.eps);
  for (var i = 0u; i < NREG; i++) {
    let j = l + i * WG;
    if (j < pl.h) { ly[base + j] = (hv[i] - mu) * r * lgamma[j] + lbeta[j]; }
  }
  for (var j = l + NREG * WG; j < pl.h; j += WG) {
    ly[base + j] = (h_at(base, j) - mu) * r * lgamma[j] + lbeta[j];
  }
  if (l == 0u) {
    lstats[row * 2u] = mu;
    lstats[row * 2u + 1u] = r;
  }
}

@group(0) @binding(0) var<uniform> bl: L;
@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bh: array<f32>;
@group(0) @binding(3) var<storage, read> bgamma: array<f32>;
@group(0) @binding(4) var<storage, read> bstats: array<f32>;
@group(0) @binding(5) var<storage, read_write> bdh: array<f32>;

// dh = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma: the gradient of x,
// of the residual and (summed over rows) of the bias alike.
@compute @workgroup_size(64)
fn bias_residual_ln_dx(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u,
                       @builtin(local_invocation_index) l: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= bl.rows) { return; }
  let base = row * bl.h;
  let mu = bstats[row * 2u];
  let r = bstats[row * 2u + 1u];
  var gv: array<f32, 16>;
  var xv: array<f32, 16>;
  var sg = 0.0;
  var sgx = 0.0;
  for (var i = 0u; i < NREG; i++) {
    let j = l + i * WG;
    if (j < bl.h) {
      gv[i] = bdy[base + j] * bgamma[j];
      xv[i] = (bh[base + j] - mu) * r;
      sg += gv[i];
      sgx += gv[i] * xv[i];
    }
  }
  for (var j = l + NREG * WG; j < bl.h; j += WG) {
    let g = bdy[base + j] * bgamma[j];
    sg += g;
    sgx += g * (bh[base + j] - mu) * r;
  }
  let t = tree_sum2(l, sg, sgx) / f32(bl.h);
  for (var i = 0u; i < NREG; i++) {
    let j = l + i * WG;
    if (j < bl.h) { bdh[base + j] = r * (gv[i] - t.x - xv[i] * t.y); }
  }
  for (var j = l + NREG * WG; j < bl.h; j += WG) {
    let g = bdy[base + j] * bgamma[j];
    bdh[base + j] = r * (g - t.x - (bh[base + j] - mu) * r * t.y);
  }
}

struct C { rows: u32, h: u32, per: u32 }
@group(0) @binding(0) var<uniform> pc: C;
@group(0) @binding(1) var<storage, read> cdy: array<f32>;
@group(0) @binding(2) var<storage, read> ch: array<f32>;
@group(0) @binding(3) var<storage, read> cstats: array<f32>;
@group(0) @binding(4) var<storage, read> cdh: array<f32>;
@group(0) @binding(5) var<storage, read_write> cpart: array<f32>;

// part[chunk, 0..3, j] = chunk sums of (dy * xhat, dh, dy): dgamma, dbias, dbeta partials.
@compute @workgroup_size(256)
fn bias_residual_ln_params(@builtin(global_invocation_id) gid: vec3u,
                           @builtin(workgroup_id) wid: vec3u) {
  let j = gid.x;
  if (j >= pc.h) { return; }
  let c = wid.y;
  let end = min((c + 1u) * pc.per, pc.rows);
  var sg = 0.0;
  var sh = 0.0;
  var sb = 0.0;
  for (var i = c * pc.per; i < end; i++) {
    let at = i * pc.h + j;
    let dy = cdy[at];
    sg += dy * (ch[at] - cstats[i * 2u]) * cstats[i * 2u + 1u];
    sh += cdh[at];
    sb += dy;
  }
  let o = c * 3u * pc.h + j;
  cpart[o] = sg;
  cpart[o + pc.h] = sh;
  cpart[o + 2u * pc.h] = sb;
}

struct S { chunks: u32, h: u32 }
@group(0) @binding(0) var<uniform> ps: S;
@group(0) @binding(1) var<storage, read> spart: array<f32>;
@group(0) @binding(2) var<storage, read_write> sgamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> sbias: array<f32>;
@group(0) @binding(4) var<storage, read_write> sbeta: array<f32>;

// Sums the [chunks, 3, H] partials over chunks, in chunk order.
@compute @workgroup_size(256)
fn sum_parts3(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= ps.h) { return; }
  var a = vec3f(0.0);
  for (var c = 0u; c < ps.chunks; c++) {
    let o = c * 3u * ps.h + j;
    a += vec3f(spart[o], spart[o + ps.h], spart[o + 2u * ps.h]);
  }
  sgamma[j] = a.x;
  sbias[j] = a.y;
  sbeta[j] = a.z;
}

// ---- One thread per row, for short rows: bias_residual_ln and its dx without workgroup memory
// or barriers (see layernorm.wgsl's *_rows). row = gid.x + gid.y * nw.x * 64.

@compute @workgroup_size(64)
fn bias_residual_ln_rows(@builtin(global_invocation_id) gid: vec3u,
                         @builtin(num_workgroups) nw: vec3u) {
  let row = gid.x + gid.y * nw.x * 64u;
  if (row >= pl.rows) { return; }
  let base = row * pl.h;
  let n = f32(pl.h);
  let shift = h_at(base, 0u);
  var s = 0.0;
  for (var j = 0u; j < pl.h; j++) {
    let v = h_at(base, j);
    s += v - shift;
    if (pl.save != 0u) { lh[base + j] = v; }
  }
  let mu = shift + s / n;
  var q = 0.0;
  for (var j = 0u; j < pl.h; j++) {
    let c = h_at(base, j) - mu;
    q += c * c;
  }
  let r = inverseSqrt(q / n + pl.eps);
  for (var j = 0u; j < pl.h; j++) {
    ly[base + j] = (h_at(base, j) - mu) * r * lgamma[j] + lbeta[j];
  }
  lstats[row * 2u] = mu;
  lstats[row * 2u + 1u] = r;
}

@compute @workgroup_size(64)
fn bias_residual_ln_dx_rows(@builtin(global_invocation_id) gid: vec3u,
                            @builtin(num_workgroups) nw: vec3u) {
  let row = gid.x + gid.y * nw.x * 64u;
  if (row >= bl.rows) { return; }
  let base = row * bl.h;
  let mu = bstats[row * 2u];
  let r = bstats[row * 2u + 1u];
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = 0u; j < bl.h; j++) {
    let g = bdy[base + j] * bgamma[j];
    sg += g;
    sgx += g * (bh[base + j] - mu) * r;
  }
  let t = vec2f(sg, sgx) / f32(bl.h);
  for (var j = 0u; j < bl.h; j++) {
    let g = bdy[base + j] * bgamma[j];
    bdh[base + j] = r * (g - t.x - (bh[base + j] - mu) * r * t.y);
  }
}
