// Dumps the embedded default's features (our tokenizer, vocabulary and run_qa windows) to JSON for
// tools/replica/train.py, a PyTorch replica of the tiny BERT and its trainer used to explore the
// default recipe faster than training here.
//
//   deno run -A tools/replica/dump_features.ts SEED TRAIN_Q EVAL_Q SEQ STRIDE OUT.json
//
// Env: VOCAB (vocabulary size, default 2000); SHAPE (JSON of defaultSplits' shape options).

import { defaultSplits, koreanQaCharset } from "../../src/qa/synthetic.ts";
import { parseSquad } from "../../src/qa/dataset.ts";
import { buildWordPieceVocab } from "../../src/text/vocab_builder.ts";
import { BertTokenizer } from "../../src/text/tokenizer.ts";
import { prepareEvalFeatures, prepareTrainFeatures } from "../../src/qa/features.ts";

const [seed, trainQ, evalQ, seq, stride, out] = Deno.args;
const shape = JSON.parse(Deno.env.get("SHAPE") ?? "{}");
const g = defaultSplits(+seed, { trainQuestions: +trainQ, evalQuestions: +evalQ, ...shape });
const train = parseSquad(g.train, "train", { mode: "train" }).examples;
const evalSet = parseSquad(g.eval, "eval", { mode: "eval" }).examples;
const texts = [...train.flatMap((e) => [e.context, e.question]), koreanQaCharset()];
const vocab = buildWordPieceVocab(texts, { size: +(Deno.env.get("VOCAB") ?? 2000) });
const tok = BertTokenizer.fromVocabArray(vocab, { lowercase: false, stripAccents: false });
const windows = { maxLength: +seq, stride: +stride };
const tf = await prepareTrainFeatures(train, tok, windows);
const ef = await prepareEvalFeatures(evalSet, tok, windows);
const row = (
  f: { inputIds: Int32Array; tokenTypeIds: Int32Array; attentionMask: Int32Array },
) => [Array.from(f.inputIds), Array.from(f.tokenTypeIds), Array.from(f.attentionMask)];
await Deno.writeTextFile(
  out,
  JSON.stringify({
    vocab: vocab.length,
    train: tf.map((f) => [...row(f), f.startPosition, f.endPosition]),
    eval: ef.map((f) => [...row(f), f.exampleIndex, f.offsets]),
    examples: evalSet.map((e) => [e.context, e.answers.text, e.question]),
  }),
);
console.error(`vocab ${vocab.length}, ${tf.length} train and ${ef.length} eval windows`);
