// Runs under Deno, not in the page: opens the page in headless Chromium, trains the embedded
// default for a few steps in it, answers a held-out generated question with the trained
// weights, and saves a PNG of the page (the README's picture):
//
//   deno run -A examples/web/screenshot.ts docs/web_page.png [--steps 60]

import { defaultSplits, parseSquad, writeFileAtomic } from "../../mod.ts";
import { launchPage } from "../../src/cli/_web.ts";

/** Trains `steps` steps in the page, answers, and returns the PNG and what the page reported. */
export async function pageScreenshot(steps: number, questions = 400): Promise<{
  png: Uint8Array;
  losses: number[];
  tokensPerS: number;
  answer: string;
}> {
  const page = await launchPage({});
  try {
    const points = await page.call<{ loss: number; tokensPerS: number }[]>("train", {
      steps,
      questions,
    });
    const ex = parseSquad(defaultSplits(7, { trainQuestions: 4, evalQuestions: 4 }).eval, "eval")
      .examples.find((e) => e.context.length < 160)!;
    const answer = await page.call<string>("ask", ex.question, ex.context);
    return {
      png: await page.screenshot(),
      losses: points.map((p) => p.loss),
      tokensPerS: points[points.length - 1].tokensPerS,
      answer,
    };
  } finally {
    await page.close();
  }
}

if (import.meta.main) {
  const out = Deno.args[0] ?? "docs/web_page.png";
  const i = Deno.args.indexOf("--steps");
  const steps = i >= 0 ? Number(Deno.args[i + 1]) : 60;
  const r = await pageScreenshot(steps);
  await writeFileAtomic(out, r.png);
  console.log(JSON.stringify({
    out,
    steps,
    first_loss: r.losses[0],
    last_loss: r.losses[r.losses.length - 1],
    train_tokens_per_s: Math.round(r.tokensPerS),
    answer: r.answer,
  }));
}
