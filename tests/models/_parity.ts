// Parity with PyTorch goldens (tools/bert_golden.py, tools/mlm_golden.py: HF equations in
// float64 from float32 weights, dropout off), shared by the model tests so that every head is
// held to the same bounds the same way.

import assert from "node:assert/strict";
import {
  backward,
  loadModel,
  openSafetensors,
  type SafetensorsReader,
  scopeAsync,
  type Tensor,
} from "../../mod.ts";
import { assertClose } from "../_helpers.ts";
import { relErr } from "../_ref.ts";

/** tests/fixtures/ as a path. */
export const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

/** A golden file's inputs, as the models' batch: the labels fields the file has. */
export interface GoldenBatch {
  batch: number;
  seq: number;
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  labels?: Int32Array;
  startPositions?: Int32Array;
  endPositions?: Int32Array;
}

/**
 * What these tests use of a loaded task model, whatever its head: the outputs are named as
 * the golden file's (camelCase of start_logits etc.), `loss` among them.
 */
export interface GoldenModel {
  forward(batch: GoldenBatch): Record<string, Tensor | null>;
  train(on: boolean): unknown;
  namedParameters(): [string, Tensor][];
  dispose(): void;
}

const INPUTS: [keyof GoldenBatch, string][] = [
  ["labels", "labels"],
  ["startPositions", "start_positions"],
  ["endPositions", "end_positions"],
];

/** The golden file's batch; `withLabels` false leaves the labels out (loss null). */
export async function goldenBatch(g: SafetensorsReader, withLabels = true): Promise<GoldenBatch> {
  const [batch, seq] = g.tensors.get("input_ids")!.shape;
  const b: GoldenBatch = {
    batch,
    seq,
    inputIds: await g.readInt32("input_ids"),
    tokenTypeIds: await g.readInt32("token_type_ids"),
    attentionMask: await g.readInt32("attention_mask"),
  };
  for (const [key, name] of INPUTS) {
    if (withLabels && g.tensors.has(name)) {
      (b as unknown as Record<string, unknown>)[key] = await g.readInt32(name);
    }
  }
  return b;
}

/**
 * Loads `dir` by its config's architectures, checking the class and that no tensor was missing
 * or unused (HF's tied decoder copies, where present, are neither).
 */
export async function loadGolden(
  dir: string,
  architecture: string,
): Promise<GoldenModel> {
  const loaded = await loadModel(dir, { quiet: true });
  assert.equal(loaded.architecture, architecture);
  assert.deepEqual(loaded.report, { unexpected: [], newlyInitialized: [] });
  return loaded.model as unknown as GoldenModel;
}

/** The model's outputs `names` (golden names, snake_case) on `batch`, read to the host. */
async function outputs(
  model: GoldenModel,
  batch: GoldenBatch,
  names: string[],
  withBackward: boolean,
): Promise<Record<string, ArrayLike<number>>> {
  return await scopeAsync(async () => {
    const out = model.forward(batch);
    if (withBackward) backward(out.loss!);
    const got: Record<string, ArrayLike<number>> = {};
    for (const name of names) {
      const t = out[name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())];
      assert.ok(t, `output ${name}`);
      got[name] = await t.toArray();
    }
    return got;
  });
}

/**
 * Forward with the golden labels, backward, then every output in `names` (and the loss) within
 * 5e-6 and every trainable parameter's gradient within relative 1e-5 of the goldens; the
 * gradients checked are exactly the model's trainable parameters and the file's grad.* tensors,
 * and frozen parameters (a LoRA base) must get none. Returns the worst errors.
 */
export async function assertMatchesGolden(
  model: GoldenModel,
  g: SafetensorsReader,
  names: string[],
): Promise<{ outErr: number; gradErr: number; checked: number }> {
  model.train(false); // dropout off, as in the fixture
  const got = await outputs(model, await goldenBatch(g), [...names, "loss"], true);
  // Bounds as bert_qa_test.ts. Measured on lavapipe over the MLM and RoBERTa fixtures: 1.13e-6
  // on outputs (BERT MLM logits) and 1.41e-6 relative on the worst gradient (RoBERTa
  // classifier); 5e-6 and 1e-5 are 4.4x and 7x those.
  let outErr = 0;
  for (const name of [...names, "loss"]) {
    const want = await g.readFloat32(name);
    assertClose(got[name], want, { atol: 5e-6, rtol: 0 }, name);
    for (let i = 0; i < want.length; i++) {
      outErr = Math.max(outErr, Math.abs(got[name][i] - want[i]));
    }
  }
  let checked = 0;
  let gradErr = 0;
  for (const [pname, t] of model.namedParameters()) {
    if (!t.requiresGrad) {
      // Frozen (a LoRA base): no gradient, and the golden file has none either.
      assert.equal(t.grad, null, `${pname} is frozen but got a gradient`);
      continue;
    }
    const want = await g.readFloat32(`grad.${pname}`);
    const have = await t.grad!.toArray();
    const wantNorm = Math.sqrt(want.reduce((a, v) => a + v * v, 0));
    if (wantNorm < 1e-12) {
      // Analytically zero (attention key biases shift every score of a row equally): a relative
      // error is undefined, so bound the noise at f32 rounding, as bert_qa_test.ts.
      const maxAbs = Array.from(have).reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      assert.ok(maxAbs <= 1e-6, `${pname}: should be ~0, max |grad| ${maxAbs}`);
    } else {
      const err = relErr(have, want);
      gradErr = Math.max(gradErr, err);
      assert.ok(err <= 1e-5, `${pname}: relative error ${err}`);
    }
    checked++;
  }
  const grads = [...g.tensors.keys()].filter((n) => n.startsWith("grad.")).length;
  assert.equal(checked, grads, "one golden gradient per parameter");
  console.log(
    `outputs max abs error ${outErr.toExponential(2)}, ` +
      `worst gradient relative error ${gradErr.toExponential(2)} over ${checked} tensors`,
  );
  return { outErr, gradErr, checked };
}

/** Opens `dir`/golden.safetensors, runs `fn`, closes it. */
export async function withGolden<T>(
  dir: string,
  fn: (g: SafetensorsReader) => Promise<T>,
): Promise<T> {
  const g = await openSafetensors(`${dir}/golden.safetensors`);
  try {
    return await fn(g);
  } finally {
    g.close();
  }
}
