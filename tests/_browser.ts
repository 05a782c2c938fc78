// Whether the system Chromium the browser tests drive is here: skipped with a message where
// it is not, a failure under CI (where .ci/run installs it).

import { IS_CI } from "./_data.ts";
import { DEFAULT_CHROMIUM } from "../src/cli/_web.ts";

/** For `Deno.test({ ignore: withoutChromium() })`. */
export function withoutChromium(): boolean {
  const path = Deno.env.get("CHROMIUM") ?? DEFAULT_CHROMIUM;
  try {
    if (Deno.statSync(path).isFile) return false;
  } catch { /* missing */ }
  if (IS_CI) throw new Error(`${path} missing under CI: apt-get install -y chromium`);
  console.warn(`ignored: no Chromium at ${path} (apt-get install chromium)`);
  return true;
}
