import assert from "node:assert/strict";
import { envVar } from "../../src/util/env.ts";

Deno.test("envVar reads Deno's environment and is undefined for unset names", () => {
  Deno.env.set("LAYERS_TEST_VAR", "x");
  assert.equal(envVar("LAYERS_TEST_VAR"), "x");
  Deno.env.delete("LAYERS_TEST_VAR");
  assert.equal(envVar("LAYERS_TEST_VAR"), undefined);
});
