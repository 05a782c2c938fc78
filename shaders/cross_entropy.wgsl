// Softmax cross-entropy, mean over rows whose label is in [0, c) and not the ignore index, with
// optional label smoothing eps (HF's LabelSmoother, torch's label_smoothing): the target is
// (1 - eps) onehot + eps / c, so a row's loss is (1 - eps)(lse - x[label]) + eps (lse - mean x),
// written below as (lse - x[label]) + eps (x[label] - mean x), which is exact at eps = 0.
// Logits may exceed one storage binding (MLM: 119,547 classes), so the per-row kernels run
// once per row range [r0, r0 + rows), binding only that range of the logits.

fn valid(label: i32, c: u32, ignore: i32) -> bool {
  return label != ignore && label >= 0 && u32(label) < c;
}

var<workgroup> red: array<f32, 256>;
var<workgroup> red2: array<f32, 256>;
var<workgroup> red3: array<f32, 256>;

struct R { rows: u32, c: u32, r0: u32, ignore: i32, eps: f32 }
@group(0) @binding(0) var<uniform> r: R;
@group(0) @binding(1) var<storage, read> rx: array<f32>;
@group(0) @binding(2) var<storage, read> rlabels: array<i32>;
@group(0) @binding(3) var<storage, read_write> rstats: array<f32>;

// One workgroup per row: stats[2 row] = the row's smoothed loss (0 when ignored),
// stats[2 row + 1] = lse, with lse = max + log(sum exp(x - max)), stable for any finite logits.
@compute @workgroup_size(256)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32,
        @builtin(num_workgroups) nw: vec3u) {
  let w = wid.x + wid.y * nw.x;
  if (w >= r.rows) { return; }
  let base = w * r.c;
  var mx = rx[base + select(0u, l, l < r.c)];
  for (var i = l; i < r.c; i += 256u) { mx = max(mx, rx[base + i]); }
  red[l] = mx;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l < k) { red[l] = max(red[l], red[l + k]); }
    workgroupBarrier();
  }
  let m = red[0];
  var s = 0.0;
  var sx = 0.0;
  for (var i = l; i < r.c; i += 256u) {
    s += exp(rx[base + i] - m);
    sx += rx[base + i];
  }
  red2[l] = s;
  red3[l] = sx;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l < k) {
      red2[l] += red2[l + k];
      red3[l] += red3[l + k];
    }
    workgroupBarrier();
  }
  if (l == 0u) {
    let row = r.r0 + w;
    let lse = m + log(red2[0]);
    let label = rlabels[row];
    var loss = 0.0;
    if (valid(label, r.c, r.ignore)) {
      let xl = rx[base + u32(label)];
      loss = (lse - xl) + r.eps * (xl - red3[0] / f32(r.c));
    }
    rstats[2u * row] = loss;
    rstats[2u * row + 1u] = lse;
  }
}

struct M { n: u32, c: u32, ignore: i32 }
@group(0) @binding(0) var<uniform> mp: M;
@group(0) @binding(1) var<storage, read> mstats: array<f32>;
@group(0) @binding(2) var<storage, read> mlabels: array<i32>;
@group(0) @binding(3) var<storage, read_write> mloss: array<u32>;
@group(0) @binding(4) var<storage, read_write> mcount: array<f32>;

// One workgroup: loss = sum of row losses / count of valid rows, NaN when count is 0 (as
// PyTorch). The NaN is written as bits: WGSL leaves float 0/0 unspecified.
@compute @workgroup_size(256)
fn mean(@builtin(local_invocation_index) l: u32) {
  var s = 0.0;
  var cnt = 0.0;
  for (var i = l; i < mp.n; i += 256u) {
    s += mstats[2u * i];
    cnt += select(0.0, 1.0, valid(mlabels[i], mp.c, mp.ignore));
  }
  red[l] = s;
  red2[l] = cnt;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l < k) {
      red[l] += red[l + k];
      red2[l] += red2[l + k];
    }
    workgroupBarrier();
  }
  if (l == 0u) {
    mcount[0] = red2[0];
    mloss[0] = select(0x7fc00000u, bitcast<u32>(red[0] / red2[0]), red2[0] > 0.0);
  }
}

struct B { n: u32, c: u32, r0: u32, ignore: i32, eps: f32 }
@group(0) @binding(0) var<uniform> bp: B;
@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> blabels: array<i32>;
@group(0) @binding(3) var<storage, read> bstats: array<f32>;
@group(0) @binding(4) var<storage, read> bg: array<f32>;
@group(0) @binding(5) var<storage, read> bcount: array<f32>;
@group(0) @binding(6) var<storage, read_write> bdx: array<f32>;

// dx = (softmax(x) - onehot(label) + eps (onehot(label) - 1 / c)) * g / count on valid rows,
// 0 on ignored rows; one thread per element of the bound row range.
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * 256u;
  if (i >= bp.n) { return; }
  let row = bp.r0 + i / bp.c;
  let col = i % bp.c;
  let label = blabels[row];
  if (!valid(label, bp.c, bp.ignore)) {
    bdx[i] = 0.0;
    return;
  }
  let prob = exp(bx[i] - bstats[2u * row + 1u]);
  let hot = select(0.0, 1.0, u32(label) == col);
  bdx[i] = ((prob - hot) + bp.eps * (hot - 1.0 / f32(bp.c))) * (bg[0] / bcount[0]);
}
