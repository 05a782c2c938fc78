// tanh with full relative precision near 0 and no overflow for large |x| (WGSL's tanh may
// overflow there, and drivers' exp may be off by many ulp), shared by activations.wgsl and
// lstm.wgsl. Coefficients are a minimax fit (Lawson) rounded to f32, checked against mpmath.

#include "erf.wgsl"

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
