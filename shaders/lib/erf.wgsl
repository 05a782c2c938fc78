// erf and exp pieces shared by activations.wgsl and fused.wgsl. Drivers' exp may be off by many
// ulp (lavapipe: 17 ulp on [-20, 20]), so results would depend on the GPU: these are our own.
// Coefficients are minimax fits (Lawson) rounded to f32, checked in f32 against mpmath.

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
