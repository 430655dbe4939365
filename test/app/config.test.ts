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
});
