// The unofficial article split of KorQuAD dev (or any SQuAD-format file) for CPU-scale runs (the
// official train sets are not on these machines): the first N articles train, the rest evaluate.
// Usage: deno run -A tools/korquad_split.ts [DEV_JSON] [OUT_DIR] [N_TRAIN=112]

const dev = Deno.args[0] ?? "../shared/data/korquad/KorQuAD_v1.0_dev.json";
const out = Deno.args[1] ?? "runs/korquad-split";
const n = Number(Deno.args[2] ?? 112);
const json = JSON.parse(await Deno.readTextFile(dev));
if (!Array.isArray(json?.data) || n < 1 || n >= json.data.length) {
  console.error(`error: ${dev}: expected SQuAD-format data with more than ${n} articles`);
  Deno.exit(2);
}
await Deno.mkdir(out, { recursive: true });
const write = (name: string, data: unknown[]) =>
  Deno.writeTextFile(
    `${out}/${name}`,
    JSON.stringify({ version: `${json.version}-unofficial-split`, data }),
  );
await write("train.json", json.data.slice(0, n));
await write("eval.json", json.data.slice(n));
const count = (a: { paragraphs: { qas: unknown[] }[] }[]) =>
  a.reduce((s, x) => s + x.paragraphs.reduce((t, p) => t + p.qas.length, 0), 0);
console.log(JSON.stringify({
  train_articles: n,
  eval_articles: json.data.length - n,
  train_questions: count(json.data.slice(0, n)),
  eval_questions: count(json.data.slice(n)),
  out,
}));
