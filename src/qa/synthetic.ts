// Deterministic synthetic Korean extractive-QA data in SQuAD v1.1 JSON, the embedded default of
// `deno task train`: templated facts about people, works, cities, events and landmarks, with
// same-type distractors in every context (so a model must read the question's entity), particles
// attached to answers as in real text, and some contexts long enough to need doc-stride windows.

import { mulberry32 } from "../util/rng.ts";

/** One gold answer. */
export interface SquadAnswer {
  /** The answer, exactly `context.slice(answer_start, answer_start + text.length)`. */
  text: string;
  /** UTF-16 index of the answer in the context, as JS strings index. */
  answer_start: number;
}

/** One question with its gold answers. */
export interface SquadQa {
  /** Unique question id. */
  id: string;
  /** The question text. */
  question: string;
  /** Gold answers (one per generated question). */
  answers: SquadAnswer[];
}

/** One context and its questions. */
export interface SquadParagraph {
  /** The passage the answers are spans of. */
  context: string;
  /** Questions on this passage. */
  qas: SquadQa[];
}

/** One article: a title and its paragraphs. */
export interface SquadArticle {
  /** Article title. */
  title: string;
  /** The article's passages. */
  paragraphs: SquadParagraph[];
}

/** A SQuAD v1.1 / KorQuAD v1.0 dataset file. */
export interface SquadJson {
  /** Dataset version string. */
  version: string;
  /** The articles. */
  data: SquadArticle[];
}

/** Options of {@link generateKoreanQa}. */
export interface KoreanQaOptions {
  /** PRNG seed: the same seed (and options) gives byte-identical JSON. */
  seed: number;
  /** Number of articles. */
  articles: number;
  /** Paragraphs (contexts) per article; default 4. */
  paragraphsPerArticle?: number;
  /** Questions per paragraph, each on a distinct fact; default 3. */
  questionsPerParagraph?: number;
  /** Fraction of contexts padded with filler facts to `longChars` characters; default 0.15. */
  longFraction?: number;
  /** Length range, in characters, of the padded contexts; default `[1100, 1800]`. */
  longChars?: [number, number];
  /**
   * How many of a kind's attributes a context states, the same ones for every entity of that kind
   * (so each question keeps same-kind distractors stating the same attribute); default all.
   */
  attributesPerKind?: number;
  /**
   * Each context mixes this many distinct kinds instead of following its article's theme (two:
   * a pair whose attributes share a type, such as a person and a city), stating first the
   * attributes whose type another one shares; with
   * `entitiesPerKind: [1, 1]` the same-type distractors are then other relations' values (a city
   * founded in 1455 beside a person born in 1982), told apart by the question's relation.
   */
  mixKinds?: number;
  /** Entities of the kind in a single-kind context, `[min, max]`; default `[2, 4]`. */
  entitiesPerKind?: [number, number];
  /**
   * Seed of the name, place and title inventories; default: drawn from `seed`'s stream. Two sets
   * with the same `poolSeed` share their entities but not their contexts or facts.
   */
  poolSeed?: number;
  /** Stop once this many questions exist (the last paragraph may get fewer). */
  maxQuestions?: number;
  /** Prefix of every question id; default `ko<seed>-`. */
  idPrefix?: string;
}

/** What a generated question asks, for tests and per-type error analysis. */
export interface KoreanQaMeta {
  /** The entity asked about, exactly as it appears in the question and the context. */
  subject: string;
  /** The entity's kind: person, work, city, event, mountain or river. */
  kind: string;
  /** The attribute asked, e.g. `birthCity`. */
  attribute: string;
  /** Other entities of the same kind in the same context, each stating the same attribute. */
  distractors: string[];
  /**
   * Other spans of the context of the answer's type (person, city, region, year, title...):
   * stated values of any attribute of that type and entity names of that kind, e.g. the city
   * entity's name beside a question on a person's birth city.
   */
  sameType: string[];
}

class Rand {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}

// ---- Korean particles: the form depends on whether the last syllable has a final consonant.

const DIGIT_FINAL = [1, 2, 0, 1, 0, 0, 1, 2, 2, 0]; // 영 일 이 삼 사 오 육 칠 팔 구

