// Dropout: y = x * keep / (1 - p), where keep is a counter-based hash of (seed, element
// index), so the backward regenerates the mask from the seed instead of storing it.
// Invocation index folds y past 65535 workgroups: i = x + y * (num_workgroups.x * 256).

// offset: index of this range's first element, so ranged launches hash global indices.
// Keep when hash >= threshold = floor(p * 2^32): P(keep) = 1 - p to 2^-32.
struct P { n: u32, offset: u32, seed: u32, threshold: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

#include "lib/pcg3d.wgsl"

// Multiplying by 0 (rather than selecting 0) matches x * mask / (1 - p) for NaN and inf too.
@compute @workgroup_size(256)
fn dropout(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  if (i < p.n) {
    let h = pcg3d(vec3u(p.offset + i, p.seed, 0x64726f70u)).x;
    y[i] = x[i] * select(0.0, p.scale, h >= p.threshold);
  }
}
