import assert from "node:assert/strict";
import { bertConfig, positionIds, positionKind, positionPaddingIdx } from "../../mod.ts";

// Two rows of 6 with padding: trailing on the first, leading and inside on the second.
const ids = new Int32Array([
  ...[0, 11, 12, 2, 1, 1],
  ...[1, 0, 13, 1, 14, 2],
]);

Deno.test("BERT positions are 0..S-1 on every row, padding or not", () => {
  const c = bertConfig({ vocab_size: 20 });
  assert.equal(positionKind(c), "absolute");
  assert.equal(positionPaddingIdx(c), -1);
  assert.deepEqual([...positionIds(c, ids, 2, 6)], [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
});

Deno.test("RoBERTa positions count real tokens from pad+1; padding stays at pad_token_id", () => {
  for (const model_type of ["roberta", "xlm-roberta", "camembert"]) {
    const c = bertConfig({ model_type, vocab_size: 20 });
    assert.equal(c.pad_token_id, 1, "HF's RoBERTa default pad id");
    assert.equal(positionKind(c), "padding-offset");
    assert.equal(positionPaddingIdx(c), 1);
    // cumsum(ids != 1) · (ids != 1) + 1, by hand.
    assert.deepEqual([...positionIds(c, ids, 2, 6)], [
      ...[2, 3, 4, 5, 1, 1],
      ...[1, 2, 3, 1, 4, 5],
    ]);
  }
  const c = bertConfig({ model_type: "roberta", vocab_size: 20, pad_token_id: 0 });
  assert.deepEqual([...positionIds(c, ids, 2, 6)], [
    ...[0, 1, 2, 3, 4, 5],
    ...[1, 0, 2, 3, 4, 5],
  ]);
});
