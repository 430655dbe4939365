/** auth-issuer-https: the app never fetches its token issuer's keys over plain HTTP from another host. */
import { unknownValue } from "@pulumi/pulumi/runtime/rpc.js";
import { describe, expect, it } from "vitest";
import { ENV } from "../../app/src/contract.js";
import { containerDefinition } from "../../components/fargate-service.js";
import { AUTH_ISSUER_ENV, authIssuerHttps, policies } from "../../policy/policies.js";
import { analyze, check } from "../helpers/policy.js";
import { runProgram } from "../helpers/pulumi.js";

const CONTAINER = "docker:index/container:Container";
const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
const COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123";

const envs = (issuer: string) => ["APP_ENV=test", `AUTH_ISSUER=${issuer}`, "AUTH_AUDIENCE=api"];
const task = (issuer: string) => ({
  containerDefinitions: JSON.stringify([
    containerDefinition({
      image: "activity@sha256:00",
      appEnv: "production",
      tableName: "activities",
      region: "eu-west-1",
      logGroupName: "activity-logs",
      access: {
        auth: { issuer, audience: "api", userClaim: "sub" },
        rateLimit: { max: 1000, windowSeconds: 60 },
      },
    }),
  ]),
});
const FIX =
  "the app would fetch the keys that prove every token over plain HTTP, where anyone on the path can " +
  "replace them; use the issuer's https:// URL.";

describe("auth-issuer-https", () => {
  it("watches the variable that app/src/contract.ts reads", () => {
    expect(AUTH_ISSUER_ENV).toBe(ENV.authIssuer);
  });

  it("passes an https issuer, a loopback one over http, and an app without auth", async () => {
    for (const issuer of [COGNITO, "http://127.0.0.1:9000", "http://localhost:9000"]) {
      expect(await check(authIssuerHttps, CONTAINER, { envs: envs(issuer) })).toEqual([]);
      expect(await check(authIssuerHttps, TASK_DEFINITION, task(issuer))).toEqual([]);
    }
    expect(await check(authIssuerHttps, CONTAINER, { envs: ["APP_ENV=test"] })).toEqual([]);
  });

  it("flags a container or a task whose issuer is another host over plain HTTP", async () => {
    const issuer = "http://issuer.example.com";
    expect(await check(authIssuerHttps, CONTAINER, { envs: envs(issuer) })).toEqual([
      `envs[1] sets AUTH_ISSUER=${issuer}: ${FIX}`,
    ]);
    expect(await check(authIssuerHttps, TASK_DEFINITION, task(issuer))).toEqual([
      `container "api" sets AUTH_ISSUER=${issuer}: ${FIX}`,
    ]);
  });

  it("judges nothing while the environment is unknown", async () => {
    expect(await check(authIssuerHttps, CONTAINER, { envs: unknownValue })).toEqual([]);
    expect(await check(authIssuerHttps, CONTAINER, { envs: ["APP_ENV=test", unknownValue] })).toEqual([]);
  });

  it("fails a program whose app is pointed at an issuer over plain HTTP", async () => {
    const dev = await runProgram("dev", {
      "activity-api:authIssuer": "http://127.0.0.1:9000",
      "activity-api:authAudience": "activity-api",
    });
    expect(await analyze([authIssuerHttps], dev.registrations)).toEqual([]);
    // The program refuses such a value itself (stack/settings.ts); the pack stands behind any program.
    const bad = dev.registrations.map((registration) =>
      registration.type === CONTAINER && Array.isArray(registration.inputs.envs)
        ? {
            ...registration,
            inputs: {
              ...registration.inputs,
              envs: (registration.inputs.envs as string[]).map((pair) =>
                pair.startsWith("AUTH_ISSUER=") ? "AUTH_ISSUER=http://issuer.example.com" : pair,
              ),
            },
          }
        : registration,
    );
    const findings = await analyze(policies, bad);
    expect(findings).toEqual([
      {
        policy: "auth-issuer-https",
        enforcementLevel: "mandatory",
        resource: `activity-app-${dev.outputs.release}`,
        message: expect.stringContaining("sets AUTH_ISSUER=http://issuer.example.com"),
      },
    ]);
  });
});
