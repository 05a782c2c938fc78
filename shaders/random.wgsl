// Uniform and normal fills from a counter-based hash of (seed, element index): the same
// seed gives the same tensor on every run, and ranges can be filled independently.
// Invocation index folds y past 65535 workgroups: i = x + y * (num_workgroups.x * 256).

// offset: index of this range's first element. y = a + b * sample.
struct P { n: u32, offset: u32, seed: u32, a: f32, b: f32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

#include "lib/pcg3d.wgsl"

// 24 random bits are all an f32 in [0, 1) can hold exactly.
fn unit(h: u32) -> f32 { return f32(h >> 8u) * 5.9604644775390625e-8; }

@compute @workgroup_size(256)
fn fill_uniform(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  if (i < p.n) {
    let h = pcg3d(vec3u(p.offset + i, p.seed, 0x756e6966u));
    y[i] = p.a + p.b * unit(h.x);
  }
}

// Box-Muller, one normal per element, with u1 = 1 - v in (0, 1] so log(u1) is finite. The
// angle is taken in [-pi, pi), where WGSL bounds cos's error.
@compute @workgroup_size(256)
fn fill_normal(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  if (i < p.n) {
    let h = pcg3d(vec3u(p.offset + i, p.seed, 0x6e6f726du));
    let v = f32(16777215u - (h.x >> 8u)) * 5.9604644775390625e-8;
    // -log(1 - v) by its series near v = 0, where a driver's log(u1) loses relative precision
    // (and with it small radii); truncation error there is below 5e-9 relative.
    var e = v * (1.0 + v * (0.5 + v * (0.33333334 + v * (0.25 + v * 0.2))));
    if (v >= 0.03125) { e = -log(1.0 - v); }
    let z = sqrt(2.0 * e) * cos(6.283185307179586 * unit(h.y) - 3.141592653589793);
    y[i] = p.a + p.b * z;
  }
}
