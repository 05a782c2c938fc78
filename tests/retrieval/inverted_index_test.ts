import assert from "node:assert/strict";
import { DataError, InvertedIndex, MAX_TF } from "../../mod.ts";

const DOCS = [["a", "b", "a"], ["c"], ["b", "c", "c", "d"], []];
const build = () =>
  InvertedIndex.build(DOCS.length, (from, to) => Promise.resolve(DOCS.slice(from, to)));

Deno.test("build: CSR postings in passage order, frequencies and lengths", async () => {
  const ix = await build();
  assert.deepEqual(ix.terms, ["a", "b", "c", "d"]);
  assert.deepEqual([...ix.starts], [0, 1, 3, 5, 6]);
  assert.deepEqual([...ix.docs], [0, 0, 2, 1, 2, 2]);
  assert.deepEqual([...ix.tfs], [2, 1, 1, 1, 2, 1]);
  assert.deepEqual([...ix.docLengths], [3, 1, 4, 0]);
  assert.deepEqual(ix.sizes, { docs: 4, terms: 4, postings: 6 });
});

Deno.test("build: more than one batch, and frequencies saturate at MAX_TF", async () => {
  const n = 600; // > one batch of 256
  const big = Array.from({ length: MAX_TF + 5 }, () => "x");
  const docs = Array.from({ length: n }, (_, i) => i === 599 ? big : [`t${i % 7}`, "x"]);
  const ix = await InvertedIndex.build(n, (f, t) => Promise.resolve(docs.slice(f, t)));
  const x = ix.postingsOf(ix.termIds.get("x")!);
  assert.equal(x.docs.length, n);
  assert.deepEqual([...x.docs.slice(0, 3)], [0, 1, 2]);
  assert.equal(x.tfs[n - 1], MAX_TF);
  assert.equal(ix.docLengths[n - 1], MAX_TF + 5);
  const dir = await Deno.makeTempDir();
  await ix.save(dir);
  assert.deepEqual([...(await InvertedIndex.load(dir, ix.sizes)).tfs], [...ix.tfs]);
});

Deno.test("save/load round trip", async () => {
  const ix = await build();
  const dir = await Deno.makeTempDir();
  await ix.save(dir);
  const back = await InvertedIndex.load(dir, ix.sizes);
  assert.deepEqual(back.terms, ix.terms);
  for (const k of ["starts", "docs", "tfs", "docLengths"] as const) {
    assert.deepEqual([...back[k]], [...ix[k]], k);
  }
});

Deno.test("load: a torn, flipped or mismatched file is a DataError naming it", async () => {
  const ix = await build();
  const dir = await Deno.makeTempDir();
  await ix.save(dir);
  const bin = `${dir}/postings.bin`;
  const good = await Deno.readFile(bin);
  const cases: [string, (b: Uint8Array) => Uint8Array][] = [
    ["torn", (b) => b.slice(0, b.length - 4)],
    ["a passage index out of range", (b) => b.with(4 * 5, 9)], // docs[0] = 9
    ["a frequency changed", (b) => b.with(4 * 5 + 4 * 6, 3)], // tfs[0] = 3
    ["a length changed", (b) => b.with(b.length - 4, 7)], // docLengths[3] = 7
  ];
  for (const [what, damage] of cases) {
    await Deno.writeFile(bin, damage(good));
    await assert.rejects(
      InvertedIndex.load(dir, ix.sizes),
      (e) => e instanceof DataError && e.file === bin,
      what,
    );
  }
  await Deno.writeFile(bin, good);
  await assert.rejects(InvertedIndex.load(dir, { ...ix.sizes, terms: 5 }), /terms\.json/);
  await Deno.writeTextFile(`${dir}/terms.json`, '["a", "a", "c", "d"]');
  await assert.rejects(InvertedIndex.load(dir, ix.sizes), /repeated terms/);
  await Deno.remove(bin);
  await assert.rejects(InvertedIndex.load(dir, ix.sizes), DataError);
});
