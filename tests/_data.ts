// Test helpers that need no GPU: shared data, fixtures and subprocesses. Importing this file
// does not start an adapter, so CLI and parser tests stay cheap.

import { fileURLToPath } from "node:url";

/** Any non-empty CI variable means CI: there a missing prerequisite fails instead of skipping. */
export const IS_CI: boolean = (Deno.env.get("CI") ?? "") !== "";

/** The shared data directory beside the project (`../shared/data`). */
export const SHARED: URL = new URL("../../shared/data/", import.meta.url);

/** Filesystem path of a shared data file. */
export const shared = (rel: string): string => fileURLToPath(new URL(rel, SHARED));

/** The project root, for subprocesses that run a script by relative path. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** Path of a committed fixture directory or file under tests/fixtures. */
export const fixture = (rel: string): string =>
  fileURLToPath(new URL(`fixtures/${rel}`, import.meta.url));

/**
 * For `Deno.test({ ignore: withoutData(...) })`: true (with a visible reason) when a shared
 * data file is missing. Under CI a missing file throws, failing the test module.
 */
export function withoutData(...rels: string[]): boolean {
  const missing = rels.filter((rel) => {
    try {
      Deno.statSync(new URL(rel, SHARED));
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return false;
  if (IS_CI) throw new Error(`shared data missing under CI: ${missing.join(", ")}`);
  console.warn(`ignored: shared data ${missing.join(", ")} not found beside the project`);
  return true;
}

/**
 * Whether shared data files exist, for a check inside a test that also does other work.
 * Under CI a missing file throws.
 */
export function hasData(...rels: string[]): boolean {
  return !withoutData(...rels);
}

/**
 * A temp model directory holding copies of `files` from a fixture (by default
 * bert_qa_odd's config and weights), for tests that damage or extend them.
 */
export async function copyFixture(
  name = "bert_qa_odd",
  files = ["config.json", "model.safetensors"],
): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const f of files) await Deno.copyFile(fixture(`${name}/${f}`), `${dir}/${f}`);
  return dir;
}

/** What a finished subprocess left: exit code and decoded output. */
export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deno <args>` to completion (in the project root unless `cwd` is given); `env` adds to
 * this process's environment; `signal` kills it.
 */
export async function runDeno(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; signal?: AbortSignal } = {},
): Promise<ProcessResult> {
  const p = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? {},
    stdout: "piped",
    stderr: "piped",
    signal: opts.signal,
  }).output();
  const dec = new TextDecoder();
  return { code: p.code, stdout: dec.decode(p.stdout), stderr: dec.decode(p.stderr) };
}

/**
 * `n` labelled toy reviews, half positive ("good"/"great"), half negative ("bad"/"awful"), each
 * with filler words around the cue, drawn from `seed`: separable by one word.
 */
export function toySentiment(
  n: number,
  seed: number,
): { id: string; text: string; label: number }[] {
  let s = seed * 7919 + 1;
  const r = () => (s = (s * 48271) % 2147483647) / 2147483647;
  const pick = (xs: string[]) => xs[Math.floor(r() * xs.length)];
  const filler = ["the", "film", "was"];
  return Array.from({ length: n }, (_, i) => {
    const label = i % 2;
    const cue = pick(label ? ["good", "great"] : ["bad", "awful"]);
    const words = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(filler));
    words.splice(Math.floor(r() * (words.length + 1)), 0, cue);
    return { id: `t${seed}-${i}`, text: words.join(" "), label };
  });
}

/** A shared-data JSON file, parsed. */
export async function sharedJson<T>(rel: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(shared(rel)));
}
