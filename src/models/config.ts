// HF BertConfig: read, validate and write `config.json`.

import { ConfigError } from "../util/errors.ts";
import { type Files, hostFiles } from "../io/files.ts";

/** The fields of HF's BertConfig that this framework uses. */
export interface BertConfig {
  /** Rows of the word embedding table. */
  vocab_size: number;
  /** H, the width of every hidden state. */
  hidden_size: number;
  /** Encoder layers. */
  num_hidden_layers: number;
  /** A, attention heads per layer; divides `hidden_size`. */
  num_attention_heads: number;
  /** I, the FFN's inner width. */
  intermediate_size: number;
  /** The FFN activation, e.g. "gelu". */
  hidden_act: string;
  /** Longest sequence the position table covers. */
  max_position_embeddings: number;
  /** Segment ids the token-type table covers (2 for BERT). */
  type_vocab_size: number;
  /** Added to the variance in every LayerNorm. */
  layer_norm_eps: number;
  /** Dropout on embeddings and block outputs. */
  hidden_dropout_prob: number;
  /** Dropout on attention probabilities. */
  attention_probs_dropout_prob: number;
  /** Id of the [PAD] token. */
  pad_token_id: number;
  /** Std of the normal init of weights. */
  initializer_range: number;
  /** HF model class names, e.g. ["BertForQuestionAnswering"]. */
  architectures?: string[];
  /** "bert", or a RoBERTa-family type (see {@linkcode MODEL_TYPES}). */
  model_type?: string;
  /** Classes of a sequence classifier: the size of `id2label` (HF's default 2). */
  num_labels: number;
  /** Class id → name, keyed by the id in decimal as in JSON (HF's default `LABEL_<id>`). */
  id2label: Record<string, string>;
  /** Class name → id, the inverse of `id2label`. */
  label2id: Record<string, number>;
  /** Dropout before a classifier; null or absent: `hidden_dropout_prob`. */
  classifier_dropout?: number | null;
  /** Other HF fields, kept so that a saved config round-trips. */
  [extra: string]: unknown;
}

const DEFAULTS: Omit<BertConfig, "num_labels" | "id2label" | "label2id"> = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: "gelu",
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  pad_token_id: 0,
  initializer_range: 0.02,
  model_type: "bert",
};

/** How an encoder numbers positions: see `positionIds` in src/models/positions.ts. */
export type PositionKind = "absolute" | "padding-offset";

/**
 * The `model_type` values whose checkpoints run on the BERT encoder, how each numbers
 * positions, and the HF config defaults where they differ from BERT's. RoBERTa-family
 * models count positions from `pad_token_id + 1`, skipping padding.
 *
 * @example
 * ```ts
 * import { MODEL_TYPES } from "webgpu-bert";
 * console.log(MODEL_TYPES.roberta.positions); // padding-offset
 * ```
 */
export const MODEL_TYPES: Record<
  string,
  { positions: PositionKind; defaults: Partial<BertConfig> }
> = {
  bert: { positions: "absolute", defaults: {} },
  roberta: { positions: "padding-offset", defaults: { vocab_size: 50265, pad_token_id: 1 } },
  "xlm-roberta": { positions: "padding-offset", defaults: { pad_token_id: 1 } },
  camembert: { positions: "padding-offset", defaults: { pad_token_id: 1 } },
};

const POSITIVE = [
  "vocab_size",
  "hidden_size",
  "num_hidden_layers",
  "num_attention_heads",
  "intermediate_size",
  "max_position_embeddings",
  "type_vocab_size",
] as const;

/**
 * Fills HF defaults into `raw` and validates it; `path` names the source in errors.
 *
 * @example
 * ```ts
 * import { bertConfig } from "webgpu-bert";
 * const c = bertConfig({ hidden_size: 64, num_attention_heads: 4, intermediate_size: 128 });
 * console.log(c.num_hidden_layers); // 12
 * ```
 */
