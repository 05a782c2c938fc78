// AdamW update and the global gradient norm for clipping. Large tensors are bound in
// element ranges, one dispatch per range.
// Invocation index folds y past 65535 workgroups: i = x + y * (num_workgroups.x * 256).

struct A { n: u32, decay: f32, b1: f32, omb1: f32, b2: f32, omb2: f32, step: f32, bc2s: f32, eps: f32 }
@group(0) @binding(0) var<uniform> a: A;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;
@group(0) @binding(5) var<storage, read> gscale: array<f32>;

// torch.optim.AdamW's single-tensor step, in its order of operations: decay = 1 - lr wd,
// step = lr / (1 - b1^t), bc2s = sqrt(1 - b2^t), omb = 1 - b.
// Bit tests, because NaN comparisons are not reliable on every backend.
fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
// A quiet NaN, built from a runtime value: Chrome's WGSL compiler rejects a constant NaN.
fn nan_from(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) | 0x7fc00000u); }

// A non-finite gradient scale (a NaN/Inf gradient norm) skips the update: the step is stopped.
@compute @workgroup_size(256)
fn adamw(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  if (i >= a.n || !finite(gscale[0])) { return; }
  let gi = grad[i] * gscale[0];
  let m = m1[i] + a.omb1 * (gi - m1[i]);
  let v = m2[i] * a.b2 + a.omb2 * gi * gi;
  m1[i] = m;
  m2[i] = v;
  param[i] = param[i] * a.decay - a.step * (m / (sqrt(v) / a.bc2s + a.eps));
}

var<workgroup> red: array<f32, 256>;

struct S { n: u32, chunk: u32, base: u32 }
@group(0) @binding(0) var<uniform> s: S;
@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

// partial[base + w] = sum of squares of x[w * chunk .. (w + 1) * chunk), a fixed-order tree.
@compute @workgroup_size(256)
fn sumsq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32,
         @builtin(num_workgroups) nw: vec3u) {
  let w = wid.x + wid.y * nw.x;
  let start = w * s.chunk;
  let end = min(start + s.chunk, s.n);
  var acc = 0.0;
  for (var i = start + l; i < end; i += 256u) { acc += sx[i] * sx[i]; }
  red[l] = acc;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l < k) { red[l] += red[l + k]; }
    workgroupBarrier();
  }
  if (l == 0u && start < s.n) { partial[s.base + w] = red[0]; }
}

struct N { n: u32 }
@group(0) @binding(0) var<uniform> q: N;
@group(0) @binding(1) var<storage, read> parts: array<f32>;
@group(0) @binding(2) var<storage, read_write> norm: array<f32>;

// norm[0] = sqrt(sum of every partial), one workgroup.
@compute @workgroup_size(256)
fn l2norm(@builtin(local_invocation_index) l: u32) {
  var acc = 0.0;
  for (var i = l; i < q.n; i += 256u) { acc += parts[i]; }
  red[l] = acc;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l < k) { red[l] += red[l + k]; }
    workgroupBarrier();
  }
  if (l == 0u) { norm[0] = sqrt(red[0]); }
}

struct C { max_norm: f32 }
@group(0) @binding(0) var<uniform> cp: C;
@group(0) @binding(1) var<storage, read> cnorm: array<f32>;
@group(0) @binding(2) var<storage, read_write> coef: array<f32>;

// coef = min(1, max_norm / (norm + 1e-6)), as torch.nn.utils.clip_grad_norm_; NaN when the
// norm is not finite, which makes adamw skip the step.
@compute @workgroup_size(1)
fn clip_coef() {
  if (finite(cnorm[0])) {
    coef[0] = min(1.0, cp.max_norm / (cnorm[0] + 1e-6));
  } else {
    coef[0] = nan_from(cnorm[0]);
  }
}

struct G { step: u32 }
@group(0) @binding(0) var<uniform> gp: G;
@group(0) @binding(1) var<storage, read> gloss: array<f32>;
@group(0) @binding(2) var<storage, read> gnorm: array<f32>;
@group(0) @binding(3) var<storage, read_write> first_bad: array<u32>;

// Remembers the first step whose loss or gradient norm was not finite, without a readback.
@compute @workgroup_size(1)
fn guard() {
  if (first_bad[0] == 0u && (!finite(gloss[0]) || !finite(gnorm[0]))) { first_bad[0] = gp.step; }
}

