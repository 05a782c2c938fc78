// deno task fill-mask: a table per mask, then one JSON line equal to fillMask's result on the
// same directory (HF's pipeline format); user mistakes are one `error:` line and exit 2.

import assert from "node:assert/strict";
import {
  bertConfig,
  BertForMaskedLM,
  BertTokenizer,
  fillMask,
  type FillMaskCandidate,
  initGpu,
  loadMaskedLmDir,
  saveModel,
} from "../../mod.ts";
import { errorLines, runScript } from "./_run.ts";

await initGpu();

const VOCAB = [
  ...["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "."],
  ...["dog", "ran", "##s", "a"],
];

async function modelDir(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const cfg = bertConfig({
    vocab_size: VOCAB.length,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 32,
  });
  const model = new BertForMaskedLM(cfg, { seed: 3 });
  await saveModel(model, cfg, dir);
  model.dispose();
  await BertTokenizer.fromVocabArray(VOCAB, { lowercase: true }).save(dir);
  return dir;
}

/** What the library returns for `text` on `dir`, as the CLI's JSON line must hold it. */
async function expected(dir: string, text: string, topK?: number): Promise<unknown> {
  const { model, tokenizer } = await loadMaskedLmDir(dir);
  const masks = await fillMask(model, tokenizer, text, { topK });
  model.dispose();
  return masks.length === 1 ? masks[0] : masks;
}

/** The first cell of each table row (rank) after a header line starting "rank". */
function tableRows(stdout: string): string[][] {
  return stdout.split("\n").filter((l) => /^\d+\s/.test(l)).map((l) => l.split(/\s{2,}/));
}

Deno.test("fill-mask prints a table, then the pipeline's JSON: 5 by default, --top-k, two masks", async () => {
  const dir = await modelDir();
  const one = "The cat [MASK] on the mat.";
  const two = "The [MASK] sat on the [MASK].";
  const [r1, r2, rk] = await Promise.all([
    runScript("fill_mask", ["--model", dir, "--text", one]),
    runScript("fill_mask", ["--model", dir, "--text", two]),
    runScript("fill_mask", ["--model", dir, "--text", one, "--top-k", "2"]),
  ]);
  for (const r of [r1, r2, rk]) assert.equal(r.code, 0, r.stderr);

  const last = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);
  const j1 = last(r1.stdout) as FillMaskCandidate[];
  assert.equal(j1.length, 5);
  for (const c of j1) assert.deepEqual(Object.keys(c), ["score", "token", "token_str", "sequence"]);
  assert.deepEqual(j1, await expected(dir, one));
  const head = r1.stdout.split("\n").find((l) => l.startsWith("rank"));
  assert.match(head ?? "", /^rank\s+score\s+id\s+token\s+sequence$/);
  const rows = tableRows(r1.stdout);
  assert.equal(rows.length, 5);
  rows.forEach((row, i) => {
    assert.deepEqual(row, [
      String(i + 1),
      j1[i].score.toFixed(4),
      String(j1[i].token),
      j1[i].token_str,
      j1[i].sequence,
    ]);
  });

  const j2 = last(r2.stdout) as FillMaskCandidate[][];
  assert.equal(j2.length, 2);
  assert.ok(j2.every((l) => l.length === 5));
  assert.deepEqual(j2, await expected(dir, two));
  assert.match(j2[0][0].sequence, /^\[CLS\] the .* sat on the \[MASK\]\. \[SEP\]$/);
  assert.match(r2.stdout, /^\[MASK\] 1 of 2$/m);
  assert.match(r2.stdout, /^\[MASK\] 2 of 2$/m);
  assert.equal(tableRows(r2.stdout).length, 10);

  const jk = last(rk.stdout) as FillMaskCandidate[];
  assert.deepEqual(jk, j1.slice(0, 2));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fill-mask: no mask, a missing model dir, bad flags: one error line, exit 2; --help", async () => {
  const dir = await modelDir();
  const [noMask, noDir, badK, noText, help] = await Promise.all([
    runScript("fill_mask", ["--model", dir, "--text", "the cat sat."]),
    runScript("fill_mask", ["--model", `${dir}/nope`, "--text", "a [MASK]."]),
    runScript("fill_mask", ["--model", dir, "--text", "a [MASK].", "--top-k", "0"]),
    runScript("fill_mask", ["--model", dir]),
    runScript("fill_mask", ["--help"]),
  ]);
  const cases: [string, typeof noMask, RegExp][] = [
    ["no mask", noMask, /^error: --text: the text has no \[MASK\] token$/],
    ["missing dir", noDir, /^error: \S+\/nope: model directory not found$/],
    ["--top-k 0", badK, /^error: .*top-k/],
    ["no --text", noText, /^error: --text is required$/],
  ];
  for (const [what, r, re] of cases) {
    assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stderr}`);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, `${what}: ${r.stderr}`);
    assert.match(errs[0], re, what);
    assert.ok(!/^\s+at /m.test(r.stderr), `${what}: stack trace`);
    assert.equal(r.stdout.trim(), "", `${what}: nothing on stdout`);
  }
  assert.equal(help.code, 0, help.stderr);
  assert.ok(help.stdout.startsWith("usage: deno task fill-mask"), help.stdout);
  for (const flag of ["--model", "--text", "--top-k", "--help"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  await Deno.remove(dir, { recursive: true });
});
