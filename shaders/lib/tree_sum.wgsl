// Fixed-order tree sums over a workgroup of WG threads (a const the including shader declares,
// a power of two), so results are deterministic. They use the workgroup arrays ta and tb.

var<workgroup> ta: array<f32, WG>;
var<workgroup> tb: array<f32, WG>;

// Sums v over the workgroup. Must be reached in uniform control flow.
fn tree_sum(l: u32, v: f32) -> f32 {
  ta[l] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (l < k) { ta[l] += ta[l + k]; }
    workgroupBarrier();
  }
  let r = ta[0];
  // The next reduction overwrites ta: every thread must have read the result first.
  workgroupBarrier();
  return r;
}

// Sums two values at once (one set of barriers), for the backward.
fn tree_sum2(l: u32, a: f32, b: f32) -> vec2f {
  ta[l] = a;
  tb[l] = b;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (l < k) {
      ta[l] += ta[l + k];
      tb[l] += tb[l + k];
    }
    workgroupBarrier();
  }
  let r = vec2f(ta[0], tb[0]);
  workgroupBarrier();
  return r;
}
