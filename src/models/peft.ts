// PEFT's adapter directory: `adapter_config.json` (a LoraConfig) and
// `adapter_model.safetensors` with the keys `get_peft_model_state_dict` writes:
// `base_model.model.<module>.lora_A.weight` / `.lora_B.weight` (the adapter name `default`
// removed, no `base_layer`), and the `modules_to_save` weights under their plain names
// (`base_model.model.qa_outputs.weight`). The frozen base is never written.

import { type Files, hostFiles } from "../io/files.ts";
import { openSafetensors, writeSafetensors } from "../io/safetensors.ts";
import type { Module } from "../nn/module.ts";
import { sync } from "../gpu/kernel.ts";
import { AdapterError } from "../util/errors.ts";
import { applyLora, type LoraConfig, type LoraState, loraStateOf } from "./lora.ts";

/** The files {@linkcode saveAdapter} writes. */
export const ADAPTER_FILES: readonly string[] = [
  "adapter_config.json",
  "adapter_model.safetensors",
];

const PREFIX = "base_model.model.";

/**
 * `adapter_config.json` as PEFT writes it for a LoraConfig: the fields it reads, and the other
 * defaults it writes that mean "off" here (older PEFT versions ignore fields they lack).
 *
 * @example
 * ```ts
 * import { peftAdapterConfig } from "webgpu-bert";
 * const c = peftAdapterConfig({ r: 8, alpha: 1, dropout: 0.1, targets: ["query", "value"],
 *   modulesToSave: ["qa_outputs"], taskType: "QUESTION_ANS", rslora: false }, "bert-base-uncased");
 * console.log(c.peft_type, c.task_type, c.lora_alpha, c.target_modules); // LORA QUESTION_ANS 1 ["query", "value"]
 * ```
 */
export function peftAdapterConfig(
  config: LoraConfig,
  baseModel: string | null = null,
): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    modules_to_save: config.modulesToSave ? [...config.modulesToSave] : null,
    peft_type: "LORA",
    r: config.r,
    rank_pattern: {},
    revision: null,
    target_modules: typeof config.targets === "string" ? config.targets : [...config.targets],
    task_type: config.taskType,
    use_dora: false,
    use_rslora: config.rslora,
  };
}

// Settings that change what the adapter computes and that we do not implement: refused rather
// than silently computing something else. Values listed are PEFT's "off".
const UNSUPPORTED: [string, (v: unknown) => boolean][] = [
  ["bias", (v) => v === undefined || v === "none"],
  ["fan_in_fan_out", (v) => !v],
  ["use_dora", (v) => !v],
  ["layers_to_transform", (v) => v === undefined || v === null],
  ["rank_pattern", (v) => !v || Object.keys(v as object).length === 0],
  ["alpha_pattern", (v) => !v || Object.keys(v as object).length === 0],
  ["layer_replication", (v) => v === undefined || v === null],
  ["target_parameters", (v) => v === undefined || v === null],
  ["trainable_token_indices", (v) => v === undefined || v === null],
  ["exclude_modules", (v) => v === undefined || v === null],
];

/**
 * Parses PEFT's `adapter_config.json` text into a {@linkcode LoraConfig}; anything that is not
 * a LoRA config we can compute exactly is an {@linkcode AdapterError} naming the field.
 *
 * @example
 * ```ts
 * import { parseAdapterConfig } from "webgpu-bert";
 * const c = parseAdapterConfig(JSON.stringify({ peft_type: "LORA", r: 4, lora_alpha: 8,
 *   target_modules: ["query", "value"], task_type: "SEQ_CLS", modules_to_save: null }), "a.json");
 * console.log(c.r, c.alpha, c.dropout, c.modulesToSave); // 4 8 0 null
 * ```
 */
