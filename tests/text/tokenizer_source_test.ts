// The one rule that picks a model directory's tokenizer, for Deno and the web page alike.

import assert from "node:assert/strict";
import { DataError, tokenizerSource } from "../../mod.ts";

Deno.test("tokenizerSource: HF's order, casing from tokenizer_config.json, one error line each", () => {
  const cases: [string[], string | null, unknown][] = [
    [["tokenizer.json", "vocab.txt", "x.model"], null, {
      kind: "tokenizer.json",
      file: "tokenizer.json",
    }],
    [["vocab.txt", "tokenizer_78b3253a26.model"], null, {
      kind: "sentencepiece",
      file: "tokenizer_78b3253a26.model",
    }],
    [["vocab.txt"], null, {
      kind: "vocab.txt",
      file: "vocab.txt",
      lowercase: true,
      stripAccents: undefined,
    }],
    [["vocab.txt"], '{"do_lower_case": false, "strip_accents": true}', {
      kind: "vocab.txt",
      file: "vocab.txt",
      lowercase: false,
      stripAccents: true,
    }],
    [["vocab.txt"], '{"do_lower_case": "no"}', {
      kind: "vocab.txt",
      file: "vocab.txt",
      lowercase: true,
      stripAccents: undefined,
    }],
  ];
  for (const [names, config, want] of cases) {
    assert.deepEqual(tokenizerSource("m", names, config), want, names.join(","));
  }
  const bad: [string[], string | null, RegExp][] = [
    [["a.model", "b.model"], null, /^m: several SentencePiece models \(a\.model, b\.model\)$/],
    [["config.json"], null, /^m: no tokenizer\.json, \*\.model or vocab\.txt/],
    [["vocab.txt"], "{", /^m\/tokenizer_config\.json: invalid JSON/],
  ];
  for (const [names, config, want] of bad) {
    assert.throws(() => tokenizerSource("m", names, config), (e) => {
      assert.ok(e instanceof DataError);
      assert.match(e.message, want);
      return true;
    });
  }
});
