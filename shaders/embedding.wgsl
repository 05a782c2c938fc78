// Embedding gather and its deterministic scatter-add gradient.
// A table may exceed maxStorageBufferBindingSize, so each dispatch binds one row range
// [r0, r0 + rows) of it and handles only the ids inside that range; ids outside [0, v)
// touch nothing (the first dispatch writes zeros for them in the forward).
// Invocation index folds y past 65535 workgroups: i = x + y * (num_workgroups.x * 256).

struct P { total: u32, n: u32, d: u32, r0: i32, rows: i32, v: i32, first: u32, pad: i32 }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// dst[t, c] = src[ids[t] - r0, c] (src is the bound table range), one thread per output.
@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  if (i >= p.total) { return; }
  let t = i / p.d;
  let c = i % p.d;
  let id = ids[t];
  let local = id - p.r0;
  if (local >= 0 && local < p.rows) {
    dst[i] = src[u32(local) * p.d + c];
  } else if (p.first == 1u && (id < 0 || id >= p.v)) {
    dst[i] = 0.0;
  }
}

// dst[ids[t] - r0, c] += src[t, c] over tokens t in order: one thread owns column c of
// every row, so there are no races and the summation order is fixed.
@compute @workgroup_size(64)
fn scatter(@builtin(global_invocation_id) g: vec3u) {
  let c = g.x;
  if (c >= p.d) { return; }
  for (var t = 0u; t < p.n; t++) {
    let local = ids[t] - p.r0;
    // torch's padding_idx: the padding row gets no gradient.
    if (local >= 0 && local < p.rows && ids[t] != p.pad) {
      let j = u32(local) * p.d + c;
      dst[j] = dst[j] + src[t * p.d + c];
    }
  }
}
