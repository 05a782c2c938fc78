import assert from "node:assert/strict";
import "../_helpers.ts";
import {
  ADAPTER_FILES,
  AdapterError,
  applyLora,
  bertConfig,
  BertForQuestionAnswering,
  encodeSafetensors,
  loadAdapter,
  loadModel,
  noGrad,
  openSafetensors,
  parseAdapterConfig,
  saveAdapter,
  saveModel,
  scopeAsync,
  type TaskModel,
  type TensorToWrite,
} from "../../mod.ts";
import { FIXTURES } from "./_parity.ts";

const cfg = bertConfig({
  vocab_size: 50,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 12,
  max_position_embeddings: 16,
});
const batch = { batch: 1, seq: 6, inputIds: new Int32Array([2, 9, 14, 3, 41, 7]) };

async function startLogits(m: TaskModel): Promise<number[]> {
  m.train(false);
  return await scopeAsync(async () => {
    const out = noGrad(() => m.forward(batch)) as {
      startLogits: { toArray(): Promise<ArrayLike<number>> };
    };
    return Array.from(await out.startLogits.toArray());
  });
}

/** A base model directory and an adapted copy with non-zero B and a changed head. */
async function trained(dir: string): Promise<TaskModel> {
  const base = new BertForQuestionAnswering(cfg, { seed: 3 });
  await saveModel(base, cfg, `${dir}/base`);
  base.dispose();
  const { model } = await loadModel(`${dir}/base`, { quiet: true });
  applyLora(model, { r: 2, alpha: 4, dropout: 0.1 });
  for (const [n, t] of model.namedTrainableParameters()) {
    t.write(Float32Array.from({ length: t.size }, (_, i) => Math.sin(i + n.length) * 0.3));
  }
  return model;
}

Deno.test("saveAdapter writes PEFT's files: its config fields and keys, no base weights", async () => {
  const dir = await Deno.makeTempDir();
  const model = await trained(dir);
  await saveAdapter(model, `${dir}/adapter`, { baseModel: "bert-tiny" });
  const names = [...Deno.readDirSync(`${dir}/adapter`)].map((e) => e.name).sort();
  assert.deepEqual(names, [...ADAPTER_FILES].sort(), "nothing else (no temp file)");
  const c = JSON.parse(await Deno.readTextFile(`${dir}/adapter/adapter_config.json`));
  assert.equal(c.peft_type, "LORA");
  assert.equal(c.task_type, "QUESTION_ANS");
  assert.deepEqual([c.r, c.lora_alpha, c.lora_dropout], [2, 4, 0.1]);
  assert.deepEqual(c.target_modules, ["query", "value"]);
  assert.equal(c.bias, "none");
  assert.equal(c.fan_in_fan_out, false);
  assert.deepEqual(c.modules_to_save, ["qa_outputs"]);
  assert.equal(c.base_model_name_or_path, "bert-tiny");
  const r = await openSafetensors(`${dir}/adapter/adapter_model.safetensors`);
  const keys = [...r.tensors.keys()].sort();
  const pre = "base_model.model.bert.encoder.layer.";
  assert.deepEqual(
    keys,
    [
      ...[0, 1].flatMap((l) =>
        ["query", "value"].flatMap((n) =>
          ["lora_A", "lora_B"].map((ab) => `${pre}${l}.attention.self.${n}.${ab}.weight`)
        )
      ),
      "base_model.model.qa_outputs.bias",
      "base_model.model.qa_outputs.weight",
    ].sort(),
  );
  assert.deepEqual(r.tensors.get(`${pre}0.attention.self.query.lora_A.weight`)!.shape, [2, 8]);
  assert.deepEqual(r.tensors.get(`${pre}0.attention.self.value.lora_B.weight`)!.shape, [8, 2]);
  assert.equal(r.metadata.format, "pt");
  r.close();
  model.dispose();
});

Deno.test("loadAdapter onto the base answers exactly as the saved model", async () => {
  const dir = await Deno.makeTempDir();
  const model = await trained(dir);
  await saveAdapter(model, `${dir}/adapter`);
  const want = await startLogits(model);
  const { model: again } = await loadModel(`${dir}/base`, { quiet: true });
  assert.notDeepEqual(await startLogits(again), want, "the adapter changes the answer");
  const s = await loadAdapter(again, `${dir}/adapter`);
  assert.equal(s.config.dropout, 0.1);
  assert.deepEqual(await startLogits(again), want);
  model.dispose();
  again.dispose();
});

Deno.test("loadAdapter accepts older spellings: modules_to_save.default and lora_A.default", async () => {
  const dir = await Deno.makeTempDir();
  const model = await trained(dir);
  await saveAdapter(model, `${dir}/adapter`);
  const want = await startLogits(model);
  const r = await openSafetensors(`${dir}/adapter/adapter_model.safetensors`);
  const renamed = [];
  for (const k of r.tensors.keys()) {
    const name = k.replace("qa_outputs.", "qa_outputs.modules_to_save.default.")
      .replace(/lora_([AB])\.weight$/, "lora_$1.default.weight");
    renamed.push({
      name,
      dtype: "F32" as const,
      shape: r.tensors.get(k)!.shape,
      data: await r.readFloat32(k),
    });
  }
  r.close();
  await Deno.writeFile(`${dir}/adapter/adapter_model.safetensors`, encodeSafetensors(renamed));
  const { model: again } = await loadModel(`${dir}/base`, { quiet: true });
  await loadAdapter(again, `${dir}/adapter`);
  assert.deepEqual(await startLogits(again), want);
  model.dispose();
  again.dispose();
});

