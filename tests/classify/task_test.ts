// ClassifyTask on the Trainer: texts cut as HF cuts them, padded batches, a run that learns a
// separable toy set and writes its predictions, and --head-lr's own parameter groups.

import assert from "node:assert/strict";
import {
  bertConfig,
  BertForSequenceClassification,
  BertTokenizer,
  ClassifyTask,
  readTrainerPointer,
  textBatch,
  textFeatures,
  Trainer,
  type TrainerOptions,
} from "../../mod.ts";
import { toySentiment } from "../_data.ts";
import "../_helpers.ts";

const WORDS = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  "good",
  "great",
  "bad",
  "awful",
  "the",
  "film",
  "was",
];
const tok = BertTokenizer.fromVocabArray(WORDS, { lowercase: true });

function model(seed = 1) {
  return new BertForSequenceClassification(
    bertConfig({
      vocab_size: WORDS.length,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      num_labels: 2,
      id2label: { "0": "negative", "1": "positive" },
      label2id: { negative: 0, positive: 1 },
    }),
    { seed },
  );
}

function options(out: string, more: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    out,
    epochs: 6,
    batchSize: 8,
    gradAccum: 1,
    evalEvery: "epoch",
    seed: 3,
    lr: 5e-3,
    warmupRatio: 0,
    weightDecay: 0.01,
    logEvery: 5,
    quiet: true,
    ...more,
  };
}

Deno.test("texts are [CLS] text [SEP] cut to maxLength as HF truncates; batches pad to the longest", async () => {
  const [long, short] = await textFeatures(
    [
      { id: "a", text: "the film was good good good", label: 1 },
      { id: "b", text: "bad", label: 0 },
    ],
    tok,
    5,
  );
  assert.deepEqual([...long.ids], [2, 9, 10, 11, 3]);
  assert.deepEqual([...short.ids], [2, 7, 3]);
  const b = textBatch([long, short], tok.padId);
  assert.equal(b.seq, 5);
  assert.deepEqual([...b.inputIds.subarray(5)], [2, 7, 3, 0, 0]);
  assert.deepEqual([...b.attentionMask.subarray(5)], [1, 1, 1, 0, 0]);
  assert.deepEqual([...b.labels], [1, 0]);
});

Deno.test("a short run learns a separable set, keeps the best by accuracy, writes predictions", async () => {
  const train = toySentiment(64, 1);
  const evalSet = toySentiment(24, 2);
  const out = await Deno.makeTempDir();
  const m = model();
  const task = await ClassifyTask.create(m, tok, train, evalSet, {
    maxSeqLength: 16,
    batchSize: 8,
  });
  const t = new Trainer(task, options(out));
  const { final } = await t.fit();
  t.dispose();
  assert.equal(final.accuracy, 1, JSON.stringify(final.confusion));
  assert.equal(final.macro_f1, 1);
  assert.deepEqual(final.confusion, [[12, 0], [0, 12]]);
  const preds = JSON.parse(await Deno.readTextFile(`${out}/predictions.json`));
  assert.deepEqual(Object.keys(preds), evalSet.map((e) => e.id));
  const first = preds[evalSet[0].id];
  assert.equal(first.label, evalSet[0].label);
  assert.equal(first.label_name, ["negative", "positive"][evalSet[0].label]);
  assert.ok(first.score > 0.5 && first.score <= 1);
  const summary = JSON.parse(await Deno.readTextFile(`${out}/eval_results.json`));
  assert.deepEqual(summary.confusion, [[12, 0], [0, 12]]);
  const st = (await readTrainerPointer(out)).state as { best: { value: number } };
  assert.equal(st.best.value, 1);
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "best/config.json"]) {
    await Deno.stat(`${out}/${f}`);
  }
  const saved = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.deepEqual(saved.id2label, { "0": "negative", "1": "positive" });
  m.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("--head-lr: the classifier gets its own groups at its own rate", async () => {
  const m = model();
  const task = await ClassifyTask.create(m, tok, toySentiment(8, 1), toySentiment(4, 2), {
    maxSeqLength: 8,
    batchSize: 4,
  });
  const t = new Trainer(task, options("", { lr: 1e-4, headLr: 1e-2 }));
  const names = new Map(m.namedParameters().map(([n, p]) => [p, n]));
  const groups = t.opt.groups.map((g) => ({ lr: g.lr, names: g.params.map((p) => names.get(p)!) }));
  assert.deepEqual(groups.map((g) => g.lr), [1e-4, 1e-4, 1e-2, 1e-2]);
  assert.deepEqual(groups[2].names, ["classifier.weight"]);
  assert.deepEqual(groups[3].names, ["classifier.bias"]);
  assert.ok(groups[0].names.includes("bert.pooler.dense.weight"));
  t.dispose();
  m.dispose();
});