// AdamW with bias corrections from the count of steps actually taken, for dynamic loss scaling:
// a step whose gradient scale is not finite leaves no trace, as torch's GradScaler skips
// optimizer.step(). `bias` = [1 - b1^t, sqrt(1 - b2^t)] for that count, from adamw_bias.
struct AT { n: u32, decay: f32, b1: f32, omb1: f32, b2: f32, omb2: f32, lr: f32, eps: f32 }
@group(0) @binding(0) var<uniform> at: AT;
@group(0) @binding(6) var<storage, read> bias: array<f32>;

@compute @workgroup_size(256)
fn adamw_taken(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  if (i >= at.n || !finite(gscale[0])) { return; }
  let gi = grad[i] * gscale[0];
  let m = m1[i] + at.omb1 * (gi - m1[i]);
  let v = m2[i] * at.b2 + at.omb2 * gi * gi;
  m1[i] = m;
  m2[i] = v;
  param[i] = param[i] * at.decay - (at.lr / bias[0]) * (m / (sqrt(v) / bias[1] + at.eps));
}

struct B { t: u32, b1: f32, omb1: f32, b2: f32, omb2: f32 }
@group(0) @binding(0) var<uniform> bp: B;
@group(0) @binding(1) var<storage, read> bskipped: array<i32>;
@group(0) @binding(2) var<storage, read_write> bout: array<f32>;

// bout = [1 - b1^t, sqrt(1 - b2^t)] for t = bp.t - skipped steps, by q <- (1 - b) + b q from
// q = 0: each step adds one rounding and shrinks the earlier ones, where 1 - pow(b, t) in f32
// would lose four digits to cancellation at t = 1. q rises monotonically to a fixed point
// (about t = 17k for b2 = 0.999), where the loop stops early.
@compute @workgroup_size(1)
fn adamw_bias() {
  let t = i32(bp.t) - bskipped[0];
  var q1 = 0.0;
  var q2 = 0.0;
  for (var k = 0; k < t; k++) {
    let n1 = bp.omb1 + bp.b1 * q1;
    let n2 = bp.omb2 + bp.b2 * q2;
    if (n1 == q1 && n2 == q2) { break; }
    q1 = n1;
    q2 = n2;
  }
  bout[0] = q1;
  bout[1] = sqrt(q2);
}

struct L { max_norm: f32, clip: u32, growth: f32, backoff: f32, interval: i32, min_scale: f32 }
@group(0) @binding(0) var<uniform> lp: L;
@group(0) @binding(1) var<storage, read> lnorm: array<f32>;
@group(0) @binding(2) var<storage, read_write> lscale: array<f32>;
@group(0) @binding(3) var<storage, read_write> lgood: array<i32>;
@group(0) @binding(4) var<storage, read_write> lskipped: array<i32>;
@group(0) @binding(5) var<storage, read_write> lcoef: array<f32>;

// Dynamic loss scaling (torch.cuda.amp.GradScaler's rule), given the norm of gradients of a
// loss multiplied by S = lscale[0]. Finite: the gradient scale is clip(norm / S) / S, and S
// grows after `interval` finite steps in a row (unless that overflows). Not finite: the
// gradient scale is NaN, so AdamW skips the step, S backs off and the skip is counted; a scale
// that would fall below min_scale becomes NaN: gradients that are not finite even then are not
// an f16 overflow, and a guard on S stops the run.
@compute @workgroup_size(1)
fn loss_scale() {
  let s = lscale[0];
  if (finite(lnorm[0])) {
    var c = 1.0;
    if (lp.clip == 1u) { c = min(1.0, lp.max_norm / (lnorm[0] / s + 1e-6)); }
    lcoef[0] = c / s;
    let good = lgood[0] + 1;
    if (good >= lp.interval) {
      let grown = s * lp.growth;
      if (finite(grown)) { lscale[0] = grown; }
      lgood[0] = 0;
    } else {
      lgood[0] = good;
    }
  } else {
    lcoef[0] = nan_from(s);
    let backed = s * lp.backoff;
    lscale[0] = select(nan_from(s), backed, backed >= lp.min_scale);
    lgood[0] = 0;
    lskipped[0] = lskipped[0] + 1;
  }
}
