/**
 * Each component on its own under mocks, with non-default args: children named from the component's name,
 * and every documented option taking effect.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { mergeLogLines, refusalReason } from "../../cli/release-watch.js";
import { ActivityTable } from "../../components/activity-table.js";
import {
  AppContainer,
  dockerCommand,
  failedReleaseMessage,
  READINESS_TIMEOUT_SECONDS,
} from "../../components/app-container.js";
import { AppImage, contentTag, ecrRepositoryArn } from "../../components/app-image.js";
import {
  DockerHost,
  DROP_CONTAINER_METADATA_RULE,
  HOST_KEY_UNREAD_MARKER,
  READ_HOST_KEY,
} from "../../components/docker-host.js";
import { DynamoDbLocal } from "../../components/dynamodb-local.js";
import { FargateService, type FargateServiceArgs, VERIFY_ROLLOUT } from "../../components/fargate-service.js";
import { pinnedHostKeyOptions } from "../../components/ssh-docker-host.js";
import { parseRefusal, REFUSAL_MARKER, WATCH_ENV } from "../../stack/contract.js";
import { EC2_HOST_KEY, ROOT, runDeclarations } from "../helpers/pulumi.js";

const declare = (build: () => Record<string, pulumi.Input<unknown>>) =>
  runDeclarations("unit", {}, async () => build());

describe("DockerHost", () => {
  const hostArgs = {
    region: "us-east-2",
    instanceType: "m7i.large",
    allowedCidrs: ["192.0.2.10/32"],
    appPort: 8080,
    access: { mode: "ssh" as const, sshCidrs: ["198.51.100.0/28"] },
    sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA ci@runner",
    sshPrivateKeyPath: "/home/ci/.ssh/deploy",
    app: {
      tableArn: "arn:aws:dynamodb:us-east-2:123456789012:table/t",
      repositoryArn: "arn:aws:ecr:us-east-2:123456789012:repository/r",
    },
    subnetId: "subnet-0given",
    rootVolumeGb: 40,
  };

  it("in ssh mode opens port 22 to sshCidrs only, and connects to the public IP with the given key", async () => {
    const run = await declare(() => ({ host: new DockerHost("edge", hostArgs).instanceId }));
    const [group] = run.ofType("aws:ec2/securityGroup:SecurityGroup");
    expect(group?.name).toBe("edge-host-sg");
    expect(group?.inputs.ingress).toEqual([
      {
        protocol: "tcp",
        fromPort: 8080,
        toPort: 8080,
        cidrBlocks: ["192.0.2.10/32"],
        description: "activity API",
      },
      {
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        cidrBlocks: ["198.51.100.0/28"],
        description: "SSH for the Docker provider",
      },
    ]);
    const provider = run.named("pulumi:providers:docker", "edge-host-docker");
    expect(provider.inputs.host).toBe("ssh://ec2-user@198.51.100.20");
    expect(JSON.parse(String(provider.inputs.sshOpts))).toEqual([
      ...pinnedHostKeyOptions(EC2_HOST_KEY),
      ...["-o", "IdentitiesOnly=yes", "-i", "/home/ci/.ssh/deploy"],
    ]);
  });

  it("trusts only the key the instance printed to its console, read before the first connection", async () => {
    const run = await declare(() => ({ host: new DockerHost("edge", hostArgs).instanceId }));
    const read = run.named("command:local:Command", "edge-host-key-from-console");
    expect(read.inputs.create).toBe(READ_HOST_KEY);
    expect(read.inputs.environment).toEqual({
      REGION: "us-east-2",
      INSTANCE_ID: "edge-host-id",
      READY_TIMEOUT_SECONDS: "600",
    });
    // The check and the provider carry the same pin, and the check waits for the key's read.
    const check = run.named("command:local:Command", "edge-host-ready");
    const environment = check.inputs.environment as Record<string, string>;
    const provider = run.named("pulumi:providers:docker", "edge-host-docker");
    expect(environment.SSH_OPTS?.split("\n")).toEqual(JSON.parse(String(provider.inputs.sshOpts)));
    expect(environment.SSH_OPTS).toContain(`KnownHostsCommand=/bin/echo * ${EC2_HOST_KEY}`);
    expect(environment.SSH_OPTS).not.toContain("accept-new");
    expect(check.options.dependencies).toContainEqual(
      expect.stringMatching(/\$command:local:Command::edge-host-key-from-console$/),
    );
    expect(provider.options.dependencies).toContainEqual(
      expect.stringMatching(/\$command:local:Command::edge-host-ready$/),
    );
  });

  it("pins the key the stack gives instead, and reads no console then", async () => {
    const given = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdpdmVuaG9zdGtleTAwMDAwMDAwMDAwMDAwMDAwMDA";
    const run = await declare(() => ({
      host: new DockerHost("edge", { ...hostArgs, hostKey: given }).instanceId,
    }));
    expect(run.registrations.map((registration) => registration.name)).not.toContain(
      "edge-host-key-from-console",
    );
    const provider = run.named("pulumi:providers:docker", "edge-host-docker");
    expect(JSON.parse(String(provider.inputs.sshOpts))).toContain(`KnownHostsCommand=/bin/echo * ${given}`);
  });

  it("uses the given subnet, type and volume size, and looks up no default VPC", async () => {
    const run = await declare(() => ({ host: new DockerHost("edge", hostArgs).instanceId }));
    const instance = run.named("aws:ec2/instance:Instance", "edge-host");
    expect(instance.inputs).toMatchObject({ subnetId: "subnet-0given", instanceType: "m7i.large" });
    expect(instance.inputs.rootBlockDevice).toMatchObject({ volumeSize: 40, encrypted: true });
    expect(run.invokes.map((invoke) => invoke.token)).not.toContain("aws:ec2/getVpc:getVpc");
    for (const name of [
      "edge-host-role",
      "edge-host-profile",
      "edge-host-key",
      "edge-host-ready",
      "edge-host-data-policy",
    ]) {
      expect(run.registrations.map((registration) => registration.name)).toContain(name);
    }
  });

  it("lets the one app of a single-tenant host reach its role through IMDSv2, one hop from its container", async () => {
    const run = await declare(() => ({ host: new DockerHost("edge", hostArgs).instanceId }));
    const instance = run.named("aws:ec2/instance:Instance", "edge-host");
    expect(instance.inputs.metadataOptions).toEqual({
      httpEndpoint: "enabled",
      httpTokens: "required",
      httpPutResponseHopLimit: 2,
    });
    // Unchanged since before previews were sealed: a new user data would replace the test stack's host.
    expect(instance.inputs.userData).toBe(
      "#!/bin/bash\nset -euxo pipefail\ndnf install -y docker\nsystemctl enable --now docker\n" +
        "usermod -aG docker ec2-user\n",
    );
  });

  it("seals a shared host: no app on its role, and no container reaches the metadata service", async () => {
    const { app: _, ...sharedHostArgs } = hostArgs;
    const run = await declare(() => ({ host: new DockerHost("edge", sharedHostArgs).instanceId }));
    expect(run.ofType("aws:iam/rolePolicy:RolePolicy")).toEqual([]);
    expect(run.ofType("activity:iam:RoleGrant")).toEqual([]);
    // Reached over plain SSH (hostArgs' access), the host uses no SSM: its role holds nothing at all.
    expect(run.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toEqual([]);
    const docker = run.named("pulumi:providers:docker", "edge-host-docker");
    expect(docker.inputs.registryAuth).toBeUndefined();
    const instance = run.named("aws:ec2/instance:Instance", "edge-host");
    expect(instance.inputs.metadataOptions).toEqual({
      httpEndpoint: "enabled",
      httpTokens: "required",
      httpPutResponseHopLimit: 1,
    });
    expect(String(instance.inputs.userData)).toContain(`iptables -I ${DROP_CONTAINER_METADATA_RULE}`);
    expect(DROP_CONTAINER_METADATA_RULE).toBe("DOCKER-USER -d 169.254.169.254/32 -j DROP");
  });

  it("refuses an empty allowedCidrs before creating anything", async () => {
    await expect(
      declare(() => ({ host: new DockerHost("edge", { ...hostArgs, allowedCidrs: [] }).instanceId })),
    ).rejects.toThrow("DockerHost: allowedCidrs must list at least one CIDR");
  });
});

describe("AppImage", () => {
  it("keeps N images, may force-delete, and passes the base image as a build argument", async () => {
    const run = await declare(() => {
      const image = new AppImage("web", {
        tag: "2.0.0",
        baseImage: "registry.example.com/node:24",
        registry: { kind: "ecr", keepImages: 3, forceDelete: true },
      });
      return { imageRef: image.imageRef, arn: image.repositoryArn };
    });
    expect(run.named("awsx:ecr:Repository", "web-repo").inputs).toMatchObject({
      forceDelete: true,
      lifecyclePolicy: {
        rules: [{ maximumNumberOfImages: 3, description: "Keep the images of the last 3 releases" }],
      },
    });
    const image = run.named("docker:index/image:Image", "web-image");
    expect(image.inputs.build).toMatchObject({ args: { BASE_IMAGE: "registry.example.com/node:24" } });
    expect(image.inputs.imageName).toBe(
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web-repo-7d3e0b2:2.0.0",
    );
    expect(run.outputs.arn).toBe("arn:aws:ecr:eu-west-1:123456789012:repository/web-repo-7d3e0b2");
  });

  it("refuses the latest tag", async () => {
    await expect(
      declare(() => ({
        imageRef: new AppImage("web", { tag: "latest", registry: { kind: "local" } }).imageRef,
      })),
    ).rejects.toThrow("AppImage: the tag must not be latest");
  });
});

describe("contentTag and ecrRepositoryArn", () => {
  it("tags the image with the app version and a hash of the build context, stable across calls", () => {
    const tag = contentTag(ROOT);
    expect(tag).toMatch(/^0\.1\.0-[0-9a-f]{12}$/);
    expect(contentTag(ROOT)).toBe(tag);
  });

  it.each([
    ["123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", "arn:aws:ecr:eu-west-1:123456789012:repository/app"],
    [
      "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/a/b",
      "arn:aws-cn:ecr:cn-north-1:123456789012:repository/a/b",
    ],
    [
      "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/app",
      "arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/app",
    ],
  ])("derives the ARN of %s", (url, arn) => {
    expect(ecrRepositoryArn(url)).toBe(arn);
  });
});

describe("AppContainer", () => {
  it("publishes no port, joins the network under the given alias, limits memory, and pulls nothing when told not to", async () => {
    const run = await declare(() => ({
      name: new AppContainer("api", {
        image: "sha256:abc",
        release: "2.0.0-abc",
        appEnv: "production",
        tableName: "t",
        region: "us-east-2",
        memoryMb: 256,
        network: "backend",
        alias: "preview-login",
        readinessTimeoutSeconds: 45,
      }).containerName,
    }));
    const container = run.named("docker:index/container:Container", "api-app-2.0.0-abc");
    expect(container.inputs).toMatchObject({
      image: "sha256:abc",
      memory: 256,
      memorySwap: 256,
      labels: [{ label: "activity.release", value: "2.0.0-abc" }],
      networksAdvanced: [{ name: "backend", aliases: ["preview-login"] }],
      // Behind the proxy: the app trusts its one X-Forwarded-For hop. No access given: the app's own limits.
      envs: [
        "APP_ENV=production",
        "PORT=4567",
        "TABLE_NAME=t",
        "AWS_REGION=us-east-2",
        "TRUSTED_PROXY_HOPS=1",
      ],
    });
    expect(container.inputs.ports).toBeUndefined();
    expect(container.options).toMatchObject({
      deleteBeforeReplace: false,
      errorHooks: ["api-failed-release"],
    });
    expect(run.ofType("docker:index/remoteImage:RemoteImage")).toEqual([]);
  });

  it("pulls a remote image, and lets its replacement remove it from the host", async () => {
    const run = await declare(() => ({
      name: new AppContainer("api", {
        image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/r@sha256:abc",
        release: "1",
        pull: true,
        appEnv: "test",
        tableName: "t",
        network: "n",
      }).containerName,
    }));
    expect(run.named("docker:index/remoteImage:RemoteImage", "api-app-image-1").inputs).toEqual({
      name: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/r@sha256:abc",
      keepLocally: false,
    });
  });

  it("waits for the new container through a gate that watches it, with the given readiness timeout, before anything else goes on", async () => {
    const run = await declare(() => ({
      release: new AppContainer("api", {
        image: "sha256:abc",
        release: "2.0.0-abc",
        appEnv: "development",
        tableName: "t",
        network: "n",
        readinessTimeoutSeconds: 45,
      }).release,
    }));
    // One container resource per release, named for it (see the gate's test on the real engine).
    const container = run.named("docker:index/container:Container", "api-app-2.0.0-abc");
    // The provider's own wait watches the health status only: a release whose process exits was waited on
    // for the whole timeout. The gate reads the container's state instead.
    expect(container.inputs.wait).toBeUndefined();
    expect(container.inputs.healthcheck).toMatchObject({
      tests: ["CMD", "node", "dist/healthcheck.js", "/ready"],
    });
    const gate = run.named("command:local:Command", "api-ready-2.0.0-abc");
    expect(gate.inputs).toMatchObject({
      create: "node --import tsx cli/release-watch.ts",
      environment: {
        // The container as the engine named it: the gate watches that one.
        [WATCH_ENV.container]: expect.stringMatching(/^api-app-2\.0\.0-abc-[0-9a-f]+$/),
        [WATCH_ENV.timeoutSeconds]: "45",
        [WATCH_ENV.probe]: JSON.stringify(["node", "dist/healthcheck.js", "/ready"]),
        [WATCH_ENV.docker]: JSON.stringify(["docker"]),
      },
      triggers: ["api-app-2.0.0-abc-id"],
      logging: "none",
    });
    expect(gate.options.errorHooks).toEqual(["api-failed-release"]);
    expect(run.outputs.release).toBe("2.0.0-abc");
  });

  it("waits 30 s by default, and reaches a remote host's engine over SSH with the provider's options", async () => {
    const run = await declare(() => ({
      name: new AppContainer("api", {
        image: "sha256:abc",
        release: "1",
        appEnv: "test",
        tableName: "t",
        network: "n",
        remoteEngine: {
          dockerHost: "ssh://ec2-user@198.51.100.20",
          sshOpts: ["-o", "StrictHostKeyChecking=accept-new", "-i", "/home/ci/.ssh/deploy"],
        },
      }).containerName,
    }));
    const gate = run.named("command:local:Command", "api-ready-1");
    const environment = gate.inputs.environment as Record<string, string>;
    expect(environment[WATCH_ENV.timeoutSeconds]).toBe(String(READINESS_TIMEOUT_SECONDS.default));
    expect(READINESS_TIMEOUT_SECONDS.default).toBe(30);
    expect(JSON.parse(environment[WATCH_ENV.docker] as string)).toEqual([
      "ssh",
      "-o",
      "StrictHostKeyChecking=accept-new",
      "-i",
      "/home/ci/.ssh/deploy",
      "ec2-user@198.51.100.20",
      "docker",
    ]);
    expect(dockerCommand(undefined)).toEqual(["docker"]);
  });

  it("says, when a release is refused, why, which release is still serving, and what the new one logged", () => {
    expect(
      failedReleaseMessage({
        release: "0.2.0-bad",
        container: "activity-app-1a2b3c",
        serving: "0.1.0-good",
        refusal: {
          reason: "its process exited with code 1 before it was ready",
          lastLines: ['{"level":30,"msg":"activity API started"}', "boom"],
        },
      }),
    ).toBe(
      "Release 0.2.0-bad was refused: its process exited with code 1 before it was ready. Release 0.1.0-good is " +
        "still serving: nothing was switched and its container was not touched. The failed container " +
        "activity-app-1a2b3c takes no traffic and stays for inspection (docker logs activity-app-1a2b3c) until the " +
        "next `pulumi up` replaces it. The last lines it logged:\n" +
        '  | {"level":30,"msg":"activity API started"}\n' +
        "  | boom",
    );
    expect(
      failedReleaseMessage({
        release: "0.1.0-first",
        container: "c",
        serving: undefined,
        refusal: { reason: "it did not become ready within 60 s", lastLines: [] },
      }),
    ).toMatch(
      /^Release 0\.1\.0-first was refused: it did not become ready within 60 s\. No earlier release was serving\. .* It logged nothing\.$/,
    );
    expect(
      failedReleaseMessage({
        release: "0.2.0-bad",
        container: "c",
        serving: { readError: "failed to load checkpoint: EOF" },
        refusal: { error: "network n not found" },
      }),
    ).toContain(
      "was refused: its deployment failed (network n not found). The release serving before could not be read " +
        "(failed to load checkpoint: EOF); it is still serving: nothing was switched",
    );
  });
});

describe("release-watch: the gate's verdict from the container's own state", () => {
  const running = { State: { Status: "running", ExitCode: 0 }, RestartCount: 0 };

  it("waits while the container runs, up to the readiness timeout", () => {
    expect(refusalReason(running, 59.9, 60)).toBeUndefined();
    expect(refusalReason(running, 60, 60)).toBe("it did not become ready within 60 s");
  });

  it("refuses at once a release whose process exited, stopped or restarting, whatever the time left", () => {
    expect(refusalReason({ State: { Status: "exited", ExitCode: 1 }, RestartCount: 0 }, 0.8, 60)).toBe(
      "its process exited with code 1 before it was ready",
    );
    expect(refusalReason({ State: { Status: "restarting", ExitCode: 1 }, RestartCount: 1 }, 1.5, 60)).toBe(
      "its process exited with code 1 before it was ready, and Docker restarted it 1 time",
    );
    // Restarted and running again: Docker reset the exit code to 0, and only the restart count says it crashed
    // (seen on the real engine).
    expect(refusalReason({ State: { Status: "running", ExitCode: 0 }, RestartCount: 3 }, 2, 60)).toBe(
      "its process exited before it was ready, and Docker restarted it 3 times",
    );
  });

  it("quotes the last log lines of both streams in the order they were written, without timestamps", () => {
    const stdout = "2026-12-06T23:00:00.100000000Z one\n2026-12-06T23:00:00.300000000Z three\n";
    const stderr = "2026-12-06T23:00:00.200000000Z two\n2026-12-06T23:00:00.400000000Z four\n";
    expect(mergeLogLines(stdout, stderr, 3)).toEqual(["two", "three", "four"]);
    expect(mergeLogLines("", "", 20)).toEqual([]);
  });

  it("finds the refusal in the gate's failed step, as the Command provider quotes its output", () => {
    const report = { reason: "it did not become ready within 5 s", lastLines: ["waiting"] };
    const error = `exit status 1: running "node --import tsx cli/release-watch.ts":\n${REFUSAL_MARKER}${JSON.stringify(report)}\n`;
    expect(parseRefusal(error)).toEqual(report);
    expect(parseRefusal("exit status 1: running ...")).toBeUndefined();
  });
});

describe("ActivityTable", () => {
  it("turns deletion protection and point-in-time recovery off when asked (previews)", async () => {
    const run = await declare(() => ({
      arn: new ActivityTable("pv", { deletionProtection: false, pointInTimeRecovery: false }).arn,
    }));
    expect(run.named("aws:dynamodb/table:Table", "pv-table").inputs).toMatchObject({
      deletionProtectionEnabled: false,
      pointInTimeRecovery: { enabled: false },
    });
  });
});

describe("DynamoDbLocal", () => {
  it("joins the given network, under the given name, published on 127.0.0.1 at the given port", async () => {
    const run = await declare(() => {
      const database = new DynamoDbLocal("db", {
        network: "shared",
        image: "amazon/dynamodb-local:2.5.2",
        hostPort: 8001,
        alias: "ddb",
      });
      return { endpoint: database.endpoint, networkName: database.networkName };
    });
    expect(run.outputs).toEqual({ endpoint: "http://ddb:8000", networkName: "shared" });
    expect(run.named("docker:index/remoteImage:RemoteImage", "db-dynamodb-image").inputs.name).toBe(
      "amazon/dynamodb-local:2.5.2",
    );
    expect(run.named("docker:index/container:Container", "db-dynamodb").inputs).toMatchObject({
      ports: [{ internal: 8000, external: 8001, ip: "127.0.0.1" }],
      networksAdvanced: [{ name: "shared", aliases: ["ddb"] }],
    });
    expect(
      run.registrations.filter((registration) => registration.type === "docker:index/network:Network"),
    ).toEqual([]);
  });

  it("sealed: on an internal network of its own, which it creates first, and on no host port", async () => {
    const run = await declare(() => {
      const database = new DynamoDbLocal("pv", {});
      return { endpoint: database.endpoint, networkName: database.networkName };
    });
    const network = run.named("docker:index/network:Network", "pv-data-net");
    expect(network.inputs).toEqual({ internal: true });
    expect(run.outputs).toEqual({ endpoint: "http://dynamodb:8000", networkName: "pv-data-net-8b1c2d3" });
    const container = run.named("docker:index/container:Container", "pv-dynamodb");
    expect(container.inputs.ports).toBeUndefined();
    expect(container.inputs.networksAdvanced).toEqual([
      { name: "pv-data-net-8b1c2d3", aliases: ["dynamodb"] },
    ]);
    // A network Docker cannot create leaves no volume: the volume waits for it.
    expect(run.named("docker:index/volume:Volume", "pv-dynamodb-data").options.dependencies).toEqual([
      expect.stringMatching(/\$docker:index\/network:Network::pv-data-net$/),
    ]);
  });

  it("keeps its tables on a volume of its own, which only destroying the stack removes", async () => {
    const run = await declare(() => ({ volume: new DynamoDbLocal("db", { network: "shared" }).dataVolume }));
    const volume = run.named("docker:index/volume:Volume", "db-dynamodb-data");
    // Nothing a later change could alter and so replace (an empty volume), nor any option that keeps it
    // from going with the stack.
    expect(volume.inputs).toEqual({});
    expect(volume.options).toMatchObject({ protect: false, retainOnDelete: false });
    // The name the engine gives it (the mocks' suffix), mounted where the database writes.
    const volumeName = "db-dynamodb-data-8b1c2d3";
    expect(run.outputs).toEqual({ volume: volumeName });
    const container = run.named("docker:index/container:Container", "db-dynamodb");
    expect(container.inputs.command).toEqual([
      "-jar",
      "DynamoDBLocal.jar",
      "-sharedDb",
      "-dbPath",
      "/var/tmp",
    ]);
    expect(container.inputs.volumes).toEqual([{ volumeName, containerPath: "/var/tmp" }]);
    expect(container.options.deleteBeforeReplace).toBe(true);
  });

  it("is bounded, its JVM's heap at half the limit, so that the capacity guard can add the limits up", async () => {
    const run = await declare(() => ({
      dev: new DynamoDbLocal("dev", { network: "shared" }).endpoint,
      preview: new DynamoDbLocal("pv", { memoryMb: 384 }).endpoint,
    }));
    expect(run.named("docker:index/container:Container", "dev-dynamodb").inputs).toMatchObject({
      memory: 512,
      memorySwap: 512,
      envs: ["JAVA_TOOL_OPTIONS=-Xmx256m"],
    });
    expect(run.named("docker:index/container:Container", "pv-dynamodb").inputs).toMatchObject({
      memory: 384,
      memorySwap: 384,
      envs: ["JAVA_TOOL_OPTIONS=-Xmx192m"],
    });
  });
});

const serviceArgs: FargateServiceArgs = {
  image: "123456789012.dkr.ecr.us-east-2.amazonaws.com/r@sha256:0123",
  repositoryArn: "arn:aws:ecr:us-east-2:123456789012:repository/r",
  tableName: "t",
  tableArn: "arn:aws:dynamodb:us-east-2:123456789012:table/t",
  region: "us-east-2",
  appEnv: "test",
  allowedCidrs: ["192.0.2.10/32"],
  minTasks: 3,
  maxTasks: 9,
  targetCpuPercent: 45,
  cpu: 1024,
  memory: 3072,
  logRetentionDays: 7,
  deletionProtection: false,
  listenerPort: 8080,
  network: { vpcId: "vpc-0given", subnetIds: ["subnet-0x", "subnet-0y", "subnet-0z"] },
  assignPublicIp: false,
};

describe("FargateService", () => {
  it("takes every option: network, size, bounds, port, retention, APP_ENV; looks up no default VPC", async () => {
    const run = await declare(() => ({ url: new FargateService("edge", serviceArgs).url }));
    const service = run.named("aws:ecs/service:Service", "edge-service");
    expect(service.inputs).toMatchObject({
      desiredCount: 3,
      networkConfiguration: {
        subnets: ["subnet-0x", "subnet-0y", "subnet-0z"],
        securityGroups: ["edge-task-sg-id"],
        assignPublicIp: false,
      },
    });
    expect(run.named("aws:ecs/taskDefinition:TaskDefinition", "edge-task").inputs).toMatchObject({
      family: "edge-api",
      cpu: "1024",
      memory: "3072",
    });
    const [container] = JSON.parse(
      String(run.named("aws:ecs/taskDefinition:TaskDefinition", "edge-task").inputs.containerDefinitions),
    );
    expect(container.environment).toContainEqual({ name: "APP_ENV", value: "test" });
    expect(run.named("aws:appautoscaling/target:Target", "edge-scaling").inputs).toMatchObject({
      minCapacity: 3,
      maxCapacity: 9,
    });
    expect(
      run.named("aws:appautoscaling/policy:Policy", "edge-cpu-scaling").inputs
        .targetTrackingScalingPolicyConfiguration,
    ).toMatchObject({ targetValue: 45 });
    expect(run.named("aws:cloudwatch/logGroup:LogGroup", "edge-logs").inputs.retentionInDays).toBe(7);
    expect(run.named("aws:lb/loadBalancer:LoadBalancer", "edge-lb").inputs).toMatchObject({
      enableDeletionProtection: false,
      subnets: ["subnet-0x", "subnet-0y", "subnet-0z"],
    });
    expect(run.named("aws:lb/listener:Listener", "edge-http").inputs.port).toBe(8080);
    expect(
      run.named("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "edge-lb-in-0").inputs,
    ).toMatchObject({
      securityGroupId: "edge-lb-sg-id",
      fromPort: 8080,
      cidrIpv4: "192.0.2.10/32",
    });
    for (const group of run.ofType("aws:ec2/securityGroup:SecurityGroup")) {
      expect(group.inputs.vpcId).toBe("vpc-0given");
    }
    expect(run.invokes).toEqual([]);
    expect(run.outputs.url).toBe("http://edge-lb-3c4d5e6-1234567890.eu-west-1.elb.amazonaws.com:8080");
  });

  it.each([
    [{ minTasks: 1 }, "FargateService: minTasks 1 is below 2"],
    [{ minTasks: 4, maxTasks: 3 }, "FargateService: maxTasks 3 is below minTasks 4"],
    [{ allowedCidrs: [] }, "FargateService: allowedCidrs must list at least one CIDR"],
    [{ targetCpuPercent: 0 }, "FargateService: targetCpuPercent 0 must be above 0 and at most 100"],
    [
      { network: { vpcId: "vpc-0", subnetIds: ["subnet-0x"] } },
      "FargateService: 1 subnet(s) given; the load balancer and the tasks need subnets in at least two availability zones",
    ],
  ])("refuses %o before creating anything", async (change, message) => {
    await expect(
      declare(() => ({ url: new FargateService("edge", { ...serviceArgs, ...change }).url })),
    ).rejects.toThrow(message);
  });
});

/**
 * Runs a component's shell script as its Command does, with a stub `aws` first on PATH that answers each call
 * with the next of `answers` (the last one again after that; `exit N: text` prints text on stderr and fails
 * with N), and returns the script's result with each call's arguments.
 */
