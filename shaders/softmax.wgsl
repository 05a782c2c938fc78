// Softmax over the last dim of x [rows, n], with an optional additive mask [B, n] broadcast
// over the `per` rows (heads x queries) of each batch element. One workgroup per row
// (row = wid.x + wid.y * nw.x, folded past 65535); fixed-order tree reductions.

const WG = 128u;
const FMAX = 3.4028234663852886e38;

struct P { rows: u32, n: u32, per: u32, masked: u32 }

var<workgroup> t: array<f32, 128>;

// Reduces v over the workgroup with max (op 1) or sum (op 0). Reach in uniform control flow.
fn tree(l: u32, v: f32, op: u32) -> f32 {
  t[l] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (l < k) {
      if (op == 1u) { t[l] = max(t[l], t[l + k]); } else { t[l] += t[l + k]; }
    }
    workgroupBarrier();
  }
  let r = t[0];
  // The next reduction overwrites t: every thread must have read the result first.
  workgroupBarrier();
  return r;
}

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// Without a mask the host binds x here too, and `masked` is 0.
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(128)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u,
           @builtin(local_invocation_index) l: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= p.rows) { return; }
  let base = row * p.n;
  let mbase = (row / p.per) * p.n;
  var m = -FMAX;
  for (var j = l; j < p.n; j += WG) {
    var v = x[base + j];
    // x + float32 min can round past -FMAX to -inf: clamp, so a fully masked row stays finite.
    if (p.masked != 0u) { v = max(v + mask[mbase + j], -FMAX); }
    y[base + j] = v;
    m = max(m, v);
  }
  m = tree(l, m, 1u);
  var s = 0.0;
  for (var j = l; j < p.n; j += WG) {
    // v - m <= 0, and the row max contributes exp(0) = 1, so s >= 1. The floor keeps
    // exp's argument finite (-FMAX - m may overflow); exp(-104) is already 0 in f32.
    let e = exp(max(y[base + j] - m, -104.0));
    y[base + j] = e;
    s += e;
  }
  let inv = 1.0 / tree(l, s, 0u);
  for (var j = l; j < p.n; j += WG) { y[base + j] *= inv; }
}

@group(0) @binding(0) var<uniform> bp: P;
@group(0) @binding(1) var<storage, read> by: array<f32>;
@group(0) @binding(2) var<storage, read> bdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// dx = y * (dy - sum(dy * y)) per row.
@compute @workgroup_size(128)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u,
            @builtin(local_invocation_index) l: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= bp.rows) { return; }
  let base = row * bp.n;
  var s = 0.0;
  for (var j = l; j < bp.n; j += WG) { s += bdy[base + j] * by[base + j]; }
  s = tree(l, s, 0u);
  for (var j = l; j < bp.n; j += WG) {
    bdx[base + j] = by[base + j] * (bdy[base + j] - s);
  }
}
