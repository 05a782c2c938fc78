// Fused scaled dot-product attention (FlashAttention-2 style), forward and backward.
// q, k, v, o are [B*A, S, HD] row-major; mask is an additive [B, S] key mask. The S×S score
// matrix never reaches global memory: each thread keeps a 4×4 block of scores in registers, and
// the forward saves only each row's running max m and sum l (stats, [B*A*S, 2]).
//
// Masking matches the unfused path (scale(q·kᵀ) then softmax.wgsl): s = max(x + mask, -FMAX),
// so a fully masked row is uniform over all S keys. exp's argument is floored at -104 (exp is 0
// there in f32) so it stays finite when -FMAX - m overflows. m and l are kept apart rather than
// as m + log(l), which rounds to m when m = -FMAX and would lose the 1/S of a masked row.
//
// Optional dropout on P hashes the element's index in [B, A, S, S] exactly as dropout.wgsl
// does, so a seed gives the same mask as dropout(softmax(...)) in the unfused path.
//
// Register blocking, as matmul.wgsl: each thread owns 4 query rows (or 4 keys) with all their
// HD columns as up to 16 mat4x4f, and walks the other side 4 rows at a time, reading them from
// storage (no workgroup memory, no barriers). On lavapipe the cost is the number of loads, and
// this does 16 FMAs per vec4 load; wgpu's GL backend would also spend minutes compiling the
// zero-initialization of large workgroup arrays. Products are sums over 4-column slots j of
// 4×4 matrix products, in a fixed order, so results are deterministic.
//
// Matrix conventions (WGSL mats are column-major): a "row tile" mat4x4f(r0, r1, r2, r3) has
// head rows as columns, so for query rows Q and keys K, Σ_j transpose(Qt_j) * Kt_j is the 4×4
// score block with column c = key c, component i = query i.

const FMAX = 3.4028234663852886e38;
const DROP_STREAM = 0x64726f70u; // dropout.wgsl's stream constant

// Head size (<= 64) and whether it is a multiple of 4 (vec4 loads); pipeline constants.
override HD: u32 = 64u;
override VEC: bool = true;

