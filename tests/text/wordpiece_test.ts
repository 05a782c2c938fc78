import assert from "node:assert/strict";
import { Tokenizer } from "tokenizers";
import { loadSquad } from "../../src/qa/dataset.ts";
import { prepareTrainFeatures, type QaFeature } from "../../src/qa/features.ts";
import { BertTokenizer } from "../../src/text/tokenizer.ts";
import { WordPieceTokenizer } from "../../src/text/wordpiece.ts";
import type { TextTokenizer } from "../../src/text/windows.ts";
import { TokenizerError } from "../../src/util/errors.ts";
import { shared, sharedJson, withoutData } from "../_data.ts";

const VOCAB = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  "i",
  "##̇",
  "x",
  "cafe",
  "##s",
  "un",
  "##aff",
  "##able",
  ",",
  ".",
  "'",
  "s",
  "中",
  "a",
  "##b",
  "ab",
  "?",
  "do",
  "n",
  "##t",
  "hello",
];

/** The same vocab both ways, TypeScript and the native binding. */
function pair(opts: { lowercase: boolean; stripAccents?: boolean }) {
  return [
    BertTokenizer.fromVocabArray(VOCAB, { ...opts, impl: "native" }),
    WordPieceTokenizer.fromVocabArray(VOCAB, opts),
  ] as const;
}

const TRICKY = [
  "UNaffable, Cafés xyz [MASK] [MASK]x",
  "İx İ  \u0000a\u0007b\ufffd \t\n\r中中a 😀 e\u0301 ÅB",
  "a".repeat(100) + " " + "a".repeat(101) + " abab ab" + "b".repeat(120),
  "don't it's hello . hello ? , ' s [UNK] [CLS]hello",
  "\u200b\u00ad\u2028x\u3000y\u0085z\u202fw",
  "",
  "   ",
];

Deno.test("WordPieceTokenizer equals the native binding on normalization edge cases", async () => {
  for (const lowercase of [true, false]) {
    for (const stripAccents of [true, false]) {
      const [native, ts] = pair({ lowercase, stripAccents });
      for (const text of TRICKY) {
        const want = await native.encode(text);
        assert.deepEqual(await ts.encode(text), want, `${lowercase} ${stripAccents} ${text}`);
        for (const skip of [true, false]) {
          assert.equal(await ts.decode(want.ids, skip), await native.decode(want.ids, skip));
        }
      }
      const [w] = await ts.encodePair(TRICKY[1], TRICKY[0]);
      assert.deepEqual(w, (await native.encodePair(TRICKY[1], TRICKY[0]))[0]);
    }
  }
});

Deno.test("tokenizer.json variants: templates, lstrip/rstrip tokens, no normalizer", async () => {
  const base = JSON.parse(WordPieceTokenizer.fromVocabArray(VOCAB, { lowercase: true }).toJSON());
  const klue = structuredClone(base);
  for (const p of [...klue.post_processor.single, ...klue.post_processor.pair]) {
    (p.SpecialToken ?? p.Sequence).type_id = 0;
  }
  const bertProcessing = {
    ...base,
    post_processor: { type: "BertProcessing", sep: ["[SEP]", 3], cls: ["[CLS]", 2] },
  };
  const stripped = structuredClone(base);
  stripped.added_tokens.find((t: { content: string }) => t.content === "[MASK]").lstrip = true;
  stripped.added_tokens.find((t: { content: string }) => t.content === "[MASK]").rstrip = true;
  const variants = [klue, bertProcessing, stripped, { ...base, normalizer: null }, {
    ...base,
    post_processor: null,
    decoder: null,
  }];
  for (const json of variants) {
    const text = JSON.stringify(json);
    const native = Tokenizer.fromString(text);
    const ts = WordPieceTokenizer.fromJSON(text);
    for (const [q, c] of [["Cafés  [MASK]  x", "hello, Un [MASK]x"], ["I", "中"]]) {
      const e = await native.encode(q, c);
      const [w] = await ts.encodePair(q, c);
      assert.deepEqual(w.ids, e.getIds(), text);
      assert.deepEqual(w.typeIds, e.getTypeIds());
      assert.deepEqual(w.offsets, e.getOffsets());
      assert.equal(await ts.decode(w.ids, false), await native.decode(e.getIds(), false));
    }
  }
  // What it writes the library reads as the same tokenizer.
  const again = Tokenizer.fromString(WordPieceTokenizer.fromJSON(JSON.stringify(klue)).toJSON());
  assert.deepEqual((await again.encode("a", "b")).getTypeIds(), [0, 0, 0, 0, 0]);
});

Deno.test("tokenizer.json it cannot tokenize identically is refused, naming what", () => {
  const base = JSON.parse(WordPieceTokenizer.fromVocabArray(VOCAB, { lowercase: true }).toJSON());
  const cases: [object, RegExp][] = [
    [{ ...base, normalizer: { type: "NFC" } }, /normalizer NFC is not supported/],
    [{ ...base, pre_tokenizer: { type: "Whitespace" } }, /pre_tokenizer Whitespace/],
    [{ ...base, model: { type: "BPE", vocab: {} } }, /a BPE model, not WordPiece/],
    [{ ...base, post_processor: { type: "RobertaProcessing" } }, /RobertaProcessing/],
    [{ ...base, added_tokens: [{ id: 4, content: "[MASK]", normalized: true }] }, /normalized/],
  ];
  for (const [json, what] of cases) assert.throws(() => WordPieceTokenizer.fromJSON(json), what);
  assert.throws(() => WordPieceTokenizer.fromJSON("{"), SyntaxError);
});

