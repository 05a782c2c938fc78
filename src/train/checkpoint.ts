// Resumable training checkpoints that a crash cannot corrupt.
//
// A save writes a complete `checkpoint-<step>/` (weights, optimizer moments, trainer state,
// each with its sha256) into a temp dir and renames it into place; only then does
// `trainer_state.json` (atomic) point at it, and only then are older ones deleted (all of them,
// or beyond a limit as HF's save_total_limit). The run dir's root files are hard links to the
// newest checkpoint, each replaced by an atomic rename.

import { openSafetensors, writeSafetensors } from "../io/safetensors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { AdamW } from "../optim/adamw.ts";
import { Tensor } from "../tensor.ts";
import { CheckpointError } from "../util/errors.ts";

/** What a checkpoint needs of a model: its parameters by name. */
export interface NamedParameters {
  /** Every parameter with its HF name. */
  namedParameters(): [string, Tensor][];
}

/** The pointer file at the run dir's root. */
export const STATE_FILE = "trainer_state.json";

/** What `trainer_state.json` records. */
export interface TrainerPointer {
  /** The directory (inside the run dir) of the newest complete checkpoint. */
  checkpoint: string;
  /** Optimizer steps done. */
  step: number;
  /** sha256 of every file of the checkpoint, by name. */
  sha256: Record<string, string>;
  /** The loop's own state (data position, options, best score…), opaque here. */
  state: Record<string, unknown>;
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function syncDir(dir: string): Promise<void> {
  try {
    const f = await Deno.open(dir, { read: true });
    try {
      await f.sync();
    } finally {
      f.close();
    }
  } catch { /* not supported on this platform */ }
}

/** How many `checkpoint-<step>/` directories a save keeps. */
export interface KeepCheckpoints {
  /** At most this many, the newest; default 1. */
  limit: number;
  /** The best evaluation's step: its checkpoint is never deleted. */
  keepStep?: number;
}

/**
 * The checkpoint directories to delete among `names` (`checkpoint-<step>`, the newest saved
 * included) to keep `keep.limit`, by HF's `_rotate_checkpoints`: the oldest go first, but the
 * best's is moved next to the newest, and with a limit of 1 two are kept while the best is not
 * the newest (so the newest stays resumable).
 *
 * @example
 * ```ts
 * import { checkpointsToDelete } from "webgpu-bert";
 * const names = ["checkpoint-0000100", "checkpoint-0000200", "checkpoint-0000300"];
 * console.log(checkpointsToDelete(names, { limit: 2, keepStep: 100 })); // ["checkpoint-0000200"]
 * ```
 */
export function checkpointsToDelete(names: string[], keep: KeepCheckpoints): string[] {
  const stepOf = (n: string) => Number(n.slice("checkpoint-".length));
  const sorted = [...names].sort((a, b) => stepOf(a) - stepOf(b));
  const best = sorted.findIndex((n) => stepOf(n) === keep.keepStep);
  if (best >= 0 && best < sorted.length - 1) {
    sorted.splice(sorted.length - 1, 0, ...sorted.splice(best, 1));
  }
  const bestIsNewest = best === sorted.length - 1;
  const limit = keep.limit === 1 && best >= 0 && !bestIsNewest ? 2 : keep.limit;
  return sorted.slice(0, Math.max(0, sorted.length - limit));
}

/**
 * Writes a resumable checkpoint of `model` and `opt` at `step` into `runDir`, then points
 * `trainer_state.json` at it. `writeExtra(dir)` adds files such as config and tokenizer;
 * the files listed in `rootFiles` (paths, e.g. `q_encoder/config.json`) are also linked at the
 * run dir's root (HF layout there). Then older checkpoints are deleted down to `keep` (default:
 * the new one only).
 */
export async function saveTrainingCheckpoint(
  runDir: string,
  step: number,
  model: NamedParameters,
  opt: AdamW,
  state: Record<string, unknown>,
  writeExtra: (dir: string) => Promise<void>,
  rootFiles: string[],
  keep: KeepCheckpoints = { limit: 1 },
): Promise<void> {
  const name = `checkpoint-${String(step).padStart(7, "0")}`;
  const tmp = `${runDir}/.${name}.tmp-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
  await Deno.mkdir(tmp, { recursive: true });
  try {
    await writeExtra(tmp);
    const os = opt.state();
    const params = model.namedParameters();
    const names = new Map(params.map(([n, t]) => [t, n]));
    const moments = [];
    const order = opt.groups.flatMap((g) => g.params);
    for (let i = 0; i < order.length; i++) {
      const n = names.get(order[i]) ?? `param${i}`;
      for (const [kind, t] of [["m", os.m[i]], ["v", os.v[i]]] as const) {
        if (t) {
          moments.push({
            name: `${kind}.${n}`,
            dtype: "F32" as const,
            shape: t.shape,
            data: await t.toArray(),
          });
        }
      }
    }
    await writeSafetensors(`${tmp}/optimizer.safetensors`, moments, {
      step: String(os.step),
      // Per-parameter step counts: a parameter unfrozen mid-run has fewer than `step`.
      steps: JSON.stringify(os.steps),
      order: JSON.stringify(order.map((t, i) => names.get(t) ?? `param${i}`)),
    });
    // Files in subdirectories (a bi-encoder's q_encoder/, p_encoder/) are hashed by their
    // relative paths too, so a resume verifies every weight it loads.
    const hashes: Record<string, string> = {};
    const hashDir = async (rel: string) => {
      for (const e of Deno.readDirSync(`${tmp}${rel && "/"}${rel}`)) {
        const name = rel ? `${rel}/${e.name}` : e.name;
        if (e.isFile) hashes[name] = await sha256(`${tmp}/${name}`);
        else if (e.isDirectory) await hashDir(name);
      }
    };
    await hashDir("");
    await syncDir(tmp);
    await Deno.remove(`${runDir}/${name}`, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, `${runDir}/${name}`);
    await syncDir(runDir);
    const pointer: TrainerPointer = { checkpoint: name, step, sha256: hashes, state };
    await writeFileAtomic(
      `${runDir}/${STATE_FILE}`,
      new TextEncoder().encode(JSON.stringify(pointer, null, 2) + "\n"),
    );
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  for (const f of rootFiles) {
    const slash = f.lastIndexOf("/");
    if (slash >= 0) await Deno.mkdir(`${runDir}/${f.slice(0, slash)}`, { recursive: true });
    const link = `${runDir}/${f.slice(0, slash + 1)}.${f.slice(slash + 1)}.link-${Deno.pid}`;
    await Deno.remove(link).catch(() => {});
    await Deno.link(`${runDir}/${name}/${f}`, link).catch(() =>
      Deno.copyFile(`${runDir}/${name}/${f}`, link)
    );
    await Deno.rename(link, `${runDir}/${f}`);
  }
  const saved = [...Deno.readDirSync(runDir)]
    .filter((e) => e.isDirectory && /^checkpoint-\d+$/.test(e.name))
    .map((e) => e.name);
  for (const old of checkpointsToDelete(saved, keep)) {
    if (old !== name) await Deno.remove(`${runDir}/${old}`, { recursive: true });
  }
}

/** Reads `trainer_state.json` and verifies every file of the checkpoint it points at. */
export async function readTrainerPointer(
  runDir: string,
): Promise<TrainerPointer & { dir: string }> {
  const path = `${runDir}/${STATE_FILE}`;
  let p: TrainerPointer;
  try {
    p = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new CheckpointError(
      path,
      e instanceof Deno.errors.NotFound
        ? "not found: not a resumable run dir"
        : `unreadable (${(e as Error).message})`,
    );
  }
  if (typeof p?.checkpoint !== "string" || !/^checkpoint-\d+$/.test(p.checkpoint) || !p.sha256) {
    throw new CheckpointError(path, "malformed trainer state");
  }
  const dir = `${runDir}/${p.checkpoint}`;
  for (const [f, h] of Object.entries(p.sha256)) {
    if (f.split("/").some((part) => part === "" || part.startsWith("."))) {
      throw new CheckpointError(path, `bad file name ${f}`);
    }
    let got: string;
    try {
      got = await sha256(`${dir}/${f}`);
    } catch {
      throw new CheckpointError(`${dir}/${f}`, "missing");
    }
    if (got !== h) {
      throw new CheckpointError(`${dir}/${f}`, "sha256 does not match trainer_state.json");
    }
  }
  return { ...p, dir };
}

/** Restores optimizer moments and step from a checkpoint dir written by {@linkcode saveTrainingCheckpoint}. */
export async function loadOptimizerState(
  dir: string,
  model: NamedParameters,
  opt: AdamW,
): Promise<void> {
  const r = await openSafetensors(`${dir}/optimizer.safetensors`);
  try {
    const names = new Map(model.namedParameters().map(([n, t]) => [t, n]));
    const order = opt.groups.flatMap((g) => g.params);
    const m: (Tensor | null)[] = [];
    const v: (Tensor | null)[] = [];
    for (let i = 0; i < order.length; i++) {
      const n = names.get(order[i]) ?? `param${i}`;
      for (const [kind, into] of [["m", m], ["v", v]] as const) {
        const key = `${kind}.${n}`;
        into.push(
          r.tensors.has(key) ? Tensor.fromArray(await r.readFloat32(key), order[i].shape) : null,
        );
      }
    }
    const steps = r.metadata.steps === undefined ? undefined : JSON.parse(r.metadata.steps);
    opt.loadState({ step: Number(r.metadata.step), steps, m, v });
  } finally {
    r.close();
  }
}