// heads: A, to find a head's batch row of the mask. threshold: keep when hash >= threshold
// (0 disables dropout); keep_scale = 1 / (1 - p).
struct P { s: u32, heads: u32, scale: f32, masked: u32, seed: u32, threshold: u32, keep_scale: f32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
// Without a mask the host binds q here too, and `masked` is 0.
@group(0) @binding(4) var<storage, read> mask: array<f32>;
// forward
@group(0) @binding(5) var<storage, read_write> o: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
// backward_dq and backward_dkv
@group(0) @binding(5) var<storage, read> dout: array<vec4f>;
@group(0) @binding(6) var<storage, read> info: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> dq: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> dk: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4f>;

#include "lib/pcg3d.wgsl"

// Dropout multipliers (0 or 1 / (1 - p)) of P[bh, i .. i+3, j]: one key, four queries.
fn keep4(bh: u32, i: u32, j: u32) -> vec4f {
  if (p.threshold == 0u) { return vec4f(1.0); }
  var z: vec4f;
  for (var e = 0u; e < 4u; e++) {
    let h = pcg3d(vec3u((bh * p.s + i + e) * p.s + j, p.seed, DROP_STREAM)).x;
    z[e] = select(0.0, p.keep_scale, h >= p.threshold);
  }
  return z;
}

// The same for one query i and four keys j .. j+3.
fn keep4t(bh: u32, i: u32, j: u32) -> vec4f {
  if (p.threshold == 0u) { return vec4f(1.0); }
  var z: vec4f;
  for (var e = 0u; e < 4u; e++) {
    let h = pcg3d(vec3u((bh * p.s + i) * p.s + j + e, p.seed, DROP_STREAM)).x;
    z[e] = select(0.0, p.keep_scale, h >= p.threshold);
  }
  return z;
}

// Scaled, masked scores as the unfused path computes them; `m` is the key's mask value.
fn score(x: vec4f, m: vec4f) -> vec4f {
  let y = x * p.scale;
  if (p.masked == 0u) { return y; }
  return max(y + m, vec4f(-FMAX));
}

fn mask_at(mrow: u32, key: u32) -> f32 {
  return select(0.0, mask[mrow + min(key, p.s - 1u)], p.masked != 0u);
}

// Columns 4j .. 4j+3 of row `row` of a head at `base`: zeros past HD and past S. Indices are
// clamped rather than branched on, so no lane reads out of range.
fn ok4(row: u32, j: u32) -> vec4<bool> {
  return (vec4u(4u * j) + vec4u(0u, 1u, 2u, 3u) < vec4u(HD)) & vec4(row < p.s);
}

fn ldq(base: u32, row: u32, j: u32) -> vec4f {
  let ok = ok4(row, j);
  let i = base + row * HD + 4u * j;
  if (VEC) { return select(vec4f(), q[select(0u, i >> 2u, ok.x)], ok.x); }
  var a: vec4f;
  for (var e = 0u; e < 4u; e++) {
    let x = select(0u, i + e, ok[e]);
    a[e] = select(0.0, q[x >> 2u][x & 3u], ok[e]);
  }
  return a;
}

fn ldk(base: u32, row: u32, j: u32) -> vec4f {
  let ok = ok4(row, j);
  let i = base + row * HD + 4u * j;
  if (VEC) { return select(vec4f(), k[select(0u, i >> 2u, ok.x)], ok.x); }
  var a: vec4f;
  for (var e = 0u; e < 4u; e++) {
    let x = select(0u, i + e, ok[e]);
    a[e] = select(0.0, k[x >> 2u][x & 3u], ok[e]);
  }
  return a;
}

fn ldv(base: u32, row: u32, j: u32) -> vec4f {
  let ok = ok4(row, j);
  let i = base + row * HD + 4u * j;
  if (VEC) { return select(vec4f(), v[select(0u, i >> 2u, ok.x)], ok.x); }
  var a: vec4f;
  for (var e = 0u; e < 4u; e++) {
    let x = select(0u, i + e, ok[e]);
    a[e] = select(0.0, v[x >> 2u][x & 3u], ok[e]);
  }
  return a;
}

fn ldo(base: u32, row: u32, j: u32) -> vec4f {
  let ok = ok4(row, j);
  let i = base + row * HD + 4u * j;
  if (VEC) { return select(vec4f(), dout[select(0u, i >> 2u, ok.x)], ok.x); }
  var a: vec4f;
  for (var e = 0u; e < 4u; e++) {
    let x = select(0u, i + e, ok[e]);
    a[e] = select(0.0, dout[x >> 2u][x & 3u], ok[e]);
  }
  return a;
}

// Row tiles (head rows as columns) of rows r .. r+3, slot j.
fn tq(base: u32, r: u32, j: u32) -> mat4x4f {
  return mat4x4f(ldq(base, r, j), ldq(base, r + 1u, j), ldq(base, r + 2u, j), ldq(base, r + 3u, j));
}
fn tk(base: u32, r: u32, j: u32) -> mat4x4f {
  return mat4x4f(ldk(base, r, j), ldk(base, r + 1u, j), ldk(base, r + 2u, j), ldk(base, r + 3u, j));
}
fn tv(base: u32, r: u32, j: u32) -> mat4x4f {
  return mat4x4f(ldv(base, r, j), ldv(base, r + 1u, j), ldv(base, r + 2u, j), ldv(base, r + 3u, j));
}
fn to(base: u32, r: u32, j: u32) -> mat4x4f {
  return mat4x4f(ldo(base, r, j), ldo(base, r + 1u, j), ldo(base, r + 2u, j), ldo(base, r + 3u, j));
}

// Which of slot j's 4 columns exist.
fn cols(j: u32) -> vec4<bool> {
  return vec4u(4u * j) + vec4u(0u, 1u, 2u, 3u) < vec4u(HD);
}

fn st_o(i: u32, j: u32, x: vec4f) {
  if (VEC) { o[i >> 2u] = x; return; }
  let ok = cols(j);
  for (var e = 0u; e < 4u; e++) {
    if (ok[e]) { o[(i + e) >> 2u][(i + e) & 3u] = x[e]; }
  }
}
fn st_dq(i: u32, j: u32, x: vec4f) {
  if (VEC) { dq[i >> 2u] = x; return; }
  let ok = cols(j);
  for (var e = 0u; e < 4u; e++) {
    if (ok[e]) { dq[(i + e) >> 2u][(i + e) & 3u] = x[e]; }
  }
}
fn st_dk(i: u32, j: u32, x: vec4f) {
  if (VEC) { dk[i >> 2u] = x; return; }
  let ok = cols(j);
  for (var e = 0u; e < 4u; e++) {
    if (ok[e]) { dk[(i + e) >> 2u][(i + e) & 3u] = x[e]; }
  }
}
fn st_dv(i: u32, j: u32, x: vec4f) {
  if (VEC) { dv[i >> 2u] = x; return; }
  let ok = cols(j);
  for (var e = 0u; e < 4u; e++) {
    if (ok[e]) { dv[(i + e) >> 2u][(i + e) & 3u] = x[e]; }
  }
}

// One thread per 4 query rows, 16 threads per workgroup; keys 4 at a time, online softmax.
@compute @workgroup_size(16)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let bh = wid.y;
  let base = bh * p.s * HD;
  let mrow = (bh / p.heads) * p.s;
  let r0 = (wid.x * 16u + t) * 4u;
  let ns = (HD + 3u) / 4u;
  // qs[j] = Q rows r0 .. r0+3, columns 4j .. 4j+3 (query i = row i).
  var qs: array<mat4x4f, 16>;
  for (var j = 0u; j < ns; j++) { qs[j] = transpose(tq(base, r0, j)); }
  var m = vec4f(-FMAX);
  var l = vec4f(0.0);
  // acc[j]: column e = output column 4j + e of the 4 rows.
  var acc: array<mat4x4f, 16>;
  for (var k0 = 0u; k0 < p.s; k0 += 4u) {
    var s = mat4x4f();
    for (var j = 0u; j < ns; j++) { s += qs[j] * tk(base, k0, j); }
    var mt = m;
    for (var c = 0u; c < 4u; c++) {
      s[c] = score(s[c], vec4f(mask_at(mrow, k0 + c)));
      if (k0 + c < p.s) { mt = max(mt, s[c]); }
    }
    let alpha = exp(max(m - mt, vec4f(-104.0)));
    l *= alpha;
    var pm: mat4x4f;
    for (var c = 0u; c < 4u; c++) {
      let e = select(vec4f(), exp(max(s[c] - mt, vec4f(-104.0))), k0 + c < p.s);
      l += e;
      pm[c] = e * keep4(bh, r0, k0 + c);
    }
    for (var j = 0u; j < ns; j++) {
      let a = acc[j];
      acc[j] = mat4x4f(a[0] * alpha, a[1] * alpha, a[2] * alpha, a[3] * alpha) +
        pm * transpose(tv(base, k0, j));
    }
    m = mt;
  }
  // l >= 1: the row's max contributes exp(0).
  let inv = 1.0 / l;
  for (var j = 0u; j < ns; j++) {
    let rows = transpose(acc[j]);
    for (var i = 0u; i < 4u; i++) {
      if (r0 + i < p.s) { st_o(base + (r0 + i) * HD + 4u * j, j, rows[i] * inv[i]); }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < p.s) {
      stats[(bh * p.s + r0 + i) * 2u] = m[i];
      stats[(bh * p.s + r0 + i) * 2u + 1u] = l[i];
    }
  }
}

