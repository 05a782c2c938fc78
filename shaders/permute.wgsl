// Swaps axes 1 and 2 of a 4-D tensor: x [A, B, C, D] -> y [A, C, B, D]. One invocation
// per output element, so writes are contiguous and reads run in rows of D.
// Invocation index folds y past 65535 workgroups: i = x + y * (num_workgroups.x * 256).

struct P { n: u32, b: u32, c: u32, d: u32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn swap12(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let o = g.x + g.y * nw.x * 256u;
  if (o >= p.n) { return; }
  // o = ((a * C + c) * B + b) * D + d
  let d = o % p.d;
  let r = o / p.d;
  let b = r % p.b;
  let ac = r / p.b;
  let c = ac % p.c;
  let a = ac / p.c;
  y[o] = x[((a * p.b + b) * p.c + c) * p.d + d];
}