function runWithStubAws(script: string, env: Record<string, string>, answers: string[]) {
  const bin = mkdtempSync(join(tmpdir(), "aws-stub-"));
  for (const [index, answer] of answers.entries()) writeFileSync(join(bin, `answer-${index + 1}`), answer);
  writeFileSync(
    join(bin, "aws"),
    `#!/bin/bash
n=$(( $(cat "${bin}/count" 2>/dev/null || echo 0) + 1 )); echo $n > "${bin}/count"
echo "$*" >> "${bin}/calls"
answer=$(cat "${bin}/answer-$n" 2>/dev/null || cat "${bin}/answer-${answers.length}")
failure='^exit ([0-9]+): (.*)$'
if [[ $answer =~ $failure ]]; then echo "\${BASH_REMATCH[2]}" >&2; exit "\${BASH_REMATCH[1]}"; fi
printf '%s\n' "$answer"
`,
    { mode: 0o755 },
  );
  const result = spawnSync("/bin/bash", ["-c", script], {
    encoding: "utf8",
    // stdin from /dev/null: on a socket, bash would take itself for a remote shell and read ~/.bashrc.
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: `${bin}:${process.env.PATH}`, ...env },
  });
  return { ...result, calls: readFileSync(join(bin, "calls"), "utf8").trim().split("\n") };
}