/** 0: no final consonant, 1: a final consonant, 2: final ㄹ (which takes 로, not 으로). */
function finalOf(word: string): number {
  for (let i = word.length - 1; i >= 0; i--) {
    const c = word.charCodeAt(i);
    if (c >= 0xac00 && c <= 0xd7a3) {
      const jong = (c - 0xac00) % 28;
      return jong === 0 ? 0 : jong === 8 ? 2 : 1;
    }
    if (c >= 0x30 && c <= 0x39) return DIGIT_FINAL[c - 0x30];
    if (/[A-Za-z]/.test(word[i])) return 0;
    // Closing brackets and quotes are not read aloud: the particle follows the word inside.
  }
  return 0;
}

/** Particle forms after a final consonant and after a vowel, keyed by the first form. */
const PARTICLES: Record<string, [string, string]> = {
  은: ["은", "는"],
  이: ["이", "가"],
  을: ["을", "를"],
  으로: ["으로", "로"],
  이었다: ["이었다", "였다"],
};

function particle(word: string, p: string): string {
  if (!p) return "";
  const f = finalOf(word);
  if (p === "으로") return f === 1 ? "으로" : "로";
  return PARTICLES[p][f ? 0 : 1];
}

// ---- Pools.

const words = (s: string) => s.split(",");
const SURNAMES = [
  ..."김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허남심노하곽성차주우구민진엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국은편용예경봉",
];
const GIVEN = [
  ..."민준서연지우현수도윤하은진영호성훈재혁태유예승시아원주희채나경소다혜정동상기석용철미선숙보람빈찬규한결율온별솔담슬환건",
];
const PLACE_SYL = [..."가나다라마바사아자차카타파하한솔빛누리온새별달구메미소들샘터숲해청은금"];
const REAL_CITIES = words(
  "서울,부산,대구,인천,광주,대전,울산,수원,전주,청주,춘천,강릉,포항,창원,제주,목포,여수,경주,안동,원주,천안,김해,군산,순천,속초",
);
const REGIONS = words(
  "경기도,강원도,충청북도,충청남도,전라북도,전라남도,경상북도,경상남도,제주도,남부 해안 지방,북부 산간 지방,서부 평야 지대,동부 해안 지대",
);
const JOBS = words(
  "의사,교사,화가,소설가,시인,건축가,변호사,기자,요리사,음악가,작곡가,과학자,수학자,사진작가,배우,가수,판사,간호사,외교관,역사학자,조각가,천문학자,경제학자,프로그래머,영화감독,약사,디자이너,번역가,농부,어부",
);
const GENRES = words("소설,시집,수필집,희곡,동화,장편소설,단편집,평론집");
const FESTIVALS = words(
  "영화제,음악제,도서전,연극제,미술제,불꽃 축제,마라톤 대회,음식 축제,과학 박람회",
);
const TITLE_ADJ = words(
  "푸른,붉은,조용한,먼,잃어버린,하얀,깊은,작은,마지막,오래된,빛나는,슬픈,따뜻한,낯선,끝없는,고요한,검은,눈부신",
);
const TITLE_NOUN = words(
  "바다,노래,정원,기억,겨울,여름,별,강,도시,편지,새벽,숲,바람,길,꿈,시간,섬,달,집,창문,그림자,빛,소년,소녀,나무,하늘,밤,기차,등대,골목",
);

interface Pools {
  names: string[];
  cities: string[];
  titles: string[];
  mountains: string[];
  rivers: string[];
}

function uniqueStrings(n: number, make: () => string, avoid: Set<string>): string[] {
  const out: string[] = [];
  for (let tries = 0; out.length < n && tries < n * 50; tries++) {
    const s = make();
    if (!avoid.has(s)) {
      avoid.add(s);
      out.push(s);
    }
  }
  return out;
}

function makePools(r: Rand): Pools {
  const seen = new Set<string>(REAL_CITIES);
  const names = uniqueStrings(320, () => {
    const a = r.pick(GIVEN);
    let b = r.pick(GIVEN);
    while (b === a) b = r.pick(GIVEN);
    return r.pick(SURNAMES) + a + b;
  }, seen);
  const two = () => r.pick(PLACE_SYL) + r.pick(PLACE_SYL);
  const cities = [...REAL_CITIES, ...uniqueStrings(45, two, seen)];
  const titles = uniqueStrings(300, () => {
    const k = r.int(0, 2);
    const n1 = r.pick(TITLE_NOUN), n2 = r.pick(TITLE_NOUN);
    if (k === 0) return `${r.pick(TITLE_ADJ)} ${n1}`;
    if (k === 1 && n1 !== n2) return `${n1}의 ${n2}`;
    return `${r.pick(TITLE_ADJ)} ${n1}의 ${n2}`;
  }, new Set());
  const mountains = uniqueStrings(40, () => two() + "산", seen);
  const rivers = uniqueStrings(30, () => two() + "강", seen);
  return { names, cities, titles, mountains, rivers };
}