export function parseAdapterConfig(text: string, path: string): LoraConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AdapterError(path, "not JSON");
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new AdapterError(path, "not a JSON object");
  }
  const bad = (what: string) => new AdapterError(path, what);
  if (raw.peft_type !== "LORA") {
    throw bad(`peft_type ${JSON.stringify(raw.peft_type)} is not supported (LORA)`);
  }
  for (const [field, ok] of UNSUPPORTED) {
    if (!ok(raw[field])) throw bad(`${field} ${JSON.stringify(raw[field])} is not supported`);
  }
  const r = raw.r ?? 8, alpha = raw.lora_alpha ?? 8, dropout = raw.lora_dropout ?? 0;
  if (!(typeof r === "number" && Number.isInteger(r) && r > 0)) {
    throw bad(`r must be a positive integer, got ${JSON.stringify(r)}`);
  }
  if (!(typeof alpha === "number" && alpha > 0)) {
    throw bad(`lora_alpha must be positive, got ${JSON.stringify(alpha)}`);
  }
  if (!(typeof dropout === "number" && dropout >= 0 && dropout < 1)) {
    throw bad(`lora_dropout must be in [0, 1), got ${JSON.stringify(dropout)}`);
  }
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");
  const t = raw.target_modules;
  if (!(typeof t === "string" || (strings(t) && (t as string[]).length))) {
    throw bad(`target_modules must be a list of module names or a regex, got ${JSON.stringify(t)}`);
  }
  const m = raw.modules_to_save ?? null;
  if (m !== null && !strings(m)) {
    throw bad(`modules_to_save must be a list of module names, got ${JSON.stringify(m)}`);
  }
  const task = raw.task_type ?? null;
  if (task !== null && typeof task !== "string") {
    throw bad(`task_type must be a string, got ${JSON.stringify(task)}`);
  }
  return {
    r,
    alpha,
    dropout,
    targets: t as string[] | string,
    modulesToSave: m as string[] | null,
    taskType: task,
    rslora: raw.use_rslora === true,
  };
}

/** The adapter's tensors by PEFT key, with the model parameter each one is. */
function adapterTensors(model: Module, state: LoraState): Map<string, string> {
  const saved = new Set(state.saved);
  const out = new Map<string, string>();
  for (const [n] of model.namedParameters()) {
    if (saved.has(n) || /\.lora_[AB]\.weight$/.test(n)) out.set(PREFIX + n, n);
  }
  return out;
}

/**
 * Writes `dir`/adapter_config.json and `dir`/adapter_model.safetensors (F32, atomically) for a
 * model {@linkcode applyLora} adapted, as PEFT's `save_pretrained`: only the adapters and the
 * `modules_to_save` weights. `baseModel` is recorded as `base_model_name_or_path`.
 *
 * @example
 * ```ts
 * import { applyLora, BertForQuestionAnswering, bertConfig, initGpu, saveAdapter } from "webgpu-bert";
 * await initGpu();
 * const cfg = bertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const qa = new BertForQuestionAnswering(cfg);
 * applyLora(qa, { r: 2 });
 * const dir = await Deno.makeTempDir();
 * await saveAdapter(qa, dir, { baseModel: "tiny-bert" });
 * console.log([...Deno.readDirSync(dir)].map((e) => e.name).sort());
 * // ["adapter_config.json", "adapter_model.safetensors"]
 * ```
 */
export async function saveAdapter(
  model: Module,
  dir: string,
  opts: { baseModel?: string | null; files?: Files } = {},
): Promise<void> {
  const state = loraStateOf(model);
  if (!state) throw new Error("saveAdapter: the model has no LoRA adapters (see applyLora)");
  const fs = opts.files ?? await hostFiles();
  await fs.mkdir(dir);
  const params = new Map(model.namedParameters());
  const tensors = [];
  for (const [key, n] of adapterTensors(model, state)) {
    const t = params.get(n)!;
    tensors.push({ name: key, dtype: "F32" as const, shape: t.shape, data: await t.toArray() });
  }
  await writeSafetensors(`${dir}/adapter_model.safetensors`, tensors, { format: "pt" }, fs);
  const cfg = peftAdapterConfig(state.config, opts.baseModel ?? null);
  await fs.writeAtomic(
    `${dir}/adapter_config.json`,
    new TextEncoder().encode(JSON.stringify(cfg, null, 2) + "\n"),
  );
}

// A saved key in our spelling: PEFT's current one, from any version's (the adapter name
// `default` inside, the `modules_to_save.<adapter>` segment of older files).
function canonicalKey(key: string): string {
  return key
    .replace(/\.modules_to_save\.[^.]+\./, ".")
    .replace(/\.(lora_[AB])\.(?!weight$)[^.]+\.weight$/, ".$1.weight");
}

