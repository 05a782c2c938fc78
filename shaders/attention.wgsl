// Fused scaled dot-product attention (FlashAttention-2 style), forward and backward.
// q, k, v, o are [B*A, S, HD] row-major; mask is an additive [B, S] key mask. The S×S score
// matrix never reaches global memory: scores live in workgroup tiles, and the forward saves
// only each row's running max m and sum l (stats, [B*A*S, 2]) for the backward.
//
// Masking matches the unfused path (scale(q·kᵀ) then softmax.wgsl): s = max(x + mask, -FMAX),
// so a fully masked row is uniform over all S keys. exp's argument is floored at -104 (exp is 0
// there in f32) so it stays finite when -FMAX - m overflows. m and l are kept apart rather than
// as m + log(l), which rounds to m when m = -FMAX and would lose the 1/S of a masked row.
//
// Optional dropout on P hashes the element's index in [B, A, S, S] exactly as dropout.wgsl
// does, so a seed gives the same mask as dropout(softmax(...)) in the unfused path.
//
// Threads: 64 per workgroup, 4 per row (or key), each owning the head columns d ≡ t (mod 4).
// Barriers sit in loops whose bounds come from uniforms only, so control flow stays uniform.

const FMAX = 3.4028234663852886e38;
const WG = 64u;
const ST = 65u; // padded row stride of the [rows, HD] tiles, against bank conflicts
const DROP_STREAM = 0x64726f70u; // dropout.wgsl's stream constant

// Head size (<= 64), a pipeline constant so that loops over it unroll.
override HD: u32 = 64u;

// heads: A, to find a head's batch row of the mask. threshold: keep when hash >= threshold
// (0 disables dropout); keep_scale = 1 / (1 - p).
struct P { s: u32, heads: u32, scale: f32, masked: u32, seed: u32, threshold: u32, keep_scale: f32 }

var<workgroup> ta: array<f32, 1040>; // 16 rows of ST
var<workgroup> tb: array<f32, 1040>;
var<workgroup> tc: array<f32, 1040>;
var<workgroup> te: array<f32, 520>; // 8 rows of ST
var<workgroup> tf: array<f32, 520>;
var<workgroup> ss: array<f32, 256>;
var<workgroup> zs: array<f32, 256>;

// pcg3d, copied from dropout.wgsl (WGSL has no includes); keep the two identical.
fn pcg3d(v0: vec3u) -> vec3u {
  var v = v0 * 1664525u + 1013904223u;
  v.x += v.y * v.z;
  v.y += v.z * v.x;
  v.z += v.x * v.y;
  v ^= v >> vec3u(16u);
  v.x += v.y * v.z;
  v.y += v.z * v.x;
  v.z += v.x * v.y;
  return v;
}

// Dropout's multiplier for P[bh, i, j]: 0 or 1 / (1 - p); 1 without dropout.
fn keep(pp: P, bh: u32, i: u32, j: u32) -> f32 {
  if (pp.threshold == 0u) { return 1.0; }
  let flat = (bh * pp.s + i) * pp.s + j;
  let h = pcg3d(vec3u(flat, pp.seed, DROP_STREAM)).x;
  return select(0.0, pp.keep_scale, h >= pp.threshold);
}

// The masked, scaled score of a dot product, as the unfused path computes it.
fn score(pp: P, dot: f32, mval: f32) -> f32 {
  let x = dot * pp.scale;
  if (pp.masked == 0u) { return x; }
  return max(x + mval, -FMAX);
}

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
// Without a mask the host binds q here too, and `masked` is 0.
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;

// Copies rows [r0, r0 + n) of a [S, HD] head (zeros past S) into a workgroup tile.
fn load_q(t: u32, base: u32, r0: u32, n: u32) {
  for (var i = t; i < n * HD; i += WG) {
    let r = i / HD;
    let d = i % HD;
    ta[r * ST + d] = select(0.0, q[base + (r0 + r) * HD + d], r0 + r < p.s);
  }
}