// ---- Entities and templates. In a template, `{N}` is the entity, `{attr}` an answer span,
// `{=attr}` a value that is not an answer, `{~attr}` only the particle of one; a Hangul tail such as `{N은}` or `{city에서}` is a
// particle written after the slot and outside any span (은/이/을/으로/이었다 agree with the word).

type Kind = "person" | "work" | "city" | "event" | "mountain" | "river";

interface Entity {
  kind: Kind;
  /** The subject as written in context and question (works include their 《》). */
  name: string;
  values: Record<string, string>;
}

const SLOT = /\{([=~]?)([A-Za-z]+)([가-힣]*)\}/g;

const SENTENCES: Record<Kind, string[]> = {
  person: [
    "{N은} {birthYear} {birthCity}에서 태어났다.",
    "{N은} {birthCity}에서 {birthYear}에 태어났다.",
    "{birthYear} {birthCity}에서 태어난 {N은} 어린 시절을 그곳에서 보냈다.",
    "{N이} 태어난 해는 {birthYear}이다.",
    "{N은} {birthYear}에 태어났다.",
    "{N}의 고향은 {birthCity}이다.",
    "{N은} {birthCity}에서 태어나 자랐다.",
    "{N}의 직업은 {job}이다.",
    "{N은} 오랫동안 {job으로} 일했다.",
    "{N은} {activeCity}에서 {job으로} 활동했다.",
    "{activeCity}에서 활동한 {job} {N은} 많은 사람들에게 알려져 있다.",
    "{N은} 주로 {activeCity}에서 활동했다.",
    "{N이} 활동한 주요 무대는 {activeCity}이다.",
    "{N은} {=genre} 《{work}》{~work을} 발표했다.",
    "{N}의 대표작은 《{work}》이다.",
    "《{work}》{~work은} {N이} 쓴 {=genre}이다.",
  ],
  work: [
    "{N은} {author이} {year}에 발표한 {genre}이다.",
    "{author은} {year} {N을} 세상에 내놓았다.",
    "{N}의 작가는 {author}이다.",
    "{N을} 쓴 사람은 {author}이다.",
    "{N은} {year}에 처음 출간되었다.",
    "{N이} 발표된 것은 {year}의 일이다.",
    "{N은} {genre으로} 분류된다.",
    "{N은} 널리 읽힌 {genre}이다.",
  ],
  city: [
    "{N은} {region}에 있는 도시이다.",
    "{N은} {region}에 위치해 있다.",
    "{region}의 도시인 {N은} 교통의 중심지이다.",
    "{N}의 인구는 {population}이다.",
    "{N}에는 약 {population}이 살고 있다.",
    "{N은} {founded}에 세워졌다.",
    "{N이} 처음 세워진 것은 {founded}이다.",
    "{founded}에 세워진 {N은} {region}에 있다.",
    "{region}에 있는 {N}의 인구는 {population}이다.",
  ],
  event: [
    "{N은} {date}에 열렸다.",
    "{N이} 개막한 날은 {date}이다.",
    "{N}에는 {visitors}의 관객이 찾아왔다.",
    "{N}의 관람객 수는 {visitors이었다}.",
    "{N}의 위원장은 {director이었다}.",
    "{director은} {N}의 위원장을 맡았다.",
    "{date}에 열린 {N}에는 {visitors}이 참가했다.",
  ],
  mountain: [
    "{N은} {region}에 있는 산으로, 높이는 {height}이다.",
    "{N}의 높이는 {height}이다.",
    "{N은} {region}에 솟아 있다.",
  ],
  river: [
    "{N은} {region을} 가로지르는 강으로, 길이는 {length}이다.",
    "{N}의 길이는 {length}이다.",
    "{N은} {region을} 흐른다.",
  ],
};

