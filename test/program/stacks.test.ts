/**
 * The real program, run under mocks for each stack with its real Pulumi.<stack>.yaml: the resource graph each
 * stack declares, and the security rules it must keep. Each test states one policy.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { APP_PORT, APP_UID, HOST_PORT } from "../../app/src/contract.js";
import { AL2023_AMI_PARAMETER } from "../../components/docker-host.js";
import { policies } from "../../policy/policies.js";
import { analyze } from "../helpers/policy.js";
import { type ProgramRun, type Registration, runProgram, USER_VALUES } from "../helpers/pulumi.js";

const isAws = (registration: Registration) =>
  registration.type.startsWith("aws:") ||
  registration.type.startsWith("awsx:") ||
  registration.type === "pulumi:providers:aws";

function env(container: Registration): Record<string, string> {
  return Object.fromEntries(
    (container.inputs.envs as string[]).map((pair) => pair.split(/=(.*)/s).slice(0, 2)),
  );
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}
/** The app's container: one resource per release, named for it. */
function appContainer(run: ProgramRun): Registration {
  return run.named("docker:index/container:Container", `activity-app-${run.outputs.release}`);
}

function statements(run: ProgramRun): Statement[] {
  return run
    .ofType("aws:iam/rolePolicy:RolePolicy")
    .flatMap((policy) => (JSON.parse(String(policy.inputs.policy)) as { Statement: Statement[] }).Statement);
}

describe("the entrypoint", () => {
  it("exports the program as its default and nothing else, as the Node.js language host requires", async () => {
    // @pulumi/pulumi cmd/run/run.js refuses an entrypoint with both ("expected entrypoint module to have either
    // a default export or named exports but not both"); mocks import the default and never notice.
    const entrypoint = await import("../../index.js");
    expect(typeof entrypoint.default).toBe("function");
    expect(Object.keys(entrypoint)).toEqual(["default"]);
  });
});

