/**
 * Bearer tokens and per-user authorization, against a real OIDC issuer on loopback (discovery and key set served
 * by cli/auth-dev/issuer.ts, keys made here and rotated mid-test) and the real verifier: every refused token
 * with its status, challenge and body, ownership on every route, and the issuer's load bounded by the cooldown.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { base64url, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AuthConfig } from "../../app/src/config.js";
import {
  DEV_AUDIENCE,
  type LocalIssuer,
  newSigningKey,
  startLocalIssuer,
} from "../../cli/auth-dev/issuer.js";
import { buildTestApp, type Endpoint, startDynalite, type TestApp } from "../helpers/dynamodb.js";

/** Short enough to wait out in a test; the production default is 30 s. */
const COOLDOWN_MS = 400;

let engine: Endpoint;
let issuer: LocalIssuer;
let api: TestApp;
let auth: AuthConfig;

beforeAll(async () => {
  engine = await startDynalite();
  issuer = await startLocalIssuer();
  auth = { issuer: issuer.url, audience: DEV_AUDIENCE, userClaim: "sub" };
});
afterAll(async () => {
  await issuer.close();
  await engine.close();
});
beforeEach(async () => {
  api = await buildTestApp(engine.url, { auth, keySetTiming: { cooldownMs: COOLDOWN_MS } });
  return () => api.close();
});

const run = { type: "run", startedAt: "2026-03-01T10:00:00Z", durationSeconds: 1800 };