const QUESTIONS: Record<string, string[]> = {
  "person.birthYear": [
    "{N은} 몇 년에 태어났나요?",
    "{N이} 태어난 해는?",
    "{N}의 출생 연도는 언제인가?",
    "{N은} 언제 태어났는가?",
  ],
  "person.birthCity": [
    "{N은} 어느 도시에서 태어났나요?",
    "{N이} 태어난 도시는?",
    "{N}의 고향은 어디인가?",
    "{N}의 출생지는 어디인가요?",
  ],
  "person.job": [
    "{N}의 직업은 무엇인가요?",
    "{N은} 어떤 일을 하나요?",
    "{N은} 무슨 일을 하는 사람인가?",
  ],
  "person.activeCity": ["{N은} 어느 도시에서 활동했나요?", "{N이} 주로 활동한 도시는?"],
  "person.work": [
    "{N이} 쓴 작품은?",
    "{N}의 대표작은 무엇인가?",
    "{N이} 발표한 작품의 제목은 무엇인가요?",
  ],
  "work.author": ["{N}의 작가는 누구인가요?", "{N을} 쓴 사람은?", "누가 {N을} 썼나요?"],
  "work.year": ["{N은} 몇 년에 발표되었나요?", "{N이} 출간된 해는?", "{N은} 언제 처음 나왔는가?"],
  "work.genre": ["{N은} 어떤 종류의 작품인가요?", "{N}의 장르는 무엇인가?"],
  "city.region": [
    "{N은} 어느 지역에 있나요?",
    "{N이} 위치한 지역은?",
    "{N은} 어디에 있는 도시인가?",
  ],
  "city.population": [
    "{N}의 인구는 몇 명인가요?",
    "{N}에는 몇 명이 살고 있나요?",
    "{N}의 인구는 얼마인가?",
  ],
  "city.founded": ["{N은} 몇 년에 세워졌나요?", "{N이} 세워진 해는?", "{N은} 언제 세워졌는가?"],
  "event.date": ["{N은} 언제 열렸나요?", "{N이} 개최된 날짜는?", "{N은} 며칠에 열렸는가?"],
  "event.visitors": ["{N}에는 몇 명이 찾아왔나요?", "{N}의 관람객 수는?"],
  "event.director": ["{N}의 위원장은 누구인가요?", "누가 {N}의 위원장을 맡았나요?"],
  "mountain.height": ["{N}의 높이는 얼마인가요?", "{N은} 몇 미터인가?"],
  "mountain.region": ["{N은} 어느 지역에 있나요?", "{N이} 있는 곳은 어디인가?"],
  "river.length": ["{N}의 길이는 얼마인가요?", "{N은} 몇 킬로미터인가?"],
  "river.region": ["{N은} 어느 지역을 흐르나요?", "{N이} 흐르는 지역은?"],
};

/** The answer attributes a template states. */
function attrsOf(template: string): string[] {
  return [...template.matchAll(SLOT)].filter((m) => !m[1] && m[2] !== "N").map((m) => m[2]);
}

interface Span {
  attr: string;
  start: number;
  text: string;
}

/** Fills a template for `e`; spans are offsets into the returned text. */
function fill(template: string, e: Entity): { text: string; spans: Span[] } {
  const spans: Span[] = [];
  let text = "";
  let last = 0;
  for (const m of template.matchAll(SLOT)) {
    text += template.slice(last, m.index);
    last = m.index + m[0].length;
    const [, plain, attr, p] = m;
    const value = attr === "N" ? e.name : e.values[attr];
    if (!plain && attr !== "N") spans.push({ attr, start: text.length, text: value });
    if (plain !== "~") text += value;
    text += particle(value, p);
  }
  return { text: text + template.slice(last), spans };
}

/** Digits with thousands separators, written out by hand: toLocaleString depends on the host. */
function grouped(n: number): string {
  const s = String(n);
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ",";
    out += s[i];
  }
  return out;
}

/** Per-context state so that entities of one kind never share a name or a value. */
class ContextPicker {
  private used = new Map<string, Set<string>>();
  private lastEvent = "";
  constructor(readonly r: Rand, readonly pools: Pools) {}

  /** A value for `key` not yet used in this context (after a few tries, a repeat is accepted). */
  fresh(key: string, make: () => string): string {
    let set = this.used.get(key);
    if (!set) this.used.set(key, set = new Set());
    let v = make();
    for (let t = 0; t < 30 && set.has(v); t++) v = make();
    set.add(v);
    return v;
  }

  year(key: string, lo: number, hi: number): string {
    return this.fresh(key, () => `${this.r.int(lo, hi)}년`);
  }
  person(): string {
    return this.fresh("name", () => this.r.pick(this.pools.names));
  }

