// Environment variables for the browser-loadable core: read through Deno when it is the host,
// undefined elsewhere, so that a module using them still loads in a browser.

interface HostWithEnv {
  Deno?: { env: { get(name: string): string | undefined } };
}

/**
 * The value of the environment variable `name`, or undefined when it is unset, when the host
 * has no environment (a browser), or when reading it is not permitted.
 *
 * @example
 * ```ts
 * import { envVar } from "webgpu-bert";
 * console.log(envVar("DENO_WEBGPU_BACKEND") ?? "default");
 * ```
 */
export function envVar(name: string): string | undefined {
  try {
    return (globalThis as HostWithEnv).Deno?.env.get(name);
  } catch {
    return undefined;
  }
}
