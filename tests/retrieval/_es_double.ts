// TEST DOUBLE, NOT A SEARCH SERVER. No Elasticsearch or OpenSearch can run on these machines, so
// ElasticsearchRetriever is tested against this local HTTP server, which answers only the REST
// calls the client makes, in the shapes Elasticsearch uses: index exists (HEAD), create (PUT),
// delete (DELETE), `_count`, `_bulk` (NDJSON), `_refresh` and `_search` with a `match` query.
// Its scoring is NOT BM25 and it has no nori analyzer: a document scores the number of distinct
// lowercase whitespace/punctuation-separated query terms it contains. Documents become searchable
// only after `_refresh`, as on a real server. Every request is recorded for the tests to inspect.

interface Doc {
  id: string;
  source: Record<string, unknown>;
}

interface Index {
  body: Record<string, unknown>;
  docs: Map<string, Doc>;
  /** What `_refresh` last made searchable. */
  visible: Doc[];
}

/** One request the double received. */
export interface Recorded {
  method: string;
  path: string;
  contentType: string | null;
  authorization: string | null;
  body: string;
}

/** A running test double; `close()` stops it. */
export interface EsDouble {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every request, in order. */
  requests: Recorded[];
  /** The indexes by name. */
  indexes: Map<string, Index>;
  close(): Promise<void>;
}

const terms = (s: string) => new Set(s.toLowerCase().split(/[\s\p{P}]+/u).filter(Boolean));

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function error(status: number, type: string, reason: string): Response {
  return json(status, { error: { root_cause: [{ type, reason }], type, reason }, status });
}

/**
 * Starts the TEST DOUBLE on a free port. `refuse(doc)` returning a reason makes `_bulk` report
 * that document as refused (a `mapper_parsing_exception`), to test error surfacing.
 */
export function startEsDouble(
  opts: { refuse?: (source: Record<string, unknown>) => string | undefined } = {},
): EsDouble {
  const indexes = new Map<string, Index>();
  const requests: Recorded[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const body = await req.text();
    requests.push({
      method: req.method,
      path: url.pathname,
      contentType: req.headers.get("content-type"),
      authorization: req.headers.get("authorization"),
      body,
    });
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts[0] === "_bulk" && req.method === "POST") return bulk(req, body);
    const [name, op] = parts;
    const index = indexes.get(name);
    const missing = () => error(404, "index_not_found_exception", `no such index [${name}]`);
    if (!op) {
      if (req.method === "HEAD") return new Response(null, { status: index ? 200 : 404 });
      if (req.method === "DELETE") {
        if (!index) return missing();
        indexes.delete(name);
        return json(200, { acknowledged: true });
      }
      if (req.method === "PUT") {
        if (index) {
          return error(400, "resource_already_exists_exception", `index [${name}] already exists`);
        }
        indexes.set(name, { body: JSON.parse(body), docs: new Map(), visible: [] });
        return json(200, { acknowledged: true, index: name });
      }
    }
    if (!index) return missing();
    if (op === "_refresh" && req.method === "POST") {
      index.visible = [...index.docs.values()];
      return json(200, { _shards: { total: 1, successful: 1, failed: 0 } });
    }
    if (op === "_count" && req.method === "GET") return json(200, { count: index.docs.size });
    if (op === "_search" && req.method === "POST") return search(index, JSON.parse(body));
    return error(405, "illegal_argument_exception", `${req.method} ${url.pathname} not handled`);
  });

  function bulk(req: Request, body: string): Response {
    if (req.headers.get("content-type") !== "application/x-ndjson") {
      return error(406, "media_type_header_exception", "_bulk needs application/x-ndjson");
    }
    if (!body.endsWith("\n")) {
      return error(
        400,
        "illegal_argument_exception",
        "The bulk request must be terminated by a newline [\\n]",
      );
    }
    const lines = body.slice(0, -1).split("\n");
    const items = [];
    let errors = false;
    for (let i = 0; i < lines.length; i += 2) {
      const action = JSON.parse(lines[i]).index as { _index: string; _id: string };
      const source = JSON.parse(lines[i + 1]);
      const index = indexes.get(action._index);
      const why = opts.refuse?.(source);
      if (!index || why) {
        errors = true;
        items.push({
          index: {
            _index: action._index,
            _id: action._id,
            status: 400,
            error: index
              ? { type: "mapper_parsing_exception", reason: why }
              : { type: "index_not_found_exception", reason: `no such index [${action._index}]` },
          },
        });
        continue;
      }
      index.docs.set(action._id, { id: action._id, source });
      items.push({ index: { _index: action._index, _id: action._id, status: 201 } });
    }
    return json(200, { took: 1, errors, items });
  }

  function search(index: Index, body: { size?: number; query?: { match?: { text?: string } } }) {
    const q = body.query?.match?.text;
    if (typeof q !== "string") {
      return error(400, "parsing_exception", "the double answers only {match: {text}}");
    }
    const want = terms(q);
    const hits = index.visible
      .map((d) => {
        const have = terms(String(d.source.text));
        return { d, score: [...want].filter((t) => have.has(t)).length };
      })
      .filter((h) => h.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, body.size ?? 10)
      .map((h) => ({
        _index: "",
        _id: h.d.id,
        _score: h.score,
        _source: { passage: h.d.source.passage },
      }));
    return json(200, { hits: { total: { value: hits.length }, hits } });
  }

  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    indexes,
    close: () => server.shutdown(),
  };
}