  make(kind: Kind): Entity {
    const r = this.r, p = this.pools;
    switch (kind) {
      case "person": {
        const name = this.person();
        const work = this.fresh("work", () => r.pick(p.titles));
        return {
          kind,
          name,
          values: {
            birthYear: this.year("birthYear", 1900, 2005),
            birthCity: this.fresh("birthCity", () => r.pick(p.cities)),
            job: this.fresh("job", () => r.pick(JOBS)),
            activeCity: this.fresh("activeCity", () => r.pick(p.cities)),
            work,
            genre: r.pick(GENRES),
          },
        };
      }
      case "work": {
        const title = this.fresh("work", () => r.pick(p.titles));
        return {
          kind,
          name: `《${title}》`,
          values: {
            author: this.person(),
            year: this.year("year", 1920, 2023),
            genre: this.fresh("genre", () => r.pick(GENRES)),
          },
        };
      }
      case "city":
        return {
          kind,
          name: this.fresh("city", () => r.pick(p.cities)),
          values: {
            region: this.fresh("region", () => r.pick(REGIONS)),
            population: this.fresh("population", () => `${grouped(r.int(200, 30000) * 100)}명`),
            founded: this.year("founded", 900, 1990),
          },
        };
      case "event": {
        // Half the time another edition of the context's last festival: only the number differs.
        const base = this.lastEvent && r.next() < 0.5
          ? this.lastEvent
          : `${r.pick(p.cities)} ${r.pick(FESTIVALS)}`;
        this.lastEvent = base;
        const date = () => `${r.int(1990, 2024)}년 ${r.int(1, 12)}월 ${r.int(1, 28)}일`;
        return {
          kind,
          name: this.fresh("event", () => `제${r.int(1, 30)}회 ${base}`),
          values: {
            date: this.fresh("date", date),
            visitors: this.fresh("visitors", () => `${grouped(r.int(5, 2000) * 100)}명`),
            director: this.person(),
          },
        };
      }
      case "mountain":
        return {
          kind,
          name: this.fresh("mountain", () => r.pick(p.mountains)),
          values: {
            region: this.fresh("mregion", () => r.pick(REGIONS)),
            height: this.fresh("height", () => `${grouped(r.int(300, 1950))}미터`),
          },
        };
      case "river":
        return {
          kind,
          name: this.fresh("river", () => r.pick(p.rivers)),
          values: {
            region: this.fresh("rregion", () => r.pick(REGIONS)),
            length: this.fresh("length", () => `${grouped(r.int(20, 520))}킬로미터`),
          },
        };
    }
  }
}

/** The type of each answer attribute and of each kind's names: same-type spans are distractors. */
const VALUE_TYPE: Record<string, string> = {
  "person.name": "person",
  "work.author": "person",
  "event.director": "person",
  "city.name": "city",
  "person.birthCity": "city",
  "person.activeCity": "city",
  "work.name": "title",
  "person.work": "title",
  "person.birthYear": "year",
  "work.year": "year",
  "city.founded": "year",
  "city.region": "region",
  "mountain.region": "region",
  "river.region": "region",
  "city.population": "count",
  "event.visitors": "count",
  "mountain.height": "distance",
  "river.length": "distance",
};

function valueType(kind: string, attr: string): string {
  return VALUE_TYPE[`${kind}.${attr}`] ?? `${kind}.${attr}`;
}

/** The distinct spans of `context` other than `answer` that have the answer's type. */
function sameTypeSpans(built: BuiltContext, f: Fact): string[] {
  const type = valueType(f.entity.kind, f.attr);
  const bare = (s: string) => s.replace(/^《|》$/g, "");
  const spans = new Set<string>();
  for (const g of built.facts) {
    if (valueType(g.entity.kind, g.attr) === type) spans.add(g.text);
  }
  for (const e of built.entities) {
    if (valueType(e.kind, "name") === type) spans.add(bare(e.name));
  }
  spans.delete(f.text);
  return [...spans];
}

const TEMPLATE_ATTRS = new Map(
  Object.values(SENTENCES).flat().map((t) => [t, attrsOf(t)] as const),
);

/** Every answer attribute templates state about `kind`, in template order. */
function attributesOf(kind: Kind): string[] {
  return [...new Set(SENTENCES[kind].flatMap((t) => TEMPLATE_ATTRS.get(t)!))];
}

