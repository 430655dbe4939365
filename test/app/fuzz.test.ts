/**
 * Property-based: whatever query string or conditional header a client sends, the API answers a 4xx with its
 * error shape, never a 5xx; a well-formed If-Match that names no current version is 412, a malformed one 400;
 * with auth on, any Authorization header but a valid token is 401 with the Bearer challenge.
 * The same arbitraries drive `npm run reliability -- fuzz`, with many more runs and over real sockets.
 */
import fc from "fast-check";
import { base64url } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_AUDIENCE, type LocalIssuer, startLocalIssuer } from "../../cli/auth-dev/issuer.js";
import {
  authorizationHeader,
  conditionalHeaderValue,
  entityTagList,
  hostileHeaders,
  listingQuery,
  malformedEntityTagList,
} from "../../test/reliability/fuzz-cases.js";
import { errorBodyProblem } from "../../test/reliability/http.js";
import { buildTestApp, type Endpoint, startDynalite, type TestApp } from "../helpers/dynamodb.js";

/**
 * Runs per property: the two bugs these were written for fell within 15 runs; 100 keep each property to a
 * few hundred milliseconds (`npm run reliability -- fuzz` runs 3,000 cases).
 */
const RUNS = 100;

let engine: Endpoint;
let api: TestApp;

beforeAll(async () => {
  engine = await startDynalite();
  api = await buildTestApp(engine.url);
});
afterAll(async () => {
  await api.close();
  await engine.close();
});

const run = { userId: "fuzzer", type: "run", startedAt: "2026-03-01T10:00:00Z", durationSeconds: 600 };

async function request(
  method: "GET" | "PUT" | "DELETE",
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const response = await api.app.inject({
    method,
    url,
    headers: method === "PUT" ? { "content-type": "application/json", ...headers } : headers,
    ...(method === "PUT" ? { payload: JSON.stringify(run) } : {}),
  });
  return { status: response.statusCode, body: response.body };
}

/** Fails with what was wrong: a 5xx, or an error body that is not exactly the API's error shape. */
function expectClean(answer: { status: number; body: string }, sent: string) {
  expect(answer.status, answer.body).toBeLessThan(500);
  expect(errorBodyProblem(answer.status, answer.body, sent, [api.tableName])).toBeUndefined();
}

const field = (answer: { body: string }) => (JSON.parse(answer.body) as { field?: string }).field;

/** The parameter names in a query string, as sent and percent-decoded. */
function parameterNames(query: string): string[] {
  return query.split("&").flatMap((pair) => {
    const name = pair.split("=")[0] ?? "";
    try {
      return [name, decodeURIComponent(name)];
    } catch {
      return [name];
    }
  });
}

/** Activity `id` as it is now, created when absent: its current version. */
async function currentVersion(id: string): Promise<number> {
  const read = await api.app.inject({ method: "GET", url: `/activity/${id}` });
  if (read.statusCode === 200) return (read.json() as { version: number }).version;
  const created = await request("PUT", `/activity/${id}`);
  expect(created.status).toBe(201);
  return 1;
}

describe("any query string", () => {
  it("on the listing route gets a page or a 400 naming the parameter at fault, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(listingQuery, async (query) => {
        const answer = await request("GET", `/activity?${query}`);
        expectClean(answer, query);
        expect([200, 400], answer.body).toContain(answer.status);
        // The parameter at fault: one the route reads (userId may be missing), or an unknown one it was sent.
        const named = field(answer);
        if (answer.status === 400 && !["userId", "limit", "cursor"].includes(named ?? "")) {
          expect(parameterNames(query)).toContain(named);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("on every other route is answered without a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/activity/1", "/health", "/ready", "/nowhere"),
        listingQuery,
        async (path, query) => expectClean(await request("GET", `${path}?${query}`), query),
      ),
      { numRuns: RUNS },
    );
  });
});

