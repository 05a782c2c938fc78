import assert from "node:assert/strict";
import { loadSquad } from "../../src/qa/dataset.ts";
import {
  prepareEvalFeatures,
  prepareTrainFeatures,
  type QaExampleInput,
  truncateQuestions,
} from "../../src/qa/features.ts";
import { BertTokenizer } from "../../src/text/tokenizer.ts";
import { tokenizerForModel } from "../../src/text/tokenizer_dir.ts";
import { shared, withoutData } from "../_data.ts";

const TINY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "q", "a", "b", "c", "d", "e", "f", "g"];
const tiny = BertTokenizer.fromVocabArray(TINY, { lowercase: true });

// Context tokens a..b sit at characters 0, 2, 4, ..., 14. With question "q", maxLength 9 and
// stride 2 the context budget is 5 tokens: window 0 holds a b c d e, window 1 d e f g b.
const CONTEXT = "a b c d e f g b";
const ex = (text: string, question = "q"): QaExampleInput => ({
  id: `id-${text}`,
  question,
  context: CONTEXT,
  answers: { text: [text], answer_start: [CONTEXT.indexOf(text)] },
});
const labels = async (e: QaExampleInput, maxLength = 9) =>
  (await prepareTrainFeatures([e], tiny, { maxLength, stride: 2 })).map((
    f,
  ) => [f.startPosition, f.endPosition]);

Deno.test("train labels: inside a window, in the second window only, in no window", async () => {
  // "c": token 5 of window 0 only.
  assert.deepEqual(await labels(ex("c")), [[5, 5], [0, 0]]);
  // "f g": only window 1 holds it (positions 5 and 6).
  assert.deepEqual(await labels(ex("f g")), [[0, 0], [5, 6]]);
  // "c d e f" is longer than the overlap: no window holds all of it, both get [CLS].
  assert.deepEqual(await labels(ex("c d e f")), [[0, 0], [0, 0]]);
  // An answer starting or ending inside a token takes the whole token.
  const mid = { ...ex("d"), context: "a b c dd e", answers: { text: ["d"], answer_start: [7] } };
  assert.deepEqual(await labels(mid, 16), [[6, 6]]);
  // No answer: [CLS].
  const none = { ...ex("c"), answers: { text: [], answer_start: [] } };
  assert.deepEqual(await labels(none), [[0, 0], [0, 0]]);
});

Deno.test("train labels at a window boundary follow run_qa.py's start walk past the context", async () => {
  // "e" is window 0's last context token (position 7): the walk over starts <= 8 runs over
  // [SEP] (offset [0, 0]) to the end, so the start label is 8 and the end label 7, as in
  // run_qa.py. Window 1 labels it normally.
  assert.deepEqual(await labels(ex("e")), [[8, 7], [4, 4]]);
  // Padded windows: the walk runs over the padding to the last position.
  const idsPadded = await prepareTrainFeatures([{ ...ex("b"), context: "a b" }], tiny, {
    maxLength: 12,
  });
  assert.deepEqual([idsPadded[0].startPosition, idsPadded[0].endPosition], [11, 4]);
  // The first token of a window is a normal case.
  assert.deepEqual(await labels(ex("d")), [[6, 6], [3, 3]]);
});

