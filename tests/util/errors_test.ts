import assert from "node:assert/strict";
import {
  AdapterError,
  CheckpointError,
  ConfigError,
  DataError,
  DownloadError,
  SafetensorsError,
  UsageError,
  UserError,
} from "../../mod.ts";

Deno.test("user-facing errors share UserError, keep their names and `<path>: <what>` messages", () => {
  const cases: [UserError, string, string][] = [
    [new DataError("a.json", "bad"), "DataError", "a.json: bad"],
    [new ConfigError("c.json", "bad"), "ConfigError", "c.json: bad"],
    [new CheckpointError("ck", "bad"), "CheckpointError", "ck: bad"],
    [new AdapterError("adapter_config.json", "bad"), "AdapterError", "adapter_config.json: bad"],
    [new SafetensorsError("w.safetensors", "bad"), "SafetensorsError", "w.safetensors: bad"],
    [new UsageError("--x is required", "usage: x"), "UsageError", "--x is required"],
  ];
  for (const [e, name, message] of cases) {
    assert.ok(e instanceof UserError, name);
    assert.equal(e.name, name);
    assert.equal(e.message, message);
  }
});

Deno.test("a failed download is not the user's mistake (the CLI exits 1, not 2)", () => {
  const e = new DownloadError("https://x/y", "HTTP 500", 500);
  assert.ok(!(e instanceof UserError));
  assert.equal(e.message, "https://x/y: HTTP 500");
  assert.equal(e.status, 500);
});
