// GELU (exact erf form), tanh and ReLU with their gradients.
// exp, erf and tanh are our own: drivers' exp may be off by many ulp (lavapipe: 17 ulp on
// [-20, 20]) and WGSL's tanh may overflow for large |x|, so results would depend on the GPU.
// Coefficients are minimax fits (Lawson) rounded to f32, checked in f32 against mpmath.
// Invocation index folds y past 65535 workgroups: i = x + y * (num_workgroups.x * 256).

struct P { n: u32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Gradients bind the saved tensor (input or output), the incoming gradient and the result.
@group(0) @binding(0) var<uniform> q: P;
@group(0) @binding(1) var<storage, read> saved: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn index(gid: vec3u, nw: vec3u) -> u32 { return gid.x + gid.y * nw.x * 256u; }

// exp(hi + lo) for |lo| << 1. Cody-Waite reduction keeps hi - k*ln2 exact, so an exactly
// known hi (such as -x*x split in two parts) loses no precision; ~1 ulp for hi + lo >= -87.
fn exp2part(hi: f32, lo: f32) -> f32 {
  let k = round(hi * 1.4426950408889634);
  let f = (hi - k * 0.693359375) - k * -2.12194440e-4 + lo;
  var r = 1.395408995449543e-03;
  r = r * f + 8.370968513190746e-03;
  r = r * f + 4.166615009307861e-02;
  r = r * f + 1.6666501760482788e-01;
  r = r * f + 0.5;
  return ldexp(1.0 + (f + f * f * r), i32(k));
}

// -(t*t) as hi + lo with hi exact: t's top 12 significant bits square exactly in f32.
fn neg_square(t: f32) -> vec2f {
  let th = bitcast<f32>(bitcast<u32>(t) & 0xfffff000u);
  return vec2f(-(th * th), -(t - th) * (t + th));
}

// erf(z) / z - 1 as a polynomial in s = z*z, for |z| < 0.921875 (relative error 4e-10).
fn erf_small(s: f32) -> f32 {
  var r = 8.370226714760065e-05;
  r = r * s - 8.142739534378052e-04;
  r = r * s + 5.201036110520363e-03;
  r = r * s - 2.6859400793910027e-02;
  r = r * s + 1.1283695697784424e-01;
  r = r * s - 3.7612634897232056e-01;
  return r * s + 1.2837916612625122e-01;
}

// erfc(t) for 0.921875 <= t as exp(-t*t) * Q(1 / (1 + t/2)), given -t*t as an exact pair
// `e`; relative error ~4e-7 down to 1e-37 (fit error 1e-8, the rest is f32 rounding).
fn erfc_tail(t: f32, e: vec2f) -> f32 {
  if (t > 9.0) { return 0.0; }
  let u = 1.0 / (1.0 + 0.5 * t);
  var r = 7.09875077009201e-02;
  r = r * u - 1.5256492793560028e-01;
  r = r * u - 2.0448045805096626e-02;
  r = r * u + 1.4088909327983856e-01;
  r = r * u + 1.411350667476654e-01;
  r = r * u + 2.5797542929649353e-01;
  r = r * u + 2.8008922934532166e-01;
  r = r * u + 2.822895348072052e-01;
  r = r * u - 7.932239896035753e-06;
  return exp2part(e.x, e.y) * r;
}

fn erf_(z: f32) -> f32 {
  let t = abs(z);
  if (t < 0.921875) { return z + z * erf_small(z * z); }
  let r = 1.0 - erfc_tail(t, neg_square(t));
  return select(r, -r, z < 0.0);
}

// Normal CDF from the tail form where |x| is large, so the negative tail keeps relative
// precision; `e` is -x*x/2 as an exact pair.
fn cdf(x: f32, e: vec2f) -> f32 {
  let z = x * 0.7071067811865476;
  let t = abs(z);
  if (t < 0.921875) { return 0.5 + 0.5 * (z + z * erf_small(z * z)); }
  let c = 0.5 * erfc_tail(t, e);
  return select(1.0 - c, c, x < 0.0);
}

fn pdf(x: f32, e: vec2f) -> f32 {
  if (abs(x) > 13.0) { return 0.0; }
  return 0.3989422804014327 * exp2part(e.x, e.y);
}

fn tanh_(x: f32) -> f32 {
  let t = abs(x);
  var r: f32;
  if (t < 0.625) {
    // (1 - e) / (1 + e) cancels near 0: a polynomial keeps relative precision there.
    let s = t * t;
    var c = -5.7049826718866825e-03;
    c = c * s + 2.06390842795372e-02;
    c = c * s - 5.373971536755562e-02;
    c = c * s + 1.3331441581249237e-01;
    c = c * s - 3.333328068256378e-01;
    r = t + t * s * c;
  } else {
    // exp(-2t) never overflows; 1 is reached (in f32) well before t = 20.
    let e = exp2part(-2.0 * min(t, 20.0), 0.0);
    r = (1.0 - e) / (1.0 + e);
  }
  return select(r, -r, x < 0.0);
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
