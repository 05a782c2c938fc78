// The PyTorch CPU reference: runs tools/torch_step_bench.py with the system Python, if torch
// imports there.

import { type ModelSize, VOCAB } from "./spec.ts";

/** One training-step measurement the script makes. */
export interface TorchRun {
  name: string;
  size: ModelSize;
  batch: number;
  seq: number;
  warmup: number;
  n: number;
}

/** What the script reports for one run. */
export interface TorchResult {
  step_ms: number;
  samples_ms: number[];
  tokens_per_s: number;
  params: number;
}

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("../torch_step_bench.py", import.meta.url).pathname;

/** Results by run name, with torch's version and thread count; or why there are none. */
export async function torchSteps(
  runs: TorchRun[],
): Promise<
  { version: string; threads: number; runs: Record<string, TorchResult> } | { error: string }
> {
  const spec = runs.map((r) => ({
    name: r.name,
    ...r.size,
    vocab: VOCAB,
    batch: r.batch,
    seq: r.seq,
    warmup: r.warmup,
    n: r.n,
  }));
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(PYTHON, {
      args: [SCRIPT, JSON.stringify(spec)],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    return { error: `${PYTHON} not runnable (${e instanceof Error ? e.message : e})` };
  }
  const dec = new TextDecoder();
  if (!out.success) {
    const err = dec.decode(out.stderr).trim().split("\n").at(-1) ?? "";
    return { error: err.includes("No module named 'torch'") ? "torch is not installed" : err };
  }
  const line = dec.decode(out.stdout).trim().split("\n").at(-1) ?? "";
  const r = JSON.parse(line);
  return { version: r.torch, threads: r.threads, runs: r.runs };
}
