// x[..., start:start+width] of a tensor whose last dim is `cols`, and its gradient:
// the incoming gradient scattered into zeros of x's shape (one pass writes every element).
// Invocation index folds y past 65535 workgroups: i = x + y * (num_workgroups.x * 256).

struct P { n: u32, cols: u32, width: u32, start: u32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// n = rows * width; src is x, dst is y.
@compute @workgroup_size(256)
fn slice(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let o = g.x + g.y * nw.x * 256u;
  if (o < p.n) { dst[o] = src[(o / p.width) * p.cols + p.start + o % p.width]; }
}

// n = rows * cols; src is the gradient of y, dst the gradient of x.
@compute @workgroup_size(256)
fn slice_grad(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  if (i >= p.n) { return; }
  let col = i % p.cols;
  var v = 0.0;
  if (col >= p.start && col < p.start + p.width) { v = src[(i / p.cols) * p.width + col - p.start]; }
  dst[i] = v;
}
