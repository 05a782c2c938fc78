// The synthetic Korean QA generator: determinism, exact answer spans, particles outside spans,
// distractors, long contexts and spread answer positions. Pure TypeScript: no GPU needed.

import assert from "node:assert/strict";
import {
  defaultSplits,
  generateKoreanQa,
  generateKoreanQaWithMeta,
  koreanQaCharset,
  type SquadJson,
} from "../../src/qa/synthetic.ts";
import { mulberry32 } from "../../src/util/rng.ts";

const qasOf = (s: SquadJson) =>
  s.data.flatMap((a) => a.paragraphs.flatMap((p) => p.qas.map((q) => ({ p, q }))));
const contextsOf = (s: SquadJson) => s.data.flatMap((a) => a.paragraphs.map((p) => p.context));

const { squad, meta } = generateKoreanQaWithMeta({ seed: 7, articles: 60 });
const all = qasOf(squad);

/** 0: vowel-final, 1: consonant-final, 2: ㄹ-final (an independent copy of the rule). */
function finalOf(word: string): number {
  const c = [...word.replace(/[》\s]+$/, "")].at(-1)!;
  const digits = "영일이삼사오육칠팔구";
  const ch = /[0-9]/.test(c) ? digits[Number(c)] : c;
  const jong = (ch.charCodeAt(0) - 0xac00) % 28;
  return jong === 0 ? 0 : jong === 8 ? 2 : 1;
}

