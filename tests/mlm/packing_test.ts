// Packing as run_mlm.py's group_texts: whole documents as [CLS] … [SEP], concatenated, cut into
// full blocks, the remainder dropped; and the special-token flags beside the ids.

import assert from "node:assert/strict";
import { packDocuments, packedBlock } from "../../src/mlm/packing.ts";
import { readCorpus } from "../../src/mlm/corpus.ts";
import { BertTokenizer } from "../../src/text/tokenizer.ts";
import { shared, withoutData } from "../_data.ts";

const tok = BertTokenizer.fromVocabArray(
  ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d"],
  { lowercase: true },
);

Deno.test("documents are concatenated and cut into full blocks, the remainder dropped", async () => {
  // [2 5 6 7 3] [2 8 3] [2 5 5 5 5 3] = 14 tokens.
  const docs = ["a b c", "d", "a a a a"];
  const p = await packDocuments(tok, docs, { maxSeqLength: 4 });
  assert.equal(p.seqLength, 4);
  assert.equal(p.count, 3);
  assert.deepEqual([...p.ids], [2, 5, 6, 7, 3, 2, 8, 3, 2, 5, 5, 5]);
  assert.deepEqual([...p.special], [1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0]);
  assert.equal(p.totalTokens, 14);
  assert.equal(p.dropped, 2);
  assert.deepEqual([...packedBlock(p, 1).ids], [3, 2, 8, 3]);
  assert.deepEqual([...packedBlock(p, 1).special], [1, 1, 0, 1]);
  assert.throws(() => packedBlock(p, 3), RangeError);
  // An exact multiple drops nothing.
  assert.equal((await packDocuments(tok, docs, { maxSeqLength: 7 })).dropped, 0);
});

Deno.test("a long document spans blocks (no truncation); a short corpus is one short block", async () => {
  const long = Array.from({ length: 300 }, (_, i) => "abcd"[i % 4]).join(" ");
  const p = await packDocuments(tok, [long], { maxSeqLength: 128 });
  assert.equal(p.totalTokens, 302);
  assert.equal(p.count, 2);
  assert.equal(p.dropped, 46);
  assert.equal(p.special.reduce((s, x) => s + x, 0), 1);

  const short = await packDocuments(tok, ["a b", "c"], { maxSeqLength: 128 });
  assert.equal(short.seqLength, 7);
  assert.equal(short.count, 1);
  assert.equal(short.dropped, 0);
  assert.deepEqual([...short.ids], [2, 5, 6, 3, 2, 7, 3]);
});

Deno.test("the special flags mark [CLS]/[SEP]/[PAD] ids, added or written in the text", async () => {
  const p = await packDocuments(tok, ["a [SEP] b [PAD]", "[MASK] c"], { maxSeqLength: 3 });
  const ids = [...p.ids];
  assert.deepEqual(ids, [2, 5, 3, 6, 0, 3, 2, 4, 7]);
  assert.deepEqual([...p.special], [1, 0, 1, 0, 1, 1, 1, 0, 0]);
});

Deno.test("concurrency and progress do not change the blocks", async () => {
  const docs = Array.from({ length: 50 }, (_, i) => "a b c d".slice(0, 1 + (i % 7)));
  const seen: number[] = [];
  const a = await packDocuments(tok, docs, {
    maxSeqLength: 16,
    concurrency: 1,
    onProgress: (done, total) => {
      assert.equal(total, 50);
      seen.push(done);
    },
  });
  const b = await packDocuments(tok, docs, { maxSeqLength: 16, concurrency: 1000 });
  assert.deepEqual(a, b);
  assert.equal(seen.length, 50);
  assert.equal(seen.at(-1), 50);
  await assert.rejects(() => packDocuments(tok, docs, { maxSeqLength: 0 }), RangeError);
});

Deno.test({
  name: "KorQuAD dev contexts + NSMC documents, KoELECTRA vocab, 128-token blocks (timed)",
  ignore: withoutData(
    "korquad/KorQuAD_v1.0_dev.json",
    "nsmc/ratings_test.txt",
    "vocab/koelectra-v1-cased-vocab.txt",
  ),
  async fn() {
    const ko = BertTokenizer.fromVocab(shared("vocab/koelectra-v1-cased-vocab.txt"), {
      lowercase: false,
    });
    const corpus = await readCorpus([
      shared("korquad/KorQuAD_v1.0_dev.json"),
      shared("nsmc/ratings_test.txt"),
    ]);
    assert.equal(corpus.docs.length, 961 + 49997);

    const t0 = performance.now();
    const p = await packDocuments(ko, corpus.docs, { maxSeqLength: 128 });
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `packed ${corpus.docs.length} documents, ${p.totalTokens} tokens into ${p.count} blocks ` +
        `in ${seconds.toFixed(1)} s`,
    );
    assert.equal(p.count, Math.floor(p.totalTokens / 128));
    assert.equal(p.ids.length, p.count * 128);
    // Every document gives one [CLS] and one [SEP]; all but those in the dropped tail are kept.
    let flagged = 0;
    for (let i = 0; i < p.ids.length; i++) {
      const isSpecial = p.ids[i] === ko.clsId || p.ids[i] === ko.sepId;
      assert.equal(p.special[i], isSpecial ? 1 : 0, `token ${i}`);
      flagged += p.special[i];
    }
    assert.ok(flagged >= 2 * corpus.docs.length - p.dropped, `${flagged} special tokens`);
    // Generous: about 6 s on 2 loaded cores.
    assert.ok(seconds < 60, `${seconds} s`);
  },
});