describe("FargateService's rollout check (VERIFY_ROLLOUT)", () => {
  const NEW = "arn:aws:ecs:eu-west-1:123456789012:task-definition/activity-api:8";
  const OLD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/activity-api:7";

  /** Runs the check with a stub `aws` that prints `primary`. */
  function verify(primary: string) {
    const result = runWithStubAws(
      VERIFY_ROLLOUT,
      {
        REGION: "eu-west-1",
        CLUSTER: "activity-cluster-1",
        SERVICE: "activity-service-1",
        TASK_DEFINITION: NEW,
      },
      [primary],
    );
    return { ...result, args: result.calls.join("\n") };
  }

  it("passes when the service's primary deployment is the new task definition", () => {
    const result = verify(NEW);
    expect(result.status).toBe(0);
    expect(result.args).toBe(
      "ecs describe-services --region eu-west-1 --cluster activity-cluster-1 --services activity-service-1 " +
        "--query services[0].deployments[?status==`PRIMARY`].taskDefinition | [0] --output text",
    );
  });

  it("fails, naming both revisions, when the circuit breaker rolled the service back", () => {
    const result = verify(OLD);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `ECS rolled activity-service-1 back to ${OLD}: the rollout of ${NEW} failed; its events say why: ` +
        "aws ecs describe-services --region eu-west-1 --cluster activity-cluster-1 --services activity-service-1\n",
    );
  });
});

