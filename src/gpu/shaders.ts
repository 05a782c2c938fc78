// WGSL sources live in shaders/*.wgsl. They are fetched relative to this module's
// URL, so they load from a file checkout and from a remote import alike.
//
// WGSL has no includes, so the loader adds one directive: a line that is exactly
//
//   #include "lib/erf.wgsl"
//
// is replaced by that file's text, its path taken relative to the file that names it. Includes
// nest; each file is pasted at most once per shader (later directives for it expand to nothing,
// which WGSL allows because module-scope declarations may come in any order); a missing file or
// a cycle is an error naming the chain of files. Included files (shaders/lib/) hold helpers only:
// they are never compiled on their own, and may use names the including shader declares.

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
  "argmax",
  "lstm",
  "topk",
] as const;

/** A shader's file name without `.wgsl`. */
export type ShaderName = typeof SHADER_NAMES[number];

/** Reads the text of one WGSL file. */
export type ShaderReader = (url: URL) => Promise<string>;

const ROOT = new URL("../../shaders/", import.meta.url);
const INCLUDE = /^#include "([^"]+)"[ \t]*(?:\r?\n|$)/gm;

/** Fetches a file, with its URL in the error when that fails. */
export const fetchShader: ShaderReader = async (url) => {
  const res = await fetch(url).catch((e) => {
    throw new Error(`cannot load shader ${url}: ${e.message}`);
  });
  if (!res.ok) throw new Error(`cannot load shader ${url}: HTTP ${res.status}`);
  return await res.text();
};

// Paths in messages are relative to shaders/ where they can be.
function show(url: URL): string {
  return url.href.startsWith(ROOT.href) ? url.href.slice(ROOT.href.length) : url.href;
}

// Marks an error already located by its include chain, so outer files do not wrap it again.
class IncludeError extends Error {}

/**
 * The source of the WGSL file at `url` with its `#include` directives expanded. `read` is
 * called once per file reached; a caching reader may serve several calls, as in loadShaders.
 */
export async function expandShader(url: URL, read: ShaderReader = fetchShader): Promise<string> {
  const seen = new Set<string>();
  const expand = async (at: URL, chain: URL[]): Promise<string> => {
    seen.add(at.href);
    const text = await read(at);
    const parts: string[] = [];
    let last = 0;
    for (const m of text.matchAll(INCLUDE)) {
      parts.push(text.slice(last, m.index));
      last = m.index + m[0].length;
      const dep = new URL(m[1], at);
      const path = [...chain, at, dep].map(show).join(" -> ");
      if ([...chain, at].some((u) => u.href === dep.href)) {
        throw new IncludeError(`shader include cycle: ${path}`);
      }
      if (seen.has(dep.href)) continue;
      parts.push(
        await expand(dep, [...chain, at]).catch((e) => {
          if (e instanceof IncludeError) throw e;
          throw new IncludeError(`shader include ${path}: ${e.message}`);
        }),
      );
    }
    parts.push(text.slice(last));
    return parts.join("");
  };
  return await expand(url, []);
}

/** Fetches every shader source with its includes expanded; missing files are reported by name. */
export async function loadShaders(): Promise<Map<string, string>> {
  const files = new Map<string, Promise<string>>();
  const read: ShaderReader = (url) => {
    let p = files.get(url.href);
    if (!p) files.set(url.href, p = fetchShader(url));
    return p;
  };
  const out = new Map<string, string>();
  await Promise.all(SHADER_NAMES.map(async (name) => {
    out.set(name, await expandShader(new URL(`${name}.wgsl`, ROOT), read));
  }));
  return out;
}
