// The BERT tour: tokenization (tokens, ids, the special tokens, segment ids of a pair, the
// attention mask with padding), BertModel's outputs (last_hidden_state, pooler_output, every
// hidden state and attention map), then fill-mask: the top 5 tokens at each [MASK].
// Run: deno run -A examples/bert_tour.ts [--model DIR]
// --model: a pretrained BERT directory (`deno task download bert-base-uncased --to
// weights/bert-base-uncased`). Without it the tour runs offline in a few seconds on
// bert-base-uncased's vocab (../shared/data/vocab, or --vocab FILE) with a small randomly
// initialized model, whose predictions are random.

import { parseArgs } from "node:util";
import {
  bertConfig,
  BertForMaskedLM,
  BertModel,
  BertTokenizer,
  fillMask,
  initGpu,
  loadMaskedLmDir,
  loadWeights,
  type MaskedLmModel,
  Module,
  noGrad,
  openCheckpoint,
  scopeAsync,
  type TextTokenizer,
} from "webgpu-bert";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    vocab: { type: "string", default: "../shared/data/vocab/bert-base-uncased-vocab.txt" },
  },
});

/** A BertModel under HF's `bert.` prefix, so that a *For* checkpoint's encoder loads into it. */
class PooledBert extends Module {
  readonly bert: BertModel;
  constructor(model: BertModel) {
    super();
    this.bert = this.child("bert", model);
  }
}

const gpu = await initGpu();
console.log(`adapter: ${gpu.info.name} (${gpu.info.backend})`);

let mlm: MaskedLmModel;
let tokenizer: TextTokenizer;
let pooled: BertModel;
if (values.model) {
  ({ model: mlm, tokenizer } = await loadMaskedLmDir(values.model));
  // HF's BertForMaskedLM has no pooler; the checkpoint's pooler loads into a BertModel.
  pooled = new BertModel(mlm.config, { pooler: true });
  const reader = await openCheckpoint(values.model);
  try {
    const report = await loadWeights(new PooledBert(pooled), reader, {
      prefix: "bert.",
      mayBeNew: (n) => n.startsWith("bert.pooler."),
    });
    if (report.newlyInitialized.length) console.log("note: no pooler in the checkpoint: random");
  } finally {
    reader.close();
  }
  console.log(`model: ${values.model} (${mlm.architecture})`);
} else {
  tokenizer = BertTokenizer.fromVocab(values.vocab!, { lowercase: true });
  const config = bertConfig({
    vocab_size: tokenizer.vocabSize,
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 128,
    max_position_embeddings: 128,
  });
  mlm = new BertForMaskedLM(config, { seed: 0 });
  pooled = new BertModel(config, { pooler: true, seed: 0 });
  console.log(
    "NOTE: no --model given: a small RANDOMLY INITIALIZED BERT (2 layers, hidden 64) on " +
      "bert-base-uncased's vocab.\nIts predictions below are random; pass --model DIR with a " +
      "pretrained bert-base-uncased for real ones.",
  );
}
const config = mlm.config;
mlm.train(false); // HF's model.eval(): no dropout
pooled.train(false);

console.log("\n== 1. Tokenization ==");
const sentence = "Hello, my dog is cute.";
const one = await tokenizer.encode(sentence);
console.log(`text:      ${sentence}`);
console.log(`tokens:    ${JSON.stringify(one.tokens)}`);
console.log(`ids:       ${JSON.stringify(one.ids)}`);
console.log(`decoded:   ${await tokenizer.decode(one.ids, false)}`);
const specials = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"].map((
  t,
) => [t, tokenizer.tokenToId(t)]);
console.log(`specials:  ${specials.map(([t, id]) => `${t}=${id}`).join(" ")}`);
const [pair] = await tokenizer.encodePair("How old are you?", "I'm six years old.");
console.log(`pair:      ${JSON.stringify(pair.tokens)}`);
console.log(`segments:  ${JSON.stringify(pair.typeIds)}`);
const padded = await tokenizer.encode("My dog is cute.", { maxLength: 12, padding: "max_length" });
console.log(`padded:    ${JSON.stringify(padded.tokens)}`);
console.log(`attention: ${JSON.stringify(padded.attentionMask)}`);

