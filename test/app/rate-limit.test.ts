/**
 * Rate limits per caller: a verified token's user, else the client address (the proxy's X-Forwarded-For entry
 * when one proxy is trusted, the socket's otherwise), 429 with Retry-After, and probes never limited; and HSTS,
 * which also rests on what the trusted proxy reports.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_AUDIENCE, type LocalIssuer, startLocalIssuer } from "../../cli/auth-dev/issuer.js";
import { buildTestApp, type Endpoint, startDynalite, type TestApp } from "../helpers/dynamodb.js";

const MAX = 3;

let engine: Endpoint;
let issuer: LocalIssuer;

beforeAll(async () => {
  engine = await startDynalite();
  issuer = await startLocalIssuer();
});
afterAll(async () => {
  await issuer.close();
  await engine.close();
});

async function limitedApp(trustedProxyHops = 0, withAuth = true): Promise<TestApp> {
  return buildTestApp(engine.url, {
    rateLimit: { max: MAX, windowSeconds: 60 },
    trustedProxyHops,
    ...(withAuth && { auth: { issuer: issuer.url, audience: DEV_AUDIENCE, userClaim: "sub" } }),
  });
}

async function statuses(api: TestApp, count: number, headers: Record<string, string>, url = "/activity/1") {
  const answers = [];
  for (let i = 0; i < count; i++) answers.push(await api.app.inject({ method: "GET", url, headers }));
  return answers;
}

describe("the rate limit", () => {
  it("answers 429 with Retry-After and the error shape once a user has spent their allowance", async () => {
    const api = await limitedApp();
    const alice = { authorization: `Bearer ${await issuer.accessToken("alice")}` };
    const answers = await statuses(api, MAX + 1, alice);
    expect(answers.map((answer) => answer.statusCode)).toEqual([404, 404, 404, 429]);
    const limited = answers[MAX];
    expect(Number(limited?.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(limited?.headers["retry-after"])).toBeLessThanOrEqual(60);
    expect(limited?.json()).toEqual({
      statusCode: 429,
      error: "Too Many Requests",
      message: expect.stringMatching(/^more than 3 requests in 60 s; retry in /),
      code: "rate_limited",
    });
    // Another user from the same address has an allowance of their own.
    const bob = { authorization: `Bearer ${await issuer.accessToken("bob")}` };
    expect((await statuses(api, 1, bob)).map((answer) => answer.statusCode)).toEqual([404]);
    await api.close();
  });

  it("counts refused tokens against their sender's address, never against the user they name", async () => {
    const api = await limitedApp();
    const [header = "", , signature = ""] = (await issuer.accessToken("alice")).split(".");
    const forged = `${header}.${Buffer.from(JSON.stringify({ sub: "alice" })).toString("base64url")}.${signature}`;
    const garbage = await statuses(api, MAX + 2, { authorization: `Bearer ${forged}` });
    expect(garbage.map((answer) => answer.statusCode)).toEqual([401, 401, 401, 429, 429]);
    const alice = { authorization: `Bearer ${await issuer.accessToken("alice")}` };
    expect((await statuses(api, 1, alice)).map((answer) => answer.statusCode)).toEqual([404]);
    await api.close();
  });

  it("never limits the probes", async () => {
    const api = await limitedApp();
    for (const url of ["/health", "/ready"]) {
      const answers = await statuses(api, MAX * 3, {}, url);
      expect(answers.every((answer) => answer.statusCode === 200)).toBe(true);
    }
    await api.close();
  });

  it("behind one trusted proxy, tells clients apart by the address that proxy appended", async () => {
    const api = await limitedApp(1, false);
    const from = (client: string) => ({ "x-forwarded-for": client });
    expect((await statuses(api, MAX + 1, from("203.0.113.7"))).map((a) => a.statusCode)).toEqual([
      404, 404, 404, 429,
    ]);
    expect((await statuses(api, 1, from("203.0.113.8"))).map((a) => a.statusCode)).toEqual([404]);
    // A client cannot choose its key: what it sends ahead of the proxy's entry is not trusted.
    const spoofed = await statuses(api, 1, from("198.51.100.1, 203.0.113.7"));
    expect(spoofed.map((answer) => answer.statusCode)).toEqual([429]);
    await api.close();
  });

  it("with no trusted proxy, ignores X-Forwarded-For: the socket's address is the client", async () => {
    const api = await limitedApp(0, false);
    const answers = [];
    for (let i = 0; i < MAX + 1; i++) {
      answers.push(
        await api.app.inject({
          method: "GET",
          url: "/activity/1",
          headers: { "x-forwarded-for": `203.0.113.${i}` },
        }),
      );
    }
    expect(answers.map((answer) => answer.statusCode)).toEqual([404, 404, 404, 429]);
    await api.close();
  });

  it("counts an IPv6 client by its /56, so rotating addresses within it does not reset the count", async () => {
    const api = await limitedApp(0, false);
    const from = async (remoteAddress: string) =>
      (await api.app.inject({ method: "GET", url: "/activity/1", remoteAddress })).statusCode;
    const sameSubscriber = [
      "2001:db8:aa:bb01::1",
      "2001:db8:aa:bb02::2",
      "2001:db8:aa:bbff::3",
      "2001:db8:aa:bb00::4",
    ];
    const statuses = [];
    for (const address of sameSubscriber) statuses.push(await from(address));
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect(await from("2001:db8:aa:cc00::1")).toBe(404);
    expect(await from("::ffff:192.0.2.1")).toBe(404);
    await api.close();
  });

  it("sends HSTS only on requests the trusted proxy received over HTTPS", async () => {
    const proxied = await limitedApp(1, false);
    const hsts = async (api: TestApp, proto: string) =>
      (await api.app.inject({ method: "GET", url: "/health", headers: { "x-forwarded-proto": proto } }))
        .headers["strict-transport-security"];
    expect(await hsts(proxied, "https")).toBe("max-age=31536000");
    expect(await hsts(proxied, "http")).toBeUndefined();
    const direct = await limitedApp(0, false);
    expect(await hsts(direct, "https")).toBeUndefined();
    await proxied.close();
    await direct.close();
  });
});