describe("the EC2 host's key, read from its console (READ_HOST_KEY)", () => {
  // With a `/` and a `+`: base64's two signs, which the key's pattern must take in.
  const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEVDMmhvc3Rr/XlyZWFkZnJvbXRoZWNvbnNvbGUw+DA=";
  /** A console as cloud-init prints it at first boot: fingerprints, then the keys, with CRLF line ends. */
  const CONSOLE = [
    "[   12.345678] cloud-init[1543]: Cloud-init v. 22.2.2 finished",
    "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----",
    "ec2: 256 SHA256:0a1b2c3d4e5f no comment (ED25519)",
    "ec2: -----END SSH HOST KEY FINGERPRINTS-----",
    "-----BEGIN SSH HOST KEY KEYS-----",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= root@ip-10-0-0-5",
    `${ED25519} root@ip-10-0-0-5`,
    "-----END SSH HOST KEY KEYS-----",
  ].join("\r\n");

  function read(answers: string[], timeoutSeconds = 30) {
    return runWithStubAws(
      READ_HOST_KEY,
      {
        REGION: "us-east-2",
        INSTANCE_ID: "i-0abc",
        READY_TIMEOUT_SECONDS: String(timeoutSeconds),
        POLL_SECONDS: "0",
      },
      answers,
    );
  }

  it("prints the ed25519 key between cloud-init's markers, and nothing else", () => {
    const result = read([CONSOLE]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${ED25519}\n`);
    expect(result.calls).toEqual([
      "ec2 get-console-output --region us-east-2 --instance-id i-0abc --latest --output text --query Output",
    ]);
  });

  it("waits while the instance has not printed its keys yet", () => {
    const result = read(["[    0.000000] Linux version 6.1", "None", CONSOLE]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${ED25519}\n`);
    expect(result.calls).toHaveLength(3);
  });

  it("takes no key from outside the markers, and gives up at the timeout saying nothing was reached", () => {
    const result = read(
      [`${ED25519}\n-----BEGIN SSH HOST KEY KEYS-----\n-----END SSH HOST KEY KEYS-----`],
      0,
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `${HOST_KEY_UNREAD_MARKER} no host key of i-0abc within 0 s, so nothing on it was reached; ` +
        "the last answer: the console shows no ssh-ed25519 host key yet. An instance that booted before its " +
        "stack read host keys may have lost them from its console: pin its key with sshKnownHosts (docs/deploying.md)\n",
    );
  });

  it("reads the console EC2 keeps when the instance type has no latest console", () => {
    const result = read([
      "exit 254: An error occurred (UnsupportedOperation) when calling the GetConsoleOutput operation: This instance type does not support retrieving the latest console output.",
      CONSOLE,
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${ED25519}\n`);
    expect(result.calls[1]).toBe(
      "ec2 get-console-output --region us-east-2 --instance-id i-0abc --output text --query Output",
    );
  });

  it("stops at once, with AWS's own words, when the deployer may not read the console", () => {
    const denied =
      "An error occurred (UnauthorizedOperation) when calling the GetConsoleOutput operation: You are not authorized to perform this operation.";
    const result = read([`exit 254: ${denied}`]);
    expect(result.status).toBe(1);
    expect(result.calls).toHaveLength(1);
    expect(result.stderr).toBe(
      `${HOST_KEY_UNREAD_MARKER} aws ec2 get-console-output for i-0abc failed: ${denied}\n`,
    );
  });
});