struct R { rows: u32 }
@group(0) @binding(0) var<uniform> pr: R;
@group(0) @binding(1) var<storage, read> rdo: array<vec4f>;
@group(0) @binding(2) var<storage, read> ro: array<vec4f>;
@group(0) @binding(3) var<storage, read> rstats: array<f32>;
@group(0) @binding(4) var<storage, read_write> rinfo: array<vec4f>;

// Per query row: info = (m, 1 / l, D = rowsum(dO ⊙ O), 0), read by both gradient kernels.
@compute @workgroup_size(64)
fn backward_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * 64u;
  if (i >= pr.rows) { return; }
  var s = 0.0;
  if (VEC) {
    for (var j = 0u; j < HD / 4u; j++) { s += dot(rdo[i * (HD / 4u) + j], ro[i * (HD / 4u) + j]); }
  } else {
    for (var d = i * HD; d < (i + 1u) * HD; d++) { s += rdo[d >> 2u][d & 3u] * ro[d >> 2u][d & 3u]; }
  }
  rinfo[i] = vec4f(rstats[i * 2u], 1.0 / rstats[i * 2u + 1u], s, 0.0);
}

// Info of rows r .. r+3 (clamped to S) as columns: m, 1 / l, D.
fn info4(bh: u32, r: u32) -> mat4x4f {
  let last = bh * p.s + p.s - 1u;
  let at = bh * p.s + r;
  return transpose(mat4x4f(info[min(at, last)], info[min(at + 1u, last)],
                           info[min(at + 2u, last)], info[min(at + 3u, last)]));
}

