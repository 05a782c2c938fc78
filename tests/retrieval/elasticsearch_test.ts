// ElasticsearchRetriever against tests/retrieval/_es_double.ts, a TEST DOUBLE (no search server
// runs here): it checks the REST calls the client makes, not Elasticsearch's ranking.

import assert from "node:assert/strict";
import {
  ElasticsearchError,
  ElasticsearchRetriever,
  indexNameProblem,
} from "../../src/retrieval/elasticsearch.ts";
import { startEsDouble } from "./_es_double.ts";

const PASSAGES = [
  { id: "a", title: "부산", text: "부산 항구 도시 바다" },
  { id: "b", text: "서울 수도 도시" },
  { id: "c", text: "제주 섬 바다 귤" },
  { id: "d", text: "대전 과학 도시" },
];

Deno.test("ElasticsearchRetriever: nori mapping, chunked _bulk, refresh, match query top-k", async () => {
  const es = startEsDouble();
  try {
    const progress: number[] = [];
    const r = await ElasticsearchRetriever.open(PASSAGES, {
      url: es.url,
      index: "korquad",
      bulkBytes: 150,
      onIndexed: (done) => progress.push(done),
    });
    const body = es.indexes.get("korquad")!.body as ReturnType<typeof JSON.parse>;
    const analysis = body.settings.analysis;
    assert.deepEqual(analysis.tokenizer.nori_mixed, {
      type: "nori_tokenizer",
      decompound_mode: "mixed",
    });
    assert.deepEqual(analysis.analyzer.korean.filter, ["lowercase"]);
    assert.equal(body.mappings.properties.text.analyzer, "korean");
    assert.equal(body.settings.index.similarity.default.type, "BM25");
    const bulks = es.requests.filter((q) => q.path === "/_bulk");
    assert.ok(bulks.length >= 2, "150-byte requests split the collection");
    assert.ok(bulks.every((q) => q.contentType === "application/x-ndjson"));
    assert.ok(
      bulks.every((q) =>
        new TextEncoder().encode(q.body).length <= 150 || q.body.split("\n").length === 3
      ),
    );
    assert.equal(progress.at(-1), 4);
    assert.deepEqual(progress, progress.toSorted((x, y) => x - y));
    assert.equal(es.requests.at(-1)!.path, "/korquad/_refresh");

    const hits = await r.search(["바다 도시", "수도 서울", "없는 단어"], 2);
    // "바다 도시": a matches both terms; b, c, d one each, so the lowest index wins the tie.
    assert.deepEqual(hits, [
      [{ index: 0, score: 2 }, { index: 1, score: 1 }],
      [{ index: 1, score: 2 }],
      [],
    ]);
    const search = JSON.parse(es.requests.at(-1)!.body);
    assert.equal(search.size, 2);
    assert.deepEqual(Object.keys(search.query), ["match"]);
  } finally {
    await es.close();
  }
});

Deno.test("ElasticsearchRetriever: an existing index is replaced, or reused when it holds the passages", async () => {
  const es = startEsDouble();
  try {
    await ElasticsearchRetriever.open(PASSAGES, { url: es.url, index: "p" });
    es.requests.length = 0;
    await ElasticsearchRetriever.open(PASSAGES, { url: es.url, index: "p", reuse: true });
    assert.deepEqual(es.requests.map((q) => `${q.method} ${q.path}`), ["HEAD /p", "GET /p/_count"]);
    es.requests.length = 0;
    const r = await ElasticsearchRetriever.open(PASSAGES.slice(0, 2), {
      url: es.url,
      index: "p",
      reuse: true,
    });
    assert.deepEqual(es.requests.slice(0, 4).map((q) => `${q.method} ${q.path}`), [
      "HEAD /p",
      "GET /p/_count",
      "DELETE /p",
      "PUT /p",
    ]);
    assert.equal(es.indexes.get("p")!.docs.size, 2);
    await r.deleteIndex();
    assert.equal(es.indexes.has("p"), false);
  } finally {
    await es.close();
  }
});

Deno.test("ElasticsearchRetriever: refused documents, server errors and no server are one-line errors", async () => {
  const es = startEsDouble({
    refuse: (d) => d.passage === 2 ? "failed to parse field [text]" : undefined,
  });
  try {
    await assert.rejects(
      ElasticsearchRetriever.open(PASSAGES, { url: es.url, index: "x" }),
      (e) =>
        e instanceof ElasticsearchError &&
        e.message === `${es.url}: _bulk: 1 of 4 passages refused; passage 2: ` +
            "mapper_parsing_exception: failed to parse field [text]",
    );
    const r = await ElasticsearchRetriever.open(PASSAGES.slice(0, 2), { url: es.url, index: "y" });
    es.indexes.delete("y");
    await assert.rejects(
      r.search(["도시"], 1),
      (e) =>
        e instanceof ElasticsearchError &&
        /^http:\/\/127\.0\.0\.1:\d+: POST \/y\/_search: HTTP 404 index_not_found_exception: no such index \[y\]$/
          .test(e.message),
    );
  } finally {
    await es.close();
  }
  // The port is closed now.
  await assert.rejects(
    ElasticsearchRetriever.open(PASSAGES, { url: es.url }),
    (e) =>
      e instanceof ElasticsearchError &&
      e.message.startsWith(`${es.url}: cannot connect (HEAD /`) && !e.message.includes("\n"),
  );
  await assert.rejects(
    ElasticsearchRetriever.open(PASSAGES, { url: "ftp://x" }),
    /must be an http/,
  );
});

Deno.test("ElasticsearchRetriever: credentials in the URL become basic auth", async () => {
  const es = startEsDouble();
  try {
    const url = es.url.replace("http://", "http://elastic:pa%24s@");
    await ElasticsearchRetriever.open(PASSAGES, { url, index: "z" });
    assert.ok(es.requests.every((q) => q.authorization === `Basic ${btoa("elastic:pa$s")}`));
  } finally {
    await es.close();
  }
});

Deno.test("indexNameProblem follows Elasticsearch's index name rules", () => {
  assert.equal(indexNameProblem("korquad-dev"), undefined);
  for (const bad of ["", "KQ", "a b", "a/b", "_x", "-x", ".."]) {
    assert.ok(indexNameProblem(bad), bad);
  }
});

Deno.test("an error never shows the credentials of the server URL", () => {
  const e = new ElasticsearchError("http://elastic:s3cret@localhost:9/", "cannot connect");
  assert.equal(e.message, "http://localhost:9/: cannot connect");
  assert.equal(e.url, "http://localhost:9/");
});