Deno.test("fromPath reads tokenizer.json and vocab.txt; save writes what loads back", async () => {
  const dir = await Deno.makeTempDir();
  const tok = WordPieceTokenizer.fromVocabArray(VOCAB, { lowercase: true });
  await tok.save(dir);
  const json = await WordPieceTokenizer.fromPath(`${dir}/tokenizer.json`);
  const txt = await WordPieceTokenizer.fromPath(`${dir}/vocab.txt`, { lowercase: true });
  for (const t of [json, txt]) {
    assert.deepEqual(
      await t.encodePair("Cafés", "unaffable"),
      await tok.encodePair("Cafés", "unaffable"),
    );
  }
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer_config.json`));
  assert.equal(cfg.do_lower_case, true);
  await assert.rejects(
    () => WordPieceTokenizer.fromPath(`${dir}/none.json`),
    (e) => e instanceof TokenizerError && e.file === `${dir}/none.json`,
  );
  await Deno.writeTextFile(`${dir}/bad.json`, "{");
  await assert.rejects(() => WordPieceTokenizer.fromPath(`${dir}/bad.json`), /invalid JSON/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "every SQuAD dev question: WordPieceTokenizer's ids and wordpieces equal the goldens",
  ignore: withoutData(
    "tokenization/question_tokens.json",
    "tokenization/tokenized_questions.json",
    "vocab/bert-base-uncased-vocab.txt",
  ),
}, async () => {
  const tok = await WordPieceTokenizer.fromPath(shared("vocab/bert-base-uncased-vocab.txt"), {
    lowercase: true,
  });
  const qs: { original: string; wordpiece: string[] }[] = await sharedJson(
    "tokenization/question_tokens.json",
  );
  const ids: number[][] = await sharedJson("tokenization/tokenized_questions.json");
  assert.equal(qs.length, ids.length);
  qs.forEach((q, i) => {
    const s = tok.tokenize(q.original);
    assert.deepEqual(s.tokens, q.wordpiece, q.original);
    assert.deepEqual(s.ids, ids[i], q.original);
  });
});

/** Features of every question of `data`, through the QA pipeline, and the seconds it took. */
async function features(data: string, tok: TextTokenizer): Promise<[QaFeature[], number]> {
  const { examples } = await loadSquad(shared(data));
  const t0 = performance.now();
  const f = await prepareTrainFeatures(examples, tok, {
    maxLength: 384,
    stride: 128,
    maxQueryLength: 64,
    keepOffsets: true,
  });
  return [f, (performance.now() - t0) / 1000];
}

for (
  const [data, vocab, lowercase] of [
    ["korquad/KorQuAD_v1.0_dev.json", "vocab/koelectra-v1-cased-vocab.txt", false],
    ["squad/dev-v1.1.json", "vocab/bert-base-uncased-vocab.txt", true],
  ] as const
) {
  Deno.test({
    name: `every ${data} window (384/128, query 64): TypeScript equals the native binding`,
    ignore: withoutData(data, vocab),
  }, async () => {
    const opts = { lowercase, stripAccents: lowercase };
    const ts = await WordPieceTokenizer.fromPath(shared(vocab), opts);
    const native = BertTokenizer.fromVocab(shared(vocab), { ...opts, impl: "native" });
    const [want, nativeS] = await features(data, native);
    const [got, tsS] = await features(data, ts);
    assert.equal(got.length, want.length);
    let tokens = 0;
    for (let i = 0; i < want.length; i++) {
      const g = got[i], w = want[i];
      // Window boundaries: the same example, and the same context span, in the same order.
      assert.equal(g.exampleIndex, w.exampleIndex, `feature ${i}`);
      assert.deepEqual(g.inputIds, w.inputIds, `${w.exampleId} feature ${i}`);
      assert.deepEqual(g.tokenTypeIds, w.tokenTypeIds, `${w.exampleId} feature ${i}`);
      assert.deepEqual(g.attentionMask, w.attentionMask, `${w.exampleId} feature ${i}`);
      assert.deepEqual(g.offsets, w.offsets, `${w.exampleId} feature ${i}`);
      assert.deepEqual([g.startPosition, g.endPosition], [w.startPosition, w.endPosition]);
      tokens += w.attentionMask.reduce((a, b) => a + b, 0);
    }
    console.log(
      `${data}: ${want.length} windows (${tokens} tokens) identical; features in ` +
        `${tsS.toFixed(1)} s TypeScript, ${nativeS.toFixed(1)} s native`,
    );
  });
}

Deno.test("the TypeScript tokenizer's module graph holds no npm or node module", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "src/text/wordpiece.ts"],
    stdout: "piped",
  }).output();
  const graph: { modules: { specifier: string }[] } = JSON.parse(
    new TextDecoder().decode(out.stdout),
  );
  const specs = graph.modules.map((m) => m.specifier);
  assert.ok(specs.some((s) => s.endsWith("src/text/windows.ts")));
  assert.deepEqual(specs.filter((s) => !s.startsWith("file:") || /tokenizer_native/.test(s)), []);
});
