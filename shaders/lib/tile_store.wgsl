// The epilogue of matmul.wgsl and matmul_f16.wgsl. The including shader declares the params
// `p` (with M and N), the output `c: array<vec4f>` and the override VEC_C.

// Column j of t is C[m .. m+3, n + j].
fn store(base: u32, m: u32, n: u32, t: mat4x4f) {
  let rows = transpose(t);
  for (var i = 0u; i < 4u; i++) {
    if (m + i >= p.M) { return; }
    let at = base + (m + i) * p.N + n;
    if (VEC_C) {
      if (n < p.N) { c[at >> 2u] = rows[i]; }
    } else {
      for (var j = 0u; j < 4u; j++) {
        if (n + j < p.N) { c[(at + j) >> 2u][(at + j) & 3u] = rows[i][j]; }
      }
    }
  }
}
