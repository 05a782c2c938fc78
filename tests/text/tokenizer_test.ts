import assert from "node:assert/strict";
import { Tokenizer } from "tokenizers";
import { loadSquad } from "../../src/qa/dataset.ts";
import {
  BertTokenizer,
  type Offset,
  setTokenizerImpl,
  tokenizerImpl,
  type TokenWindow,
} from "../../src/text/tokenizer.ts";
import { takeTokenizerImpl } from "../../src/cli/_common.ts";
import { UsageError } from "../../src/util/errors.ts";
import { shared, sharedJson, withoutData } from "../_data.ts";
import { TokenizerError } from "../../src/util/errors.ts";

const TINY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "q", "a", "b", "c", "d", "e", "f", "g"];

Deno.test("BertTokenizer builds the BERT pipeline: specials, ## pieces, [UNK], lowercase", async () => {
  const tok = BertTokenizer.fromVocabArray(
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "cafe", ","],
    { lowercase: true },
  );
  const w = await tok.encode("UNaffable, Café xyz [MASK]");
  assert.deepEqual(w.tokens, [
    "[CLS]",
    "un",
    "##aff",
    "##able",
    ",",
    "cafe",
    "[UNK]",
    "[MASK]",
    "[SEP]",
  ]);
  assert.deepEqual(w.offsets, [[0, 0], [0, 2], [2, 5], [5, 9], [9, 10], [11, 15], [16, 19], [
    20,
    26,
  ], [0, 0]]);
  assert.deepEqual(w.sequenceIds, [null, 0, 0, 0, 0, 0, 0, 0, null]);
  assert.equal(await tok.decode(w.ids), "unaffable, cafe");
  // A word longer than 100 characters is one [UNK].
  assert.deepEqual((await tok.encode("a".repeat(101), { addSpecialTokens: false })).tokens, [
    "[UNK]",
  ]);
  // Cased, accents kept when asked; stripAccents defaults to lowercase.
  const cased = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "Café"], {
    lowercase: false,
  });
  assert.deepEqual((await cased.encode("Café")).tokens, ["[CLS]", "Café", "[SEP]"]);
  assert.deepEqual(cased.config, {
    lowercase: false,
    stripAccents: false,
    handleChineseChars: true,
    cleanText: true,
  });
});

Deno.test("offsets are UTF-16 indices into the original strings (Korean, astral)", async () => {
  const tok = BertTokenizer.fromVocabArray(
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "한국", "##어", "질문", "e", "x"],
    { lowercase: false },
  );
  const q = "😀 한국어 𝒜x";
  const c = "e\u0301 질문 😀";
  const [w] = await tok.encodePair(q, c);
  const spans = w.offsets.map(([s, e], i) =>
    w.sequenceIds[i] === 0 ? q.slice(s, e) : w.sequenceIds[i] === 1 ? c.slice(s, e) : null
  );
  assert.deepEqual(w.tokens, [
    "[CLS]",
    "[UNK]",
    "한국",
    "##어",
    "[UNK]",
    "[SEP]",
    "[UNK]",
    "질문",
    "[UNK]",
    "[SEP]",
  ]);
  assert.deepEqual(spans, [null, "😀", "한국", "어", "𝒜x", null, "e\u0301", "질문", "😀", null]);
  assert.deepEqual(w.typeIds, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
});

