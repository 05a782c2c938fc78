// The k largest values of each row and their indices, best first: larger value first, equal
// values by lower index, NaN above everything (as torch.topk). One workgroup per row makes k
// passes; pass j keeps the best entry strictly after pass j-1's winner in that order, so the
// order being total (indices are unique) makes every pass pick a new entry. O(k·C) per row:
// meant for retrieval's small k.
//
// An entry's index is its column + idx_base, or (has_idx = 1) read from xi, which merges the
// candidates of earlier calls (one per chunk of columns); an index < 0 marks an empty slot.
// Results go to row r0 + w, columns out_col.. of rows out_stride wide.

var<workgroup> sv: array<f32, 256>;
var<workgroup> si: array<i32, 256>;

struct P {
  rows: u32, c: u32, r0: u32, k: u32,
  has_idx: u32, idx_base: u32, out_stride: u32, out_col: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> xi: array<i32>;
@group(0) @binding(3) var<storage, read_write> ov: array<f32>;
@group(0) @binding(4) var<storage, read_write> oi: array<i32>;

#include "lib/rank.wgsl"

// (va, ia) comes before (vb, ib); an empty slot (index < 0) comes after everything.
fn before(va: f32, ia: i32, vb: f32, ib: i32) -> bool {
  if (ia < 0) { return false; }
  if (ib < 0) { return true; }
  return ranks_above(va, u32(ia), vb, u32(ib));
}

@compute @workgroup_size(256)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32,
        @builtin(num_workgroups) nw: vec3u) {
  let w = wid.x + wid.y * nw.x;
  if (w >= p.rows) { return; }
  let base = w * p.c;
  let out = (p.r0 + w) * p.out_stride + p.out_col;
  var pv = 0.0;
  var pi = -1; // the previous pass's winner
  for (var j = 0u; j < p.k; j++) {
    var cv = 0.0;
    var ci = -1;
    for (var i = l; i < p.c; i += 256u) {
      let v = x[base + i];
      var id = i32(i + p.idx_base);
      if (p.has_idx == 1u) { id = xi[base + i]; }
      if ((j == 0u || before(pv, pi, v, id)) && before(v, id, cv, ci)) {
        cv = v;
        ci = id;
      }
    }
    sv[l] = cv;
    si[l] = ci;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
      if (l < s && before(sv[l + s], si[l + s], sv[l], si[l])) {
        sv[l] = sv[l + s];
        si[l] = si[l + s];
      }
      workgroupBarrier();
    }
    pv = sv[0];
    pi = si[0];
    if (l == 0u) {
      ov[out + j] = pv;
      oi[out + j] = pi;
    }
    // Everyone has read the winner before the next pass overwrites the slots.
    workgroupBarrier();
  }
}