/** Sentences stating each of `attrs` about `e` once, by a random cover with templates. */
function sentencesOf(
  r: Rand,
  e: Entity,
  attrs: readonly string[],
): { text: string; spans: Span[] }[] {
  const templates = SENTENCES[e.kind].filter((t) =>
    TEMPLATE_ATTRS.get(t)!.every((a) => attrs.includes(a))
  );
  const left = new Set(attrs);
  const out = [];
  while (left.size > 0) {
    const t = r.pick(templates.filter((t) => TEMPLATE_ATTRS.get(t)!.every((a) => left.has(a))));
    for (const a of TEMPLATE_ATTRS.get(t)!) left.delete(a);
    out.push(fill(t, e));
  }
  return out;
}

const THEMES: Kind[][] = [
  ["person"],
  ["work"],
  ["city"],
  ["event"],
  ["mountain", "river"],
  ["person", "city"],
  ["work", "person"],
  ["event", "city"],
];
const THEME_TITLES = words("인물,작품,도시,행사,자연,인물과 도시,작가와 작품,지역 행사");
/** Pairs of kinds whose attributes or names share a type (person, city, year, region...). */
const MIX_PAIRS: Kind[][] = [
  ["person", "city"],
  ["person", "work"],
  ["person", "event"],
  ["event", "city"],
  ["work", "event"],
  ["city", "mountain"],
  ["city", "river"],
  ["mountain", "river"],
];
const ALL_KINDS: Kind[] = ["person", "work", "city", "event", "mountain", "river"];

interface Fact {
  entity: Entity;
  attr: string;
  start: number;
  text: string;
}

interface BuiltContext {
  context: string;
  facts: Fact[];
  entities: Entity[];
}

interface ContextShape {
  long: boolean;
  longChars: [number, number];
  mixed: boolean;
  attributesPerKind: number;
  entitiesPerKind: [number, number];
}

function buildContext(r: Rand, pools: Pools, theme: Kind[], shape: ContextShape): BuiltContext {
  const pick = new ContextPicker(r, pools);
  const entities: Entity[] = [];
  // The attributes stated per kind: the same for all its entities, so each is asked with
  // distractors that state it too.
  const stated = new Map<Kind, string[]>();
  // Types that two of the theme's attributes or names share: stating those first gives
  // questions same-type distractors even with one entity per kind.
  const typeCount = new Map<string, number>();
  for (const kind of theme) {
    for (const a of [...attributesOf(kind), "name"]) {
      const t = valueType(kind, a);
      typeCount.set(t, (typeCount.get(t) ?? 0) + 1);
    }
  }
  const statedOf = (kind: Kind) => {
    let attrs = stated.get(kind);
    if (!attrs) {
      const all = r.shuffle(attributesOf(kind));
      const shared = (a: string) => (typeCount.get(valueType(kind, a)) ?? 0) > 1;
      attrs = [...all.filter(shared), ...all.filter((a) => !shared(a))]
        .slice(0, shape.attributesPerKind);
      stated.set(kind, attrs);
    }
    return attrs;
  };
  // Two or more entities of each theme kind: every fact then has a same-type distractor.
  for (const kind of theme) {
    const n = theme.length === 1 || shape.mixed ? r.int(...shape.entitiesPerKind) : 2;
    for (let i = 0; i < n; i++) entities.push(pick.make(kind));
  }
  const sentences: { text: string; spans: Span[]; entity: Entity }[] = [];
  let chars = 0;
  const addEntity = (e: Entity) => {
    for (const s of sentencesOf(r, e, statedOf(e.kind))) {
      sentences.push({ ...s, entity: e });
      chars += s.text.length + 1;
    }
  };
  for (const e of entities) addEntity(e);
  if (shape.long) {
    const target = r.int(...shape.longChars);
    while (chars < target) {
      const e = pick.make(r.pick(ALL_KINDS));
      entities.push(e);
      addEntity(e);
    }
  }
  r.shuffle(sentences);
  let context = "";
  const facts: Fact[] = [];
  for (const s of sentences) {
    if (context) context += " ";
    for (const sp of s.spans) {
      facts.push({ ...sp, entity: s.entity, start: context.length + sp.start });
    }
    context += s.text;
  }
  return { context, facts, entities };
}

