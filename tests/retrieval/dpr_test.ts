// The bi-encoder against tools/dpr_golden.py: similarities, the in-batch negatives loss and
// every gradient of both encoders; saving and loading both sides in HF layout.

import assert from "node:assert/strict";
import { backward, loadBiEncoder, type SafetensorsReader, scopeAsync } from "../../mod.ts";
import { assertClose } from "../_helpers.ts";
import { relErr } from "../_ref.ts";
import { FIXTURES, withGolden } from "../models/_parity.ts";

const DIR = `${FIXTURES}dpr_odd`;

async function side(g: SafetensorsReader, s: "q" | "p") {
  const [batch, seq] = g.tensors.get(`${s}_input_ids`)!.shape;
  return {
    batch,
    seq,
    inputIds: await g.readInt32(`${s}_input_ids`),
    attentionMask: await g.readInt32(`${s}_attention_mask`),
  };
}

Deno.test("BiEncoder matches the PyTorch golden: scores, loss and every gradient of both sides", async () => {
  const { model } = await loadBiEncoder(DIR);
  model.train(false);
  await withGolden(DIR, async (g) => {
    const b = {
      questions: await side(g, "q"),
      passages: await side(g, "p"),
      targets: await g.readInt32("targets"),
    };
    const got = await scopeAsync(async () => {
      const scores = model.scores(b);
      const loss = model.loss(b);
      backward(loss);
      return { scores: await scores.toArray(), loss: await loss.toArray() };
    });
    // Bounds as tests/models/_parity.ts (outputs 5e-6 absolute, gradients 1e-5 relative).
    assertClose(got.scores, await g.readFloat32("scores"), { atol: 5e-6, rtol: 0 }, "scores");
    assertClose(got.loss, await g.readFloat32("loss"), { atol: 5e-6, rtol: 0 }, "loss");
    let checked = 0, worst = 0;
    for (const [name, t] of model.namedParameters()) {
      const want = await g.readFloat32(`grad.${name}`);
      const have = await t.grad!.toArray();
      const norm = Math.sqrt(want.reduce((a, v) => a + v * v, 0));
      if (norm < 1e-12) {
        // Analytically zero (attention key biases): bound the f32 noise, as _parity.ts does.
        assert.ok(have.every((v) => Math.abs(v) <= 1e-6), `${name} should be ~0`);
      } else {
        const err = relErr(have, want);
        worst = Math.max(worst, err);
        assert.ok(err <= 1e-5, `${name}: relative error ${err}`);
      }
      checked++;
    }
    const grads = [...g.tensors.keys()].filter((n) => n.startsWith("grad.")).length;
    assert.equal(checked, grads, "one golden gradient per parameter");
    assert.ok(
      model.namedParameters().some(([n]) => n.startsWith("p_encoder.bert.encoder.layer.1.")),
    );
    console.log(`worst gradient relative error ${worst.toExponential(2)} over ${checked} tensors`);
  });
});

Deno.test("BiEncoder saves q_encoder/ and p_encoder/ in HF layout and loads them back", async () => {
  const { model, tokenizer } = await loadBiEncoder(DIR);
  const out = await Deno.makeTempDir();
  await model.save(out, tokenizer);
  for (const s of ["q_encoder", "p_encoder"]) {
    const cfg = JSON.parse(await Deno.readTextFile(`${out}/${s}/config.json`));
    assert.deepEqual(cfg.architectures, ["BertModel"]);
    assert.ok((await Deno.stat(`${out}/${s}/vocab.txt`)).isFile);
  }
  const back = await loadBiEncoder(out);
  const a = model.namedParameters(), b = back.model.namedParameters();
  assert.deepEqual(b.map(([n]) => n), a.map(([n]) => n));
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(await b[i][1].toArray(), await a[i][1].toArray(), a[i][0]);
  }
  // One encoder directory initializes both sides.
  const one = await loadBiEncoder(`${out}/p_encoder`);
  assert.deepEqual(
    await one.model.q.encoder.embeddings.word_embeddings.weight.toArray(),
    await model.p.encoder.embeddings.word_embeddings.weight.toArray(),
  );
  await assert.rejects(loadBiEncoder(`${out}/nothing`), /neither a bi-encoder/);
  await Deno.remove(out, { recursive: true });
});
