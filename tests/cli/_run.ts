// Runs a CLI script as a subprocess, as a user would.

/** stdout, stderr and exit code of `deno run -A src/cli/<name>.ts ...args`. */
export async function runScript(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string; last: Record<string, unknown> | null }> {
  const script = new URL(`../../src/cli/${name}.ts`, import.meta.url).pathname;
  const p = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(p.stdout);
  const lines = stdout.trim().split("\n");
  let last: Record<string, unknown> | null = null;
  try {
    last = JSON.parse(lines[lines.length - 1]);
  } catch { /* not JSON */ }
  return { code: p.code, stdout, stderr: dec.decode(p.stderr), last };
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
