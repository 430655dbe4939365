/**
 * npm run verify:aws without AWS: its argument handling, its verdicts on recorded observations, the commands
 * it sends the preview host, and the probe itself run by node against a stand-in DynamoDB that answers as
 * IAM would (its own table allowed, the other denied).
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { previewNames } from "../../cli/preview/naming.js";
import { parseOptions, runVerifyCli, USAGE } from "../../cli/verify-aws/main.js";
import {
  judge,
  type Observations,
  type Outcome,
  PROBE_SCRIPT,
  parseObservations,
} from "../../cli/verify-aws/probe.js";
import { type CommandResult, rerunCommand, type VerifyDeps } from "../../cli/verify-aws/verify.js";
import { ROOT } from "../helpers/pulumi.js";

const DENIED: Outcome = {
  kind: "failed",
  name: "AccessDeniedException",
  message: "User: arn:aws:iam::123456789012:user/pv-a is not authorized to perform: dynamodb:GetItem",
};
const ALLOWED: Outcome = { kind: "answered" };
const SEALED: Observations = {
  metadataToken: {
    kind: "failed",
    name: "TimeoutError",
    message: "The operation was aborted due to timeout",
  },
  metadataV1: { kind: "failed", name: "TimeoutError", message: "The operation was aborted due to timeout" },
  ownWrite: ALLOWED,
  ownRead: { kind: "answered", found: true },
  ownDelete: ALLOWED,
  otherRead: DENIED,
  otherWrite: DENIED,
  otherDelete: DENIED,
  listTables: DENIED,
};

describe("the arguments", () => {
  const parse = (argv: string[]) => {
    const warnings: string[] = [];
    return { options: parseOptions(argv, (line) => warnings.push(line)), warnings };
  };

  it("takes the target, the branch to check from and another preview's branch", () => {
    expect(parse(["--target", "ec2", "--branch", "feature/a", "--other", "feature/b"])).toEqual({
      options: { branch: "feature/a", other: "feature/b", debug: false },
      warnings: [],
    });
  });

  it("accepts aws, the target's former name, with a notice, as the preview CLI does", () => {
    expect(parse(["--target", "aws", "--branch", "a", "--other", "b"])).toEqual({
      options: { branch: "a", other: "b", debug: false },
      warnings: ['warning: --target "aws" is deprecated: say "ec2" (same target)'],
    });
  });

  it("refuses what it cannot check, each in one line", () => {
    expect(() => parse(["--branch", "a", "--other", "b"])).toThrow(
      "--target ec2 is required: the checks are for AWS",
    );
    expect(() => parse(["--target", "local", "--branch", "a", "--other", "b"])).toThrow(
      '--target must be ec2 (previews on AWS), got "local"',
    );
    expect(() => parse(["--target", "ec2", "--branch", "a"])).toThrow("--branch and --other are required");
    expect(() => parse(["--target", "ec2", "--stack", "x"])).toThrow("Unknown option '--stack'");
  });

  it("prints its help, and exits 2 with one line on bad usage", async () => {
    const { deps, out, err } = fakeDeps({}, []);
    expect(await runVerifyCli(["--help"], deps)).toBe(0);
    expect(out).toEqual([USAGE]);
    expect(await runVerifyCli(["--target", "local", "--branch", "a", "--other", "b"], deps)).toBe(2);
    expect(err).toEqual([
      'verify:aws: --target must be ec2 (previews on AWS), got "local" (npm run verify:aws -- --help)',
    ]);
  });
});

describe("the verdicts", () => {
  it("pass a sealed preview: no metadata, the other table denied, its own table working", () => {
    const checks = judge(SEALED);
    expect(checks.map((check) => [check.name, check.passed])).toEqual([
      ["the metadata service is unreachable from the container", true],
      ["its own table: an item written, read back and deleted", true],
      ["the other preview's table: a read is denied", true],
      ["the other preview's table: a write is denied", true],
      ["the other preview's table: a delete is denied", true],
      ["the account's tables cannot be listed", true],
    ]);
  });

  it("fail a container that got a metadata token, or an IMDSv1 answer", () => {
    const token = judge({ ...SEALED, metadataToken: { kind: "answered", status: 200 } })[0];
    expect(token?.passed).toBe(false);
    expect(token?.detail).toMatch(/^the container reached it \(token request: HTTP 200;/);
    expect(judge({ ...SEALED, metadataV1: { kind: "answered", status: 200 } })[0]?.passed).toBe(false);
    // An answer that refuses (a 401 to IMDSv1 when tokens are required) gives nothing away.
    expect(judge({ ...SEALED, metadataV1: { kind: "answered", status: 401 } })[0]?.passed).toBe(true);
  });

  it("fail a request on the other table that IAM allowed, even one whose condition kept it harmless", () => {
    const checks = judge({
      ...SEALED,
      otherRead: { kind: "answered", found: false },
      otherWrite: {
        kind: "failed",
        name: "ConditionalCheckFailedException",
        message: "The conditional request failed",
      },
      otherDelete: {
        kind: "failed",
        name: "ResourceNotFoundException",
        message: "Requested resource not found",
      },
    });
    expect(checks.slice(2, 5).map((check) => [check.passed, check.detail])).toEqual([
      [false, "not denied: allowed"],
      [false, "not denied: allowed (it changed nothing only because its condition failed)"],
      [false, "not denied: ResourceNotFoundException: Requested resource not found"],
    ]);
  });

  it("fail its own table when a step is denied or the item is not read back", () => {
    const denied = judge({ ...SEALED, ownWrite: DENIED })[1];
    expect([denied?.passed, denied?.detail]).toEqual([false, `AccessDeniedException: ${DENIED.message}`]);
    const lost = judge({ ...SEALED, ownRead: { kind: "answered", found: false } })[1];
    expect([lost?.passed, lost?.detail]).toEqual([false, "the item written was not read back"]);
  });
});

const A = previewNames("feature/a");
const B = previewNames("feature/b");
const STACKS: Record<string, Record<string, unknown>> = {
  "previews-aws": {
    dockerHost: "ssh://ec2-user@i-0previews",
    sshOpts: ["-o", "StrictHostKeyChecking=yes"],
  },
  [A.stackName]: { release: "0.1.0-abc", tableName: `${A.resourcePrefix}-table-1a2b3c4` },
  [B.stackName]: { release: "0.1.0-def", tableName: `${B.resourcePrefix}-table-5e6f7a8` },
};

function fakeDeps(stacks: Record<string, Record<string, unknown>>, answers: CommandResult[]) {
  const out: string[] = [];
  const err: string[] = [];
  const commands: { command: readonly string[]; input: string | undefined }[] = [];
  const deps: VerifyDeps = {
    stackOutputs: async (stackName) => {
      const outputs = stacks[stackName];
      if (outputs === undefined) throw new Error(`stack ${stackName} does not exist`);
      return outputs;
    },
    run: async (command, input) => {
      commands.push({ command, input });
      return answers.shift() ?? { code: 1, stdout: "", stderr: "no answer recorded" };
    },
    now: () => new Date("2026-12-07T02:00:00.000Z"),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  };
  return { deps, out, err, commands };
}

describe("a run against recorded answers of the preview host", () => {
  const argv = ["--target", "ec2", "--branch", "feature/a", "--other", "feature/b"];
  const ssh = ["ssh", "-o", "StrictHostKeyChecking=yes", "ec2-user@i-0previews", "docker"];
  const container = `${A.resourcePrefix}-app-0.1.0-abc-1f2e3d4`;

  it("finds A's container over the host's SSH, runs the probe in it with both tables, and passes", async () => {
    const { deps, out, commands } = fakeDeps(STACKS, [
      { code: 0, stdout: `${container}\n`, stderr: "" },
      { code: 0, stdout: `verify-aws observations:${JSON.stringify(SEALED)}\n`, stderr: "" },
    ]);
    expect(await runVerifyCli(argv, deps)).toBe(0);
    expect(commands).toEqual([
      {
        command: [
          ...ssh,
          "ps",
          "--filter",
          "label=activity.release=0.1.0-abc",
          "--filter",
          `name=${A.resourcePrefix}-app-`,
          "--format",
          "{{.Names}}",
        ],
        input: undefined,
      },
      {
        command: [
          ...ssh,
          "exec",
          "-i",
          "-e",
          `VERIFY_OWN_TABLE=${A.resourcePrefix}-table-1a2b3c4`,
          "-e",
          `VERIFY_OTHER_TABLE=${B.resourcePrefix}-table-5e6f7a8`,
          container,
          "node",
          "-",
        ],
        input: PROBE_SCRIPT,
      },
    ]);
    expect(out.filter((line) => line.startsWith("PASS"))).toHaveLength(6);
    expect(out.slice(-3)).toEqual([
      "All 6 checks passed at 2026-12-07T02:00:00.000Z.",
      "The preview's key does not expire while the preview lives: run the same command again in a few hours " +
        "(or days) to see that its credentials still work:",
      "  npm run verify:aws -- --target ec2 --branch feature/a --other feature/b",
    ]);
  });

  it("exits 1 when a check fails, naming it", async () => {
    const open = { ...SEALED, metadataToken: { kind: "answered", status: 200 } };
    const { deps, out } = fakeDeps(STACKS, [
      { code: 0, stdout: `${container}\n`, stderr: "" },
      { code: 0, stdout: `verify-aws observations:${JSON.stringify(open)}\n`, stderr: "" },
    ]);
    expect(await runVerifyCli(argv, deps)).toBe(1);
    expect(out.filter((line) => line.startsWith("FAIL")).map((line) => line.split(":")[0])).toEqual([
      "FAIL  the metadata service is unreachable from the container",
    ]);
    expect(out).toContain("1 of 6 checks failed at 2026-12-07T02:00:00.000Z.");
  });

  it("says in one line why it could not run: no container, no probe output, a host without outputs", async () => {
    const none = fakeDeps(STACKS, [{ code: 0, stdout: "", stderr: "" }]);
    expect(await runVerifyCli(argv, none.deps)).toBe(1);
    expect(none.err).toEqual([
      `verify:aws: expected one running container of release 0.1.0-abc of ${A.stackName} on the preview host, found 0`,
    ]);
    const broken = fakeDeps(STACKS, [
      { code: 0, stdout: `${container}\n`, stderr: "" },
      { code: 1, stdout: "", stderr: "Error: Cannot find module '@aws-sdk/client-dynamodb'\n    at x" },
    ]);
    expect(await runVerifyCli(argv, broken.deps)).toBe(1);
    expect(broken.err.at(-1)).toBe(
      `verify:aws: the probe in ${container} printed no "verify-aws observations:" line (exit 1): Error: Cannot find module '@aws-sdk/client-dynamodb'`,
    );
    const oldHost = fakeDeps({ ...STACKS, "previews-aws": {} }, []);
    expect(await runVerifyCli(argv, oldHost.deps)).toBe(1);
    expect(oldHost.err).toEqual([
      "verify:aws: stack previews-aws has no output dockerHost: run npm run preview -- up for it (with this version) first",
    ]);
    const same = fakeDeps(STACKS, []);
    expect(await runVerifyCli(["--target", "ec2", "--branch", "a", "--other", "a"], same.deps)).toBe(1);
    expect(same.err).toEqual([
      "verify:aws: --branch and --other name the same preview: give two different branches",
    ]);
  });

  it("prints a re-run command a shell reads back unchanged", () => {
    expect(rerunCommand({ branch: "it's/odd", other: "feature/b" })).toBe(
      "npm run verify:aws -- --target ec2 --branch 'it'\\''s/odd' --other feature/b",
    );
  });
});

describe("the probe, run by node against a stand-in DynamoDB that answers as IAM would", () => {
  const OWN = "pv-a-12345678-table-1a2b3c4";
  const OTHER = "pv-b-87654321-table-5e6f7a8";
  const items = new Map<string, unknown>();
  let endpoint: string;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const operation = String(request.headers["x-amz-target"]).split(".")[1];
      const input = JSON.parse(body) as {
        TableName?: string;
        Key?: { id: { S: string } };
        Item?: { id: { S: string } };
      };
      const reply = (status: number, payload: object) => {
        response.writeHead(status, { "content-type": "application/x-amz-json-1.0" });
        response.end(JSON.stringify(payload));
      };
      if (input.TableName !== OWN) {
        return reply(400, {
          __type: "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
          message: `User: arn:aws:iam::123456789012:user/pv-a-12345678 is not authorized to perform: dynamodb:${operation}`,
        });
      }
      const id = (input.Key ?? input.Item)?.id.S ?? "";
      if (operation === "PutItem") items.set(id, input.Item);
      if (operation === "DeleteItem") items.delete(id);
      return reply(200, operation === "GetItem" && items.has(id) ? { Item: items.get(id) } : {});
    });
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("observes its own table working and every request on the other denied, and leaves nothing behind", async () => {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["-"], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          AWS_REGION: "eu-west-1",
          AWS_ACCESS_KEY_ID: "AKIAPREVIEWA",
          AWS_SECRET_ACCESS_KEY: "secret",
          AWS_ENDPOINT_URL_DYNAMODB: endpoint,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          VERIFY_OWN_TABLE: OWN,
          VERIFY_OTHER_TABLE: OTHER,
        },
      });
      let stdout = "";
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
      });
      child.on("error", reject);
      child.on("close", () => resolve(stdout));
      child.stdin.end(PROBE_SCRIPT);
    });
    const observations = parseObservations(output);
    // The metadata service is whatever this machine's network makes of 169.254.169.254: not judged here.
    expect(
      judge(observations as Observations)
        .slice(1)
        .map((check) => [check.name, check.passed]),
    ).toEqual([
      ["its own table: an item written, read back and deleted", true],
      ["the other preview's table: a read is denied", true],
      ["the other preview's table: a write is denied", true],
      ["the other preview's table: a delete is denied", true],
      ["the account's tables cannot be listed", true],
    ]);
    expect(observations?.otherWrite).toMatchObject({ kind: "failed", name: "AccessDeniedException" });
    expect(items.size).toBe(0);
  });
});
