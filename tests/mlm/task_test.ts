// MlmTask on a tiny BERT: batches that depend on (seed, step, blocks) only, predictAt at exactly
// the labelled tokens, a loss that falls on a repetitive corpus, an evaluation with fixed masks
// whose loss and accuracy are recomputed on the host from full logits, the head's parameters,
// the batch with nothing chosen, and eval_results.json.

import assert from "node:assert/strict";
import {
  bertConfig,
  BertForMaskedLM,
  BertTokenizer,
  DataError,
  IGNORE_INDEX,
  initGpu,
  maskBatch,
  type MaskedLmInput,
  type MlmEvaluation,
  MlmTask,
  noGrad,
  packDocuments,
  type PackedBlocks,
  scopeAsync,
  Trainer,
} from "../../mod.ts";

await initGpu();

const WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e", "f"];
const tok = BertTokenizer.fromVocabArray(WORDS, { lowercase: true });
const MASK = tok.tokenToId("[MASK]")!;
// 14 words: one document is exactly one block, so a token follows from its position alone.
const DOC = "a b c d e f a b c d e f a b";

function model(seed = 1) {
  return new BertForMaskedLM(
    bertConfig({
      vocab_size: WORDS.length,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 16,
    }),
    { seed },
  );
}

const train = await packDocuments(tok, Array(48).fill(DOC), { maxSeqLength: 16 });
// 8 held-out blocks: the last evaluation batch (of 3) is a short one.
const held = await packDocuments(tok, Array(8).fill(DOC), { maxSeqLength: 16 });

// Many blocks at a low probability: some evaluation batches have no token chosen.
const SPARSE = 0.02;
const sparse = await packDocuments(tok, Array(300).fill(DOC), { maxSeqLength: 16 });

function task(m = model(), probability = 0.3, heldOut: PackedBlocks = held) {
  return new MlmTask(m, tok, train, heldOut, { batchSize: 3, seed: 5, probability });
}

const labelled = (b: MaskedLmInput) =>
  Array.from(b.labels!).flatMap((y, i) => y === IGNORE_INDEX ? [] : [i]);

Deno.test("batches depend on (seed, step, blocks) only, and predictAt is exactly the labelled tokens", () => {
  const t = task();
  const at = (seed: number, step: number, blocks: number[]) => {
    t.beginStep(seed, step);
    return t.batch(Int32Array.from(blocks));
  };
  const a = at(0, 3, [4, 9]);
  at(0, 8, [1, 2]);
  const again = at(0, 3, [4, 9]);
  assert.deepEqual(again, a);
  assert.equal(a.batch, 2);
  assert.equal(a.seq, 16);
  assert.deepEqual(a.tokenTypeIds, new Int32Array(32));
  assert.deepEqual(a, {
    ...a,
    ...maskBatch(train, [4, 9], {
      seed: 0,
      step: 3,
      probability: 0.3,
      vocabSize: WORDS.length,
      maskId: MASK,
    }),
  });
  // A block is masked the same whatever batch it is in.
  assert.deepEqual(at(0, 3, [9]).inputIds, a.inputIds.subarray(16));
  assert.notDeepEqual(at(0, 4, [4, 9]).labels, a.labels, "another step, other masks");
  assert.notDeepEqual(at(1, 3, [4, 9]).labels, a.labels, "another seed, other masks");
  for (let step = 1; step <= 20; step++) {
    const b = at(0, step, [0, 1, 2, 3]);
    assert.deepEqual(Array.from(b.predictAt!), labelled(b));
    assert.ok(b.predictAt!.length > 0);
    // Blocks 0..3 are contiguous: a flat position is the packed corpus' own.
    for (const p of b.predictAt!) {
      assert.equal(train.special[p], 0, "special tokens are never chosen");
    }
  }
});

