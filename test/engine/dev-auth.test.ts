/**
 * The dev stack with authIssuer set, on the real engine: the stack's keys reach the app's container through
 * the program, and the app behind the front proxy requires tokens while its probes stay open. The issuer is a
 * loopback one (`npm run auth:dev`'s address), as the settings accept on target local; inside the container
 * loopback is the container itself, so a well-formed token finds no issuer (503), which the settings warn of.
 * A 200 with a token needs an issuer the container reaches over https://, which this machine cannot offer
 * without a CA the image trusts: see docs/api.md, "Connecting an identity provider".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_PORT } from "../../app/src/contract.js";
import { tail } from "../helpers/run.js";
import { type ProjectCopy, request, startDevStackSuite } from "./harness.js";

const API = `http://127.0.0.1:${HOST_PORT}`;
const ISSUER = "http://127.0.0.1:10090";
const AUDIENCE = "activity-api";
let copy: ProjectCopy;

/** A token of the right shape for ISSUER and AUDIENCE, whose signature only the issuer's keys could check. */
function wellFormedToken(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const header = part({ alg: "RS256", typ: "JWT", kid: "engine-suite" });
  const payload = part({ iss: ISSUER, aud: AUDIENCE, sub: "alice", iat: now, exp: now + 300 });
  return `${header}.${payload}.${Buffer.from("not a signature").toString("base64url")}`;
}

beforeAll(async () => {
  ({ copy } = await startDevStackSuite());
});

afterAll(async () => {
  if (copy !== undefined) {
    await copy.run("bash", "scripts/dev-stack.sh", "down");
    await copy.remove();
  }
});

describe("the dev stack with authIssuer set, on the real engine", () => {
  it("comes up, warning that a loopback issuer is the container's own", async () => {
    const init = await copy.run("pulumi", "stack", "select", "dev", "--create");
    expect(init.code, tail(init)).toBe(0);
    for (const [key, value] of [
      ["authIssuer", ISSUER],
      ["authAudience", AUDIENCE],
    ] as const) {
      const set = await copy.run("pulumi", "config", "set", "--stack", "dev", key, value);
      expect(set.code, tail(set)).toBe(0);
    }
    const up = await copy.run("npm", "run", "dev:up");
    expect(up.code, tail(up)).toBe(0);
    expect(`${up.stdout}\n${up.stderr}`).toContain(`activity-api:authIssuer ${ISSUER} is on loopback`);
  });

  it("answers 401 with WWW-Authenticate: Bearer through the proxy, with no token", async () => {
    const answer = await request(`${API}/activity/1`);
    expect(answer.status).toBe(401);
    expect(answer.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "missing_token" });
  });

  it("keeps the probes open, and /ready never depends on the issuer", async () => {
    expect((await request(`${API}/health`)).status).toBe(200);
    expect((await request(`${API}/ready`)).status).toBe(200);
  });

  it("refuses a garbage token as invalid, and a well-formed one finds no issuer on the container's loopback", async () => {
    const garbage = await request(`${API}/activity/1`, { headers: { authorization: "Bearer garbage" } });
    expect(garbage.status).toBe(401);
    expect(JSON.parse(garbage.body)).toMatchObject({ code: "invalid_token" });
    const wellFormed = await request(`${API}/activity/1`, {
      headers: { authorization: `Bearer ${wellFormedToken()}` },
      timeoutMs: 15_000,
    });
    expect(wellFormed.status, wellFormed.body).toBe(503);
    expect(JSON.parse(wellFormed.body)).toMatchObject({ code: "issuer_unavailable" });
  });
});
