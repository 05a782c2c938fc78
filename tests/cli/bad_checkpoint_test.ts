// Every CLI that loads a model (eval, predict, train, fill-mask) refuses every malformed
// checkpoint and config with one line `error: <path>: <what>`, exit code 2, no stack trace.

import assert from "node:assert/strict";
import { BertTokenizer } from "../../mod.ts";
import { copyFixture, fixture } from "../_data.ts";
import { errorLines, quickTrain, runScript } from "./_run.ts";

const FIXTURE = `${fixture("bert_qa_odd")}/`;

function header(
  bytes: Uint8Array,
): { n: number; json: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> } {
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  return { n, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) };
}

function withHeader(bytes: Uint8Array, json: unknown): Uint8Array {
  const { n } = header(bytes);
  let h = new TextEncoder().encode(JSON.stringify(json));
  const pad = (8 - (h.length % 8)) % 8;
  h = new Uint8Array([...h, ...new Array(pad).fill(32)]);
  const out = new Uint8Array(8 + h.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(bytes.subarray(8 + n), 8 + h.length);
  return out;
}

type Fault = [string, (w: Uint8Array) => Uint8Array, RegExp];
const KEY = "bert.encoder.layer.1.attention.self.key.weight";
const FAULTS: Fault[] = [
  ["empty file", () => new Uint8Array(0), /model\.safetensors/],
  ["header past the end", (w) => {
    const c = w.slice();
    new DataView(c.buffer).setBigUint64(0, 1n << 40n, true);
    return c;
  }, /header length/],
  ["header not JSON", (w) => {
    const c = w.slice();
    c.fill(0x7b, 8, 20);
    return c;
  }, /JSON/],
  ["unknown dtype", (w) => {
    const { json } = header(w);
    json[KEY].dtype = "Q7";
    return withHeader(w, json);
  }, /dtype/],
  ["shape/size mismatch", (w) => {
    const { json } = header(w);
    json[KEY].shape = [24, 25];
    return withHeader(w, json);
  }, /shape|size|bytes/],
  ["offsets out of bounds", (w) => {
    const { json } = header(w);
    const last = Object.values(json).filter((v) =>
      v.data_offsets
    ).sort((a, b) => b.data_offsets[1] - a.data_offsets[1])[0];
    last.data_offsets = [last.data_offsets[0] + 8, last.data_offsets[1] + 8];
    return withHeader(w, json);
  }, /offset|bounds|end/],
  ["overlapping offsets", (w) => {
    const { json } = header(w);
    const a = json[KEY];
    const len = a.data_offsets[1] - a.data_offsets[0];
    a.data_offsets = [a.data_offsets[0] - 4, a.data_offsets[0] - 4 + len];
    return withHeader(w, json);
  }, /overlap|gap/],
  ["missing tensor", (w) => {
    const { json } = header(w);
    const off = json[KEY].data_offsets;
    delete json[KEY];
    // Drop its bytes too, shifting later tensors, so the file is otherwise valid.
    const size = off[1] - off[0];
    for (const v of Object.values(json)) {
      if (v.data_offsets && v.data_offsets[0] >= off[1]) {
        v.data_offsets = v.data_offsets.map((x) => x - size);
      }
    }
    const { n } = header(w);
    const data = w.subarray(8 + n);
    const cut = new Uint8Array([...data.subarray(0, off[0]), ...data.subarray(off[1])]);
    return withHeader(new Uint8Array([...w.subarray(0, 8 + n), ...cut]), json);
  }, /missing tensor/],
  ["truncated file", (w) => w.slice(0, w.length - 100), /offset|bounds|end|truncat|size/],
];

async function modelDir(): Promise<string> {
  const dir = await copyFixture();
  const vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
  for (let i = vocab.length; i < 50; i++) vocab.push(`t${i}`);
  await BertTokenizer.fromVocabArray(vocab, { lowercase: false }).save(dir);
  return dir;
}

async function refusedByAll(dir: string, re: RegExp, what: string): Promise<void> {
  const data = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    data,
    JSON.stringify({
      data: [{
        title: "t",
        paragraphs: [{
          context: "a b",
          qas: [{ id: "1", question: "a", answers: [{ text: "b", answer_start: 2 }] }],
        }],
      }],
    }),
  );
  const runs = [
    runScript("eval", ["--model", dir, "--data", data]),
    runScript("predict", ["--model", dir, "--question", "q", "--context", "c"]),
    runScript("train", ["--model", dir, "--train", data, "--eval", data, "--max-steps", "1"]),
    runScript("fill_mask", ["--model", dir, "--text", "t5 [MASK] t6"]),
  ];
  for (const [i, p] of runs.entries()) {
    const r = await p;
    const errs = errorLines(r.stderr);
    const who = `${["eval", "predict", "train", "fill-mask"][i]} / ${what}`;
    assert.equal(r.code, 2, `${who}: exit ${r.code}\n${r.stderr}`);
    assert.equal(errs.length, 1, `${who}: ${r.stderr}`);
    assert.match(
      errs[0],
      new RegExp(`^error: ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/?\\S*: `),
      who,
    );
    assert.match(errs[0], re, who);
    assert.ok(!/^\s+at /m.test(r.stderr), `${who}: stack trace`);
  }
  await Deno.remove(data);
}

