// WGSL sources live in shaders/*.wgsl. They are fetched relative to this module's
// URL, so they load from a file checkout and from a remote import alike.

/** Every shader the kernels use; each is fetched once when the device is acquired. */
export const SHADER_NAMES = [
  "elementwise",
  "reduce",
  "matmul",
  "matmul_f16",
  "layernorm",
  "softmax",
  "activations",
  "embedding",
  "dropout",
  "cross_entropy",
  "random",
  "optim",
  "permute",
  "slice",
  "attention",
  "fused",
] as const;

/** A shader's file name without `.wgsl`. */
export type ShaderName = typeof SHADER_NAMES[number];

/** Fetches every shader source; missing files are reported by name. */
export async function loadShaders(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(SHADER_NAMES.map(async (name) => {
    const url = new URL(`../../shaders/${name}.wgsl`, import.meta.url);
    const res = await fetch(url).catch((e) => {
      throw new Error(`cannot load shader ${url}: ${e.message}`);
    });
    if (!res.ok) throw new Error(`cannot load shader ${url}: HTTP ${res.status}`);
    out.set(name, await res.text());
  }));
  return out;
}