Deno.test("encodePair windows the context with the stride, pads, and keeps type ids", async () => {
  const tok = BertTokenizer.fromVocabArray(TINY, { lowercase: true });
  // Budget 9 - 1 - 3 = 5 context tokens, step 5 - 2 = 3: [0,5) [3,8) -> ends at 8.
  const ws = await tok.encodePair("q", "a b c d e f g b", {
    maxLength: 9,
    stride: 2,
    padding: "max_length",
  });
  assert.deepEqual(ws.map((w) => w.tokens.join(" ")), [
    "[CLS] q [SEP] a b c d e [SEP]",
    "[CLS] q [SEP] d e f g b [SEP]",
  ]);
  for (const w of ws) assert.deepEqual(w.typeIds, [0, 0, 0, 1, 1, 1, 1, 1, 1]);
  const padded = await tok.encodePair("q", "a b c d e f", {
    maxLength: 9,
    stride: 2,
    padding: "max_length",
  });
  assert.deepEqual(padded[1].tokens, [
    "[CLS]",
    "q",
    "[SEP]",
    "d",
    "e",
    "f",
    "[SEP]",
    "[PAD]",
    "[PAD]",
  ]);
  assert.deepEqual(padded[1].typeIds, [0, 0, 0, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(padded[1].attentionMask, [1, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(padded[1].sequenceIds, [null, 0, null, 1, 1, 1, null, null, null]);
  assert.deepEqual(padded[1].offsets.slice(3), [[6, 7], [8, 9], [10, 11], [0, 0], [0, 0], [0, 0]]);
  assert.equal(
    (await tok.encodePair("q", "a b c d e f", {
      maxLength: 9,
      stride: 2,
      returnOverflowing: false,
    }))
      .length,
    1,
  );
  // Stride 0 windows do not overlap; a context that fits gives one window.
  const s0 = await tok.encodePair("q", "a b c d e f g", { maxLength: 7, stride: 0 });
  assert.deepEqual(s0.map((w) => w.tokens.slice(3, -1).join("")), ["abc", "def", "g"]);
  assert.equal((await tok.encodePair("q", "a b", { maxLength: 7 })).length, 1);
  // Hugging Face refuses a stride that is not below the budget, or no room for the context.
  await assert.rejects(tok.encodePair("q", "a b c d e f", { maxLength: 7, stride: 3 }), /stride/);
  await assert.rejects(tok.encodePair("q q q q", "a b c", { maxLength: 7 }), /too short/);
});

Deno.test("encode truncates and pads a single sequence", async () => {
  const tok = BertTokenizer.fromVocabArray(TINY, { lowercase: true });
  const w = await tok.encode("a b c d e", { maxLength: 5 });
  assert.deepEqual(w.tokens, ["[CLS]", "a", "b", "c", "[SEP]"]);
  const p = await tok.encode("a", { maxLength: 5, padding: "max_length" });
  assert.deepEqual(p.ids, [2, 6, 3, 0, 0]);
  assert.deepEqual(p.attentionMask, [1, 1, 1, 0, 0]);
  assert.equal(tok.tokenToId("c"), 8);
  assert.equal(tok.idToToken(8), "c");
  assert.equal(tok.tokenToId("zzz"), null);
  assert.equal(tok.vocabSize, TINY.length);
  assert.throws(
    () => BertTokenizer.fromVocabArray(["[PAD]", "[UNK]"], { lowercase: true }),
    /\[CLS\]/,
  );
});

Deno.test("save writes a tokenizer.json that loads back identical, with vocab and config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tok = BertTokenizer.fromVocabArray(TINY, { lowercase: false, stripAccents: false });
    await tok.save(dir);
    const back = BertTokenizer.fromFile(`${dir}/tokenizer.json`);
    const text = ["q", "A b c d e f g 😀"] as const;
    const opts = { maxLength: 8, stride: 1, padding: "max_length" as const };
    assert.deepEqual(await back.encodePair(...text, opts), await tok.encodePair(...text, opts));
    assert.deepEqual(back.config, tok.config);
    assert.equal(await Deno.readTextFile(`${dir}/vocab.txt`), TINY.join("\n") + "\n");
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer_config.json`));
    assert.equal(cfg.do_lower_case, false);
    assert.equal(cfg.strip_accents, false);
    assert.equal(cfg.tokenizer_class, "BertTokenizer");
    const v = BertTokenizer.fromVocab(`${dir}/vocab.txt`, { lowercase: false });
    assert.deepEqual(await v.encode("a B"), await tok.encode("a B"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "every SQuAD dev question: bert-base-uncased wordpieces and ids equal the goldens",
  ignore: withoutData("tokenization/question_tokens.json", "vocab/bert-base-uncased-vocab.txt"),
}, async () => {
  const tok = BertTokenizer.fromVocab(shared("vocab/bert-base-uncased-vocab.txt"), {
    lowercase: true,
  });
  const gold: { original: string; wordpiece: string[] }[] = await sharedJson(
    "tokenization/question_tokens.json",
  );
  const ids: number[][] = await sharedJson("tokenization/tokenized_questions.json");
  assert.equal(gold.length, 10570);
  assert.equal(ids.length, gold.length);
  for (let i = 0; i < gold.length; i++) {
    const w = await tok.encode(gold[i].original, { addSpecialTokens: false });
    assert.deepEqual(w.tokens, gold[i].wordpiece, `question ${i}: ${gold[i].original}`);
    assert.deepEqual(w.ids, ids[i], `question ${i}: ${gold[i].original}`);
  }
});

Deno.test({
  name: "every SQuAD dev question: the basic (pre-WordPiece) tokens equal the goldens",
  ignore: withoutData(
    "tokenization/question_tokens.json",
    "tokenization/basic_tokenized_questions.json",
  ),
}, async () => {
  const questions: { original: string }[] = await sharedJson("tokenization/question_tokens.json");
  const basic: string[][] = await sharedJson("tokenization/basic_tokenized_questions.json");
  assert.equal(basic.length, questions.length);
  // With every basic token a whole word of the vocabulary, WordPiece's longest match keeps each
  // word whole, so the tokens are the normalizer's and pre-tokenizer's output alone.
  const words = new Set(basic.flat());
  const specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
  const tok = BertTokenizer.fromVocabArray(
    [...specials, ...[...words].filter((w) => !specials.includes(w))],
    { lowercase: true },
  );
  for (let i = 0; i < basic.length; i++) {
    const w = await tok.encode(questions[i].original, { addSpecialTokens: false });
    assert.deepEqual(w.tokens, basic[i], `question ${i}: ${questions[i].original}`);
  }
});

// The windows rebuilt from the context tokenized alone with the fast tokenizers' rule:
// budget = maxLength - |question| - 3 context tokens a window, each next window starting
// budget - stride tokens later, until one reaches the end; then padded.
function expectedWindows(
  tok: BertTokenizer,
  q: TokenWindow,
  c: TokenWindow,
  maxLength: number,
  stride: number,
): TokenWindow[] {
  const budget = maxLength - q.ids.length - 3;
  const out: TokenWindow[] = [];
  for (let start = 0;; start += budget - stride) {
    const stop = Math.min(start + budget, c.ids.length);
    const n = stop - start;
    const pad = maxLength - (q.ids.length + n + 3);
    const rep = <T>(v: T, k: number): T[] => Array.from({ length: k }, () => v);
    const z = (): Offset => [0, 0];
    out.push({
      ids: [tok.clsId, ...q.ids, tok.sepId, ...c.ids.slice(start, stop), tok.sepId, ...rep(0, pad)],
      tokens: ["[CLS]", ...q.tokens, "[SEP]", ...c.tokens.slice(start, stop), "[SEP]"].concat(
        rep("[PAD]", pad),
      ),
      typeIds: [...rep(0, q.ids.length + 2), ...rep(1, n + 1), ...rep(0, pad)],
      attentionMask: [...rep(1, q.ids.length + n + 3), ...rep(0, pad)],
      offsets: [z(), ...q.offsets, z(), ...c.offsets.slice(start, stop), z()].concat(
        Array.from({ length: pad }, z),
      ),
      sequenceIds: [null, ...rep(0 as const, q.ids.length), null, ...rep(1 as const, n), null]
        .concat(rep(null, pad)),
    });
    if (stop === c.ids.length) return out;
  }
}

Deno.test({
  name: "every KorQuAD dev pair (KoELECTRA, 384/128): windows equal an independent rebuild",
  ignore: withoutData("korquad/KorQuAD_v1.0_dev.json", "vocab/koelectra-v1-cased-vocab.txt"),
}, async () => {
  const tok = BertTokenizer.fromVocab(shared("vocab/koelectra-v1-cased-vocab.txt"), {
    lowercase: false,
    stripAccents: false,
  });
  const { examples } = await loadSquad(shared("korquad/KorQuAD_v1.0_dev.json"));
  assert.equal(examples.length, 5774);
  // The library's own truncation, for a cross-check where its early exit (tokenizers#2091)
  // cannot bite: the first window always, every window when the context has <= 384 tokens.
  const dir = await Deno.makeTempDir();
  await tok.save(dir);
  const lib = Tokenizer.fromFile(`${dir}/tokenizer.json`);
  await Deno.remove(dir, { recursive: true });
  lib.setTruncation(384, { strategy: "OnlySecond" as never, stride: 128 });
  lib.setPadding({ maxLength: 384 });
  const contexts = new Map<string, TokenWindow>();
  let windows = 0, multi = 0, libChecked = 0;
  for (const ex of examples) {
    const got = await tok.encodePair(ex.question, ex.context, {
      maxLength: 384,
      stride: 128,
      padding: "max_length",
    });
    let c = contexts.get(ex.context);
    if (!c) {
      c = await tok.encode(ex.context, { addSpecialTokens: false });
      // Offsets checked without the tokenizer: each known token is its span of the context.
      c.tokens.forEach((t, i) => {
        if (t !== "[UNK]") assert.equal(ex.context.slice(...c!.offsets[i]), t.replace(/^##/, ""));
      });
      contexts.set(ex.context, c);
    }
    const q = await tok.encode(ex.question, { addSpecialTokens: false });
    const want = expectedWindows(tok, q, c, 384, 128);
    assert.equal(got.length, want.length, ex.id);
    for (let k = 0; k < want.length; k++) {
      if (JSON.stringify(got[k]) !== JSON.stringify(want[k])) {
        assert.deepEqual(got[k], want[k], `${ex.id} window ${k}`);
      }
    }
    const e = await lib.encode(ex.question, ex.context);
    const libWindows = c.ids.length <= 384 ? [e, ...e.getOverflowing()] : [e];
    if (c.ids.length <= 384) assert.equal(libWindows.length, got.length, ex.id);
    libWindows.forEach((l, k) => {
      assert.deepEqual(l.getIds(), got[k].ids, `${ex.id} window ${k} (library)`);
      assert.deepEqual(l.getTypeIds(), got[k].typeIds, `${ex.id} window ${k} (library)`);
      assert.deepEqual(l.getOffsets(), got[k].offsets, `${ex.id} window ${k} (library)`);
      libChecked++;
    });
    windows += got.length;
    if (got.length > 1) multi++;
  }
  console.log(
    `${examples.length} pairs, ${windows} windows, ${multi} pairs with overflow, ` +
      `${libChecked} windows also checked against the library's own truncation`,
  );
  assert.ok(multi > 100);
});

Deno.test("a bad tokenizer.json or vocab.txt is one TokenizerError naming the file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.json`, "{");
  await Deno.writeTextFile(`${dir}/empty.json`, "");
  await Deno.writeTextFile(`${dir}/notok.json`, '{"model": 3}');
  await Deno.mkdir(`${dir}/dir.json`);
  await Deno.writeTextFile(`${dir}/nocls.txt`, "[PAD]\n[UNK]\n[SEP]\n");
  const cases: [() => unknown, string, RegExp][] = [
    [() => BertTokenizer.fromFile(`${dir}/bad.json`), "bad.json", /^invalid JSON/],
    [() => BertTokenizer.fromFile(`${dir}/empty.json`), "empty.json", /^invalid JSON/],
    [() => BertTokenizer.fromFile(`${dir}/notok.json`), "notok.json", /./],
    [() => BertTokenizer.fromFile(`${dir}/dir.json`), "dir.json", /^is a directory$/],
    [() => BertTokenizer.fromFile(`${dir}/none.json`), "none.json", /^no such file$/],
    [
      () => BertTokenizer.fromVocab(`${dir}/nocls.txt`, { lowercase: true }),
      "nocls.txt",
      /^vocab lacks \[CLS\]$/,
    ],
    [
      () => BertTokenizer.fromVocab(`${dir}/none.txt`, { lowercase: true }),
      "none.txt",
      /^no such file$/,
    ],
  ];
  for (const [load, file, what] of cases) {
    assert.throws(load, (e) => {
      assert.ok(e instanceof TokenizerError, String(e));
      assert.equal(e.file, `${dir}/${file}`);
      assert.match(e.what, what);
      assert.ok(!e.message.includes("\n"), "one line");
      return true;
    });
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("without FFI permission a BertTokenizer tokenizes in TypeScript; the flag picks", async () => {
  const script = `
    import { BertTokenizer, tokenizerImpl } from "${new URL("../../mod.ts", import.meta.url)}";
    const tok = BertTokenizer.fromVocabArray(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi"], {
      lowercase: true,
    });
    console.log(tokenizerImpl(), tok.impl, JSON.stringify((await tok.encode("Hi")).ids));
  `;
  const run = async (perms: string[], env: Record<string, string> = {}) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...perms, "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(script));
    await w.close();
    const out = await child.output();
    return new TextDecoder().decode(out.stdout).trim() + new TextDecoder().decode(out.stderr);
  };
  assert.equal(await run(["--allow-read", "--allow-env"]), "ts ts [2,4,3]");
  assert.equal(await run(["-A"]), "native native [2,4,3]");
  assert.equal(await run(["-A"], { WEBGPU_BERT_TOKENIZER: "ts" }), "ts ts [2,4,3]");
  const noFfi = await run(["--allow-read", "--allow-env"], { WEBGPU_BERT_TOKENIZER: "native" });
  assert.match(noFfi, /native tokenizer cannot load.*--tokenizer-impl ts/);
});

Deno.test("--tokenizer-impl is taken out of every CLI's arguments and applied", () => {
  try {
    assert.deepEqual(takeTokenizerImpl(["--data", "x", "--tokenizer-impl=ts"]), ["--data", "x"]);
    assert.equal(BertTokenizer.fromVocabArray(TINY, { lowercase: true }).impl, "ts");
    assert.deepEqual(takeTokenizerImpl(["--tokenizer-impl", "native"]), []);
    assert.equal(tokenizerImpl(), "native");
    assert.throws(() => takeTokenizerImpl(["--tokenizer-impl", "rust"]), UsageError);
  } finally {
    setTokenizerImpl(undefined);
  }
});