Deno.test("every safetensors fault is refused by eval, predict, train and fill-mask", async () => {
  const good = await Deno.readFile(`${FIXTURE}model.safetensors`);
  for (const [what, make, re] of FAULTS) {
    const dir = await modelDir();
    await Deno.writeFile(`${dir}/model.safetensors`, make(good));
    await refusedByAll(dir, re, what);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every config fault is refused by eval, predict, train and fill-mask", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(`${FIXTURE}config.json`));
  const cases: [string, string, RegExp][] = [
    ["invalid JSON", "{ not json", /invalid JSON/],
    ["sizes disagree with the weights", JSON.stringify({ ...cfg, intermediate_size: 40 }), /shape/],
    [
      "heads do not divide hidden",
      JSON.stringify({ ...cfg, num_attention_heads: 5 }),
      /does not divide/,
    ],
  ];
  for (const [what, text, re] of cases) {
    const dir = await modelDir();
    await Deno.writeTextFile(`${dir}/config.json`, text);
    await refusedByAll(dir, re, what);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every run-integrity fault is refused by --resume with one line, exit 2", async () => {
  const run = await quickTrain();
  const pointer = JSON.parse(await Deno.readTextFile(`${run}/trainer_state.json`));
  const ck = pointer.checkpoint as string;
  const faults: [string, (dir: string) => Promise<void>, RegExp][] = [
    ["a corrupted byte", async (dir) => {
      const path = `${dir}/${ck}/model.safetensors`;
      const bytes = await Deno.readFile(path);
      bytes[bytes.length - 3] ^= 0x40;
      await Deno.writeFile(path, bytes);
    }, /model\.safetensors: sha256 does not match trainer_state\.json$/],
    [
      "a missing file",
      (dir) => Deno.remove(`${dir}/${ck}/optimizer.safetensors`),
      /optimizer\.safetensors: missing$/,
    ],
    [
      "trainer_state.json not JSON",
      (dir) => Deno.writeTextFile(`${dir}/trainer_state.json`, "{ not json"),
      /trainer_state\.json: unreadable/,
    ],
    [
      "trainer_state.json pointing outside the run",
      (dir) =>
        Deno.writeTextFile(
          `${dir}/trainer_state.json`,
          JSON.stringify({ ...pointer, checkpoint: "../elsewhere" }),
        ),
      /trainer_state\.json: malformed trainer state$/,
    ],
    ["an unsafe file name", (dir) =>
      Deno.writeTextFile(
        `${dir}/trainer_state.json`,
        JSON.stringify({ ...pointer, sha256: { ...pointer.sha256, "../../etc/passwd": "00" } }),
      ), /trainer_state\.json: bad file name \.\.\/\.\.\/etc\/passwd$/],
  ];
  for (const [what, damage, re] of faults) {
    const dir = await Deno.makeTempDir();
    const cp = await new Deno.Command("cp", { args: ["-a", `${run}/.`, dir] }).output();
    assert.ok(cp.success, `copy of the run for ${what}`);
    await damage(dir);
    const r = await runScript("train", ["--resume", dir]);
    const errs = errorLines(r.stderr);
    assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stderr}`);
    assert.equal(errs.length, 1, `${what}: ${r.stderr}`);
    assert.match(errs[0], re, what);
    assert.ok(!/^\s+at /m.test(r.stderr), `${what}: stack trace`);
    await Deno.remove(dir, { recursive: true });
  }
  await Deno.remove(run, { recursive: true });
});