describe("the dev stack (Pulumi.dev.yaml)", () => {
  let dev: ProgramRun;
  beforeAll(async () => {
    dev = await runProgram("dev");
  });

  it("creates no AWS resource at all: no provider, no AWS invoke, no credentials needed", async () => {
    const run = dev;
    expect(run.registrations.filter(isAws)).toEqual([]);
    // The one invoke reads the stack's own release record, from the engine.
    expect(run.invokes.map((invoke) => invoke.token)).toEqual(["pulumi:pulumi:readStackOutputs"]);
    expect(run.registrations.length).toBeGreaterThan(0);
  });

  it("runs the locally built image in development mode behind the proxy, beside DynamoDB Local", async () => {
    const run = dev;
    const image = run.named("docker:index/image:Image", "activity-image");
    expect(image.inputs.skipPush).toBe(true);
    expect(image.inputs.imageName).toMatch(/^activity-api:0\.1\.0-[0-9a-f]{12}$/);
    expect(image.inputs.build).toMatchObject({
      context: ".",
      dockerfile: "app/Dockerfile",
      platform: "linux/amd64",
    });

    const app = appContainer(run);
    expect(app.inputs.image).toBe(run.outputs.imageRef);
    expect(env(app)).toEqual({
      APP_ENV: "development",
      PORT: String(APP_PORT),
      TABLE_NAME: "activities",
      DYNAMODB_ENDPOINT: "http://dynamodb:8000",
      // Behind the proxy, which appends the client to X-Forwarded-For; no authIssuer: open, as on a laptop.
      TRUSTED_PROXY_HOPS: "1",
      RATE_LIMIT_MAX: "1000",
      RATE_LIMIT_WINDOW_SECONDS: "60",
    });
    // The proxy owns the host port; the app publishes none, so that two releases can run side by side.
    expect(app.inputs.ports).toBeUndefined();
    // On this machine only, unless publishTo says lan: a laptop's LAN is not an audience.
    const proxy = run.named("docker:index/container:Container", "activity-proxy");
    expect(proxy.inputs.ports).toEqual([{ internal: HOST_PORT, external: HOST_PORT, ip: "127.0.0.1" }]);

    const network = run.named("docker:index/network:Network", "activity-net");
    const dynamodb = run.named("docker:index/container:Container", "activity-dynamodb");
    const networkName = `${network.name}-8b1c2d3`;
    expect(app.inputs.networksAdvanced).toEqual([{ name: networkName, aliases: ["api"] }]);
    expect(dynamodb.inputs.networksAdvanced).toEqual([{ name: networkName, aliases: ["dynamodb"] }]);
    expect(proxy.inputs.networksAdvanced).toEqual([{ name: networkName }]);
    expect(run.outputs.apiUrl).toBe("http://localhost:10001");
  });

  it("rolls a release out create-before-delete, overriding the Docker provider's delete-first default", async () => {
    const app = appContainer(dev);
    // The provider replaces containers delete-first unless told otherwise: an outage on every release.
    expect(app.options.deleteBeforeReplace).toBe(false);
    expect(app.options.errorHooks).toEqual(["activity-failed-release"]);
    expect(app.inputs).toMatchObject({ destroyGraceSeconds: 10 });
    // The update waits for the new release through its gate, within the default readiness timeout.
    const gate = dev.named("command:local:Command", `activity-ready-${dev.outputs.release}`);
    expect(gate.options.errorHooks).toEqual(["activity-failed-release"]);
    expect((gate.inputs.environment as Record<string, string>).READINESS_TIMEOUT_SECONDS).toBe("30");
    // The data its table lives in: a new volume (the first, on an upgrade) replaces the app, which creates
    // its table there when it starts.
    expect(app.inputs.labels).toEqual([
      { label: "activity.release", value: expect.stringMatching(/^0\.1\.0-/) },
      { label: "activity.data", value: "activity-dynamodb-data-8b1c2d3" },
    ]);
    expect(dev.outputs.release).toBe((app.inputs.labels as Array<{ value: string }>)[0]?.value);
    // The proxy's ports are fixed, so its own (rare) replacement must free them first.
    expect(dev.named("docker:index/container:Container", "activity-proxy").options.deleteBeforeReplace).toBe(
      true,
    );
  });

  it("removes what it built: the app image is owned by a resource that deletes it on replace and destroy", async () => {
    // The real engine showed docker.Image deleting nothing: `dev:down` left one 277 MB image per source change.
    const run = dev;
    const image = run.named("docker:index/image:Image", "activity-image");
    const tag = String(image.inputs.imageName).split(":")[1];
    // Named for its release: a revert to a tag that a failed update had just left behind must find the
    // same owner, or two owners of one image fail each other's removal (found on the real engine).
    const owner = run.named("docker:index/remoteImage:RemoteImage", `activity-local-image-${tag}`);
    expect(owner.inputs).toMatchObject({ name: image.inputs.imageName, keepLocally: false });
    expect(run.outputs.imageRef).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(appContainer(run).inputs.image).toBe(run.outputs.imageRef);
  });

  it("declares container inputs as Docker reports them back, so a refresh finds no drift", async () => {
    // Left unset, Docker sets memory+swap to twice the memory limit and reports it: the engine then planned
    // `memorySwap: 1024 => 0` on every `up`, and `preview --refresh --expect-no-changes` failed.
    const app = appContainer(dev);
    expect(app.inputs.memorySwap).toBe(app.inputs.memory);
  });

  it("publishes DynamoDB Local on 127.0.0.1 only, from the pinned official image", async () => {
    const run = dev;
    const dynamodb = run.named("docker:index/container:Container", "activity-dynamodb");
    expect(dynamodb.inputs.ports).toEqual([{ internal: 8000, external: 8000, ip: "127.0.0.1" }]);
    expect(run.named("docker:index/remoteImage:RemoteImage", "activity-dynamodb-image").inputs.name).toBe(
      "amazon/dynamodb-local:2.6.1",
    );
  });

  it("opens the API to the LAN with publishTo lan, and the database still to this machine only", async () => {
    const run = await runProgram("dev", { "activity-api:publishTo": "lan" });
    expect(run.named("docker:index/container:Container", "activity-proxy").inputs.ports).toEqual([
      { internal: HOST_PORT, external: HOST_PORT, ip: "0.0.0.0" },
    ]);
    expect(run.named("docker:index/container:Container", "activity-dynamodb").inputs.ports).toEqual([
      { internal: 8000, external: 8000, ip: "127.0.0.1" },
    ]);
  });

  it("passes the stack's issuer, audience, user claim and rate limits to the app's container", async () => {
    const run = await runProgram("dev", {
      "activity-api:authIssuer": "http://127.0.0.1:9000",
      "activity-api:authAudience": "activity-api",
      "activity-api:authUserClaim": "username",
      "activity-api:rateLimitMax": 50,
      "activity-api:rateLimitWindowSeconds": 10,
    });
    expect(env(appContainer(run))).toMatchObject({
      AUTH_ISSUER: "http://127.0.0.1:9000",
      AUTH_AUDIENCE: "activity-api",
      AUTH_USER_CLAIM: "username",
      RATE_LIMIT_MAX: "50",
      RATE_LIMIT_WINDOW_SECONDS: "10",
      TRUSTED_PROXY_HOPS: "1",
    });
  });
});

