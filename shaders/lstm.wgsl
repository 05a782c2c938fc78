// The recurrence of one LSTM direction, as PyTorch's nn.LSTM: gates i, f, g, o in rows
// [0, H), [H, 2H), [2H, 3H), [3H, 4H) of the pre-activations
//   a = x W_ihᵀ (given, xp) + bias (b_ih + b_hh) + h_prev W_hhᵀ
//   c = sigmoid(f) c_prev + sigmoid(i) tanh(g),  h = sigmoid(o) tanh(c).
// One workgroup per sequence b loops over its time steps inside the dispatch; the steps talk
// through storage (h_prev, dh) behind storageBarrier, so H has no workgroup-memory limit.
// Sequence b runs over its first len[b] positions (the reverse direction from len[b] - 1 down
// to 0); later positions give zeros, as pad_packed_sequence does.
// Shapes: xp, gates, dxp [B, S, 4H]; cells, hprev [B, S, H]; y, dy [B, S, Y], this direction
// at columns [yoff, yoff + H); dh, dc [B, H].

#include "lib/tanh.wgsl"

const WG = 256u;

struct P { s: u32, h: u32, ystride: u32, yoff: u32, reverse: u32 }

fn sigmoid_(x: f32) -> f32 { return 0.5 + 0.5 * tanh_(0.5 * x); }

// The time index of processing step k of a sequence of len positions.
fn time_at(k: u32, len: u32, reverse: u32) -> u32 { return select(k, len - 1u - k, reverse == 1u); }

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> xp: array<f32>;
@group(0) @binding(2) var<storage, read> whh_t: array<f32>; // W_hhᵀ [H, 4H]: rows read along r
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> lens: array<i32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> gates: array<f32>; // saved: activated i, f, g, o
@group(0) @binding(7) var<storage, read_write> cells: array<f32>; // saved: c
@group(0) @binding(8) var<storage, read_write> hprev: array<f32>; // saved: the h each step read

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32) {
  let b = wid.x;
  let h = p.h;
  let g4 = 4u * h;
  let len = u32(lens[b]);
  // Padding: zero outputs, and a finite h_prev for the dW_hh product of the backward.
  for (var t = len; t < p.s; t++) {
    for (var j = l; j < h; j += WG) {
      y[(b * p.s + t) * p.ystride + p.yoff + j] = 0.0;
      hprev[(b * p.s + t) * h + j] = 0.0;
    }
  }
  if (len == 0u) { return; }
  let first = b * p.s + time_at(0u, len, p.reverse);
  for (var j = l; j < h; j += WG) { hprev[first * h + j] = 0.0; }
  storageBarrier();
  for (var k = 0u; k < len; k++) {
    let row = b * p.s + time_at(k, len, p.reverse);
    // One thread per gate row: a = xp + bias + W_hh h_prev.
    for (var r = l; r < g4; r += WG) {
      var a = xp[row * g4 + r] + bias[r];
      for (var m = 0u; m < h; m++) { a += whh_t[m * g4 + r] * hprev[row * h + m]; }
      gates[row * g4 + r] = a;
    }
    storageBarrier();
    // One thread per unit: the cell update, and h into the next step's h_prev.
    for (var j = l; j < h; j += WG) {
      let gi = sigmoid_(gates[row * g4 + j]);
      let gf = sigmoid_(gates[row * g4 + h + j]);
      let gg = tanh_(gates[row * g4 + 2u * h + j]);
      let go = sigmoid_(gates[row * g4 + 3u * h + j]);
      var cp = 0.0;
      if (k > 0u) { cp = cells[(b * p.s + time_at(k - 1u, len, p.reverse)) * h + j]; }
      let c = gf * cp + gi * gg;
      let hv = go * tanh_(c);
      gates[row * g4 + j] = gi;
      gates[row * g4 + h + j] = gf;
      gates[row * g4 + 2u * h + j] = gg;
      gates[row * g4 + 3u * h + j] = go;
      cells[row * h + j] = c;
      y[row * p.ystride + p.yoff + j] = hv;
      if (k + 1u < len) { hprev[(b * p.s + time_at(k + 1u, len, p.reverse)) * h + j] = hv; }
    }
    storageBarrier();
  }
}

@group(0) @binding(0) var<uniform> q: P;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> whh: array<f32>; // W_hh [4H, H]: columns read along m
@group(0) @binding(3) var<storage, read> sgates: array<f32>;
@group(0) @binding(4) var<storage, read> scells: array<f32>;
@group(0) @binding(5) var<storage, read> blens: array<i32>;
@group(0) @binding(6) var<storage, read_write> dxp: array<f32>; // d a: the grad of xp and bias
@group(0) @binding(7) var<storage, read_write> dh: array<f32>; // dL/dh_prev of the step after
@group(0) @binding(8) var<storage, read_write> dc: array<f32>; // dL/dc_prev of the step after

// Backpropagation through time: the steps of forward in reverse order.
@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32) {
  let b = wid.x;
  let h = q.h;
  let g4 = 4u * h;
  let len = u32(blens[b]);
  for (var t = len; t < q.s; t++) {
    for (var r = l; r < g4; r += WG) { dxp[(b * q.s + t) * g4 + r] = 0.0; }
  }
  for (var j = l; j < h; j += WG) {
    dh[b * h + j] = 0.0;
    dc[b * h + j] = 0.0;
  }
  storageBarrier();
  for (var n = 0u; n < len; n++) {
    let k = len - 1u - n;
    let row = b * q.s + time_at(k, len, q.reverse);
    for (var j = l; j < h; j += WG) {
      let gi = sgates[row * g4 + j];
      let gf = sgates[row * g4 + h + j];
      let gg = sgates[row * g4 + 2u * h + j];
      let go = sgates[row * g4 + 3u * h + j];
      let tc = tanh_(scells[row * h + j]);
      var cp = 0.0;
      if (k > 0u) { cp = scells[(b * q.s + time_at(k - 1u, len, q.reverse)) * h + j]; }
      let dhv = dy[row * q.ystride + q.yoff + j] + dh[b * h + j];
      let dcv = dc[b * h + j] + dhv * go * (1.0 - tc) * (1.0 + tc);
      dxp[row * g4 + j] = dcv * gg * gi * (1.0 - gi);
      dxp[row * g4 + h + j] = dcv * cp * gf * (1.0 - gf);
      dxp[row * g4 + 2u * h + j] = dcv * gi * (1.0 - gg) * (1.0 + gg);
      dxp[row * g4 + 3u * h + j] = dhv * tc * go * (1.0 - go);
      dc[b * h + j] = dcv * gf;
    }
    storageBarrier();
    // dh_prev = W_hhᵀ d a, one thread per unit of h_prev.
    for (var m = l; m < h; m += WG) {
      var s = 0.0;
      for (var r = 0u; r < g4; r++) { s += whh[r * h + m] * dxp[row * g4 + r]; }
      dh[b * h + m] = s;
    }
    storageBarrier();
  }
}
