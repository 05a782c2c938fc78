// Seeded fuzzing of the pretraining corpus reader: 10,000 byte-level mutations each of a small
// text file, an NSMC-style TSV and a small SQuAD JSON (bits flipped, the file cut, bytes
// inserted or deleted); the only allowed outcomes are a corpus that keeps the reader's promises
// or a one-line DataError naming the file.
import assert from "node:assert/strict";
import { type Corpus, parseCorpus, readCorpus } from "../../src/mlm/corpus.ts";
import { decodeUtf8 } from "../../src/io/text_file.ts";
import { DataError } from "../../src/util/errors.ts";
import { mulberry32 } from "../../src/util/rng.ts";

const enc = new TextEncoder();
const TEXT = enc.encode('\uFEFF첫 번째 문서입니다.\r\n\n  \nsecond document\n{"data": []}\n끝');
const TSV = enc.encode("id\tdocument\tlabel\r\n1\t정말 재밌어요 ㅋㅋ\t1\n2\t \t0\n3\t굳\t1\n");
const SQUAD = enc.encode(JSON.stringify({
  version: "KorQuAD_v1.0_dev",
  data: [
    {
      title: "가",
      paragraphs: [
        { context: "김민준은 1987년에 부산에서 태어났다.", qas: [] },
        { context: " ", qas: [] },
      ],
    },
    { title: "나", paragraphs: [{ context: "김민준은 1987년에 부산에서 태어났다.", qas: [] }] },
  ],
}));
// Bytes worth inserting: structure of both formats, line ends, a BOM, and UTF-8 fragments.
const INSERTS = [
  "\n",
  "\r\n",
  "\r",
  " ",
  "{",
  "}",
  "[",
  "]",
  '"',
  ",",
  ":",
  '"data"',
  '"context"',
  "\t",
  "document",
  "null",
  "\uFEFF",
  "\u0000",
].map((s) => enc.encode(s)).concat([new Uint8Array([0xc3]), new Uint8Array([0xed, 0xa0, 0x80])]);

function mutate(valid: Uint8Array, r: () => number): Uint8Array {
  let b = valid.slice();
  const at = () => Math.floor(r() * (b.length + 1));
  for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
    const kind = Math.floor(r() * 4);
    if (kind === 0 && b.length > 0) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
    else if (kind === 1) b = b.slice(0, at());
    else if (kind === 2) {
      const i = at();
      const piece = INSERTS[Math.floor(r() * INSERTS.length)];
      b = new Uint8Array([...b.subarray(0, i), ...piece, ...b.subarray(i)]);
    } else {
      const i = at();
      b = new Uint8Array([...b.subarray(0, i), ...b.subarray(i + 1 + Math.floor(r() * 4))]);
    }
  }
  return b;
}

function check(c: Corpus, path: string): void {
  assert.equal(c.sources.length, 1);
  const s = c.sources[0];
  assert.equal(s.path, path);
  assert.ok(c.docs.length > 0 && s.documents === c.docs.length);
  for (const d of c.docs) assert.ok(typeof d === "string" && d.trim() !== "", JSON.stringify(d));
  for (const n of [s.blank, s.repeated]) assert.ok(Number.isInteger(n) && n >= 0);
  if (s.format === "squad") assert.equal(new Set(c.docs).size, c.docs.length);
  else if (s.format === "tsv") { for (const d of c.docs) assert.ok(!/[\t\r\n]/.test(d), d); }
  else {
    assert.equal(s.repeated, 0);
    for (const d of c.docs) assert.ok(!/[\r\n]/.test(d), JSON.stringify(d));
  }
}

// The reader is readUtf8 then parseCorpus; most mutations go through their in-memory halves
// (decodeUtf8 then parseCorpus), and every 50th through a real file and readCorpus.
async function load(bytes: Uint8Array, path: string, viaFile: boolean): Promise<Corpus> {
  if (!viaFile) {
    const { docs, source } = parseCorpus(decodeUtf8(bytes, path), path);
    return { docs, sources: [source] };
  }
  await Deno.writeFile(path, bytes);
  return await readCorpus([path]);
}

for (const [name, valid] of [["text", TEXT], ["TSV", TSV], ["SQuAD", SQUAD]] as const) {
  Deno.test(`${name}: 10,000 mutated files give a corpus or a DataError naming the file`, async () => {
    const dir = await Deno.makeTempDir();
    const r = mulberry32(name.length * 7919);
    let loaded = 0, refused = 0;
    try {
      for (let i = 0; i < 10_000; i++) {
        // SQuAD and TSV files are named by their format half the time, and detected by content
        // the other half.
        const ext = i % 2 === 0
          ? "txt"
          : name === "SQuAD"
          ? "json"
          : name === "TSV"
          ? "tsv"
          : "txt";
        const path = `${dir}/f${i % 2}.${ext}`;
        const bytes = mutate(valid, r);
        try {
          check(await load(bytes, path, i % 50 === 0), path);
          loaded++;
        } catch (e) {
          if (!(e instanceof DataError)) {
            throw new Error(
              `mutation ${i} ${JSON.stringify(new TextDecoder().decode(bytes))}: ${e}`,
            );
          }
          assert.equal(e.file, path);
          assert.ok(e.message.startsWith(`${path}: `) && !e.message.includes("\n"), e.message);
          refused++;
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    // Both outcomes occur often, so the mutations reach past the first check.
    assert.ok(loaded > 1000 && refused > 100, `loaded ${loaded}, refused ${refused}`);
  });
}