describe("any If-Match or If-None-Match", () => {
  it("on a write or a read is answered without a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "PUT", "DELETE") as fc.Arbitrary<"GET" | "PUT" | "DELETE">,
        fc.constantFrom("if-match", "if-none-match"),
        conditionalHeaderValue,
        async (method, name, value) => {
          expectClean(await request(method, "/activity/conditional", { [name]: value }), value);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("that is well-formed and names no current version is 412, and changes nothing", async () => {
    const version = await currentVersion("stays");
    const namesVersion = (list: string) =>
      [...list.matchAll(/(W\/)?"([^"]*)"/g)].some(([, weak, opaque]) => !weak && opaque === String(version));
    await fc.assert(
      fc.asyncProperty(
        entityTagList.filter((list) => !namesVersion(list)),
        fc.constantFrom("PUT", "DELETE") as fc.Arbitrary<"PUT" | "DELETE">,
        async (list, method) => {
          const answer = await request(method, "/activity/stays", { "if-match": list });
          expectClean(answer, list);
          expect(answer.status, list).toBe(412);
        },
      ),
      { numRuns: RUNS },
    );
    expect(await currentVersion("stays")).toBe(version);
  });

  it("that is well-formed and names the current version strongly lets the write through", async () => {
    await fc.assert(
      fc.asyncProperty(entityTagList, fc.boolean(), async (list, first) => {
        const version = await currentVersion("moves");
        const value = first ? `"${version}" ,${list}` : `${list}, "${version}"`;
        const answer = await request("PUT", "/activity/moves", { "if-match": value });
        expect(answer.status, value).toBe(200);
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it("that is malformed is 400 naming the header", async () => {
    await fc.assert(
      fc.asyncProperty(malformedEntityTagList, async (value) => {
        const answer = await request("PUT", "/activity/malformed", { "if-match": value });
        expectClean(answer, value);
        expect(answer.status, value).toBe(400);
        expect(field(answer)).toBe("If-Match");
      }),
      { numRuns: RUNS },
    );
  });
});

describe("any other headers", () => {
  it("are answered without a 5xx, on every route and method", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ["GET", "/activity/1"],
          ["GET", "/activity?userId=u"],
          ["PUT", "/activity/headers"],
          ["DELETE", "/activity/headers"],
          ["GET", "/health"],
        ) as fc.Arbitrary<["GET" | "PUT" | "DELETE", string]>,
        hostileHeaders,
        async ([method, url], headers) => {
          expectClean(await request(method, url, headers), JSON.stringify(headers));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("any Authorization header, with auth on", () => {
  let issuer: LocalIssuer;
  let secured: TestApp;

  beforeAll(async () => {
    issuer = await startLocalIssuer();
    secured = await buildTestApp(engine.url, {
      auth: { issuer: issuer.url, audience: DEV_AUDIENCE, userClaim: "sub" },
    });
  });
  afterAll(async () => {
    await secured.close();
    await issuer.close();
  });

  async function attempt(method: "GET" | "PUT" | "DELETE", url: string, authorization: string) {
    const response = await secured.app.inject({
      method,
      url,
      headers: { authorization, ...(method === "PUT" && { "content-type": "application/json" }) },
      ...(method === "PUT" && { payload: JSON.stringify({ ...run, userId: "alice" }) }),
    });
    return response;
  }

  it("that is not a valid token is 401 with the Bearer challenge and the error shape, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ["GET", "/activity/1"],
          ["GET", "/activity?userId=alice"],
          ["PUT", "/activity/fuzzed"],
          ["DELETE", "/activity/fuzzed"],
        ) as fc.Arbitrary<["GET" | "PUT" | "DELETE", string]>,
        authorizationHeader,
        async ([method, url], authorization) => {
          const response = await attempt(method, url, authorization);
          expect(response.statusCode, authorization).toBe(401);
          expect(response.headers["www-authenticate"], authorization).toMatch(
            /^Bearer( error="invalid_token")?$/,
          );
          expect(errorBodyProblem(401, response.body, authorization, [secured.tableName])).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("that is a valid token changed anywhere is refused, unless the change decodes to the same bytes", async () => {
    const valid = await issuer.accessToken("alice");
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: valid.length - 1 }),
        fc.constantFrom(...alphabet),
        fc.constantFrom("replace", "insert", "delete"),
        async (at, character, edit) => {
          const tail = valid.slice(at + (edit === "insert" ? 0 : 1));
          const changed = valid.slice(0, at) + (edit === "delete" ? "" : character) + tail;
          fc.pre(changed !== valid);
          const response = await attempt("GET", "/activity?userId=alice", `Bearer ${changed}`);
          if (response.statusCode === 200) {
            // Accepted only if it is the same token: base64url's last character carries unused bits.
            const decoded = (token: string) =>
              token.split(".").map((part) => Buffer.from(base64url.decode(part)));
            expect(decoded(changed), changed).toEqual(decoded(valid));
          } else {
            expect(response.statusCode, changed).toBe(401);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
