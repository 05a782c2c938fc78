// Runs a CLI script as a subprocess, as a user would.

import { type ProcessResult, ROOT, runDeno } from "../_data.ts";

/** stdout, stderr and exit code of `deno run -A src/cli/<name>.ts ...args`, and its JSON last line. */
export async function runScript(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ProcessResult & { last: Record<string, unknown> | null }> {
  const r = await runDeno(["run", "-A", `src/cli/${name}.ts`, ...args], { env });
  const lines = r.stdout.trim().split("\n");
  let last: Record<string, unknown> | null = null;
  try {
    last = JSON.parse(lines[lines.length - 1]);
  } catch { /* not JSON */ }
  return { ...r, last };
}

/** `deno run -A src/cli/<name>.ts ...args` started in the background, to signal or kill. */
export function spawnScript(name: string, args: string[], output = false): Deno.ChildProcess {
  const io = output ? "piped" : "null";
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `src/cli/${name}.ts`, ...args],
    cwd: ROOT,
    stdout: io,
    stderr: io,
  }).spawn();
}

/** stderr without the software adapter's harmless XDG_RUNTIME_DIR warnings. */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("error:") && !l.includes("XDG_RUNTIME_DIR"));
}

/** Trains the embedded default for a couple of steps into a fresh temp dir. */
export async function quickTrain(extra: string[] = []): Promise<string> {
  const out = await Deno.makeTempDir();
  const r = await runScript("train", [
    "--max-steps",
    "2",
    "--max-train-samples",
    "24",
    "--max-eval-samples",
    "8",
    "--batch-size",
    "4",
    "--out",
    out,
    ...extra,
  ]);
  if (r.code !== 0) throw new Error(`train failed (${r.code}): ${r.stderr}`);
  return out;
}
