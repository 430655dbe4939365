/** Every route of the activity API and every client error, through app.inject against a real dynalite. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SEED_ACTIVITY, seedActivity } from "../../app/src/db/development.js";
import { buildTestApp, type Endpoint, startDynalite, type TestApp } from "../helpers/dynamodb.js";

let engine: Endpoint;
let api: TestApp;

beforeAll(async () => {
  engine = await startDynalite();
});
afterAll(async () => {
  await engine.close();
});
beforeEach(async () => {
  api = await buildTestApp(engine.url);
  return () => api.close();
});

const run = {
  userId: "runner-1",
  type: "run",
  startedAt: "2026-03-01T10:00:00+02:00",
  durationSeconds: 1800,
  distanceMeters: 5012.5,
  calories: 320,
  notes: "Tempo run 🏃",
};

function json(method: "POST" | "PUT", url: string, body: unknown, headers: Record<string, string> = {}) {
  return api.app.inject({
    method,
    url,
    headers: { "content-type": "application/json", ...headers },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function listAll(userId: string) {
  const response = await api.app.inject({ method: "GET", url: `/activity?userId=${userId}&limit=100` });
  return response.json().items as Array<Record<string, unknown>>;
}

describe("GET /activity/:id", () => {
  it("returns the seeded activity 1 as JSON with its version as ETag (the original contract)", async () => {
    await seedActivity(api.client, api.tableName);
    const response = await api.app.inject({ method: "GET", url: "/activity/1" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(response.headers.etag).toBe('"1"');
    expect(response.json()).toEqual(SEED_ACTIVITY);
  });

  it("answers 404 with a JSON error for an absent activity", async () => {
    const response = await api.app.inject({ method: "GET", url: "/activity/nope" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      statusCode: 404,
      error: "Not Found",
      message: "activity nope not found",
    });
  });

  it.each([
    ["a space", "/activity/bad%20id"],
    ["65 characters", `/activity/${"x".repeat(65)}`],
    ["a dot", "/activity/a.b"],
  ])("answers 400 naming the id for a malformed id (%s)", async (_label, url) => {
    const response = await api.app.inject({ method: "GET", url });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, field: "id" });
  });
});

describe("POST /activity", () => {
  it("stores the activity and answers 201 with Location, ETag and the stored body", async () => {
    const response = await json("POST", "/activity", run);
    expect(response.statusCode).toBe(201);
    const created = response.json();
    expect(created).toMatchObject({ ...run, startedAt: "2026-03-01T08:00:00.000Z", version: 1 });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.location).toBe(`/activity/${created.id}`);
    expect(response.headers.etag).toBe('"1"');

    const read = await api.app.inject({ method: "GET", url: response.headers.location as string });
    expect(read.json()).toEqual(created);
  });

  const bad: Array<[string, unknown, string, string]> = [
    [
      "wrong type",
      { ...run, durationSeconds: "1800" },
      "durationSeconds",
      "body.durationSeconds must be integer",
    ],
    ["zero duration", { ...run, durationSeconds: 0 }, "durationSeconds", "body.durationSeconds must be >= 1"],
    ["week-long duration", { ...run, durationSeconds: 700_000 }, "durationSeconds", "must be <= 604800"],
    ["negative distance", { ...run, distanceMeters: -1 }, "distanceMeters", "must be >= 0"],
    ["fractional calories", { ...run, calories: 1.5 }, "calories", "must be integer"],
    [
      "huge number",
      '{"userId":"u","type":"run","startedAt":"2026-01-01T00:00:00Z","durationSeconds":1e400}',
      "durationSeconds",
      "must be integer",
    ],
    ["unknown type", { ...run, type: "fly" }, "type", "body.type must be one of run, walk"],
    ["not a date", { ...run, startedAt: "yesterday" }, "startedAt", 'must match format "date-time"'],
    [
      "impossible date",
      { ...run, startedAt: "2026-02-30T10:00:00Z" },
      "startedAt",
      'must match format "date-time"',
    ],
    [
      "missing field",
      { userId: "u", type: "run", startedAt: "2026-01-01T00:00:00Z" },
      "durationSeconds",
      "body.durationSeconds is required",
    ],
    [
      "unknown field",
      { ...run, heartRate: 150 },
      "heartRate",
      "body.heartRate is not allowed (unknown field)",
    ],
    ["client-chosen id", { ...run, id: "mine" }, "id", "body.id is not allowed: the id comes from the URL"],
    [
      "client-chosen version",
      { ...run, version: 7 },
      "version",
      "body.version is not allowed: the server maintains it",
    ],
    ["long notes", { ...run, notes: "n".repeat(1001) }, "notes", "must NOT have more than 1000 characters"],
    ["bad user id", { ...run, userId: "../etc" }, "userId", "body.userId must match pattern"],
    ["array body", [run], "body", "body must be object"],
  ];
  it.each(bad)(
    "answers 400 naming the field, and writes nothing, for %s",
    async (_label, body, field, message) => {
      const response = await json("POST", "/activity", body);
      expect(response.statusCode).toBe(400);
      expect(response.json().field).toBe(field);
      expect(response.json().message).toContain(message);
      expect(await listAll(run.userId)).toEqual([]);
    },
  );

  it.each([
    ["malformed JSON", "{bad", "request body is not valid JSON"],
    ["an empty body", "", "request body is empty; send a JSON object"],
    ["a __proto__ key", '{"__proto__":{"polluted":true}}', "request body is not valid JSON"],
    [
      "a constructor.prototype key",
      '{"constructor":{"prototype":{"polluted":true}}}',
      "request body is not valid JSON",
    ],
  ])("answers 400 for %s", async (_label, payload, message) => {
    const response = await json("POST", "/activity", payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe(message);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("answers 413 for a body over 16 KiB, and writes nothing", async () => {
    const response = await json("POST", "/activity", { ...run, notes: "n".repeat(17 * 1024) });
    expect(response.statusCode).toBe(413);
    expect(response.json().message).toBe("request body is larger than 16384 bytes");
    expect(await listAll(run.userId)).toEqual([]);
  });

  it.each([
    ["POST", "/activity"],
    ["PUT", "/activity/tiny-distance"],
  ] as const)(
    "%s stores a distance too small for DynamoDB (below 1e-130) as 0, not a 500",
    async (method, url) => {
      const response = await json(method, url, { ...run, distanceMeters: 5e-324 });
      expect(response.statusCode).toBe(201);
      expect(response.json().distanceMeters).toBe(0);
      const read = await api.app.inject({ method: "GET", url: response.headers.location as string });
      expect(read.json().distanceMeters).toBe(0);
    },
  );

  it("answers 400 for notes holding an unpaired surrogate, which no UTF-8 store can keep, and writes nothing", async () => {
    const response = await json(
      "POST",
      "/activity",
      `{"userId":"u1","type":"run","startedAt":"2026-01-01T00:00:00Z","durationSeconds":60,"notes":"a\\ud800b"}`,
    );
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      field: "notes",
      message: "body.notes is not valid Unicode: it holds an unpaired surrogate",
    });
    expect(await listAll("u1")).toEqual([]);
  });

  it.each(["gzip", "br", "deflate"])(
    "answers 415 for a %s-encoded body rather than misreading it",
    async (encoding) => {
      const response = await json("POST", "/activity", run, { "content-encoding": encoding });
      expect(response.statusCode).toBe(415);
      expect(response.json().message).toBe("Content-Encoding is not supported; send the body uncompressed");
      expect(await listAll(run.userId)).toEqual([]);
    },
  );

  it.each(["text/plain", "application/x-www-form-urlencoded", "application/xml"])(
    "answers 415 for a %s body",
    async (contentType) => {
      const response = await api.app.inject({
        method: "POST",
        url: "/activity",
        headers: { "content-type": contentType },
        payload: "userId=u",
      });
      expect(response.statusCode).toBe(415);
      expect(response.json().message).toBe("Content-Type must be application/json");
    },
  );
});

describe("PUT /activity/:id", () => {
  it("creates (201) and then replaces (200), incrementing the version and removing omitted fields", async () => {
    const created = await json("PUT", "/activity/run-42", run);
    expect(created.statusCode).toBe(201);
    expect(created.headers.etag).toBe('"1"');
    expect(created.headers.location).toBe("/activity/run-42");

    const { notes: _notes, calories: _calories, ...shorter } = run;
    const replaced = await json("PUT", "/activity/run-42", { ...shorter, durationSeconds: 1900 });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.headers.etag).toBe('"2"');
    expect(replaced.json()).toEqual({
      ...shorter,
      id: "run-42",
      startedAt: "2026-03-01T08:00:00.000Z",
      durationSeconds: 1900,
      version: 2,
    });
    const read = await api.app.inject({ method: "GET", url: "/activity/run-42" });
    expect(read.json()).toEqual(replaced.json());
  });

  it("replaces with a matching If-Match and refuses a stale one with 412, leaving the item unchanged", async () => {
    await json("PUT", "/activity/a1", run);
    const fresh = await json("PUT", "/activity/a1", { ...run, durationSeconds: 100 }, { "if-match": '"1"' });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.headers.etag).toBe('"2"');

    const stale = await json("PUT", "/activity/a1", { ...run, durationSeconds: 200 }, { "if-match": '"1"' });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().error).toBe("Precondition Failed");
    const read = await api.app.inject({ method: "GET", url: "/activity/a1" });
    expect(read.json()).toMatchObject({ durationSeconds: 100, version: 2 });
  });

  it("accepts any of several ETags in If-Match", async () => {
    await json("PUT", "/activity/a2", run);
    const response = await json("PUT", "/activity/a2", run, { "if-match": '"7", "1"' });
    expect(response.statusCode).toBe(200);
  });

  it("honours If-Match: * (only if it exists) and If-None-Match: * (only if it does not)", async () => {
    expect((await json("PUT", "/activity/b1", run, { "if-match": "*" })).statusCode).toBe(412);
    expect((await json("PUT", "/activity/b1", run, { "if-none-match": "*" })).statusCode).toBe(201);
    expect((await json("PUT", "/activity/b1", run, { "if-none-match": "*" })).statusCode).toBe(412);
    expect((await json("PUT", "/activity/b1", run, { "if-match": "*" })).statusCode).toBe(200);
  });

  it("treats weak ETags as never matching (strong comparison) and answers 412", async () => {
    await json("PUT", "/activity/c1", run);
    expect((await json("PUT", "/activity/c1", run, { "if-match": 'W/"1"' })).statusCode).toBe(412);
  });

  // RFC 9110 §13.1.1: an If-Match that is well-formed but false is 412; only a malformed one is a bad request.
  it.each([
    ["a version no activity has", '"0"'],
    ["a non-numeric tag", '"abc"'],
    ["an empty tag", '""'],
    ["a version with a leading zero", '"01"'],
    ["a version beyond any count", '"99999999999999999999"'],
    ["a tag holding a comma", '"1,2"'],
    ["a list of such tags", '"0", W/"1", "abc"'],
    ["an empty list", ""],
  ])(
    "answers 412 for a well-formed If-Match that names no version (%s) and changes nothing",
    async (_label, ifMatch) => {
      await json("PUT", "/activity/c2", run);
      for (const method of ["PUT", "DELETE"] as const) {
        const response =
          method === "PUT"
            ? await json("PUT", "/activity/c2", { ...run, durationSeconds: 1 }, { "if-match": ifMatch })
            : await api.app.inject({ method, url: "/activity/c2", headers: { "if-match": ifMatch } });
        expect(response.statusCode).toBe(412);
        expect(response.json().error).toBe("Precondition Failed");
      }
      const read = await api.app.inject({ method: "GET", url: "/activity/c2" });
      expect(read.json()).toMatchObject({ durationSeconds: run.durationSeconds, version: 1 });
    },
  );

  it("reads If-Match as a list: whitespace and empty elements around the current ETag", async () => {
    await json("PUT", "/activity/c3", run);
    expect((await json("PUT", "/activity/c3", run, { "if-match": ' ,\t"1" , ' })).statusCode).toBe(200);
  });

  it.each([
    ["a bare number", { "if-match": "1" }, "If-Match"],
    ["tags without a comma between them", { "if-match": '"1" "2"' }, "If-Match"],
    ["* in a list", { "if-match": '*, "1"' }, "If-Match"],
    ["a space inside a tag", { "if-match": '"a b"' }, "If-Match"],
    ["an unterminated tag", { "if-match": '"1' }, "If-Match"],
    ["both conditions", { "if-match": '"1"', "if-none-match": "*" }, "If-Match"],
    ["an If-None-Match tag", { "if-none-match": '"1"' }, "If-None-Match"],
  ])("answers 400 for a malformed precondition (%s) and writes nothing", async (_label, headers, field) => {
    const response = await json("PUT", "/activity/d1", run, headers);
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe(field);
    expect((await api.app.inject({ method: "GET", url: "/activity/d1" })).statusCode).toBe(404);
  });

  it("lets exactly one of several concurrent writers holding the same ETag win", async () => {
    await json("PUT", "/activity/race", run);
    const writers = Array.from({ length: 8 }, (_, i) =>
      json("PUT", "/activity/race", { ...run, durationSeconds: 1000 + i }, { "if-match": '"1"' }),
    );
    const statuses = (await Promise.all(writers)).map((response) => response.statusCode).sort();
    expect(statuses).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
    const read = await api.app.inject({ method: "GET", url: "/activity/race" });
    expect(read.json().version).toBe(2);
  });
});

describe("DELETE /activity/:id", () => {
  it("deletes (204) and then answers 404, for the read and for a second delete", async () => {
    await json("PUT", "/activity/e1", run);
    const deleted = await api.app.inject({ method: "DELETE", url: "/activity/e1" });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe("");
    expect((await api.app.inject({ method: "GET", url: "/activity/e1" })).statusCode).toBe(404);
    expect((await api.app.inject({ method: "DELETE", url: "/activity/e1" })).statusCode).toBe(404);
  });

  it("refuses a stale If-Match with 412 and keeps the item; deletes with the current one", async () => {
    await json("PUT", "/activity/e2", run);
    await json("PUT", "/activity/e2", run);
    const stale = await api.app.inject({
      method: "DELETE",
      url: "/activity/e2",
      headers: { "if-match": '"1"' },
    });
    expect(stale.statusCode).toBe(412);
    expect((await api.app.inject({ method: "GET", url: "/activity/e2" })).statusCode).toBe(200);
    const current = await api.app.inject({
      method: "DELETE",
      url: "/activity/e2",
      headers: { "if-match": '"2"' },
    });
    expect(current.statusCode).toBe(204);
  });

  it("answers 400 for If-None-Match on DELETE", async () => {
    const response = await api.app.inject({
      method: "DELETE",
      url: "/activity/e3",
      headers: { "if-none-match": "*" },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe("If-None-Match");
  });
});

describe("GET /activity?userId=", () => {
  async function createMany(userId: string, count: number) {
    for (let i = 0; i < count; i++) {
      const startedAt = new Date(Date.UTC(2026, 0, 1 + i, 6, 0, 0)).toISOString();
      const response = await json("PUT", `/activity/${userId}-${i}`, { ...run, userId, startedAt });
      expect(response.statusCode).toBe(201);
    }
  }

  it("pages through one user's activities newest first with an opaque cursor, never another user's", async () => {
    await createMany("walker", 25);
    await createMany("swimmer", 3);
    const seen: string[] = [];
    let url = "/activity?userId=walker&limit=10";
    for (let page = 0; page < 10; page++) {
      const response = await api.app.inject({ method: "GET", url });
      expect(response.statusCode).toBe(200);
      const { items, nextCursor } = response.json();
      expect(items.length).toBeLessThanOrEqual(10);
      seen.push(...items.map((item: { startedAt: string; userId: string }) => item.startedAt));
      for (const item of items) expect(item.userId).toBe("walker");
      if (nextCursor === null) break;
      expect(nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      url = `/activity?userId=walker&limit=10&cursor=${nextCursor}`;
    }
    expect(seen).toHaveLength(25);
    expect(seen).toEqual([...seen].sort().reverse());
    expect(new Set(seen).size).toBe(25);
  });

  it("defaults to 20 items and returns an empty page for an unknown user", async () => {
    await createMany("cyclist", 21);
    const page = await api.app.inject({ method: "GET", url: "/activity?userId=cyclist" });
    expect(page.json().items).toHaveLength(20);
    const empty = await api.app.inject({ method: "GET", url: "/activity?userId=nobody" });
    expect(empty.json()).toEqual({ items: [], nextCursor: null });
  });

  it.each([
    ["no userId", "/activity", "userId", "querystring.userId is required"],
    ["limit 0", "/activity?userId=u&limit=0", "limit", "must be >= 1"],
    ["limit 101", "/activity?userId=u&limit=101", "limit", "must be <= 100"],
    ["limit abc", "/activity?userId=u&limit=abc", "limit", "must be integer"],
    [
      "limit 1e309, beyond double range",
      "/activity?userId=u&limit=1e309",
      "limit",
      "must be a finite number",
    ],
    ["limit -1e309", "/activity?userId=u&limit=-1e309", "limit", "must be a finite number"],
    ["limit Infinity", "/activity?userId=u&limit=Infinity", "limit", "must be a finite number"],
    [
      "limit of 400 digits",
      `/activity?userId=u&limit=${"9".repeat(400)}`,
      "limit",
      "must be a finite number",
    ],
    ["limit -0", "/activity?userId=u&limit=-0", "limit", "must be >= 1"],
    ["two limits", "/activity?userId=u&limit=1&limit=2", "limit", "must be integer"],
    ["an empty limit", "/activity?userId=u&limit=", "limit", "must be integer"],
    ["an unknown parameter", "/activity?userId=u&sort=asc", "sort", "not allowed"],
    ["a malformed cursor", "/activity?userId=u&cursor=%%%", "cursor", "must match pattern"],
    [
      "a cursor that is not ours",
      "/activity?userId=u&cursor=bm90LWEtY3Vyc29y",
      "cursor",
      "cursor is not one",
    ],
  ])("answers 400 naming the parameter for %s", async (_label, url, field, message) => {
    const response = await api.app.inject({ method: "GET", url });
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe(field);
    expect(response.json().message).toContain(message);
  });

  it("refuses another user's cursor with 400", async () => {
    await createMany("owner", 3);
    const page = await api.app.inject({ method: "GET", url: "/activity?userId=owner&limit=1" });
    const { nextCursor } = page.json();
    const stolen = await api.app.inject({
      method: "GET",
      url: `/activity?userId=thief&cursor=${nextCursor}`,
    });
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json().field).toBe("cursor");
  });
});

describe("routing", () => {
  it.each([
    ["PATCH", "/activity/1", "GET, HEAD, PUT, DELETE"],
    ["DELETE", "/activity", "GET, HEAD, POST"],
    ["POST", "/health", "GET, HEAD"],
  ] as const)("answers 405 with Allow for %s %s", async (method, url, allow) => {
    const response = await api.app.inject({ method, url });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe(allow);
    expect(response.json().error).toBe("Method Not Allowed");
  });

  it("answers 404 with a JSON error for an unknown route", async () => {
    const response = await api.app.inject({ method: "GET", url: "/activities/1" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ statusCode: 404, error: "Not Found", message: "no such route" });
  });

  it("answers 400 for a URL that is not valid percent-encoding", async () => {
    const response = await api.app.inject({ method: "GET", url: "/activity/%zz" });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe("the request URL is malformed");
  });

  it("echoes a safe X-Request-Id and replaces an unsafe one", async () => {
    const kept = await api.app.inject({
      method: "GET",
      url: "/health",
      headers: { "x-request-id": "abc-123" },
    });
    expect(kept.headers["x-request-id"]).toBe("abc-123");
    const replaced = await api.app.inject({
      method: "GET",
      url: "/health",
      headers: { "x-request-id": "evil\u0000id with spaces" },
    });
    expect(replaced.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});