export function bertConfig(raw: unknown, path = "config"): BertConfig {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(path, "config must be a JSON object");
  }
  const given = raw as Record<string, unknown>;
  const type = given.model_type === undefined ? DEFAULTS.model_type : given.model_type;
  if (typeof type !== "string" || !Object.hasOwn(MODEL_TYPES, type)) {
    throw new ConfigError(
      path,
      `model_type ${JSON.stringify(type)} is not supported (${
        Object.keys(MODEL_TYPES).join(", ")
      })`,
    );
  }
  const c = { ...DEFAULTS, ...MODEL_TYPES[type].defaults, ...given } as BertConfig;
  for (const k of POSITIVE) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new ConfigError(path, `${k} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    if (v > 1e8) throw new ConfigError(path, `${k} is implausibly large (${v})`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new ConfigError(
      path,
      `num_attention_heads (${c.num_attention_heads}) does not divide hidden_size (${c.hidden_size})`,
    );
  }
  for (const k of ["hidden_dropout_prob", "attention_probs_dropout_prob"] as const) {
    if (typeof c[k] !== "number" || !(c[k] >= 0 && c[k] < 1)) {
      throw new ConfigError(path, `${k} must be in [0, 1), got ${JSON.stringify(c[k])}`);
    }
  }
  if (typeof c.layer_norm_eps !== "number" || !(c.layer_norm_eps > 0)) {
    throw new ConfigError(path, `layer_norm_eps must be positive`);
  }
  if (
    typeof c.initializer_range !== "number" ||
    !(c.initializer_range >= 0 && c.initializer_range < 10)
  ) {
    throw new ConfigError(path, `initializer_range must be a small non-negative number`);
  }
  if (!["gelu", "gelu_python"].includes(c.hidden_act)) {
    throw new ConfigError(
      path,
      `hidden_act ${JSON.stringify(c.hidden_act)} is not supported (gelu)`,
    );
  }
  if (!Number.isInteger(c.pad_token_id) || c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size) {
    throw new ConfigError(path, `pad_token_id must be in [0, vocab_size)`);
  }
  const cd = c.classifier_dropout;
  if (cd !== undefined && cd !== null && (typeof cd !== "number" || !(cd >= 0 && cd < 1))) {
    throw new ConfigError(
      path,
      `classifier_dropout must be null or in [0, 1), got ${JSON.stringify(cd)}`,
    );
  }
  return { ...c, ...labelMaps(given, path) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

// HF's label fields: id2label decides num_labels (HF only warns when they disagree; a
// mismatch is refused here, as is a label2id that contradicts id2label). The one tolerated
// disagreement is a label2id left at the defaults beside renamed labels, common on the hub:
// it is rebuilt from id2label.
function labelMaps(
  given: Record<string, unknown>,
  path: string,
): Pick<BertConfig, "num_labels" | "id2label" | "label2id"> {
  const n = given.num_labels;
  if (n !== undefined && (typeof n !== "number" || !Number.isInteger(n) || n <= 0 || n > 1e6)) {
    throw new ConfigError(path, `num_labels must be a positive integer, got ${JSON.stringify(n)}`);
  }
  let names: string[];
  if (given.id2label === undefined || given.id2label === null) {
    names = defaultLabels(n ?? 2);
  } else {
    const raw = given.id2label;
    if (!isRecord(raw)) throw new ConfigError(path, "id2label must be an object {id: name}");
    const size = Object.keys(raw).length;
    if (size === 0 || size > 1e6) throw new ConfigError(path, "id2label must name 1 to 1e6 labels");
    names = [];
    for (let i = 0; i < size; i++) {
      const name = raw[String(i)];
      if (typeof name !== "string") {
        throw new ConfigError(path, `id2label must map each id 0..${size - 1} to a name (id ${i})`);
      }
      names.push(name);
    }
    if (n !== undefined && n !== size) {
      throw new ConfigError(path, `num_labels ${n} disagrees with id2label's ${size} labels`);
    }
  }
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  names.forEach((name, i) => {
    if (Object.hasOwn(label2id, name)) {
      throw new ConfigError(path, `id2label names ${JSON.stringify(name)} twice`);
    }
    id2label[String(i)] = name;
    label2id[name] = i;
  });
  const raw = given.label2id;
  if (raw !== undefined && raw !== null) {
    if (!isRecord(raw)) throw new ConfigError(path, "label2id must be an object {name: id}");
    const same = (m: Record<string, unknown>, want: string[]) =>
      Object.keys(m).length === want.length && want.every((name, i) => m[name] === i);
    if (!same(raw, names) && !same(raw, defaultLabels(names.length))) {
      throw new ConfigError(path, `label2id ${JSON.stringify(raw)} is not the inverse of id2label`);
    }
  }
  return { num_labels: names.length, id2label, label2id };
}

function defaultLabels(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
}

/**
 * `config` with the classes `labels` (id i is `labels[i]`): `num_labels`, `id2label` and
 * `label2id` replaced together, e.g. to put a classifier for a data set's classes on a
 * backbone checkpoint.
 *
 * @example
 * ```ts
 * import { bertConfig, withLabels } from "webgpu-bert";
 * const c = withLabels(bertConfig({}), ["negative", "positive", "neutral"]);
 * console.log(c.num_labels, c.label2id.neutral); // 3 2
 * ```
 */
export function withLabels(config: BertConfig, labels: readonly string[]): BertConfig {
  const { num_labels: _n, id2label: _i, label2id: _l, ...rest } = config;
  return bertConfig({ ...rest, id2label: Object.fromEntries(labels.map((l, i) => [i, l])) });
}

/** Parses and validates the text of a `config.json`; `path` names it in errors. */
export function parseBertConfig(text: string, path = "config.json"): BertConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, `invalid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  return bertConfig(raw, path);
}

/** Reads and validates a HF `config.json`; `files` defaults to the host's. */
export async function readBertConfig(path: string, files?: Files): Promise<BertConfig> {
  const fs = files ?? await hostFiles();
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    // Asked after the failure, so that the common path costs one call.
    throw new ConfigError(path, await fs.stat(path) === null ? "file not found" : String(e));
  }
  if (bytes.length > 10_000_000) throw new ConfigError(path, "too large for a config.json");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(path, "not valid UTF-8");
  }
  return parseBertConfig(text, path);
}

/** Named configs for training from scratch. */
export const PRESETS: Record<string, Partial<BertConfig>> = {
  tiny: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
  mini: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 },
  small: {
    hidden_size: 512,
    num_hidden_layers: 4,
    num_attention_heads: 8,
    intermediate_size: 2048,
  },
  base: {},
};
