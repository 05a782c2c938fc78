// pcg3d (Jarzynski & Olano, "Hash Functions for GPU Rendering", JCGT 2020), the counter hash of
// random.wgsl, dropout.wgsl and attention.wgsl's dropout. Each caller puts its own stream
// constant in the third word, so equal seeds give unrelated streams.
fn pcg3d(v0: vec3u) -> vec3u {
  var v = v0 * 1664525u + 1013904223u;
  v.x += v.y * v.z;
  v.y += v.z * v.x;
  v.z += v.x * v.y;
  v ^= v >> vec3u(16u);
  v.x += v.y * v.z;
  v.y += v.z * v.x;
  v.z += v.x * v.y;
  return v;
}