// dQ = scale · dS·K: one thread per 4 query rows; keys 4 at a time.
@compute @workgroup_size(16)
fn backward_dq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let bh = wid.y;
  let base = bh * p.s * HD;
  let mrow = (bh / p.heads) * p.s;
  let r0 = (wid.x * 16u + t) * 4u;
  let ns = (HD + 3u) / 4u;
  var qs: array<mat4x4f, 16>;
  var os: array<mat4x4f, 16>;
  for (var j = 0u; j < ns; j++) {
    qs[j] = transpose(tq(base, r0, j));
    os[j] = transpose(to(base, r0, j));
  }
  let inf = info4(bh, r0);
  var acc: array<mat4x4f, 16>;
  for (var k0 = 0u; k0 < p.s; k0 += 4u) {
    var s = mat4x4f();
    var dp = mat4x4f();
    for (var j = 0u; j < ns; j++) {
      s += qs[j] * tk(base, k0, j);
      dp += os[j] * tv(base, k0, j);
    }
    // dS = P ⊙ (dP ⊙ Z - D), column c = key k0 + c.
    var ds: mat4x4f;
    for (var c = 0u; c < 4u; c++) {
      let pc = exp(max(score(s[c], vec4f(mask_at(mrow, k0 + c))) - inf[0], vec4f(-104.0))) * inf[1];
      let z = keep4(bh, r0, k0 + c);
      ds[c] = select(vec4f(), pc * (dp[c] * z - inf[2]), k0 + c < p.s);
    }
    for (var j = 0u; j < ns; j++) { acc[j] += ds * transpose(tk(base, k0, j)); }
  }
  for (var j = 0u; j < ns; j++) {
    let rows = transpose(acc[j]);
    for (var i = 0u; i < 4u; i++) {
      if (r0 + i < p.s) { st_dq(base + (r0 + i) * HD + 4u * j, j, rows[i] * p.scale); }
    }
  }
}

// dV = (P ⊙ Z)ᵀ·dO and dK = scale · dSᵀ·Q: one thread per 4 keys; queries 4 at a time.
// Blocks here are transposed: column i = query q0 + i, component c = key c0 + c.
@compute @workgroup_size(16)
fn backward_dkv(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let bh = wid.y;
  let base = bh * p.s * HD;
  let mrow = (bh / p.heads) * p.s;
  let c0 = (wid.x * 16u + t) * 4u;
  let ns = (HD + 3u) / 4u;
  var ks: array<mat4x4f, 16>;
  var vs: array<mat4x4f, 16>;
  for (var j = 0u; j < ns; j++) {
    ks[j] = transpose(tk(base, c0, j));
    vs[j] = transpose(tv(base, c0, j));
  }
  let mk = vec4f(mask_at(mrow, c0), mask_at(mrow, c0 + 1u), mask_at(mrow, c0 + 2u),
                 mask_at(mrow, c0 + 3u));
  var ak: array<mat4x4f, 16>;
  var av: array<mat4x4f, 16>;
  for (var q0 = 0u; q0 < p.s; q0 += 4u) {
    var s = mat4x4f();
    var dp = mat4x4f();
    for (var j = 0u; j < ns; j++) {
      s += ks[j] * tq(base, q0, j);
      dp += vs[j] * to(base, q0, j);
    }
    let inf = transpose(info4(bh, q0)); // column i = (m, 1 / l, D, 0) of query q0 + i
    var pz: mat4x4f;
    var ds: mat4x4f;
    for (var i = 0u; i < 4u; i++) {
      let pc = exp(max(score(s[i], mk) - inf[i].x, vec4f(-104.0))) * inf[i].y;
      let z = keep4t(bh, q0 + i, c0);
      let ok = q0 + i < p.s;
      pz[i] = select(vec4f(), pc * z, ok);
      ds[i] = select(vec4f(), pc * (dp[i] * z - inf[i].z), ok);
    }
    for (var j = 0u; j < ns; j++) {
      av[j] += pz * transpose(to(base, q0, j));
      ak[j] += ds * transpose(tq(base, q0, j));
    }
  }
  for (var j = 0u; j < ns; j++) {
    let rk = transpose(ak[j]);
    let rv = transpose(av[j]);
    for (var c = 0u; c < 4u; c++) {
      if (c0 + c < p.s) {
        st_dk(base + (c0 + c) * HD + 4u * j, j, rk[c] * p.scale);
        st_dv(base + (c0 + c) * HD + 4u * j, j, rv[c]);
      }
    }
  }
}
