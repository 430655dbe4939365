/** The API's environment schema: defaults, each rejected value with its one-line message, cross-field rules. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../app/src/config.js";
import { APP_PORT } from "../../app/src/contract.js";

const local = { DYNAMODB_ENDPOINT: "http://localhost:8000" };

describe("loadConfig", () => {
  it("defaults to development on the app port with the default table, given a local endpoint", () => {
    expect(loadConfig(local)).toEqual({
      appEnv: "development",
      port: APP_PORT,
      host: "0.0.0.0",
      tableName: "activities",
      dynamodbEndpoint: "http://localhost:8000",
      region: "us-east-1",
      logLevel: "info",
      auth: undefined,
      rateLimit: { max: 1000, windowSeconds: 60 },
      trustedProxyHops: 0,
    });
  });

  it("reads the test switch with the regional endpoint of AWS_REGION", () => {
    const config = loadConfig({
      APP_ENV: "test",
      AWS_REGION: "eu-west-1",
      TABLE_NAME: "act-test.1",
      PORT: "8080",
    });
    expect(config).toMatchObject({
      appEnv: "test",
      region: "eu-west-1",
      tableName: "act-test.1",
      port: 8080,
    });
    expect(config.dynamodbEndpoint).toBeUndefined();
  });

  it("treats empty values as unset, as `docker run -e NAME=` gives", () => {
    expect(loadConfig({ ...local, PORT: "", LOG_LEVEL: "" })).toMatchObject({
      port: APP_PORT,
      logLevel: "info",
    });
  });

  it.each([
    ["APP_ENV", "staging", 'APP_ENV="staging" is not allowed; expected one of development, test, production'],
    ["PORT", "abc", 'PORT="abc" is not allowed; expected an integer port from 1 to 65535'],
    ["PORT", "0", 'PORT="0" is not allowed'],
    ["PORT", "65536", 'PORT="65536" is not allowed'],
    ["PORT", "80.5", 'PORT="80.5" is not allowed'],
    ["TABLE_NAME", "ab", 'TABLE_NAME="ab" is not allowed; expected a DynamoDB table name'],
    ["TABLE_NAME", "bad/name", 'TABLE_NAME="bad/name" is not allowed'],
    [
      "DYNAMODB_ENDPOINT",
      "localhost:8000",
      'DYNAMODB_ENDPOINT="localhost:8000" is not allowed; expected an http://',
    ],
    ["DYNAMODB_ENDPOINT", "ftp://x", 'DYNAMODB_ENDPOINT="ftp://x" is not allowed'],
    ["AWS_REGION", "Europe", 'AWS_REGION="Europe" is not allowed; expected an AWS region code'],
    ["LOG_LEVEL", "verbose", 'LOG_LEVEL="verbose" is not allowed; expected one of fatal, error, warn, info'],
    ["HOST", "bad host", 'HOST="bad host" is not allowed'],
  ])("rejects %s=%s with one line naming it and what is allowed", (name, value, message) => {
    const attempt = () => loadConfig({ ...local, [name]: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(`Invalid environment: ${message}`);
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });

  it("requires DYNAMODB_ENDPOINT in development, so development never touches real AWS", () => {
    expect(() => loadConfig({})).toThrow("DYNAMODB_ENDPOINT is required when APP_ENV=development");
  });

  it("requires AWS_REGION when no endpoint is set", () => {
    expect(() => loadConfig({ APP_ENV: "production" })).toThrow(
      "AWS_REGION is required when DYNAMODB_ENDPOINT is unset",
    );
  });

  it("turns auth on with AUTH_ISSUER and AUTH_AUDIENCE, naming the caller by sub unless AUTH_USER_CLAIM says", () => {
    const issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123";
    expect(loadConfig({ ...local, AUTH_ISSUER: issuer, AUTH_AUDIENCE: "client-1" }).auth).toEqual({
      issuer,
      audience: "client-1",
      userClaim: "sub",
    });
    expect(
      loadConfig({ ...local, AUTH_ISSUER: issuer, AUTH_AUDIENCE: "client-1", AUTH_USER_CLAIM: "username" })
        .auth,
    ).toMatchObject({ userClaim: "username" });
  });

  it.each([
    [{ AUTH_ISSUER: "https://issuer.example" }, "AUTH_AUDIENCE is required when AUTH_ISSUER is set"],
    [{ AUTH_AUDIENCE: "api" }, "AUTH_AUDIENCE is set but AUTH_ISSUER is not"],
    [
      { AUTH_ISSUER: "http://issuer.example", AUTH_AUDIENCE: "api" },
      'AUTH_ISSUER="http://issuer.example" is not allowed; an issuer\'s keys must come over https://',
    ],
    [{ AUTH_ISSUER: "issuer.example", AUTH_AUDIENCE: "api" }, 'AUTH_ISSUER="issuer.example" is not allowed'],
    [
      { AUTH_ISSUER: "https://a.example/?x=1", AUTH_AUDIENCE: "api" },
      'AUTH_ISSUER="https://a.example/?x=1" is not allowed; expected the issuer URL',
    ],
    [
      { AUTH_ISSUER: "https://a.example", AUTH_AUDIENCE: "two words" },
      'AUTH_AUDIENCE="two words" is not allowed',
    ],
    [{ RATE_LIMIT_MAX: "0" }, 'RATE_LIMIT_MAX="0" is not allowed; expected the requests one caller may make'],
    [{ TRUSTED_PROXY_HOPS: "2" }, 'TRUSTED_PROXY_HOPS="2" is not allowed; expected 1 when one proxy'],
  ])("refuses auth and limit settings that cannot work: %j", (env, message) => {
    expect(() => loadConfig({ ...local, ...env })).toThrow(`Invalid environment: ${message}`);
  });

  it("accepts a plain-HTTP issuer only on loopback, where tests and npm run auth:dev run one", () => {
    for (const issuer of ["http://127.0.0.1:9000", "http://localhost:9000/realm", "http://[::1]:9000"]) {
      expect(loadConfig({ ...local, AUTH_ISSUER: issuer, AUTH_AUDIENCE: "api" }).auth?.issuer).toBe(issuer);
    }
  });
});
