// What every task's `train` shares: the model flags' rules, a from-scratch tokenizer and config,
// the adapter's precision, and the options of a resumed run.

import { type BertConfig, bertConfig, PRESETS } from "../models/config.ts";
import { resolvePrecision } from "../ops/matmul.ts";
import { initGpu } from "../gpu/device.ts";
import { BertTokenizer, type TextTokenizer } from "../text/tokenizer.ts";
import { loadTokenizerFile } from "../text/tokenizer_dir.ts";
import { buildWordPieceVocab } from "../text/vocab_builder.ts";
import type { ResumeState, TrainerOptions } from "../train/trainer.ts";
import type { TrainerPointer } from "../train/checkpoint.ts";
import type { LossScalerState } from "../optim/loss_scale.ts";
import { UsageError } from "./_common.ts";
import { checkOutputs, checkRunDir, clearRunDir } from "./_outputs.ts";
import { checkResumeFlags, sessionFlags } from "./_flags.ts";

/** Flags as parseFlags returns them. */
export type Flags = Record<string, string | string[] | boolean | undefined>;

/** `--model` and `--config` exclude each other, as `--tokenizer` and `--vocab` do. */
export function checkModelFlags(f: Flags, usage: string): void {
  if (f.model && f.config) throw new UsageError("give --model or --config, not both", usage);
  if (f.tokenizer && f.vocab) throw new UsageError("give --tokenizer or --vocab, not both", usage);
  if (f.model && (f.tokenizer || f.vocab)) {
    throw new UsageError("--tokenizer/--vocab go with --config; --model has its own", usage);
  }
  if (f.config && !(f.config as string in PRESETS)) {
    throw new UsageError(`--config must be tiny, mini, small or base, got "${f.config}"`, usage);
  }
}

/**
 * The tokenizer of a from-scratch run: `--tokenizer` (a tokenizer.json or a SentencePiece
 * `.model`), `--vocab`, or, given `texts`, a WordPiece
 * vocabulary of `vocabSize` pieces built from them (cased, accents kept).
 */
export async function scratchTokenizer(
  f: Flags,
  usage: string,
  texts: string[] | null,
  vocabSize: number,
): Promise<TextTokenizer> {
  if (f.tokenizer) return await loadTokenizerFile(f.tokenizer as string);
  if (f.vocab) return BertTokenizer.fromVocab(f.vocab as string, { lowercase: !!f.lowercase });
  if (!texts) throw new UsageError("--config needs --tokenizer or --vocab with --train", usage);
  return BertTokenizer.fromVocabArray(buildWordPieceVocab(texts, { size: vocabSize }), {
    lowercase: false,
    stripAccents: false,
  });
}

/** A from-scratch config: the `--config` preset (default tiny) sized for `tokenizer`. */
export function scratchConfig(
  f: Flags,
  tokenizer: TextTokenizer,
  more: Partial<BertConfig>,
): BertConfig {
  return bertConfig({
    ...PRESETS[(f.config as string | undefined) ?? "tiny"],
    vocab_size: tokenizer.vocabSize,
    max_position_embeddings: 512,
    ...more,
  });
}

/**
 * Starts the GPU, says which adapter it got, and returns the precision to run at: f16 only
 * where the adapter has shader-f16, else f32 with a warning.
 */
export async function startGpu(requested: "f32" | "f16"): Promise<"f32" | "f16"> {
  const { info } = await initGpu();
  console.error(`adapter: ${info.name} (${info.backend})`);
  const r = resolvePrecision(requested, info.features, info.name);
  if (r.warning) console.error(`warning: ${r.warning}`);
  return r.precision;
}

/** A fresh run directory's default name. */
export function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
}

/** The inputs a fresh run reads, for {@linkcode checkOutputs}. */
const RUN_INPUTS = ["train", "eval", "model", "tokenizer", "vocab", "text", "eval-text"];

/**
 * Checks a fresh run's `--out` before any work: not an input nor holding one, not a file, and
 * empty unless `--overwrite-output-dir` names an old run to replace.
 */
export async function checkFreshRun(f: Flags, out: string): Promise<void> {
  await checkOutputs(
    [{ flag: "--out", path: out, kind: "dir", what: "the run" }],
    RUN_INPUTS.flatMap((k) =>
      ([f[k]].flat() as (string | boolean | undefined)[]).map((path) => ({
        flag: `--${k}`,
        path: path as string | undefined,
      }))
    ),
  );
  await checkRunDir(out, !!f["overwrite-output-dir"]);
}

/**
 * Removes the old run that `--overwrite-output-dir` replaces, once the data and the model have
 * loaded: the new run is then never mixed with the old one, and a bad flag costs nothing.
 */
export async function replaceOldRun(f: Flags, out: string): Promise<void> {
  if (f["overwrite-output-dir"]) await clearRunDir(out);
}

/**
 * The options of a resumed run at `step`: the saved ones, after checking that every recipe flag
 * given (`keys`) agrees with them and that `--max-steps` goes past `step`, with `--max-steps`/`--epochs` extending the run and this session's
 * reliability flags.
 */
export function resumeOptions<O extends TrainerOptions, D>(
  f: Flags,
  usage: string,
  dir: string,
  step: number,
  saved: { options: O; data: D },
  fresh: { opts: O; spec: D },
  keys: Record<string, string>,
): O {
  if (f["overwrite-output-dir"]) {
    throw new UsageError(
      "--overwrite-output-dir starts a fresh run; --resume continues one",
      usage,
    );
  }
  // A run cannot go back: the Trainer would rewrite trainer_state.json at the earlier step over
  // the later weights. --epochs is checked by the Trainer, which knows the steps per epoch.
  if (f["max-steps"] !== undefined && fresh.opts.maxSteps! <= step) {
    throw new UsageError(
      `--max-steps ${fresh.opts.maxSteps} is not past the run's step ${step}; give a larger one`,
      usage,
    );
  }
  for (const k of ["model", "config", "tokenizer", "vocab", "lowercase"]) {
    if (f[k] !== undefined) {
      throw new UsageError(`--resume takes --${k} from the run dir; leave it out`, usage);
    }
  }
  checkResumeFlags(
    f,
    usage,
    { ...saved.options, data: saved.data, out: dir },
    { ...fresh.opts, data: fresh.spec, out: f.out },
    keys,
  );
  return {
    ...saved.options,
    out: dir,
    // --epochs replaces a saved --max-steps, as --max-steps overrides --epochs in a fresh run.
    maxSteps: f["max-steps"] !== undefined
      ? fresh.opts.maxSteps
      : f.epochs !== undefined
      ? undefined
      : saved.options.maxSteps,
    epochs: f.epochs !== undefined ? fresh.opts.epochs : saved.options.epochs,
    ...sessionFlags(f, usage),
  };
}

/** What a CLI run saves in `trainer_state.json`: its options and data, and the loop's position. */
export interface SavedRun<O, D> {
  options: O;
  data: D;
  epoch: number;
  cursor: number;
  tokens: number;
  best: ResumeState["best"];
  lossScale?: LossScalerState;
}

/** The saved run behind a verified checkpoint pointer, and where the Trainer resumes it. */
export function savedRun<O, D>(
  p: TrainerPointer & { dir: string },
): { st: SavedRun<O, D>; resume: ResumeState } {
  const st = p.state as unknown as SavedRun<O, D>;
  return {
    st,
    resume: {
      step: p.step,
      epoch: st.epoch,
      cursor: st.cursor,
      tokens: st.tokens,
      best: st.best,
      checkpointDir: p.dir,
      lossScale: st.lossScale,
    },
  };
}