function call(
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return api.app.inject({
    method,
    url,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

/** A token's three parts, each decoded or re-encoded. */
const json = (part: unknown) => base64url.encode(JSON.stringify(part));
function parts(token: string): [Record<string, unknown>, Record<string, unknown>, string] {
  const [header = "", payload = "", signature = ""] = token.split(".");
  const decode = (part: string) => JSON.parse(new TextDecoder().decode(base64url.decode(part)));
  return [decode(header), decode(payload), signature];
}

async function expectInvalid(token: string, message: string) {
  const response = await call("GET", "/activity?userId=alice", token);
  expect(response.statusCode, response.body).toBe(401);
  expect(response.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
  expect(response.json()).toEqual({ statusCode: 401, error: "Unauthorized", message, code: "invalid_token" });
}

describe("a valid access token", () => {
  it("lets its user create, read, list, replace and delete their own activities", async () => {
    const token = await issuer.accessToken("alice");
    const created = await call("POST", "/activity", token, { ...run, userId: "alice" });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json() as { id: string };
    expect((await call("GET", `/activity/${id}`, token)).statusCode).toBe(200);
    const listed = await call("GET", "/activity?userId=alice", token);
    expect(listed.json().items).toHaveLength(1);
    const replaced = await call("PUT", `/activity/${id}`, token, {
      ...run,
      userId: "alice",
      durationSeconds: 60,
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect((await call("DELETE", `/activity/${id}`, token)).statusCode).toBe(204);
  });

  it("may be a Cognito access token: no aud, token_use access, and the API's app client as client_id", async () => {
    const cognito = {
      aud: undefined,
      token_use: "access",
      client_id: DEV_AUDIENCE,
      scope: "aws.cognito.signin.user.admin",
    };
    const token = await issuer.accessToken("alice", cognito);
    expect((await call("GET", "/activity?userId=alice", token)).statusCode).toBe(200);
    await expectInvalid(
      await issuer.accessToken("alice", { ...cognito, client_id: "another-app" }),
      "the token is meant for another audience",
    );
  });

  it("names its caller by AUTH_USER_CLAIM when set", async () => {
    await api.close();
    api = await buildTestApp(engine.url, { auth: { ...auth, userClaim: "username" } });
    const token = await issuer.accessToken("a-uuid-sub", { username: "alice" });
    expect((await call("GET", "/activity?userId=alice", token)).statusCode).toBe(200);
    expect((await call("GET", "/activity?userId=a-uuid-sub", token)).statusCode).toBe(403);
  });
});

describe("a request without a usable token", () => {
  it.each([
    ["no Authorization header", undefined],
    ["another scheme", "Basic YWxpY2U6c2VjcmV0"],
  ])("is 401 with the bare Bearer challenge (%s)", async (_label, header) => {
    const response = await api.app.inject({
      method: "GET",
      url: "/activity/1",
      headers: header === undefined ? {} : { authorization: header },
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe("Bearer");
    expect(response.json()).toEqual({
      statusCode: 401,
      error: "Unauthorized",
      message: "this route needs a bearer token: send Authorization: Bearer <access token>",
      code: "missing_token",
    });
  });

  it("is refused on every activity route, before its body is read", async () => {
    for (const [method, url] of [
      ["GET", "/activity/1"],
      ["GET", "/activity?userId=alice"],
      ["POST", "/activity"],
      ["PUT", "/activity/1"],
      ["DELETE", "/activity/1"],
    ] as const) {
      // An invalid body would be 400 if it were parsed before the token was refused.
      const response = await api.app.inject({
        method,
        url,
        headers: { "content-type": "application/json" },
        payload: method === "POST" || method === "PUT" ? "{not json" : undefined,
      });
      expect(response.statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it("is 401 naming what is wrong, for each way a token can be bad", async () => {
    const cases: Array<[string, Promise<string> | string]> = [
      ["the token has expired", issuer.accessToken("alice", {}, { expiresInSeconds: -120 })],
      [
        "the token is not valid yet",
        issuer.accessToken("alice", { nbf: Math.floor(Date.now() / 1000) + 600 }),
      ],
      [
        "the token was issued by another issuer",
        issuer.accessToken("alice", { iss: "https://evil.example" }),
      ],
      ["the token is meant for another audience", issuer.accessToken("alice", { aud: "another-api" })],
      ["the token has no exp claim", issuer.accessToken("alice", { exp: undefined })],
      ["the token has no sub claim", issuer.accessToken("alice", { sub: undefined })],
      [
        "the token's sub claim is not a user id this API accepts (1 to 64 of A-Z a-z 0-9 _ -)",
        issuer.accessToken("auth0|alice"),
      ],
      [
        "an ID token is not an API credential; send an access token",
        issuer.accessToken("alice", { token_use: "id" }),
      ],
      [
        "an ID token is not an API credential; send an access token",
        issuer.accessToken("alice", { nonce: "n-0S6_WzA2Mj" }),
      ],
      ["the Authorization header must be Bearer followed by one token", "two tokens"],
      ["the token is not a well-formed signed JWT", "not-a-jwt"],
    ];
    for (const [message, token] of cases) await expectInvalid(await token, message);
  });

  it("is refused when unsigned (alg none)", async () => {
    const [, payload] = parts(await issuer.accessToken("alice"));
    const unsigned = `${json({ alg: "none", typ: "JWT" })}.${json(payload)}.`;
    await expectInvalid(
      unsigned,
      "the token's signing algorithm is not accepted; asymmetric algorithms only",
    );
  });

  it("is refused when signed with HS256 and the issuer's public key as the secret", async () => {
    const { publicJwk, kid } = issuer.currentKey;
    const [, payload] = parts(await issuer.accessToken("alice"));
    for (const secret of [JSON.stringify(publicJwk), publicJwk.n ?? ""]) {
      const forged = await new SignJWT(payload)
        .setProtectedHeader({ alg: "HS256", kid })
        .sign(new TextEncoder().encode(secret));
      await expectInvalid(
        forged,
        "the token's signing algorithm is not accepted; asymmetric algorithms only",
      );
    }
  });

  it("is refused when its payload was changed after signing", async () => {
    const [header, payload, signature] = parts(await issuer.accessToken("bob"));
    const tampered = `${json(header)}.${json({ ...payload, sub: "alice" })}.${signature}`;
    await expectInvalid(tampered, "the token's signature does not verify");
  });
});

describe("another user's token", () => {
  it("reads and deletes as if the activity did not exist, and cannot replace it or list its owner", async () => {
    const alice = await issuer.accessToken("alice");
    const bob = await issuer.accessToken("bob");
    const created = await call("PUT", "/activity/alices-run", alice, { ...run, userId: "alice" });
    expect(created.statusCode).toBe(201);

    for (const method of ["GET", "DELETE"] as const) {
      const theirs = await call(method, "/activity/alices-run", bob);
      const missing = await call(method, "/activity/nobodys-run", bob);
      expect(theirs.statusCode).toBe(404);
      expect(theirs.json()).toEqual({ ...missing.json(), message: "activity alices-run not found" });
      // With If-Match, someone else's activity answers exactly as a missing one does too.
      const conditional = await call(method, "/activity/alices-run", bob, undefined, { "if-match": '"1"' });
      const conditionalMissing = await call(method, "/activity/nobodys-run", bob, undefined, {
        "if-match": '"1"',
      });
      expect(conditional.statusCode).toBe(conditionalMissing.statusCode);
    }

    const overwrite = await call("PUT", "/activity/alices-run", bob, { ...run, userId: "bob" });
    expect(overwrite.statusCode).toBe(403);
    expect(overwrite.json()).toEqual({
      statusCode: 403,
      error: "Forbidden",
      message: "activity alices-run belongs to another user; choose another id, or POST",
      code: "not_owner",
    });
    const asAlice = await call("PUT", "/activity/bobs-run", bob, { ...run, userId: "alice" });
    expect(asAlice.statusCode).toBe(403);
    expect(asAlice.json().message).toBe("body.userId must be your own user id, bob");
    expect((await call("POST", "/activity", bob, { ...run, userId: "alice" })).statusCode).toBe(403);
    const listing = await call("GET", "/activity?userId=alice", bob);
    expect(listing.statusCode).toBe(403);
    expect(listing.json().message).toBe("querystring.userId must be your own user id, bob");

    const untouched = await call("GET", "/activity/alices-run", alice);
    expect(untouched.json()).toMatchObject({ userId: "alice", durationSeconds: 1800, version: 1 });
  });
});

describe("the issuer's keys", () => {
  it("are fetched once, not per request, and not at all for the probes", async () => {
    const before = { ...issuer.fetches };
    expect((await api.app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    expect((await api.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
    expect(issuer.fetches).toEqual(before);
    const token = await issuer.accessToken("alice");
    for (let i = 0; i < 20; i++)
      expect((await call("GET", "/activity?userId=alice", token)).statusCode).toBe(200);
    expect(issuer.fetches).toEqual({ discovery: before.discovery + 1, jwks: before.jwks + 1 });
  });

  it("are fetched again for an unknown kid at most once per cooldown, however many kids a burst names", async () => {
    // A cooldown long enough for a burst of requests on a busy machine; the tokens are signed beforehand.
    const cooldownMs = 2000;
    await api.close();
    api = await buildTestApp(engine.url, { auth, keySetTiming: { cooldownMs } });
    const unpublished = await newSigningKey();
    const unknownKids = await Promise.all(
      Array.from({ length: 150 }, () =>
        issuer.accessToken("alice", {}, { key: { ...unpublished, kid: crypto.randomUUID() } }),
      ),
    );
    const burst = async (tokens: string[]) => {
      const answers = await Promise.all(tokens.map((token) => call("GET", "/activity?userId=alice", token)));
      for (const answer of answers) expect(answer.statusCode).toBe(401);
      expect(answers[0]?.json().message).toBe("the token is signed with a key the issuer does not publish");
    };
    const valid = await issuer.accessToken("alice");
    const start = issuer.fetches.jwks;
    expect((await call("GET", "/activity?userId=alice", valid)).statusCode).toBe(200);
    const fetchedAt = Date.now();
    await burst(unknownKids.slice(0, 50)); // within the cooldown of the first fetch: no fetch at all
    expect(Date.now() - fetchedAt, "the burst outlasted the cooldown").toBeLessThan(cooldownMs);
    expect(issuer.fetches.jwks).toBe(start + 1);
    await new Promise((resolve) => setTimeout(resolve, cooldownMs + 50 - (Date.now() - fetchedAt)));
    const refetchedAt = Date.now();
    await burst(unknownKids.slice(50, 100));
    await burst(unknownKids.slice(100));
    expect(Date.now() - refetchedAt, "the bursts outlasted the cooldown").toBeLessThan(cooldownMs);
    expect(issuer.fetches.jwks).toBe(start + 2);
  });

  it("follow a rotation: a token signed with the new key is accepted once the cooldown has passed", async () => {
    const old = await issuer.accessToken("alice");
    expect((await call("GET", "/activity?userId=alice", old)).statusCode).toBe(200);
    await issuer.rotate();
    const rotated = await issuer.accessToken("alice");
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 50));
    expect((await call("GET", "/activity?userId=alice", rotated)).statusCode).toBe(200);
    expect((await call("GET", "/activity?userId=alice", old)).statusCode).toBe(200);
    issuer.retireOldKeys();
  });

  it("keep serving while the issuer is unreachable, once they have been fetched", async () => {
    const outage = await startLocalIssuer();
    const token = await outage.accessToken("alice");
    await api.close();
    api = await buildTestApp(engine.url, {
      auth: { ...auth, issuer: outage.url },
      keySetTiming: { cooldownMs: 50, cacheMaxAgeMs: 100 },
    });
    expect((await call("GET", "/activity?userId=alice", token)).statusCode).toBe(200);
    await outage.close();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await call("GET", "/activity?userId=alice", token)).statusCode).toBe(200);
  });
});

describe("an issuer that cannot be used", () => {
  /** An issuer URL whose every answer is a 500, counting the requests it gets. */
  async function brokenIssuer() {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests++;
      response.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      url,
      requests: () => requests,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  it("makes token routes 503 with Retry-After, asked at most once per cooldown, and /ready stays 200", async () => {
    const broken = await brokenIssuer();
    await api.close();
    api = await buildTestApp(engine.url, {
      auth: { ...auth, issuer: broken.url },
      keySetTiming: { cooldownMs: 60_000 },
    });
    const token = await issuer.accessToken("alice");
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await call("GET", "/activity?userId=alice", token));
    for (const answer of answers) {
      expect(answer.statusCode).toBe(503);
      expect(answer.headers["retry-after"]).toBe("2");
      expect(answer.json()).toEqual({
        statusCode: 503,
        error: "Service Unavailable",
        message: expect.stringMatching(/^the token issuer/),
        code: "issuer_unavailable",
      });
    }
    expect(broken.requests()).toBe(1);
    expect((await api.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
    await broken.close();
  });
});