/** loadAdapter of `dir`/adapter onto `base`, expecting an AdapterError matching `re`. */
async function refused(base: string, adapter: string, re: RegExp): Promise<void> {
  const { model } = await loadModel(base, { quiet: true });
  try {
    await assert.rejects(() => loadAdapter(model, adapter), (e) => {
      assert.ok(e instanceof AdapterError, String(e));
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"), "one line");
      return true;
    });
  } finally {
    model.dispose();
  }
}

Deno.test("loadAdapter mismatches: wrong base, a shape, an unknown key, a missing key", async () => {
  const dir = await Deno.makeTempDir();
  const model = await trained(dir);
  await saveAdapter(model, `${dir}/adapter`);
  model.dispose();
  // The fixture's adapter is for hidden size 24; this base has 8.
  await refused(
    `${dir}/base`,
    `${FIXTURES}lora_qa_odd/adapter`,
    /adapter_model\.safetensors: key base_model\.model\.bert\.encoder\.layer\.0\.attention\.self\.query\.lora_A\.weight has shape \[4,24\] but the model's bert\.encoder\.layer\.0\.attention\.self\.query\.lora_A\.weight is \[4,8\]/,
  );
  const file = `${dir}/adapter/adapter_model.safetensors`;
  const r = await openSafetensors(file);
  const all: TensorToWrite[] = [];
  for (const k of r.tensors.keys()) {
    all.push({
      name: k,
      dtype: "F32" as const,
      shape: r.tensors.get(k)!.shape,
      data: await r.readFloat32(k),
    });
  }
  r.close();
  const rewrite = (ts: typeof all) => Deno.writeFile(file, encodeSafetensors(ts));
  const headW = "base_model.model.qa_outputs.weight";
  await rewrite(all.map((t) => t.name === headW ? { ...t, shape: [1, 16], data: t.data } : t));
  await refused(
    `${dir}/base`,
    `${dir}/adapter`,
    /key base_model\.model\.qa_outputs\.weight has shape \[1,16\] but the model's qa_outputs\.weight is \[2,8\]/,
  );
  const extra = {
    name: "base_model.model.bert.pooler.dense.lora_A.weight",
    dtype: "F32" as const,
    shape: [2, 8],
    data: new Float32Array(16),
  };
  await rewrite([...all, extra]);
  await refused(
    `${dir}/base`,
    `${dir}/adapter`,
    /unknown key base_model\.model\.bert\.pooler\.dense\.lora_A\.weight/,
  );
  const base = {
    name: "base_model.model.bert.embeddings.word_embeddings.weight",
    dtype: "F32" as const,
    shape: [50, 8],
    data: new Float32Array(400),
  };
  await rewrite([...all, base]);
  await refused(
    `${dir}/base`,
    `${dir}/adapter`,
    /unknown key .*word_embeddings\.weight \(a frozen base weight/,
  );
  await rewrite(all.filter((t) => t.name !== headW));
  await refused(
    `${dir}/base`,
    `${dir}/adapter`,
    /missing key base_model\.model\.qa_outputs\.weight \(the model's qa_outputs\.weight \[2,8\]\)/,
  );
  await Deno.remove(file);
  await refused(`${dir}/base`, `${dir}/adapter`, /adapter_model\.safetensors: no such file/);
});

Deno.test("parseAdapterConfig: PEFT's defaults; settings we cannot compute are refused by name", () => {
  const ok = parseAdapterConfig(
    JSON.stringify({
      peft_type: "LORA",
      target_modules: ".*query",
      use_rslora: true,
      rank_pattern: {},
    }),
    "a.json",
  );
  assert.deepEqual(ok, {
    r: 8,
    alpha: 8,
    dropout: 0,
    targets: ".*query",
    modulesToSave: null,
    taskType: null,
    rslora: true,
  });
  const bad = (o: unknown, re: RegExp) =>
    assert.throws(
      () => parseAdapterConfig(JSON.stringify(o), "a.json"),
      (e) => e instanceof AdapterError && re.test(e.message),
    );
  const lora = { peft_type: "LORA", target_modules: ["query"] };
  bad({ ...lora, peft_type: "IA3" }, /a\.json: peft_type "IA3" is not supported/);
  bad({ ...lora, use_dora: true }, /use_dora true is not supported/);
  bad({ ...lora, bias: "all" }, /bias "all" is not supported/);
  bad({ ...lora, fan_in_fan_out: true }, /fan_in_fan_out/);
  bad({ ...lora, rank_pattern: { query: 4 } }, /rank_pattern/);
  bad({ ...lora, r: 0 }, /r must be a positive integer/);
  bad({ ...lora, target_modules: [] }, /target_modules must be/);
  assert.throws(() => parseAdapterConfig("{", "a.json"), /a\.json: not JSON/);
});