Deno.test("features: padded int32 arrays, example index and id, leading whitespace stripped", async () => {
  const examples = [ex("c"), ex("f g", "\x1c\u3000 \x85q")];
  // Budget 10 - 1 - 3 = 6 context tokens, step 4: windows a..f and e f g b.
  const fs = await prepareTrainFeatures(examples, tiny, { maxLength: 10, stride: 2 });
  assert.deepEqual(fs.map((f) => [f.exampleIndex, f.exampleId]), [
    [0, "id-c"],
    [0, "id-c"],
    [1, "id-f g"],
    [1, "id-f g"],
  ]);
  // Python's lstrip removes U+001C and U+0085 too, so both questions encode alike.
  assert.deepEqual(fs[2].inputIds, fs[0].inputIds);
  assert.ok(fs[0].inputIds instanceof Int32Array);
  assert.deepEqual(Array.from(fs[1].inputIds), [2, 5, 3, 10, 11, 12, 7, 3, 0, 0]);
  assert.deepEqual(Array.from(fs[1].tokenTypeIds), [0, 0, 0, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(fs[1].attentionMask), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.equal(fs[0].offsets, undefined);
  const kept = await prepareTrainFeatures(examples, tiny, { maxLength: 12, keepOffsets: true });
  assert.deepEqual(kept[0].offsets!.slice(0, 4), [[0, 0], [0, 1], [0, 0], [0, 1]]);
  const unpadded = await prepareTrainFeatures([ex("c")], tiny, { maxLength: 16, padding: false });
  assert.equal(unpadded[0].inputIds.length, 12);
});

Deno.test("eval features keep context offsets only, in UTF-16 units for Korean and emoji", async () => {
  const tok = BertTokenizer.fromVocabArray(
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "서울", "##은", "한국", "##의", "수도", "##는", "?", "."],
    { lowercase: false },
  );
  const context = "😀 서울은 한국의 수도.";
  const [f] = await prepareEvalFeatures(
    [{
      id: "k",
      question: " 수도는?",
      context,
      answers: { text: [], answer_start: [] },
    }],
    tok,
    { maxLength: 16 },
  );
  const spans = f.offsets!.map((o) => o && context.slice(...o));
  assert.deepEqual(spans, [
    null,
    null,
    null,
    null,
    null,
    "😀",
    "서울",
    "은",
    "한국",
    "의",
    "수도",
    ".",
    null,
    null,
    null,
    null,
  ]);
  assert.equal(f.exampleId, "k");
  assert.equal(f.startPosition, undefined);
  // A train label on the same text: "한국" starts at UTF-16 index 7.
  const [t] = await prepareTrainFeatures(
    [{
      id: "k",
      question: "수도는?",
      context,
      answers: { text: ["한국의"], answer_start: [context.indexOf("한국의")] },
    }],
    tok,
    { maxLength: 16 },
  );
  assert.deepEqual([t.startPosition, t.endPosition], [8, 9]);
});

Deno.test({
  name: "every KorQuAD dev answer inside a window: its train label decodes to the answer",
  ignore: withoutData("korquad/KorQuAD_v1.0_dev.json", "vocab/koelectra-v1-cased-vocab.txt"),
}, async () => {
  const tok = BertTokenizer.fromVocab(shared("vocab/koelectra-v1-cased-vocab.txt"), {
    lowercase: false,
    stripAccents: false,
  });
  const { examples } = await loadSquad(shared("korquad/KorQuAD_v1.0_dev.json"), { mode: "train" });
  const features = await prepareTrainFeatures(examples, tok, { keepOffsets: true });
  const labelled = new Set<number>();
  let exact = 0, widened = 0, pastContext = 0;
  for (const f of features) {
    const s = f.startPosition!, e = f.endPosition!;
    if (s === 0 && e === 0) continue;
    const x = examples[f.exampleIndex];
    const startChar = x.answers.answer_start[0];
    const endChar = startChar + x.answers.text[0].length;
    const off = f.offsets as [number, number][]; // train offsets are never null
    const ctx = Array.from(f.tokenTypeIds.keys()).filter((i) =>
      f.tokenTypeIds[i] === 1 && off[i][1] > 0
    );
    labelled.add(f.exampleIndex);
    if (s > ctx[ctx.length - 1]) {
      // run_qa.py's edge case: the answer starts in the window's last context token.
      assert.ok(off[ctx[ctx.length - 1]][0] <= startChar, x.id);
      pastContext++;
      continue;
    }
    // The start is the last context token starting at or before the answer, the end the first
    // ending at or after it, so the span covers the answer with whole tokens.
    assert.ok(ctx.includes(s) && ctx.includes(e) && s <= e, x.id);
    assert.ok(off[s][0] <= startChar && (s === ctx.at(-1) || off[s + 1][0] > startChar), x.id);
    assert.ok(off[e][1] >= endChar && (e === ctx[0] || off[e - 1][1] < endChar), x.id);
    const span = x.context.slice(off[s][0], off[e][1]);
    assert.equal(span.slice(startChar - off[s][0], endChar - off[s][0]), x.answers.text[0], x.id);
    if (off[s][0] === startChar && off[e][1] === endChar) {
      assert.equal(span, x.answers.text[0], x.id);
      exact++;
    } else widened++;
  }
  console.log(
    `${examples.length} examples, ${features.length} features: ${labelled.size} examples ` +
      `labelled; spans equal to the answer ${exact}, widened to whole tokens ${widened}, ` +
      `start past the context (run_qa.py edge case) ${pastContext}`,
  );
  // Every KorQuAD dev answer is short enough to lie inside some 384/128 window.
  assert.equal(labelled.size, examples.length);
  // Korean particles often share the answer's last token (e.g. "##에서"), hence the widened spans.
  assert.ok(exact > widened);
});

Deno.test("a model with one token type (RoBERTa) gets all-zero type ids in every window", async () => {
  const e = ex("f");
  const typeIds = async (typeVocabSize: number) => {
    const tok = tokenizerForModel("dir", tiny, { vocab_size: 13, type_vocab_size: typeVocabSize });
    const train = await prepareTrainFeatures([e], tok, { maxLength: 9, stride: 2 });
    const evals = await prepareEvalFeatures([e], tok, { maxLength: 9, stride: 2 });
    assert.equal(train.length, 2, "two windows");
    return [...train, ...evals].map((f) => [...f.tokenTypeIds]);
  };
  const segments = [0, 0, 0, 1, 1, 1, 1, 1, 1];
  assert.deepEqual(await typeIds(2), [segments, segments, segments, segments]);
  assert.deepEqual(await typeIds(1), new Array(4).fill(new Array(9).fill(0)));
});

Deno.test("--max-query-length keeps a question's first N tokens, special tokens not counted", async () => {
  // A cut inside a word: "abcb" is ab ##c ##b, and "q abc" must give q ab ##c.
  const sub = BertTokenizer.fromVocabArray([...TINY, "ab", "##b", "##c"], { lowercase: true });
  const long = ex("c", " q abcb a");
  const toks = (await sub.encode(long.question, { addSpecialTokens: false })).tokens;
  assert.deepEqual(toks, ["q", "ab", "##c", "##b", "a"]);
  const short = ex("c", "q a");
  const r = await truncateQuestions([long, short], sub, 3);
  assert.equal(r.truncated, 1);
  assert.equal(r.examples[0].question, " q abc");
  assert.strictEqual(r.examples[1], short, "a short question is the same object");
  const cut = (await sub.encode(r.examples[0].question, { addSpecialTokens: false })).tokens;
  assert.deepEqual(cut, toks.slice(0, 3));
  assert.equal((await truncateQuestions([long], sub, toks.length)).truncated, 0);
  // The windows of the option are those of the cut question: 3 of the 8 context tokens each.
  const opts = { maxLength: 9, stride: 1 };
  const viaOption = await prepareTrainFeatures([long], sub, { ...opts, maxQueryLength: 3 });
  const viaCut = await prepareTrainFeatures(r.examples.slice(0, 1), sub, opts);
  assert.deepEqual(viaOption, viaCut);
  assert.equal(viaOption.length, 4);
  await assert.rejects(() => truncateQuestions([long], sub, 0), RangeError);
});

Deno.test("a window with no room for a context token is one usage error naming the question and flags", async () => {
  const long = { ...ex("c", "q a b c d e"), id: "x1" };
  await assert.rejects(
    () => prepareEvalFeatures([long], tiny, { maxLength: 8, stride: 2, maxQueryLength: 5 }),
    (e: Error) => {
      assert.equal(e.name, "UsageError");
      assert.match(
        e.message,
        /^--max-seq-length: question "x1" leaves no room for one context token in a 8-token window; raise --max-seq-length or lower --max-query-length \(5\)$/,
      );
      return true;
    },
  );
  // Room for 2 context tokens (10 - 3 - 5), not more than the stride 2.
  await assert.rejects(
    () => prepareTrainFeatures([long], tiny, { maxLength: 10, stride: 2, maxQueryLength: 5 }),
    /^UsageError: --doc-stride: question "x1" .* lower --doc-stride, raise --max-seq-length or lower --max-query-length \(5\)$/,
  );
  // Without the option the advice is to shorten the question.
  await assert.rejects(
    () => prepareEvalFeatures([long], tiny, { maxLength: 8, stride: 2 }),
    /raise --max-seq-length or shorten the question$/,
  );
});

Deno.test({
  name: "KorQuAD dev questions cut to 8 tokens tokenize to the first 8 tokens of the whole",
  ignore: withoutData("korquad/KorQuAD_v1.0_dev.json", "vocab/koelectra-v1-cased-vocab.txt"),
}, async () => {
  const tok = BertTokenizer.fromVocab(shared("vocab/koelectra-v1-cased-vocab.txt"), {
    lowercase: false,
    stripAccents: false,
  });
  const { examples } = await loadSquad(shared("korquad/KorQuAD_v1.0_dev.json"));
  const r = await truncateQuestions(examples, tok, 8);
  let cut = 0;
  for (let i = 0; i < examples.length; i++) {
    const whole = (await tok.encode(examples[i].question, { addSpecialTokens: false })).ids;
    const mine = (await tok.encode(r.examples[i].question, { addSpecialTokens: false })).ids;
    assert.deepEqual(mine, whole.slice(0, 8), examples[i].id);
    if (whole.length > 8) cut++;
  }
  assert.equal(r.truncated, cut);
  assert.ok(cut > examples.length / 10, `${cut} questions cut`);
});
