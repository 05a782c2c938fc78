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
    coef[0] = bitcast<f32>(0x7fc00000u);
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