Deno.test("mulberry32 is seeded and in [0, 1)", () => {
  const a = mulberry32(5), b = mulberry32(5), c = mulberry32(6);
  const xs = Array.from({ length: 100 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b()));
  assert.notEqual(xs[0], c());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

Deno.test("same seed gives byte-identical JSON, another seed differs", () => {
  const a = JSON.stringify(generateKoreanQa({ seed: 11, articles: 8 }));
  const b = JSON.stringify(generateKoreanQa({ seed: 11, articles: 8 }));
  const c = JSON.stringify(generateKoreanQa({ seed: 12, articles: 8 }));
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.equal(JSON.stringify(defaultSplits(3)), JSON.stringify(defaultSplits(3)));
});

Deno.test("SQuAD v1.1 shape, unique ids, requested sizes", () => {
  assert.equal(typeof squad.version, "string");
  assert.equal(squad.data.length, 60);
  for (const a of squad.data) {
    assert.ok(a.title.length > 0);
    assert.equal(a.paragraphs.length, 4);
    for (const p of a.paragraphs) assert.equal(p.qas.length, 3);
  }
  assert.equal(new Set(all.map(({ q }) => q.id)).size, all.length);
  const s = defaultSplits(0);
  assert.equal(qasOf(s.train).length, 10000);
  assert.equal(qasOf(s.eval).length, 300);
  const small = defaultSplits(0, { trainQuestions: 31, evalQuestions: 7 });
  assert.equal(qasOf(small.train).length, 31);
  assert.equal(qasOf(small.eval).length, 7);
  const ids = [...qasOf(s.train), ...qasOf(s.eval)].map(({ q }) => q.id);
  assert.equal(new Set(ids).size, ids.length);
});

Deno.test("every answer is non-empty and answer_start indexes its text (UTF-16)", () => {
  for (const { p, q } of all) {
    assert.equal(q.answers.length, 1);
    const { text, answer_start } = q.answers[0];
    assert.ok(text.length > 0 && text.trim() === text, q.id);
    assert.equal(p.context.slice(answer_start, answer_start + text.length), text, q.id);
  }
});

Deno.test("particles follow answers outside the span and agree with the final consonant", () => {
  // Each particle form and the finals it may follow (copulas 이다 and 이었다/였다 as written).
  const forms: [string, number[]][] = [
    ["이었다", [1, 2]],
    ["였다", [0]],
    ["이다", [0, 1, 2]],
    ["에서", [0, 1, 2]],
    ["에는", [0, 1, 2]],
    ["에", [0, 1, 2]],
    ["의", [0, 1, 2]],
    ["으로", [1]],
    ["로", [0, 2]],
    ["은", [1, 2]],
    ["는", [0]],
    ["이", [1, 2]],
    ["가", [0]],
    ["을", [1, 2]],
    ["를", [0]],
  ];
  let withParticle = 0;
  for (const { p, q } of all) {
    const { text, answer_start } = q.answers[0];
    const rest = p.context.slice(answer_start + text.length);
    if (rest === "" || /^[\s.,》]/.test(rest)) continue;
    const f = forms.find(([form]) => rest.startsWith(form));
    assert.ok(f, `${q.id}: "${text}" followed by "${rest.slice(0, 4)}"`);
    assert.ok(f[1].includes(finalOf(text)), `${q.id}: "${text}${f[0]}"`);
    withParticle++;
  }
  assert.ok(withParticle > all.length * 0.4, `only ${withParticle} answers carry a particle`);
});

Deno.test("the subject is in question and context; most questions have same-type distractors", () => {
  let withDistractor = 0;
  for (const { p, q } of all) {
    const m = meta[q.id];
    assert.ok(q.question.includes(m.subject), q.id);
    assert.ok(p.context.includes(m.subject), q.id);
    for (const d of m.distractors) assert.ok(p.context.includes(d), `${q.id}: ${d}`);
    if (m.distractors.length > 0) withDistractor++;
  }
  assert.ok(withDistractor > all.length * 0.85, `${withDistractor}/${all.length}`);
  const kinds = new Set(Object.values(meta).map((m) => m.kind));
  assert.deepEqual([...kinds].sort(), ["city", "event", "mountain", "person", "river", "work"]);
});

Deno.test("several question templates per attribute", () => {
  const forms = new Map<string, Set<string>>();
  for (const { q } of all) {
    const m = meta[q.id];
    const key = `${m.kind}.${m.attribute}`;
    if (!forms.has(key)) forms.set(key, new Set());
    forms.get(key)!.add(q.question.replace(m.subject, "X").replace(/^X[은는이가을를]/, "X_"));
  }
  for (const key of ["person.birthCity", "person.birthYear", "work.author", "city.population"]) {
    assert.ok((forms.get(key)?.size ?? 0) >= 2, key);
  }
});

Deno.test("some contexts are long (> 1000 chars), most are short", () => {
  const lens = contextsOf(squad).map((c) => c.length);
  const long = lens.filter((n) => n > 1000).length;
  assert.ok(long >= lens.length * 0.05, `${long} long of ${lens.length}`);
  assert.ok(lens.filter((n) => n < 600).length >= lens.length * 0.7);
});

Deno.test("train and eval contexts are distinct", () => {
  const s = defaultSplits(1);
  const train = new Set(contextsOf(s.train));
  assert.ok(contextsOf(s.eval).every((c) => !train.has(c)));
  assert.equal(train.size, contextsOf(s.train).length);
});

// The shape of defaultSplits, with meta: mixed pairs of kinds, one entity each.
const mixed = generateKoreanQaWithMeta({
  seed: 3,
  articles: 100,
  mixKinds: 2,
  attributesPerKind: 1,
  entitiesPerKind: [1, 1],
  longFraction: 0.05,
  longChars: [250, 350],
  poolSeed: 1,
});

Deno.test("mixed contexts: most questions have a same-type span elsewhere in the context", () => {
  const qs = qasOf(mixed.squad);
  let withSameType = 0;
  for (const { p, q } of qs) {
    const m = mixed.meta[q.id];
    assert.ok(!m.sameType.includes(q.answers[0].text), q.id);
    for (const d of m.sameType) assert.ok(p.context.includes(d), `${q.id}: ${d}`);
    if (m.sameType.length) withSameType++;
  }
  // Measured 633 of 815 (78%).
  assert.ok(withSameType > qs.length * 0.7, `${withSameType}/${qs.length}`);
});

Deno.test("the default splits share their name inventory but not their contexts", () => {
  const s = defaultSplits(5, { trainQuestions: 600, evalQuestions: 60 });
  const trainText = contextsOf(s.train).join(" ");
  const subjects = qasOf(s.eval).map(({ q }) => q.question.split(/[은는이가의을를 ]/)[0]);
  const seen = subjects.filter((x) => x.length > 1 && trainText.includes(x)).length;
  assert.ok(seen > subjects.length * 0.5, `${seen}/${subjects.length}`);
  // Long contexts (250-350 characters, two or three 96-token windows) are a few percent.
  const long = contextsOf(s.train).filter((c) => c.length >= 250).length;
  assert.ok(long > 0 && long < contextsOf(s.train).length * 0.15, `long: ${long}`);
  assert.ok(contextsOf(s.train).every((c) => c.length <= 400));
});

Deno.test("answer positions spread over the whole context", () => {
  const bins = new Array(5).fill(0);
  for (const { p, q } of all) {
    bins[Math.min(4, Math.floor((q.answers[0].answer_start / p.context.length) * 5))]++;
  }
  // A uniform spread puts 20% in each fifth; every fifth must hold at least 10%.
  for (const b of bins) assert.ok(b >= all.length * 0.1, `histogram ${bins}`);
});

Deno.test("koreanQaCharset covers every character the generator emits", () => {
  const charset = new Set(koreanQaCharset().split(" "));
  for (const seed of [0, 1, 2]) {
    const s = generateKoreanQa({ seed, articles: 30, longFraction: 0.5 });
    for (const { p, q } of qasOf(s)) {
      for (const c of p.context + q.question) {
        if (c !== " ") assert.ok(charset.has(c), `"${c}" missing`);
      }
    }
  }
});