function generate(
  opts: KoreanQaOptions,
  exclude: ReadonlySet<string>,
): { squad: SquadJson; meta: Record<string, KoreanQaMeta> } {
  const r = new Rand(opts.seed);
  const pools = makePools(opts.poolSeed === undefined ? r : new Rand(opts.poolSeed));
  const perArticle = opts.paragraphsPerArticle ?? 4;
  const perParagraph = opts.questionsPerParagraph ?? 3;
  const longFraction = opts.longFraction ?? 0.15;
  const maxQ = opts.maxQuestions ?? Infinity;
  const prefix = opts.idPrefix ?? `ko${opts.seed}-`;
  const data: SquadArticle[] = [];
  const meta: Record<string, KoreanQaMeta> = {};
  let total = 0;
  for (let a = 0; a < opts.articles && total < maxQ; a++) {
    const t = r.int(0, THEMES.length - 1);
    const paragraphs: SquadParagraph[] = [];
    for (let p = 0; p < perArticle && total < maxQ; p++) {
      // Most paragraphs follow the article's theme; the rest mix in another one.
      const theme = opts.mixKinds === 2
        ? r.shuffle([...r.pick(MIX_PAIRS)])
        : opts.mixKinds
        ? r.shuffle([...ALL_KINDS]).slice(0, opts.mixKinds)
        : r.next() < 0.7
        ? THEMES[t]
        : r.pick(THEMES);
      const built = buildContext(r, pools, theme, {
        long: r.next() < longFraction,
        longChars: opts.longChars ?? [1100, 1800],
        mixed: !!opts.mixKinds,
        attributesPerKind: opts.attributesPerKind ?? Infinity,
        entitiesPerKind: opts.entitiesPerKind ?? [2, 4],
      });
      const chosen = r.shuffle([...built.facts]).slice(0, Math.min(perParagraph, maxQ - total));
      if (exclude.has(built.context)) continue;
      const qas: SquadQa[] = chosen.map((f, q) => {
        const id = `${prefix}${a}-${p}-${q}`;
        const key = `${f.entity.kind}.${f.attr}`;
        meta[id] = {
          subject: f.entity.name,
          kind: f.entity.kind,
          attribute: f.attr,
          distractors: built.entities
            .filter((e) => e !== f.entity && e.kind === f.entity.kind)
            .map((e) => e.name),
          sameType: sameTypeSpans(built, f),
        };
        return {
          id,
          question: fill(r.pick(QUESTIONS[key]), f.entity).text,
          answers: [{ text: f.text, answer_start: f.start }],
        };
      });
      total += qas.length;
      paragraphs.push({ context: built.context, qas });
    }
    if (paragraphs.length) data.push({ title: `${THEME_TITLES[t]} ${a + 1}`, paragraphs });
  }
  return { squad: { version: "synthetic-ko-1.0", data }, meta };
}

/**
 * Generates a deterministic synthetic Korean extractive-QA dataset in SQuAD v1.1 format.
 *
 * Each context states templated facts (birth year and city, job, works, populations, founding
 * years, festival dates, heights...) about two or more entities of the same kind, in shuffled
 * sentence order, with particles attached to answers ("서울에서" → answer "서울"); a fraction of
 * contexts are padded with facts about other entities to 1100-1800 characters.
 *
 * @example
 * ```ts
 * import { generateKoreanQa } from "webgpu-bert";
 * const squad = generateKoreanQa({ seed: 1, articles: 2 });
 * const p = squad.data[0].paragraphs[0];
 * const a = p.qas[0].answers[0];
 * console.log(p.qas[0].question, p.context.slice(a.answer_start, a.answer_start + a.text.length));
 * ```
 */
export function generateKoreanQa(opts: KoreanQaOptions): SquadJson {
  return generate(opts, new Set()).squad;
}

/**
 * {@link generateKoreanQa} plus, per question id, what the question asks and which distractor
 * entities its context holds.
 *
 * @example
 * ```ts
 * import { generateKoreanQaWithMeta } from "webgpu-bert";
 * const { squad, meta } = generateKoreanQaWithMeta({ seed: 1, articles: 1 });
 * const q = squad.data[0].paragraphs[0].qas[0];
 * console.log(meta[q.id].subject, meta[q.id].attribute, meta[q.id].distractors);
 * ```
 */
export function generateKoreanQaWithMeta(
  opts: KoreanQaOptions,
): { squad: SquadJson; meta: Record<string, KoreanQaMeta> } {
  return generate(opts, new Set());
}

