// torch's order for argmax/topk, shared by argmax.wgsl and topk.wgsl: a larger value ranks
// higher, equal values by the lower index, and NaN above everything.

// By its bits: compilers may assume floats are never NaN and fold `v != v` away.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// (va, ia) ranks above (vb, ib).
fn ranks_above(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
  if (is_nan(va)) { return !is_nan(vb) || ia < ib; }
  if (is_nan(vb)) { return false; }
  return va > vb || (va == vb && ia < ib);
}
