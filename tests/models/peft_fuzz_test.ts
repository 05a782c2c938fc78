// Seeded fuzzing of the PEFT adapter loader (issue 17's rule): 10,000 mutations of
// adapter_config.json and adapter_model.safetensors bytes, read through an in-memory Files;
// the only allowed outcomes are a loaded adapter or a UserError naming the file.

import assert from "node:assert/strict";
import { rng } from "../_helpers.ts";
import {
  applyLora,
  bertConfig,
  BertForQuestionAnswering,
  bytesSource,
  type Files,
  loadAdapter,
  loraStateOf,
  saveAdapter,
  UserError,
} from "../../mod.ts";

const cfg = bertConfig({
  vocab_size: 20,
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 12,
  max_position_embeddings: 16,
});

/** Files over a map of paths to bytes; writes land in the map. */
function memFiles(store: Map<string, Uint8Array>): Files {
  const chunks = async (data: Parameters<Files["writeAtomic"]>[1]) => {
    if (data instanceof Uint8Array) return data;
    const parts: Uint8Array[] = [];
    for await (const c of data as AsyncIterable<Uint8Array>) parts.push(c);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) (out.set(p, at), at += p.length);
    return out;
  };
  return {
    stat: (p) => {
      const b = store.get(p);
      return Promise.resolve(b ? { isFile: true, isDirectory: false, size: b.length } : null);
    },
    readFile: (p) => Promise.resolve(store.get(p)!.slice()),
    open: (p) => Promise.resolve(bytesSource(store.get(p)!)),
    mkdir: () => Promise.resolve(),
    writeAtomic: async (p, data) => void store.set(p, await chunks(data)),
  };
}

// A valid adapter (r 2 on query and value, qa_outputs saved) as the seed of every mutation.
const valid = new Map<string, Uint8Array>();
{
  const m = new BertForQuestionAnswering(cfg, { seed: 1 });
  applyLora(m, { r: 2, alpha: 4, targets: ["query", "value"], seed: 3 });
  await saveAdapter(m, "a", { files: memFiles(valid), baseModel: "tiny" });
  m.dispose();
}
const CONFIG = "a/adapter_config.json";
const WEIGHTS = "a/adapter_model.safetensors";

const VALUES = [0, -1, 1, 2.5, 1e12, "", "LORA", null, true, [], {}, ["query"], "q.*", NaN, [1]];

function flip(b: Uint8Array, r: () => number): Uint8Array {
  const out = b.slice();
  for (let k = 0; k < 1 + r() * 4; k++) out[Math.floor(r() * out.length)] ^= 1 << (r() * 8 | 0);
  return out;
}

function mutateConfig(r: () => number): Uint8Array {
  const text = new TextDecoder().decode(valid.get(CONFIG));
  const kind = Math.floor(r() * 4);
  if (kind === 0) return flip(valid.get(CONFIG)!, r);
  if (kind === 1) return new TextEncoder().encode(text.slice(0, Math.floor(r() * text.length)));
  const obj = JSON.parse(text);
  const keys = Object.keys(obj);
  for (let k = 0; k < 1 + r() * 3; k++) {
    const key = kind === 2 ? keys[Math.floor(r() * keys.length)] : `x${Math.floor(r() * 5)}`;
    if (r() < 0.2) delete obj[key];
    else obj[key] = VALUES[Math.floor(r() * VALUES.length)];
  }
  return new TextEncoder().encode(JSON.stringify(obj));
}

/** The safetensors header as JSON, edited, and put back in front of the same data. */
function editHeader(bytes: Uint8Array, r: () => number): Uint8Array {
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const name = names[Math.floor(r() * names.length)];
  const e = header[name];
  const pick = Math.floor(r() * 6);
  if (pick === 0) e.shape = e.shape.map((d: number) => d + (r() < 0.5 ? 1 : -1));
  else if (pick === 1) e.shape = [...e.shape].reverse();
  else if (pick === 2) e.dtype = ["F16", "BF16", "I64", "F64", "U8", "X"][Math.floor(r() * 6)];
  else if (pick === 3) {
    e.data_offsets = e.data_offsets.map((o: number) => o + Math.floor(r() * 9) - 4);
  } else if (pick === 4) {
    header[
      name.replace(
        /lora_[AB]|qa_outputs/,
        ["lora_C", "classifier", "lora_A.default"][Math.floor(r() * 3)],
      )
    ] = e;
    delete header[name];
  } else delete header[name];
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(bytes.subarray(8 + n), 8 + h.length);
  return out;
}

function mutateWeights(r: () => number): Uint8Array {
  const b = valid.get(WEIGHTS)!;
  const kind = Math.floor(r() * 4);
  if (kind === 0) return flip(b, r);
  if (kind === 1) return b.slice(0, Math.floor(r() * b.length));
  if (kind === 2) return editHeader(b, r);
  // Flips in the first 8 bytes (the header length) or the header itself.
  const out = b.slice();
  const n = Number(new DataView(b.buffer).getBigUint64(0, true));
  out[Math.floor(r() * (8 + n))] ^= 1 << (r() * 8 | 0);
  return out;
}

Deno.test("10,000 mutated adapter files load or give a UserError naming the file, nothing else", async () => {
  const r = rng(1717);
  let model = new BertForQuestionAnswering(cfg, { seed: 1 });
  const outcomes = { loaded: 0, refused: 0 };
  for (let i = 0; i < 10_000; i++) {
    const store = new Map(valid);
    const which = r() < 0.5 ? CONFIG : WEIGHTS;
    store.set(which, which === CONFIG ? mutateConfig(r) : mutateWeights(r));
    try {
      await loadAdapter(model, "a", { files: memFiles(store) });
      outcomes.loaded++;
    } catch (e) {
      if (!(e instanceof UserError)) {
        throw new Error(`case ${i} (${which}): ${e instanceof Error ? e.stack : e}`);
      }
      assert.ok(
        e.message.startsWith(`${CONFIG}: `) || e.message.startsWith(`${WEIGHTS}: `),
        `case ${i}: ${e.message}`,
      );
      assert.ok(!e.message.includes("\n"), `case ${i}: one line`);
      outcomes.refused++;
    }
    // A model the loader adapted (in full or before refusing a key) cannot take another.
    if (loraStateOf(model)) {
      model.dispose();
      model = new BertForQuestionAnswering(cfg, { seed: 1 });
    }
  }
  model.dispose();
  // Both outcomes happen often: the mutations reach past the parsers.
  assert.ok(outcomes.loaded > 500 && outcomes.refused > 5000, JSON.stringify(outcomes));
});