// The file's A [r, in] and B [out, r] must have the config's r, checked before any adapter is
// allocated: a config's r alone (1e12 in a corrupt file) would size the GPU buffers.
function checkRanks(
  tensors: ReadonlyMap<string, { shape: readonly number[] }>,
  r: number,
  path: string,
  cfgPath: string,
): void {
  let matrices = 0;
  for (const [key, { shape }] of tensors) {
    const a = /\.lora_A(\.[^.]+)?\.weight$/.test(key);
    if (!a && !/\.lora_B(\.[^.]+)?\.weight$/.test(key)) continue;
    matrices++;
    const rank = shape.length === 2 ? shape[a ? 0 : 1] : undefined;
    if (rank !== r) {
      throw new AdapterError(
        path,
        `key ${key} has shape [${shape}], not rank ${r} (the r of ${cfgPath})`,
      );
    }
  }
  if (!matrices) throw new AdapterError(path, "no lora_A or lora_B weights: not a LoRA adapter");
}

/**
 * Applies the PEFT LoRA adapter in `dir` to a loaded base `model` ({@linkcode applyLora} with
 * its `adapter_config.json`) and copies its weights: the A and B matrices and the
 * `modules_to_save` weights (spelled `base_model.model.qa_outputs.weight`, or
 * `….qa_outputs.modules_to_save.default.weight`). An unknown key, a missing one, or a shape
 * the model does not have (an adapter for another base) is an {@linkcode AdapterError} naming
 * the key and both shapes.
 *
 * @example
 * ```ts
 * import { initGpu, loadAdapter, loadModel, trainableParametersLine } from "webgpu-bert";
 * await initGpu();
 * const { model } = await loadModel("tests/fixtures/lora_qa_odd", { quiet: true });
 * const lora = await loadAdapter(model, "tests/fixtures/lora_qa_odd/adapter");
 * console.log(lora.config.targets, trainableParametersLine(model));
 * // ["query", "value"] trainable params: 818 || all params: 11,790 || trainable%: 6.9381
 * ```
 */
export async function loadAdapter(
  model: Module,
  dir: string,
  opts: { files?: Files; seed?: number } = {},
): Promise<LoraState> {
  const fs = opts.files ?? await hostFiles();
  const cfgPath = `${dir}/adapter_config.json`;
  if (!(await fs.stat(cfgPath))?.isFile) throw new AdapterError(cfgPath, "no such file");
  const config = parseAdapterConfig(new TextDecoder().decode(await fs.readFile(cfgPath)), cfgPath);
  const path = `${dir}/adapter_model.safetensors`;
  if (!(await fs.stat(path))?.isFile) throw new AdapterError(path, "no such file");
  const reader = await openSafetensors(path, fs);
  try {
    checkRanks(reader.tensors, config.r, path, cfgPath);
    let state: LoraState;
    try {
      state = applyLora(model, { ...config, seed: opts.seed });
    } catch (e) {
      if (e instanceof AdapterError) throw new AdapterError(cfgPath, e.message);
      throw e;
    }
    const wanted = adapterTensors(model, state);
    const params = new Map(model.namedParameters());
    const found = new Map<string, string>();
    for (const key of reader.tensors.keys()) {
      const ours = canonicalKey(key);
      const name = wanted.get(ours);
      if (name === undefined) {
        const hint = ours.startsWith(PREFIX) && params.has(ours.slice(PREFIX.length))
          ? " (a frozen base weight: not part of an adapter)"
          : " (no such adapter or modules_to_save tensor in the model)";
        throw new AdapterError(path, `unknown key ${key}${hint}`);
      }
      const info = reader.tensors.get(key)!;
      const t = params.get(name)!;
      if (info.shape.join() !== t.shape.join()) {
        throw new AdapterError(
          path,
          `key ${key} has shape [${info.shape}] but the model's ${name} is [${t.shape}] ` +
            "(an adapter for another base model?)",
        );
      }
      found.set(ours, key);
    }
    for (const [key, name] of wanted) {
      if (!found.has(key)) {
        throw new AdapterError(
          path,
          `missing key ${key} (the model's ${name} [${params.get(name)!.shape}])`,
        );
      }
    }
    for (const [ours, key] of found) {
      params.get(wanted.get(ours)!)!.write(await reader.readFloat32(key));
    }
    await sync();
    return state;
  } finally {
    reader.close();
  }
}