console.log("\n== 2. BertModel outputs ==");
// A batch of two: the sentence, and the shorter one padded to its length.
const seq = one.ids.length;
const short = await tokenizer.encode("My dog is cute.", { maxLength: seq, padding: "max_length" });
const batch = {
  batch: 2,
  seq,
  inputIds: Int32Array.from([...one.ids, ...short.ids]),
  tokenTypeIds: Int32Array.from([...one.typeIds, ...short.typeIds]),
  attentionMask: [...one.attentionMask, ...short.attentionMask],
};
const show = (shape: readonly number[]) => `[${shape.join(", ")}]`;
const shapes = await noGrad(() =>
  scopeAsync(async () => {
    const out = mlm.encoder.forwardOutputs(batch, { hiddenStates: true, attentions: true });
    const pooler = pooled.forwardOutputs(batch).poolerOutput!;
    const cls = (await out.lastHiddenState.toArray()).slice(0, 5);
    const rows = await out.attentions![0].toArray();
    return {
      last_hidden_state: out.lastHiddenState.shape,
      pooler_output: pooler.shape,
      mlm_pooler_output: out.poolerOutput,
      hidden_states: out.hiddenStates!.map((t) => t.shape),
      attentions: out.attentions!.map((t) => t.shape),
      cls: Array.from(cls, (x) => Number(x.toFixed(4))),
      // Row sums of the first attention map: softmax rows, each 1.
      row_sum: Array.from(rows.slice(0, seq)).reduce((a, b) => a + b, 0),
    };
  })
);
console.log(`last_hidden_state: ${show(shapes.last_hidden_state)}  (batch, tokens, hidden)`);
console.log(`  [CLS] of sentence 1, first values: ${JSON.stringify(shapes.cls)}`);
console.log(
  `pooler_output:     ${show(shapes.pooler_output)}  (tanh(dense([CLS])) of a BertModel with ` +
    `its pooler; BertForMaskedLM has none: ${shapes.mlm_pooler_output})`,
);
console.log(
  `hidden_states:     ${shapes.hidden_states.length} x ${show(shapes.hidden_states[0])}  ` +
    `(embeddings + ${config.num_hidden_layers} layers)`,
);
console.log(
  `attentions:        ${shapes.attentions.length} x ${show(shapes.attentions[0])}  ` +
    `(batch, heads, query, key; a row sums to ${shapes.row_sum.toFixed(4)})`,
);

console.log("\n== 3. Fill-mask ==");
const texts = [
  "The capital of France is [MASK].",
  "I love eating [MASK] for breakfast.",
  "The man worked as a [MASK].",
  "The [MASK] sat on the [MASK].",
];
const filled = [];
for (const text of texts) {
  const masks = await fillMask(mlm, tokenizer, text, { topK: 5 });
  console.log(text);
  masks.forEach((cands, m) => {
    if (masks.length > 1) console.log(`  [MASK] ${m + 1}:`);
    for (const [i, c] of cands.entries()) {
      console.log(`  ${i + 1}. ${c.token_str.padEnd(12)} ${c.score.toPrecision(3)}  ${c.sequence}`);
    }
  });
  filled.push({
    text,
    top5: masks.map((cands) => cands.map((c) => ({ token_str: c.token_str, score: c.score }))),
  });
}
if (!values.model) console.log("(random predictions: no pretrained --model)");
mlm.dispose();
pooled.dispose();

console.log(JSON.stringify({
  pretrained: values.model !== undefined,
  vocab_size: config.vocab_size,
  tokens: one.tokens,
  ids: one.ids,
  special_ids: Object.fromEntries(specials),
  pair_type_ids: pair.typeIds,
  attention_mask: padded.attentionMask,
  last_hidden_state: shapes.last_hidden_state,
  pooler_output: shapes.pooler_output,
  hidden_states: shapes.hidden_states.length,
  attentions: shapes.attentions,
  fill_mask: filled,
}));
