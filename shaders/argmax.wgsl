// Index of each row's largest value, the first on ties (as torch.argmax). Rows may exceed one
// binding (vocabulary logits), so the kernel runs once per row range [r0, r0 + rows).

var<workgroup> best: array<f32, 256>;
var<workgroup> at: array<u32, 256>;

struct P { rows: u32, c: u32, r0: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

#include "lib/rank.wgsl"

// One workgroup per row: each thread scans a strided slice, then a tree of (value, index).
@compute @workgroup_size(256)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32,
        @builtin(num_workgroups) nw: vec3u) {
  let w = wid.x + wid.y * nw.x;
  if (w >= p.rows) { return; }
  let base = w * p.c;
  var bv = x[base + select(0u, l, l < p.c)];
  var bi = select(0u, l, l < p.c);
  for (var i = l; i < p.c; i += 256u) {
    let v = x[base + i];
    if (ranks_above(v, i, bv, bi)) { bv = v; bi = i; }
  }
  best[l] = bv;
  at[l] = bi;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l < k && ranks_above(best[l + k], at[l + k], best[l], at[l])) {
      best[l] = best[l + k];
      at[l] = at[l + k];
    }
    workgroupBarrier();
  }
  if (l == 0u) { out[p.r0 + w] = i32(at[0]); }
}
