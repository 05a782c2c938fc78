// The standard normal CDF and PDF for exact GELU and its gradient.

#include "erf.wgsl"

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
