// fillMask against HF's FillMaskPipeline.postprocess: the softmax over the whole vocab at each
// mask (checked against a float64 softmax of the full [1, S, V] logits), best first; token_str
// is decode([id]) with special tokens kept; sequence decodes the ids with the candidate in
// place, padding removed, special tokens skipped for one mask and kept for several; both go
// through clean_up_tokenization after the tokenizer's decoder.

import assert from "node:assert/strict";
import {
  bertConfig,
  BertForMaskedLM,
  BertTokenizer,
  cleanUpTokenization,
  DataError,
  fillMask,
  type FillMaskCandidate,
  initGpu,
  loadMaskedLmDir,
  type MaskedLmModel,
  noGrad,
  RobertaForMaskedLM,
  saveModel,
  scopeAsync,
} from "../../mod.ts";

await initGpu();

const VOCAB = [
  ...["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "##s", ".", "'"],
  ...["t", "isn", ",", "?", "on", "mat", "it", "dog", "ran"],
];
const V = VOCAB.length;
const SPECIAL = new Set(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
const tok = BertTokenizer.fromVocabArray(VOCAB, { lowercase: true });
// Dropout stays at BERT's 0.1: the pipeline must predict in evaluation mode all the same.
const cfg = bertConfig({
  vocab_size: V,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 16,
});
const model = new BertForMaskedLM(cfg, { seed: 7 });

/** Float64 softmax of the full logits (no `predictAt`) at sequence position `pos`. */
async function probsAt(
  m: MaskedLmModel,
  ids: number[],
  pos: number,
  training = false,
): Promise<Float64Array> {
  const was = m.training;
  m.train(training);
  const logits = await noGrad(() =>
    scopeAsync(async () =>
      await m.forward({ batch: 1, seq: ids.length, inputIds: Int32Array.from(ids) }).logits
        .toArray()
    )
  );
  m.train(was);
  const v = m.config.vocab_size;
  const row = Array.from(logits.subarray(pos * v, (pos + 1) * v), Number);
  const max = Math.max(...row);
  const e = row.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return Float64Array.from(e, (x) => x / sum);
}

/** Checks one mask's candidates against the reference probabilities: scores, order, ids. */
function assertScores(cands: FillMaskCandidate[], probs: Float64Array, k: number): void {
  assert.equal(cands.length, k);
  const ids = cands.map((c) => c.token);
  assert.equal(new Set(ids).size, k, "each token once");
  for (const [i, c] of cands.entries()) {
    assert.ok(
      Math.abs(c.score - probs[c.token]) <= 1e-6,
      `${c.token}: ${c.score} vs ${probs[c.token]}`,
    );
    if (i > 0) assert.ok(c.score <= cands[i - 1].score, "best first");
  }
  // Every token left out scores no more than the last one kept.
  const last = cands[k - 1].score;
  for (let j = 0; j < probs.length; j++) {
    if (!ids.includes(j)) assert.ok(probs[j] <= last + 1e-6, `${j} was left out`);
  }
}

async function ids(text: string): Promise<number[]> {
  return (await tok.encode(text)).ids;
}

Deno.test("cleanUpTokenization applies Python's clean_up_tokenization replacements", () => {
  const cases: [string, string][] = [
    ["a .", "a."],
    ["a ?", "a?"],
    ["a !", "a!"],
    ["a , b", "a, b"],
    ["it ' s", "it's"],
    ["do n't", "don't"],
    ["i 'm", "i'm"],
    ["he 's", "he's"],
    ["we 've", "we've"],
    ["they 're", "they're"],
    ["isn ' t it ?", "isn't it?"],
    // Only those: no rule for " 'd", " ;", " :" or a space before "'" at the end.
    ["i 'd ; x : y '", "i 'd ; x : y '"],
    // One pass, left to right, as str.replace: "  ." loses one space.
    ["a  .", "a ."],
    ["", ""],
  ];
  for (const [input, want] of cases) assert.equal(cleanUpTokenization(input), want, input);
});

Deno.test("scores are the whole-vocab softmax at the mask, best first, in evaluation mode", async () => {
  const text = "the cat [MASK] on the mat.";
  const x = await ids(text);
  const at = x.indexOf(tok.tokenToId("[MASK]")!);
  const probs = await probsAt(model, x, at);
  // The reference has power: dropout in training mode would change the scores.
  const dropped = await probsAt(model, x, at, true);
  assert.ok(dropped.some((p, j) => Math.abs(p - probs[j]) > 1e-4), "dropout is active in training");

  assert.equal(model.training, true);
  const [all] = await fillMask(model, tok, text, { topK: 1000 });
  assert.equal(model.training, true, "fillMask restores the training mode");
  assertScores(all, probs, V); // topK past the vocab is capped at its size
  const total = all.reduce((s, c) => s + c.score, 0);
  assert.ok(Math.abs(total - 1) < 1e-9, `${total}`);

  const five = await fillMask(model, tok, text);
  assert.equal(five.length, 1);
  assert.deepEqual(five[0], all.slice(0, 5), "default top-k 5, the head of the full list");
  const [two] = await fillMask(model, tok, text, { topK: 2 });
  assert.deepEqual(two, all.slice(0, 2));
  assert.deepEqual(Object.keys(two[0]), ["score", "token", "token_str", "sequence"]);
});

Deno.test("token_str is decode([id]); one mask's sequence skips special tokens and padding", async () => {
  const [all] = await fillMask(model, tok, "The Cat [MASK] on the MAT.", { topK: V });
  const seq: Record<string, string> = {
    "##s": "the cats on the mat.", // joined to the previous word
    ".": "the cat. on the mat.",
    ",": "the cat, on the mat.",
    "?": "the cat? on the mat.",
    "'": "the cat'on the mat.", // " ' " → "'" after the decoder, as HF does
  };
  for (const c of all) {
    const t = VOCAB[c.token];
    // "##s" keeps its prefix alone; [SEP], [PAD]... show as themselves.
    assert.equal(c.token_str, t);
    const want = SPECIAL.has(t) ? "the cat on the mat." : (seq[t] ?? `the cat ${t} on the mat.`);
    assert.equal(c.sequence, want, t);
  }
});

Deno.test("the pipeline's clean-up joins what the decoder leaves apart", async () => {
  const text = "isn't the cat [MASK]?";
  assert.equal(await tok.decode(await ids(text.replace("[MASK]", "sat"))), "isn ' t the cat sat?");
  const [cands] = await fillMask(model, tok, text, { topK: V });
  const sat = cands.find((c) => VOCAB[c.token] === "sat")!;
  assert.equal(sat.sequence, "isn't the cat sat?");
});

Deno.test("several masks: a list per mask, each its own softmax; sequences keep special tokens", async () => {
  const text = "the [MASK] sat on the [MASK].";
  const x = await ids(text);
  const mask = tok.tokenToId("[MASK]")!;
  const at = x.flatMap((id, i) => id === mask ? [i] : []);
  assert.equal(at.length, 2);
  const lists = await fillMask(model, tok, text, { topK: V });
  assert.equal(lists.length, 2);
  for (const [m, cands] of lists.entries()) {
    assertScores(cands, await probsAt(model, x, at[m]), V);
    for (const c of cands) {
      const t = VOCAB[c.token];
      const w = t === "[PAD]" ? [] : [t]; // padding is removed before decoding
      const words = m === 0
        ? ["the", ...w, "sat", "on", "the", "[MASK]"]
        : ["the", "[MASK]", "sat", "on", "the", ...w];
      const body = [...words, "."].join(" ").replaceAll(" ##", "");
      assert.equal(c.sequence, cleanUpTokenization(`[CLS] ${body} [SEP]`), `mask ${m}: ${t}`);
      assert.equal(c.token_str, t);
    }
  }
  const [first] = lists;
  const cat = first.find((c) => VOCAB[c.token] === "cat")!;
  assert.equal(cat.sequence, "[CLS] the cat sat on the [MASK]. [SEP]");
});

Deno.test("[MASK] is found with a tokenizer.json or only vocab.txt, through lowercasing", async () => {
  const dir = await Deno.makeTempDir();
  await saveModel(model, cfg, dir);
  await tok.save(dir);
  const want = await fillMask(model, tok, "the cat [MASK] on the mat.", { topK: 3 });
  const fromJson = await loadMaskedLmDir(dir);
  assert.deepEqual(
    await fillMask(fromJson.model, fromJson.tokenizer, "The CAT [MASK] on the Mat.", { topK: 3 }),
    want,
  );
  fromJson.model.dispose();

  await Deno.remove(`${dir}/tokenizer.json`);
  await Deno.remove(`${dir}/special_tokens_map.json`);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer_config.json`));
  assert.equal(config.do_lower_case, true);
  const fromVocab = await loadMaskedLmDir(dir);
  assert.deepEqual(
    await fillMask(fromVocab.model, fromVocab.tokenizer, "The CAT [MASK] on the Mat.", { topK: 3 }),
    want,
  );
  // Only the verbatim token is the mask: "[mask]" is lowercase text, split as any other.
  await assert.rejects(
    fillMask(fromVocab.model, fromVocab.tokenizer, "the cat [mask] on the mat."),
    /text: the text has no \[MASK\] token/,
  );
  fromVocab.model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no mask, a text past the positions, and a missing directory are DataErrors", async () => {
  const isData = (re: RegExp) => (e: unknown) => e instanceof DataError && re.test(e.message);
  await assert.rejects(
    fillMask(model, tok, "the cat sat.", { source: "--text" }),
    isData(/^--text: the text has no \[MASK\] token$/),
  );
  await assert.rejects(fillMask(model, tok, "the cat sat."), isData(/^text: /));
  // 16 positions: [CLS] + 14 words + [SEP] fits, one more word does not.
  const words = (n: number) => ["[MASK]", ...Array(n - 1).fill("cat")].join(" ");
  assert.equal((await fillMask(model, tok, words(14), { topK: 1 })).length, 1);
  await assert.rejects(
    fillMask(model, tok, words(15), { source: "--text" }),
    isData(/^--text: the text is 17 tokens; the model takes at most 16$/),
  );
  await assert.rejects(loadMaskedLmDir("/no/such/dir"), isData(/^\/no\/such\/dir: /));
});

Deno.test("RoBERTa: positions start past padding_idx, so the room is max_position_embeddings - 2", async () => {
  const rv = ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]", "a", "b"];
  const rtok = BertTokenizer.fromVocabArray(rv, { lowercase: false });
  const rcfg = bertConfig({
    model_type: "roberta",
    vocab_size: rv.length,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 12,
    type_vocab_size: 1,
    pad_token_id: 1,
  });
  const rm = new RobertaForMaskedLM(rcfg, { seed: 1 });
  const words = (n: number) => ["a", ...Array(n - 2).fill("b"), "[MASK]"].join(" ");
  const text = words(8); // 10 tokens: the most positions 2..11 hold
  const [cands] = await fillMask(rm, rtok, text, { topK: 3 });
  const x = await rtok.encode(text);
  assertScores(cands, await probsAt(rm, x.ids, x.ids.length - 2), 3);
  for (const c of cands) {
    const t = rv[c.token];
    const base = `a${" b".repeat(6)}`;
    assert.equal(c.sequence, SPECIAL.has(t) ? base : `${base} ${t}`, t);
  }
  await assert.rejects(
    fillMask(rm, rtok, words(9)),
    (e) =>
      e instanceof DataError &&
      /the text is 11 tokens; the model takes at most 10$/.test(e.message),
  );
  rm.dispose();
});
