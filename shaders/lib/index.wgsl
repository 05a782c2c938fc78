// Invocation index of a 256-thread workgroup grid folded in y past 65535 workgroups:
// i = x + y * (num_workgroups.x * 256).
fn index(gid: vec3u, nw: vec3u) -> u32 { return gid.x + gid.y * nw.x * 256u; }