// One workgroup per (16 query rows, head); key tiles of 16 with an online softmax.
@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let bh = wid.y;
  let q0 = wid.x * 16u;
  let base = bh * p.s * HD;
  let mrow = (bh / p.heads) * p.s;
  let r = t / 4u;
  let c4 = t % 4u;
  let qi = q0 + r;
  load_q(t, base, q0, 16u);
  var m = -FMAX;
  var l = 0.0;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < p.s; k0 += 16u) {
    // The previous tile's readers are done before it is overwritten.
    workgroupBarrier();
    for (var i = t; i < 16u * HD; i += WG) {
      let c = i / HD;
      let d = i % HD;
      let ok = k0 + c < p.s;
      tb[c * ST + d] = select(0.0, k[base + (k0 + c) * HD + d], ok);
      tc[c * ST + d] = select(0.0, v[base + (k0 + c) * HD + d], ok);
    }
    workgroupBarrier();
    for (var i = 0u; i < 4u; i++) {
      let c = c4 + 4u * i;
      let key = min(k0 + c, p.s - 1u);
      var dot = 0.0;
      for (var d = 0u; d < HD; d++) { dot += ta[r * ST + d] * tb[c * ST + d]; }
      ss[r * 16u + c] = score(p, dot, select(0.0, mask[mrow + key], p.masked != 0u));
      zs[r * 16u + c] = keep(p, bh, qi, k0 + c);
    }
    workgroupBarrier();
    // Every thread of a row reads the whole score row: the four compute the same m and l.
    let n = min(16u, p.s - k0);
    var mt = m;
    for (var c = 0u; c < n; c++) { mt = max(mt, ss[r * 16u + c]); }
    let alpha = exp(max(m - mt, -104.0));
    l *= alpha;
    for (var j = 0u; j < 16u; j++) { acc[j] *= alpha; }
    for (var c = 0u; c < n; c++) {
      let e = exp(max(ss[r * 16u + c] - mt, -104.0));
      l += e;
      let pe = e * zs[r * 16u + c];
      for (var j = 0u; j < 16u; j++) {
        let d = c4 + 4u * j;
        if (d < HD) { acc[j] += pe * tc[c * ST + d]; }
      }
    }
    m = mt;
  }
  if (qi >= p.s) { return; }
  // l >= 1: the row's max contributes exp(0).
  let inv = 1.0 / l;
  for (var j = 0u; j < 16u; j++) {
    let d = c4 + 4u * j;
    if (d < HD) { o[base + qi * HD + d] = acc[j] * inv; }
  }
  if (c4 == 0u) {
    stats[(bh * p.s + qi) * 2u] = m;
    stats[(bh * p.s + qi) * 2u + 1u] = l;
  }
}

struct R { rows: u32 }
@group(0) @binding(0) var<uniform> pr: R;
@group(0) @binding(1) var<storage, read> rdo: array<f32>;
@group(0) @binding(2) var<storage, read> ro: array<f32>;
@group(0) @binding(3) var<storage, read> rstats: array<f32>;
@group(0) @binding(4) var<storage, read_write> rinfo: array<f32>;

// Per query row: info = (m, 1 / l, D = rowsum(dO ⊙ O), 0), read by both gradient kernels.
@compute @workgroup_size(64)
fn backward_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= pr.rows) { return; }
  var s = 0.0;
  for (var d = 0u; d < HD; d++) { s += rdo[i * HD + d] * ro[i * HD + d]; }
  rinfo[i * 4u] = rstats[i * 2u];
  rinfo[i * 4u + 1u] = 1.0 / rstats[i * 2u + 1u];
  rinfo[i * 4u + 2u] = s;
  rinfo[i * 4u + 3u] = 0.0;
}

@group(0) @binding(0) var<uniform> g: P;
@group(0) @binding(1) var<storage, read> gq: array<f32>;
@group(0) @binding(2) var<storage, read> gk: array<f32>;
@group(0) @binding(3) var<storage, read> gv: array<f32>;
@group(0) @binding(4) var<storage, read> gmask: array<f32>;
@group(0) @binding(5) var<storage, read> gdo: array<f32>;
@group(0) @binding(6) var<storage, read> ginfo: array<f32>;
@group(0) @binding(7) var<storage, read_write> gdq: array<f32>;

// dS for one (query, key) pair from the recomputed score: P ⊙ (dP ⊙ Z - D), where Z is the
// dropout multiplier and dP the product dO·V. Returns (P ⊙ Z, dS).
fn grad_pair(s: f32, dp: f32, z: f32, info: vec3f) -> vec2f {
  let pv = exp(max(s - info.x, -104.0)) * info.y;
  return vec2f(pv * z, pv * (dp * z - info.z));
}

fn row_info(i: u32) -> vec3f {
  return vec3f(ginfo[i * 4u], ginfo[i * 4u + 1u], ginfo[i * 4u + 2u]);
}

// dQ = scale · dS·K: one workgroup per (16 query rows, head), key tiles of 8.
// Tiles: ta = Q, tb = dO (16 rows), te = K, tf = V (8 rows), ss = dS [16, 8].
@compute @workgroup_size(64)
fn backward_dq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let bh = wid.y;
  let q0 = wid.x * 16u;
  let base = bh * g.s * HD;
  let mrow = (bh / g.heads) * g.s;
  let r = t / 4u;
  let c4 = t % 4u;
  let qi = q0 + r;
  for (var i = t; i < 16u * HD; i += WG) {
    let rr = i / HD;
    let d = i % HD;
    let ok = q0 + rr < g.s;
    ta[rr * ST + d] = select(0.0, gq[base + (q0 + rr) * HD + d], ok);
    tb[rr * ST + d] = select(0.0, gdo[base + (q0 + rr) * HD + d], ok);
  }
  let info = row_info(bh * g.s + min(qi, g.s - 1u));
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < g.s; k0 += 8u) {
    workgroupBarrier();
    for (var i = t; i < 8u * HD; i += WG) {
      let c = i / HD;
      let d = i % HD;
      let ok = k0 + c < g.s;
      te[c * ST + d] = select(0.0, gk[base + (k0 + c) * HD + d], ok);
      tf[c * ST + d] = select(0.0, gv[base + (k0 + c) * HD + d], ok);
    }
    workgroupBarrier();
    for (var i = 0u; i < 2u; i++) {
      let c = c4 + 4u * i;
      var ds = 0.0;
      if (k0 + c < g.s && qi < g.s) {
        var dqk = 0.0;
        var ddv = 0.0;
        for (var d = 0u; d < HD; d++) {
          dqk += ta[r * ST + d] * te[c * ST + d];
          ddv += tb[r * ST + d] * tf[c * ST + d];
        }
        let mval = select(0.0, gmask[mrow + k0 + c], g.masked != 0u);
        ds = grad_pair(score(g, dqk, mval), ddv, keep(g, bh, qi, k0 + c), info).y;
      }
      ss[r * 8u + c] = ds;
    }
    workgroupBarrier();
    for (var c = 0u; c < 8u; c++) {
      let ds = ss[r * 8u + c];
      for (var j = 0u; j < 16u; j++) {
        let d = c4 + 4u * j;
        if (d < HD) { acc[j] += ds * te[c * ST + d]; }
      }
    }
  }
  if (qi >= g.s) { return; }
  for (var j = 0u; j < 16u; j++) {
    let d = c4 + 4u * j;
    if (d < HD) { gdq[base + qi * HD + d] = acc[j] * g.scale; }
  }
}

