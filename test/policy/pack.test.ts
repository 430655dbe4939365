/**
 * The pack as `pulumi preview --policy-pack policy` runs it: @pulumi/pulumi's run-policy-pack started in
 * policy/, as the CLI's pulumi-analyzer-policy script starts it, then asked over gRPC, as the engine asks, for
 * its policies and to analyse resources. No Pulumi CLI is needed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb.js";
import analyzerPb, { type AnalyzeResponse, type AnalyzerInfo } from "@pulumi/pulumi/proto/analyzer_pb.js";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc.js";
import emptyPb from "google-protobuf/google/protobuf/empty_pb.js";
import structPb from "google-protobuf/google/protobuf/struct_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ecrRepositoryLifecyclePolicy, noPublicSsh, policies } from "../../policy/policies.js";

const PACK_DIRECTORY = fileURLToPath(new URL("../../policy/", import.meta.url));
/** A cold start takes about 2 s here (transpiled, not type-checked: policy/tsconfig.json); room for a busy machine. */
const START_TIMEOUT_MS = 30_000;

/**
 * Starts the pack as pulumi-analyzer-policy does: the runner resolved from the pack's directory, run there
 * with the engine's address (which it does not use) and the pack's path; it prints the port it serves on.
 */
function startPack(): Promise<{ pack: ChildProcess; port: number }> {
  const runner = createRequire(import.meta.url).resolve("@pulumi/pulumi/cmd/run-policy-pack", {
    paths: [PACK_DIRECTORY],
  });
  const pack = spawn(process.execPath, [runner, "127.0.0.1:0", "."], {
    cwd: PACK_DIRECTORY,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    pack.stdout.on("data", (chunk) => {
      stdout += chunk;
      const port = /^(\d+)$/m.exec(stdout)?.[1];
      if (port !== undefined) resolve({ pack, port: Number(port) });
    });
    pack.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    pack.on("exit", (code) =>
      reject(new Error(`the pack exited (${code}) before serving:\n${stdout}${stderr}`)),
    );
  });
}

const urnOf = (type: string, name: string) => `urn:pulumi:test::activity-api::${type}::${name}`;
const struct = (props: Record<string, unknown>) =>
  structPb.Struct.fromJavaScript(props as Parameters<typeof structPb.Struct.fromJavaScript>[0]);

function diagnostics(response: AnalyzeResponse) {
  return response.getDiagnosticsList().map((diagnostic) => ({
    policy: diagnostic.getPolicyname(),
    enforcementLevel: diagnostic.getEnforcementlevel(),
    message: diagnostic.getMessage(),
    urn: diagnostic.getUrn(),
  }));
}

describe("the pack under @pulumi/pulumi's run-policy-pack", () => {
  let pack: ChildProcess | undefined;
  let client: AnalyzerClient;

  beforeAll(async () => {
    const started = await startPack();
    pack = started.pack;
    client = new AnalyzerClient(`127.0.0.1:${started.port}`, credentials.createInsecure());
  }, START_TIMEOUT_MS);

  afterAll(() => {
    client?.close();
    pack?.kill();
  });

  const analyze = (type: string, props: Record<string, unknown>) =>
    new Promise<AnalyzeResponse>((resolve, reject) => {
      const request = new analyzerPb.AnalyzeRequest()
        .setType(type)
        .setName("example")
        .setUrn(urnOf(type, "example"))
        .setProperties(struct(props))
        .setOptions(new analyzerPb.AnalyzerResourceOptions());
      client.analyze(request, (error, response) => (error ? reject(error) : resolve(response)));
    });

  it("serves every policy of policies.ts at its enforcement level", async () => {
    const info = await new Promise<AnalyzerInfo>((resolve, reject) => {
      client.getAnalyzerInfo(new emptyPb.Empty(), (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
    const levels = {
      advisory: analyzerPb.EnforcementLevel.ADVISORY,
      mandatory: analyzerPb.EnforcementLevel.MANDATORY,
    };
    expect(info.getName()).toBe("activity-api-security");
    expect(info.getVersion()).toBe("0.1.0");
    expect(info.getPoliciesList().map((policy) => [policy.getName(), policy.getEnforcementlevel()])).toEqual(
      policies.map((policy) => [policy.name, levels[policy.enforcementLevel as keyof typeof levels]]),
    );
  });

  it("reports SSH open to the Internet as a mandatory violation of the resource", async () => {
    const type = "aws:ec2/securityGroup:SecurityGroup";
    const ingress = [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }];
    expect(diagnostics(await analyze(type, { ingress }))).toEqual([
      {
        policy: "no-public-ssh",
        enforcementLevel: analyzerPb.EnforcementLevel.MANDATORY,
        message:
          `${noPublicSsh.description}\ningress[0].cidrBlocks opens SSH (TCP port 22) to 0.0.0.0/0; allow ` +
          "port 22 only from known CIDRs, or reach the host through SSM Session Manager with no port 22 open " +
          "at all.",
        // The engine files a resource's diagnostics under that resource itself.
        urn: "",
      },
    ]);
  });

  it("reports nothing, not even a can't-run-during-preview advisory, for unknown values", async () => {
    const rule = { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: [unknownValue] };
    const response = await analyze("aws:ec2/securityGroup:SecurityGroup", { ingress: [rule, unknownValue] });
    expect(diagnostics(response)).toEqual([]);
    const instance = await analyze("aws:ec2/instance:Instance", {
      metadataOptions: unknownValue,
      rootBlockDevice: { encrypted: unknownValue, volumeType: unknownValue },
      tags: { Name: "activity-host" },
      tagsAll: unknownValue,
    });
    expect(diagnostics(instance)).toEqual([]);
  });

  it("matches lifecycle policies to repositories through property dependencies", async () => {
    const repositoryType = "aws:ecr/repository:Repository";
    const resource = (type: string, name: string, props: Record<string, unknown>) =>
      new analyzerPb.AnalyzerResource()
        .setType(type)
        .setName(name)
        .setUrn(urnOf(type, name))
        .setProperties(struct(props))
        .setOptions(new analyzerPb.AnalyzerResourceOptions());
    const lifecycle = resource("aws:ecr/lifecyclePolicy:LifecyclePolicy", "covered", {
      repository: unknownValue,
    });
    lifecycle
      .getPropertydependenciesMap()
      .set(
        "repository",
        new analyzerPb.AnalyzerPropertyDependencies().setUrnsList([urnOf(repositoryType, "covered")]),
      );
    const request = new analyzerPb.AnalyzeStackRequest().setResourcesList([
      resource(repositoryType, "covered", { name: unknownValue }),
      resource(repositoryType, "bare", { name: "bare-1a2b3c4" }),
      lifecycle,
    ]);
    const response = await new Promise<AnalyzeResponse>((resolve, reject) => {
      client.analyzeStack(request, (error, result) => (error ? reject(error) : resolve(result)));
    });
    expect(diagnostics(response)).toEqual([
      {
        policy: "ecr-repository-lifecycle-policy",
        enforcementLevel: analyzerPb.EnforcementLevel.MANDATORY,
        message:
          `${ecrRepositoryLifecyclePolicy.description}\nECR repository "bare" has no aws.ecr.LifecyclePolicy ` +
          "whose repository is its name; add one (awsx.ecr.Repository makes it from its lifecyclePolicy " +
          "argument) so that old images expire.",
        urn: urnOf(repositoryType, "bare"),
      },
    ]);
  });
});
