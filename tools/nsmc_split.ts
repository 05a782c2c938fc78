// The NSMC split used for CPU-scale sentiment runs (the NSMC train split is not on these
// machines): the first N data rows of ratings_test.txt train, the rest evaluate. Both keep the
// header, so `deno task train --task classify --train OUT/train.tsv --eval OUT/eval.tsv` reads them.
// Usage: deno run -A tools/nsmc_split.ts [RATINGS_TSV] [OUT_DIR] [N_TRAIN=40000]

const src = Deno.args[0] ?? "../shared/data/nsmc/ratings_test.txt";
const out = Deno.args[1] ?? "runs/nsmc-split";
const n = Number(Deno.args[2] ?? 40000);
let text: string;
try {
  text = await Deno.readTextFile(src);
} catch (e) {
  console.error(`error: ${src}: ${e instanceof Deno.errors.NotFound ? "no such file" : e}`);
  Deno.exit(2);
}
const lines = text.split(/\r?\n/).filter((l, i, a) => !(l === "" && i === a.length - 1));
if (
  !/^id\tdocument\tlabel$/.test(lines[0]) || !Number.isInteger(n) || n < 1 || n >= lines.length - 1
) {
  console.error(
    `error: ${src}: expected an "id<TAB>document<TAB>label" header and more than ${n} rows`,
  );
  Deno.exit(2);
}
await Deno.mkdir(out, { recursive: true });
const rows = lines.slice(1);
await Deno.writeTextFile(`${out}/train.tsv`, [lines[0], ...rows.slice(0, n)].join("\n") + "\n");
await Deno.writeTextFile(`${out}/eval.tsv`, [lines[0], ...rows.slice(n)].join("\n") + "\n");
console.log(JSON.stringify({ train_rows: n, eval_rows: rows.length - n, out }));
