// Deterministic reductions: a fixed summation order, no float atomics.

struct P { rows: u32, cols: u32, chunk: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// y[j] = s * sum_i x[i * cols + j]: a bias gradient over the rows of [rows, cols].
// One thread per column; columns are contiguous across threads, so loads coalesce.
@compute @workgroup_size(256)
fn sum_rows(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let j = g.x + g.y * nw.x * 256u;
  if (j >= p.cols) { return; }
  var acc = 0.0;
  for (var i = 0u; i < p.rows; i++) { acc += x[i * p.cols + j]; }
  y[j] = acc * p.s;
}

var<workgroup> part: array<f32, 256>;

// y[w] = s * sum of x[w * chunk .. (w + 1) * chunk) (clamped to rows): one pass of a tree sum.
@compute @workgroup_size(256)
fn sum_chunks(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32,
              @builtin(num_workgroups) nw: vec3u) {
  let w = wid.x + wid.y * nw.x;
  let start = w * p.chunk;
  let end = min(start + p.chunk, p.rows);
  var acc = 0.0;
  for (var i = start + l; i < end; i += 256u) { acc += x[i]; }
  part[l] = acc;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l < k) { part[l] += part[l + k]; }
    workgroupBarrier();
  }
  if (l == 0u && start < p.rows) { y[w] = part[0] * p.s; }
}