Deno.test("a batch with no chosen token predicts its first ordinary token, unchanged", () => {
  const t = task(model(), SPARSE, sparse);
  let found = 0;
  for (let step = 1; step <= 30; step++) {
    t.beginStep(0, step);
    const b = t.batch(Int32Array.from([1]));
    const plain = maskBatch(train, [1], {
      seed: 0,
      step,
      probability: SPARSE,
      vocabSize: WORDS.length,
      maskId: MASK,
    });
    if (plain.labels.some((y) => y !== IGNORE_INDEX)) continue;
    found++;
    const first = train.special.subarray(16, 32).findIndex((s) => s === 0);
    assert.deepEqual(Array.from(b.predictAt!), [first]);
    assert.deepEqual(b.inputIds, train.ids.subarray(16, 32), "nothing masked");
    assert.equal(b.labels![first], train.ids[16 + first]);
    assert.deepEqual(labelled(b), [first]);
  }
  assert.ok(found > 20, `${found} batches without a chosen token`);
  const onlySpecial: PackedBlocks = {
    seqLength: 2,
    count: 1,
    ids: new Int32Array([2, 3]),
    special: new Uint8Array([1, 1]),
    totalTokens: 2,
    dropped: 0,
  };
  const bad = new MlmTask(model(), tok, onlySpecial, held, { batchSize: 1, seed: 0 });
  bad.beginStep(0, 1);
  assert.throws(() => bad.batch(Int32Array.from([0])), DataError);
});

Deno.test("the constructor refuses a tokenizer without [MASK] and empty block sets", () => {
  const noMask = BertTokenizer.fromVocabArray(WORDS.filter((w) => w !== "[MASK]"), {
    lowercase: true,
  });
  const empty = { ...held, count: 0, ids: new Int32Array(0), special: new Uint8Array(0) };
  const o = { batchSize: 2, seed: 0 };
  assert.throws(() => new MlmTask(model(), noMask, train, held, o), /\[MASK\]/);
  assert.throws(() => new MlmTask(model(), tok, empty, held, o), /no training blocks/);
  assert.throws(() => new MlmTask(model(), tok, train, empty, o), /no evaluation blocks/);
});

Deno.test("isHead picks the masked-LM head (cls.*), not the encoder", () => {
  const m = model();
  const t = task(m);
  const heads = m.namedParameters().map(([n]) => n).filter((n) => t.isHead(n));
  assert.ok(heads.length > 0);
  assert.ok(heads.every((n) => n.startsWith("cls.predictions.")), heads.join());
  assert.ok(!t.isHead("bert.embeddings.word_embeddings.weight"));
  assert.equal(t.size, train.count);
  assert.equal(t.summary, `${train.count} blocks of 16 tokens, 8 held out to evaluate`);
});

/** Loss and accuracy of the held-out blocks from full [B, S, V] logits, on the host. */
async function hostEvaluation(t: MlmTask, heldOut = held, probability = 0.3) {
  const m = t.mlm;
  m.train(false);
  let nll = 0, hits = 0, n = 0;
  for (let b0 = 0; b0 < heldOut.count; b0 += 3) {
    const blocks = Array.from({ length: Math.min(3, heldOut.count - b0) }, (_, i) => b0 + i);
    const { inputIds, labels } = maskBatch(heldOut, blocks, {
      seed: 5,
      step: "eval",
      probability,
      vocabSize: WORDS.length,
      maskId: MASK,
    });
    const logits = await noGrad(() =>
      scopeAsync(() =>
        m.forward({
          batch: blocks.length,
          seq: 16,
          inputIds,
          tokenTypeIds: new Int32Array(inputIds.length),
        }).logits.toArray()
      )
    );
    const V = WORDS.length;
    labels.forEach((y, p) => {
      if (y === IGNORE_INDEX) return;
      const row = Array.from(logits.subarray(p * V, (p + 1) * V), Number);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      nll += lse - row[y];
      hits += row.indexOf(max) === y ? 1 : 0;
      n++;
    });
  }
  return { loss: nll / n, accuracy: hits / n, n };
}