describe("the test stack (Pulumi.test.yaml and the values README asks for)", () => {
  let test: ProgramRun;
  beforeAll(async () => {
    test = await runProgram("test", USER_VALUES);
  });

  it("switches the app to regional DynamoDB: APP_ENV=test, the table's name and the region, no endpoint", async () => {
    const run = test;
    const app = appContainer(run);
    expect(env(app)).toEqual({
      APP_ENV: "test",
      PORT: String(APP_PORT),
      TABLE_NAME: "activity-table-4f2a9c1",
      AWS_REGION: "eu-west-1",
      TRUSTED_PROXY_HOPS: "1",
      RATE_LIMIT_MAX: "1000",
      RATE_LIMIT_WINDOW_SECONDS: "60",
    });
    expect(run.outputs.tableName).toBe("activity-table-4f2a9c1");
  });

  it("publishes host port 10001 through the proxy on the host, with the deployment waiting for the app's readiness", async () => {
    const run = test;
    const app = appContainer(run);
    const proxy = run.named("docker:index/container:Container", "activity-proxy");
    expect(app.inputs.ports).toBeUndefined();
    // Every interface of the EC2 host: its security group (allowedCidrs) is the gate.
    expect(proxy.inputs.ports).toEqual([{ internal: HOST_PORT, external: HOST_PORT, ip: "0.0.0.0" }]);
    expect(proxy.provider).toContain("pulumi:providers:docker::activity-host-docker");
    expect(app.options.deleteBeforeReplace).toBe(false);
    // The gate reaches the host's engine as the Docker provider does: SSH through SSM, with its options.
    const gate = run.named("command:local:Command", `activity-ready-${run.outputs.release}`);
    const provider = run.named("pulumi:providers:docker", "activity-host-docker");
    expect(JSON.parse((gate.inputs.environment as Record<string, string>).DOCKER_COMMAND as string)).toEqual([
      "ssh",
      ...JSON.parse(String(provider.inputs.sshOpts)),
      String(provider.inputs.host).replace("ssh://", ""),
      "docker",
    ]);
    expect(app.inputs.healthcheck).toMatchObject({ tests: ["CMD", "node", "dist/healthcheck.js", "/ready"] });
    expect(run.outputs.apiUrl).toBe("http://198.51.100.20:10001");
  });

  it("runs exactly the pushed image: the digest goes to the host's pull, and the pulled image to the container", async () => {
    const run = test;
    const image = run.named("docker:index/image:Image", "activity-image");
    expect(image.inputs.skipPush).not.toBe(true);
    expect(image.inputs.imageName).toMatch(
      /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/activity-repo-7d3e0b2:0\.1\.0-[0-9a-f]{12}$/,
    );
    expect(run.outputs.imageRef).toMatch(
      /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/activity-repo-7d3e0b2@sha256:[0-9a-f]{64}$/,
    );
    const [pulled] = run
      .ofType("docker:index/remoteImage:RemoteImage")
      .filter((image) => image.name.startsWith("activity-app-image-"));
    expect(pulled?.name).toBe(`activity-app-image-${run.outputs.release}`);
    expect(pulled?.inputs.name).toBe(run.outputs.imageRef);
    const app = appContainer(run);
    expect(app.inputs.image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pulled?.provider).toContain("pulumi:providers:docker::activity-host-docker");
    expect(app.provider).toContain("pulumi:providers:docker::activity-host-docker");
  });

  it("hardens the container: non-root, read-only root with a tmpfs, no capabilities, no new privileges, bounded", async () => {
    const run = test;
    const app = appContainer(run);
    expect(app.inputs).toMatchObject({
      user: `${APP_UID}:${APP_UID}`,
      readOnly: true,
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges:true"],
      memory: 512,
      memorySwap: 512,
      restart: "unless-stopped",
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
    });
  });

  it("requires IMDSv2 with two hops, an encrypted gp3 root volume, and Amazon Linux 2023 from SSM", async () => {
    const run = test;
    const instance = run.named("aws:ec2/instance:Instance", "activity-host");
    expect(instance.inputs.metadataOptions).toEqual({
      httpEndpoint: "enabled",
      httpTokens: "required",
      httpPutResponseHopLimit: 2,
    });
    expect(instance.inputs.rootBlockDevice).toMatchObject({ volumeType: "gp3", encrypted: true });
    expect(instance.inputs.ami).toBe("ami-0123456789abcdef0");
    expect(run.invokes).toContainEqual({
      token: "aws:ssm/getParameter:getParameter",
      args: expect.objectContaining({ name: AL2023_AMI_PARAMETER }),
    });
    expect(instance.inputs.instanceType).toBe("t3.small");
    expect(String(instance.inputs.userData)).toContain("dnf install -y docker");
  });

  it("must not open SSH (or anything) to the world: the app port only, to the configured CIDRs only", async () => {
    const groups = test.ofType("aws:ec2/securityGroup:SecurityGroup");
    expect(groups).toHaveLength(1);
    const ingress = groups[0]?.inputs.ingress as Array<Record<string, unknown>>;
    // Exactly these rules, so nothing else (port 22 included) is open.
    expect(ingress).toEqual([
      {
        protocol: "tcp",
        fromPort: HOST_PORT,
        toPort: HOST_PORT,
        cidrBlocks: ["198.51.100.7/32"],
        description: "activity API",
      },
      {
        protocol: "tcp",
        fromPort: HOST_PORT,
        toPort: HOST_PORT,
        ipv6CidrBlocks: ["2001:db8::/64"],
        description: "activity API",
      },
    ]);
  });

  it("opens 80 and 443 only for a domain, and only to httpsCidrs, where the proxy then serves HTTPS", async () => {
    const https = await runProgram("test", {
      ...USER_VALUES,
      "activity-api:domain": "api.example.com",
      "activity-api:tlsIssuer": "internal",
    });
    const [group] = https.ofType("aws:ec2/securityGroup:SecurityGroup");
    const ingress = (group?.inputs.ingress ?? []) as Array<Record<string, unknown>>;
    expect(ingress.map((rule) => [rule.fromPort, rule.cidrBlocks ?? rule.ipv6CidrBlocks])).toEqual([
      [HOST_PORT, ["198.51.100.7/32"]],
      [HOST_PORT, ["2001:db8::/64"]],
      [80, ["198.51.100.7/32"]],
      [443, ["198.51.100.7/32"]],
      [80, ["2001:db8::/64"]],
      [443, ["2001:db8::/64"]],
    ]);
    const proxy = https.named("docker:index/container:Container", "activity-proxy");
    expect((proxy.inputs.ports as Array<{ external: number }>).map((port) => port.external)).toEqual([
      HOST_PORT,
      80,
      443,
    ]);
    expect(String((proxy.inputs.envs as string[])[0])).toContain("api.example.com {\n\ttls internal");
    expect(https.outputs.httpsUrl).toBe("https://api.example.com");
    expect(test.outputs.httpsUrl).toBeUndefined();
  });

  it("scopes the role's data access to the table and its indexes: no wildcard action, no '*' resource", async () => {
    const run = test;
    const tableArn = "arn:aws:dynamodb:eu-west-1:123456789012:table/activity-table-4f2a9c1";
    const data = statements(run).filter((statement) =>
      [statement.Action].flat().some((a) => a.startsWith("dynamodb:")),
    );
    expect(data).toEqual([
      {
        Effect: "Allow",
        Action: [
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:Query",
        ],
        Resource: [tableArn, `${tableArn}/index/*`],
      },
    ]);
    for (const statement of statements(run)) {
      for (const action of [statement.Action].flat()) expect(action).not.toContain("*");
      // ecr:GetAuthorizationToken has no resource-level permissions: AWS requires "*" for it and it alone.
      if ([statement.Resource].flat().includes("*"))
        expect(statement.Action).toEqual(["ecr:GetAuthorizationToken"]);
    }
  });

  it("lets the host pull from its own repository only, and manage itself through SSM", async () => {
    const run = test;
    const pull = statements(run).find((statement) => [statement.Action].flat().includes("ecr:BatchGetImage"));
    expect(pull?.Resource).toBe("arn:aws:ecr:eu-west-1:123456789012:repository/activity-repo-7d3e0b2");
    expect(
      run.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "activity-host-ssm").inputs.policyArn,
    ).toBe("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
  });

  it("scans images on push, keeps tags immutable and expires all but the images of the last 5 releases", async () => {
    const run = test;
    expect(run.named("awsx:ecr:Repository", "activity-repo").inputs).toMatchObject({
      forceDelete: false,
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: "IMMUTABLE",
      lifecyclePolicy: { rules: [{ tagStatus: "any", maximumNumberOfImages: 5 }] },
    });
  });

  it("keeps the table safe: on-demand, encrypted, point-in-time recovery, deletion protection", async () => {
    const run = test;
    expect(run.named("aws:dynamodb/table:Table", "activity-table").inputs).toMatchObject({
      billingMode: "PAY_PER_REQUEST",
      hashKey: "id",
      serverSideEncryption: { enabled: true },
      pointInTimeRecovery: { enabled: true },
      deletionProtectionEnabled: true,
      globalSecondaryIndexes: [
        {
          name: "userId-startedAt-index",
          keySchemas: [
            { attributeName: "userId", keyType: "HASH" },
            { attributeName: "startedAt", keyType: "RANGE" },
          ],
          projectionType: "ALL",
        },
      ],
    });
  });

  it("tags every AWS resource with project and stack, through the one provider they all use", async () => {
    const run = test;
    const provider = run.named("pulumi:providers:aws", "activity-aws");
    expect(provider.inputs.region).toBe("eu-west-1");
    expect(JSON.parse(String(provider.inputs.defaultTags)).tags).toEqual({
      project: "activity-api",
      stack: "test",
      "managed-by": "pulumi",
    });
    const custom = run.registrations.filter((r) => r.custom && r.type.startsWith("aws:"));
    expect(custom.length).toBeGreaterThan(8);
    for (const resource of custom)
      expect(resource.provider).toContain("pulumi:providers:aws::activity-aws::");
  });

  it("passes the policy pack, every mandatory rule", async () => {
    const findings = await analyze(policies, test.registrations);
    expect(findings.filter((finding) => finding.enforcementLevel === "mandatory")).toEqual([]);
  });

  it("waits for Docker on the host before the provider is used, through the same SSM-tunnelled SSH", async () => {
    const run = test;
    const ready = run.named("command:local:Command", "activity-host-ready");
    const environment = ready.inputs.environment as Record<string, string>;
    expect(environment.SSH_DESTINATION).toBe("ec2-user@activity-host-id");
    const docker = run.named("pulumi:providers:docker", "activity-host-docker");
    expect(docker.inputs.host).toBe("ssh://ec2-user@activity-host-id");
    const sshOpts = JSON.parse(String(docker.inputs.sshOpts)) as string[];
    expect(environment.SSH_OPTS?.split("\n")).toEqual(sshOpts);
    expect(sshOpts.join(" ")).toContain("ProxyCommand=aws ssm start-session --region eu-west-1 --target %h");
  });
});

describe("a change of image", () => {
  it("gives identical instance inputs: a new image replaces the container, never the host", async () => {
    const first = await runProgram("test", { ...USER_VALUES, "activity-api:imageTag": "1.0.0" });
    const second = await runProgram("test", { ...USER_VALUES, "activity-api:imageTag": "1.0.1" });
    const instance = (run: ProgramRun) => run.named("aws:ec2/instance:Instance", "activity-host").inputs;
    expect(first.outputs.imageRef).not.toEqual(second.outputs.imageRef);
    expect(instance(second)).toEqual(instance(first));
    const pulled = (run: ProgramRun) =>
      run
        .ofType("docker:index/remoteImage:RemoteImage")
        .filter((image) => image.name.startsWith("activity-app-image-"))
        .map((image) => [image.name, image.inputs.name]);
    expect(pulled(first)).toEqual([["activity-app-image-1.0.0", first.outputs.imageRef]]);
    expect(pulled(second)).toEqual([["activity-app-image-1.0.1", second.outputs.imageRef]]);
  });
});
