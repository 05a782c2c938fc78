// Masked LM heads: BertForMaskedLM parity with PyTorch (tools/mlm_golden.py mlm: HF's
// equations, float64 from float32 weights, dropout off), and the tied decoder in checkpoints,
// for BERT and RoBERTa: HF saves without `decoder.weight` (it is the word embedding) and
// without the `decoder.bias` alias; a checkpoint that has them loads to the same model.

import assert from "node:assert/strict";
import {
  initGpu,
  loadModel,
  openSafetensors,
  saveModel,
  scopeAsync,
  writeSafetensors,
} from "../../mod.ts";
import { assertMatchesGolden, FIXTURES, goldenBatch, loadGolden, withGolden } from "./_parity.ts";

await initGpu();

const BERT = `${FIXTURES}bert_mlm_odd`;

Deno.test("BertForMaskedLM matches PyTorch: logits, loss, every gradient (tied embedding)", async () => {
  const model = await loadGolden(BERT, "BertForMaskedLM");
  try {
    const params = model.namedParameters().map(([n]) => n);
    assert.ok(params.every((n) => !n.includes("pooler") && !n.includes("decoder")));
    // The word embedding's golden gradient sums its lookup and its use as the decoder.
    await withGolden(BERT, (g) => assertMatchesGolden(model, g, ["logits"]));
  } finally {
    model.dispose();
  }
});

// [fixture, architecture, the head's prefix, the word embedding] of both masked LMs.
const MLMS: [string, string, string, string][] = [
  ["bert_mlm_odd", "BertForMaskedLM", "cls.predictions", "bert.embeddings.word_embeddings.weight"],
  [
    "roberta_mlm_odd",
    "RobertaForMaskedLM",
    "lm_head",
    "roberta.embeddings.word_embeddings.weight",
  ],
];

/** Logits of the model in `dir` on the fixture's inputs, without labels (loss null). */
async function logitsOf(dir: string, architecture: string, fixture: string): Promise<number[]> {
  const model = await loadGolden(dir, architecture);
  try {
    model.train(false);
    return await withGolden(`${FIXTURES}${fixture}`, async (g) => {
      const batch = await goldenBatch(g, false);
      return await scopeAsync(async () => {
        const out = model.forward(batch);
        assert.equal(out.loss, null, "no labels, no loss");
        return Array.from(await out.logits!.toArray());
      });
    });
  } finally {
    model.dispose();
  }
}

for (const [fixture, architecture, head, word] of MLMS) {
  Deno.test(`${architecture}: a checkpoint with the tied decoder.weight/.bias loads the same`, async () => {
    const src = `${FIXTURES}${fixture}`;
    const dir = await Deno.makeTempDir();
    try {
      await Deno.copyFile(`${src}/config.json`, `${dir}/config.json`);
      const m = await openSafetensors(`${src}/model.safetensors`);
      const tensors = [];
      for (const [name, info] of m.tensors) {
        tensors.push({
          name,
          dtype: "F32" as const,
          shape: info.shape,
          data: await m.readFloat32(name),
        });
      }
      // As older transformers versions save them: copies of the tied tensors.
      const emb = m.tensors.get(word)!;
      tensors.push({
        name: `${head}.decoder.weight`,
        dtype: "F32" as const,
        shape: emb.shape,
        data: await m.readFloat32(word),
      });
      tensors.push({
        name: `${head}.decoder.bias`,
        dtype: "F32" as const,
        shape: m.tensors.get(`${head}.bias`)!.shape,
        data: await m.readFloat32(`${head}.bias`),
      });
      m.close();
      await writeSafetensors(`${dir}/model.safetensors`, tensors);
      const want = await logitsOf(src, architecture, fixture);
      assert.deepEqual(await logitsOf(dir, architecture, fixture), want);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`${architecture}: save → load gives the same logits and HF's saved layout`, async () => {
    const src = `${FIXTURES}${fixture}`;
    const out = await Deno.makeTempDir();
    try {
      const { model, config } = await loadModel(src, { quiet: true });
      try {
        await saveModel(model, config, out);
      } finally {
        model.dispose();
      }
      const saved = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
      assert.deepEqual(saved.architectures, [architecture]);
      const a = await openSafetensors(`${src}/model.safetensors`);
      const b = await openSafetensors(`${out}/model.safetensors`);
      try {
        // Exactly HF's saved names: no decoder.weight / decoder.bias, no pooler.
        assert.deepEqual([...b.tensors.keys()].sort(), [...a.tensors.keys()].sort());
        for (const n of a.tensors.keys()) {
          assert.deepEqual(await b.readRaw(n), await a.readRaw(n), n);
        }
      } finally {
        a.close();
        b.close();
      }
      assert.deepEqual(
        await logitsOf(out, architecture, fixture),
        await logitsOf(src, architecture, fixture),
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}