@group(0) @binding(0) var<uniform> h: P;
@group(0) @binding(1) var<storage, read> hq: array<f32>;
@group(0) @binding(2) var<storage, read> hk: array<f32>;
@group(0) @binding(3) var<storage, read> hv: array<f32>;
@group(0) @binding(4) var<storage, read> hmask: array<f32>;
@group(0) @binding(5) var<storage, read> hdo: array<f32>;
@group(0) @binding(6) var<storage, read> hinfo: array<f32>;
@group(0) @binding(7) var<storage, read_write> hdk: array<f32>;
@group(0) @binding(8) var<storage, read_write> hdv: array<f32>;

// dV = (P ⊙ Z)ᵀ·dO and dK = scale · dSᵀ·Q: one workgroup per (16 keys, head), query tiles of 8.
// Tiles: ta = K, tb = V (16 keys), te = Q, tf = dO (8 rows), ss = P ⊙ Z, zs = dS [8, 16].
@compute @workgroup_size(64)
fn backward_dkv(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let bh = wid.y;
  let k0 = wid.x * 16u;
  let base = bh * h.s * HD;
  let c = t / 4u;
  let c4 = t % 4u;
  let key = k0 + c;
  for (var i = t; i < 16u * HD; i += WG) {
    let cc = i / HD;
    let d = i % HD;
    let ok = k0 + cc < h.s;
    ta[cc * ST + d] = select(0.0, hk[base + (k0 + cc) * HD + d], ok);
    tb[cc * ST + d] = select(0.0, hv[base + (k0 + cc) * HD + d], ok);
  }
  let mval = select(0.0, hmask[(bh / h.heads) * h.s + min(key, h.s - 1u)], h.masked != 0u);
  var ak: array<f32, 16>;
  var av: array<f32, 16>;
  for (var q0 = 0u; q0 < h.s; q0 += 8u) {
    workgroupBarrier();
    for (var i = t; i < 8u * HD; i += WG) {
      let rr = i / HD;
      let d = i % HD;
      let ok = q0 + rr < h.s;
      te[rr * ST + d] = select(0.0, hq[base + (q0 + rr) * HD + d], ok);
      tf[rr * ST + d] = select(0.0, hdo[base + (q0 + rr) * HD + d], ok);
    }
    workgroupBarrier();
    for (var i = 0u; i < 2u; i++) {
      let r = c4 + 4u * i;
      let qi = q0 + r;
      var pd = vec2f(0.0);
      if (qi < h.s && key < h.s) {
        var dqk = 0.0;
        var ddv = 0.0;
        for (var d = 0u; d < HD; d++) {
          dqk += te[r * ST + d] * ta[c * ST + d];
          ddv += tf[r * ST + d] * tb[c * ST + d];
        }
        let i4 = (bh * h.s + qi) * 4u;
        let info = vec3f(hinfo[i4], hinfo[i4 + 1u], hinfo[i4 + 2u]);
        pd = grad_pair(score(h, dqk, mval), ddv, keep(h, bh, qi, key), info);
      }
      ss[r * 16u + c] = pd.x;
      zs[r * 16u + c] = pd.y;
    }
    workgroupBarrier();
    for (var r = 0u; r < 8u; r++) {
      let pz = ss[r * 16u + c];
      let ds = zs[r * 16u + c];
      for (var j = 0u; j < 16u; j++) {
        let d = c4 + 4u * j;
        if (d < HD) {
          av[j] += pz * tf[r * ST + d];
          ak[j] += ds * te[r * ST + d];
        }
      }
    }
  }
  if (key >= h.s) { return; }
  for (var j = 0u; j < 16u; j++) {
    let d = c4 + 4u * j;
    if (d < HD) {
      hdk[base + key * HD + d] = ak[j] * h.scale;
      hdv[base + key * HD + d] = av[j];
    }
  }
}