function sameAsHost(e: MlmEvaluation, host: { loss: number; accuracy: number; n: number }) {
  assert.equal(e.maskedTokens, host.n);
  assert.equal(e.metrics.accuracy, host.accuracy);
  assert.ok(
    Math.abs(e.loss - host.loss) < 1e-5 * Math.max(1, host.loss),
    `${e.loss} vs ${host.loss}`,
  );
}

Deno.test("training lowers the loss; evaluation uses fixed masks and matches the host's loss and accuracy", async () => {
  const out = await Deno.makeTempDir({ prefix: "mlm_task_" });
  const m = model();
  const t = task(m);
  const before = await t.evaluate();
  sameAsHost(before, await hostEvaluation(t));
  assert.ok(before.metrics.accuracy < 0.5, `untrained masked accuracy ${before.metrics.accuracy}`);
  const again = await t.evaluate();
  assert.equal(again.loss, before.loss);
  assert.deepEqual(again.metrics, before.metrics, "same model, same masks, same evaluation");
  assert.equal(again.maskedTokens, before.maskedTokens);
  const trainer = new Trainer(t, {
    out,
    epochs: 100,
    maxSteps: 40,
    batchSize: 8,
    gradAccum: 1,
    evalEvery: 100,
    seed: 3,
    lr: 2e-2,
    warmupRatio: 0,
    weightDecay: 0,
    logEvery: 5,
    quiet: true,
  });
  let r;
  try {
    r = await trainer.fit();
  } finally {
    trainer.dispose();
  }
  const losses = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((l) => !("eval_loss" in l))
    .map((l) => l.loss as number);
  assert.equal(losses.length, 8);
  assert.ok(losses[7] < 0.2 * losses[0], `training losses ${losses}`);
  const after = r.final;
  assert.ok(after.loss < 0.2 * before.loss, `eval loss ${before.loss} → ${after.loss}`);
  assert.equal(after.metrics.perplexity, Math.exp(after.loss));

  sameAsHost(after, await hostEvaluation(t));
  assert.ok(after.metrics.accuracy > 0.9, `masked accuracy ${after.metrics.accuracy}`);
  const second = await t.evaluate();
  assert.equal(second.loss, after.loss, "evaluating again changes nothing");

  const results = JSON.parse(await Deno.readTextFile(`${out}/eval_results.json`));
  assert.deepEqual(results, {
    eval_loss: after.loss,
    perplexity: after.metrics.perplexity,
    eval_accuracy: after.metrics.accuracy,
    eval_masked_tokens: after.maskedTokens,
    eval_blocks: 8,
  });
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${out}/best/eval_results.json`)), results);
  assert.match(
    t.describe(after),
    /^loss \d+\.\d{4} perplexity \d+\.\d{2} masked accuracy \d\.\d{4}$/,
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("evaluation skips batches with no chosen token; held-out text with none at all is refused", async () => {
  const t = task(model(), SPARSE, sparse);
  let empty = 0;
  for (let b0 = 0; b0 < sparse.count; b0 += 3) {
    const blocks = Array.from({ length: Math.min(3, sparse.count - b0) }, (_, i) => b0 + i);
    const { labels } = maskBatch(sparse, blocks, {
      seed: 5,
      step: "eval",
      probability: SPARSE,
      vocabSize: WORDS.length,
      maskId: MASK,
    });
    if (labels.every((y) => y === IGNORE_INDEX)) empty++;
  }
  assert.ok(empty > 10, `${empty} evaluation batches without a chosen token`);
  // No visible stand-in token is scored: the host counts only the masked ones.
  sameAsHost(await t.evaluate(), await hostEvaluation(t, sparse, SPARSE));

  const one = await packDocuments(tok, [DOC], { maxSeqLength: 16 });
  const none = maskBatch(one, [0], {
    seed: 5,
    step: "eval",
    probability: 0.001,
    vocabSize: WORDS.length,
    maskId: MASK,
  });
  assert.ok(none.labels.every((y) => y === IGNORE_INDEX));
  assert.throws(
    () => task(model(), 0.001, one),
    /--text: no held-out token is chosen at probability 0.001; hold out more text/,
  );
});
