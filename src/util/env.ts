// Environment variables and signals for the browser-loadable core: reached through Deno when it
// is the host, absent elsewhere, so that a module using them still loads in a browser.

interface HostWithEnv {
  Deno?: {
    env: { get(name: string): string | undefined };
    addSignalListener(signal: "SIGINT", listener: () => void): void;
    removeSignalListener(signal: "SIGINT", listener: () => void): void;
  };
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

/**
 * Calls `listener` on SIGINT (Ctrl-C) instead of ending the process, where the host has
 * signals (Deno); a browser has none. Returns the function that stops listening.
 *
 * @example
 * ```ts
 * import { onInterrupt } from "webgpu-bert";
 * const stop = onInterrupt(() => console.log("stopping after this step"));
 * stop();
 * ```
 */
export function onInterrupt(listener: () => void): () => void {
  const host = (globalThis as HostWithEnv).Deno;
  if (!host) return () => {};
  host.addSignalListener("SIGINT", listener);
  return () => host.removeSignalListener("SIGINT", listener);
}