/**
 * Every character the generator can emit, space-separated. Add it to the texts a vocabulary is
 * built from so that no seed's output meets an unseen character ([UNK]).
 *
 * @example
 * ```ts
 * import { buildWordPieceVocab, defaultSplits, koreanQaCharset } from "webgpu-bert";
 * const { train } = defaultSplits(0, { trainQuestions: 30, evalQuestions: 3 });
 * const texts = train.data.flatMap((a) => a.paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]));
 * const vocab = buildWordPieceVocab([...texts, koreanQaCharset()], { size: 3000 });
 * ```
 */
export function koreanQaCharset(): string {
  const literal = [
    SURNAMES,
    GIVEN,
    PLACE_SYL,
    REAL_CITIES,
    REGIONS,
    JOBS,
    GENRES,
    FESTIVALS,
    TITLE_ADJ,
    TITLE_NOUN,
    Object.values(SENTENCES).flat(),
    Object.values(QUESTIONS).flat(),
    Object.values(PARTICLES).flat(),
    ["0123456789,《》 제회년월일명미터킬로산강의"],
  ].flat().join("").replace(SLOT, "");
  return [...new Set(literal)].filter((c) => c !== " ").sort().join(" ");
}

/** Sizes and context shape of {@link defaultSplits}. */
export interface DefaultSplitSizes extends
  Pick<
    KoreanQaOptions,
    "attributesPerKind" | "entitiesPerKind" | "longFraction" | "longChars" | "poolSeed" | "mixKinds"
  > {
  /** Training questions; default 10000. */
  trainQuestions?: number;
  /** Evaluation questions; default 300. */
  evalQuestions?: number;
}

/**
 * The default train/eval pair of `deno task train`: two generated sets from different PRNG
 * streams, with no eval context equal to a train context. They share one inventory of names,
 * places and titles (as real held-out data shares a vocabulary) but every context draws new
 * facts, so nothing can be answered from memory.
 *
 * The default shape is sized for a tiny model trained from scratch in minutes: each context
 * pairs two kinds (one entity each, one fact each, preferring facts whose type the other kind
 * shares), so 78% of the questions have another span of the answer's type in their context (a
 * person's birth year beside a city's founding year, a birth city beside the city entity's name)
 * and the question's entity and relation pick the answer; 5% of the contexts are long (250-350
 * characters, two or three 96-token windows), so doc-stride windows are exercised. Telling apart
 * several entities of one kind (`entitiesPerKind: [2, 4]`, no `mixKinds`) is a harder task,
 * which the tiny model does not learn in that time.
 *
 * @example
 * ```ts
 * import { defaultSplits } from "webgpu-bert";
 * const splits = defaultSplits(0, { trainQuestions: 30, evalQuestions: 9 });
 * console.log(splits.train.data.length, splits.eval.data.length);
 * ```
 */
export function defaultSplits(
  seed = 0,
  sizes: DefaultSplitSizes = {},
): { train: SquadJson; eval: SquadJson } {
  const trainQ = sizes.trainQuestions ?? 10000;
  const evalQ = sizes.evalQuestions ?? 300;
  // Questions per article, at least: 4 paragraphs of at least one question. Generation stops
  // at maxQuestions, so the bound only has to be high enough.
  const per = 4;
  const s = seed >>> 0;
  const shape = {
    poolSeed: sizes.poolSeed ?? ((s + 0x51ed27) >>> 0),
    mixKinds: sizes.mixKinds ?? 2,
    attributesPerKind: sizes.attributesPerKind ?? 1,
    entitiesPerKind: sizes.entitiesPerKind ?? [1, 1] as [number, number],
    longFraction: sizes.longFraction ?? 0.05,
    longChars: sizes.longChars ?? [250, 350] as [number, number],
  };
  const train = generate({
    ...shape,
    seed: s,
    articles: Math.ceil(trainQ / per) + 1,
    maxQuestions: trainQ,
    idPrefix: `train${s}-`,
  }, new Set()).squad;
  const contexts = new Set(train.data.flatMap((a) => a.paragraphs.map((p) => p.context)));
  const evalSet = generate({
    ...shape,
    seed: (s ^ 0x9e3779b9) >>> 0,
    // Spare articles cover the (unlikely) contexts dropped for repeating a train context.
    articles: Math.ceil(evalQ / per) + 4,
    maxQuestions: evalQ,
    idPrefix: `eval${s}-`,
  }, contexts).squad;
  return { train, eval: evalSet };
}
