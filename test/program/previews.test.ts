/**
 * The real program under mocks for the preview host and for branch previews, on both targets, with the config
 * npm run preview sets (test/preview/ tests the tool; this tests what the program builds from it): the AWS
 * shapes pass the policy pack, fit AWS's name and tag limits and touch nothing of the test stack or of another
 * preview; the local shapes need no AWS at all.
 */
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc.js";
import { beforeAll, describe, expect, it } from "vitest";
import { appDataPolicy } from "../../aws/iam-policies.js";
import { AUTONAME_SUFFIX, AWS_NAME_LIMITS, AWS_TAG, previewNames } from "../../cli/preview/naming.js";
import { caddyfile } from "../../components/front-proxy.js";
import { policies } from "../../policy/policies.js";
import { CONTAINER_MEMORY_MIB } from "../../stack/contract.js";
import { analyze } from "../helpers/policy.js";
import {
  AWS_HOST,
  hostConfig,
  LOCAL_HOST,
  PREVIEWS_BOUNDARY,
  previewConfig,
} from "../helpers/preview-stacks.js";
import { EC2_HOST_KEY, type ProgramRun, runProgram, USER_VALUES } from "../helpers/pulumi.js";

/** The AWS limit each auto-named resource type's physical name must meet (see naming.ts for the sources). */
const LIMIT_OF_TYPE: Record<string, string> = {
  "aws:iam/role:Role": "IAM role name",
  "aws:iam/instanceProfile:InstanceProfile": "IAM instance profile name",
  "aws:ec2/securityGroup:SecurityGroup": "EC2 security group name",
  "awsx:ecr:Repository": "ECR repository name",
  "aws:dynamodb/table:Table": "DynamoDB table name",
};

const isAws = (type: string) =>
  type.startsWith("aws:") || type.startsWith("awsx:") || type === "pulumi:providers:aws";

const BRANCHES = ["feature/Add-Login", `feature/${"x".repeat(292)}`, "émoji-🚀-ünïcödé", "--leading..dots"];

describe("the AWS preview host (previews-aws)", () => {
  let host: ProgramRun;
  beforeAll(async () => {
    host = await runProgram("previews-aws", hostConfig("ec2"));
  });

  it("is an EC2 Docker host with the proxy routing <label>.<public IP>.sslip.io, and no app of its own", () => {
    expect(host.ofType("aws:ec2/instance:Instance")[0]?.inputs.instanceType).toBe("t3.micro");
    expect(host.ofType("aws:dynamodb/table:Table")).toEqual([]);
    expect(host.ofType("awsx:ecr:Repository")).toEqual([]);
    expect(host.ofType("docker:index/container:Container").map((container) => container.name)).toEqual([
      "previews-proxy",
    ]);
    const proxy = host.named("docker:index/container:Container", "previews-proxy");
    expect(proxy.inputs.envs).toEqual([
      `CADDYFILE=${caddyfile({ upstream: { kind: "previews", domain: "198.51.100.20.sslip.io" } })}`,
    ]);
    expect(proxy.inputs.ports).toEqual([{ internal: 10001, external: 10080, ip: "0.0.0.0" }]);
  });

  it("grants its role nothing but what Session Manager needs: no preview's table or repository", () => {
    expect(host.ofType("aws:iam/rolePolicy:RolePolicy")).toEqual([]);
    expect(
      host.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((grant) => grant.inputs.policyArn),
    ).toEqual(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
  });

  it("gives no container a way to the instance's credentials: IMDSv2 at one hop, and DOCKER-USER drops it", () => {
    const instance = host.named("aws:ec2/instance:Instance", "previews-host");
    expect(instance.inputs.metadataOptions).toEqual({
      httpEndpoint: "enabled",
      httpTokens: "required",
      httpPutResponseHopLimit: 1,
    });
    const userData = String(instance.inputs.userData);
    // Installed as a drop-in of docker.service, so that every start of Docker (and every boot) adds it again.
    expect(userData).toContain("/etc/systemd/system/docker.service.d/no-container-metadata.conf");
    expect(userData).toContain(
      "ExecStartPost=/bin/sh -c 'iptables -C DOCKER-USER -d 169.254.169.254/32 -j DROP 2>/dev/null || " +
        "iptables -I DOCKER-USER -d 169.254.169.254/32 -j DROP'",
    );
    expect(userData.indexOf("daemon-reload")).toBeLessThan(userData.indexOf("enable --now docker"));
  });

  it("creates no boundary of its own: it passes on the ci-identity stack's, which its role carries too", () => {
    expect(host.ofType("aws:iam/policy:Policy")).toEqual([]);
    expect(host.named("aws:iam/role:Role", "previews-host-role").inputs.permissionsBoundary).toBe(
      PREVIEWS_BOUNDARY,
    );
    expect(host.outputs.previewBoundaryArn).toBe(PREVIEWS_BOUNDARY);
  });

  it("is refused in one line, before anything exists, without a permissionsBoundary", async () => {
    const { "activity-api:permissionsBoundary": _boundary, ...unbounded } = hostConfig("ec2");
    await expect(runProgram("previews-aws", unbounded)).rejects.toThrow(
      /^activity-api:permissionsBoundary is required on an EC2 preview host: .*pulumi stack output --stack ci-identity previewBoundaryArn.*PREVIEW_PERMISSIONS_BOUNDARY[^\n]*$/,
    );
  });

  it("opens only the previews' port, and only to allowedCidrs", () => {
    const [group] = host.ofType("aws:ec2/securityGroup:SecurityGroup");
    const ingress = (group?.inputs.ingress ?? []) as Array<Record<string, unknown>>;
    expect(
      ingress.map((rule) => [rule.fromPort, rule.toPort, rule.cidrBlocks ?? rule.ipv6CidrBlocks]),
    ).toEqual([
      [10080, 10080, ["198.51.100.7/32"]],
      [10080, 10080, ["2001:db8::/64"]],
    ]);
  });

  it("exports what previews and npm run preview read", () => {
    expect(host.outputs).toEqual({
      previewDomain: "198.51.100.20.sslip.io",
      previewPort: 10080,
      networkName: "previews-net-8b1c2d3",
      region: "eu-west-1",
      instanceType: "t3.micro",
      publicIp: "198.51.100.20",
      dockerHost: "ssh://ec2-user@previews-host-id",
      // Previews reach the host behind the pin its console gave (components/docker-host.ts READ_HOST_KEY).
      sshOpts: expect.arrayContaining([
        "StrictHostKeyChecking=yes",
        `KnownHostsCommand=/bin/echo * ${EC2_HOST_KEY}`,
      ]),
      previewBoundaryArn: "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary",
    });
  });

  it("passes the policy pack", async () => {
    const findings = await analyze(policies, host.registrations);
    expect(findings.filter((finding) => finding.enforcementLevel === "mandatory")).toEqual([]);
  });

  it("fails the policy pack with its instance's metadata a container could reach", async () => {
    const opened = host.registrations.map((registration) =>
      registration.type === "aws:ec2/instance:Instance"
        ? {
            ...registration,
            inputs: {
              ...registration.inputs,
              metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 2 },
            },
          }
        : registration,
    );
    const findings = await analyze(policies, opened);
    expect(
      findings
        .filter((finding) => finding.policy === "preview-host-sealed-metadata")
        .map((finding) => [finding.resource, finding.message.split(";")[0]]),
    ).toEqual([
      ["previews-host", 'metadataOptions.httpTokens is "optional" on a host that runs previews'],
      ["previews-host", "metadataOptions.httpPutResponseHopLimit is 2 on a host that runs previews"],
    ]);
  });
});

describe.each(BRANCHES)("the AWS preview of %s", (branch) => {
  const { resourcePrefix: label, branchLabel } = previewNames(branch);
  let preview: ProgramRun;
  beforeAll(async () => {
    preview = await runProgram(previewNames(branch).stackName, previewConfig(branch, "ec2"), AWS_HOST);
  });

  it("runs its container on the host's engine, on the host's network under preview-<label>", () => {
    expect(preview.ofType("aws:ec2/instance:Instance")).toEqual([]);
    const [provider] = preview.ofType("pulumi:providers:docker");
    expect(provider?.name).toBe(`${label}-host-docker`);
    expect(provider?.inputs.host).toBe("ssh://ec2-user@i-0previews");
    const app = preview.named("docker:index/container:Container", `${label}-app-${preview.outputs.release}`);
    expect(app.provider).toContain(`pulumi:providers:docker::${label}-host-docker`);
    expect(app.inputs.networksAdvanced).toEqual([
      { name: "previews-net-8b1c2d3", aliases: [`preview-${label}`] },
    ]);
    expect(preview.outputs.apiUrl).toBe(`http://${label}.198.51.100.20.sslip.io:10080`);
  });

  it("has its own table and repository, both removable, and grants no role anything", () => {
    const table = preview.named("aws:dynamodb/table:Table", `${label}-table`);
    expect(table.inputs.deletionProtectionEnabled).toBe(false);
    expect(preview.named("awsx:ecr:Repository", `${label}-repo`).inputs.forceDelete).toBe(true);
    expect(preview.ofType("aws:iam/rolePolicy:RolePolicy")).toEqual([]);
    expect(preview.ofType("aws:iam/role:Role")).toEqual([]);
  });

  it("holds one identity of its own: a user named its prefix, under the previews' boundary", () => {
    const user = preview.named("aws:iam/user:User", `${label}-user`);
    expect(user.inputs).toMatchObject({
      name: label,
      permissionsBoundary: "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary",
    });
    const userName = AWS_NAME_LIMITS.find((limit) => limit.resource === "IAM user name");
    expect(label.length).toBeLessThanOrEqual(userName?.max ?? 0);
    expect(label).toMatch(userName?.pattern ?? /^$/);
    expect(preview.named("aws:iam/accessKey:AccessKey", `${label}-key`).inputs.user).toBe(label);
    expect(preview.ofType("aws:iam/userPolicyAttachment:UserPolicyAttachment")).toEqual([]);
  });

  it("lets that identity reach its own table and indexes, and nothing else: no other preview, no SSM, no STS", () => {
    const [policy, ...others] = preview.ofType("aws:iam/userPolicy:UserPolicy");
    expect(others).toEqual([]);
    expect(policy?.inputs.user).toBe(label);
    const statements = (
      JSON.parse(String(policy?.inputs.policy)) as {
        Statement: Array<{ Effect: string; Action: string[]; Resource: string[] }>;
      }
    ).Statement;
    const tableArn = `arn:aws:dynamodb:eu-west-1:123456789012:table/${label}-table-4f2a9c1`;
    expect(statements).toEqual([
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
    const actions = statements.flatMap((statement) => statement.Action.map((action) => action.toLowerCase()));
    expect(actions.filter((action) => /^(ssm|sts|iam|ecr|kms|secretsmanager):/.test(action))).toEqual([]);
  });

  it("hands its container that identity's key, as a secret, and the container nothing else of AWS", () => {
    const app = preview.named("docker:index/container:Container", `${label}-app-${preview.outputs.release}`);
    // The environment reaches the engine as a secret (encrypted in the state), as the key's secret makes it.
    const secret = app.inputs.envs as Record<string, unknown>;
    expect(secret[specialSigKey]).toBe(specialSecretSig);
    const envs = secret.value as string[];
    expect(envs).toContain(`AWS_ACCESS_KEY_ID=${label}-key-id`);
    expect(envs).toContain(`AWS_SECRET_ACCESS_KEY=secret-of-${label}-key`);
    expect(envs.filter((env) => env.startsWith("AWS_")).map((env) => env.split("=")[0])).toEqual([
      "AWS_REGION",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
    ]);
  });

  it("gives every auto-named AWS resource a physical name within AWS's limits", () => {
    const checked = preview.registrations.filter((registration) => LIMIT_OF_TYPE[registration.type]);
    expect(checked.map((registration) => registration.type).sort()).toEqual([
      "aws:dynamodb/table:Table",
      "awsx:ecr:Repository",
    ]);
    for (const registration of checked) {
      expect(registration.name.startsWith(`${label}-`)).toBe(true);
      const limit = AWS_NAME_LIMITS.find((entry) => entry.resource === LIMIT_OF_TYPE[registration.type]);
      const physical = `${registration.name}${AUTONAME_SUFFIX}`;
      expect(physical.length, `${registration.type} ${physical}`).toBeLessThanOrEqual(limit?.max ?? 0);
      expect(physical).toMatch(limit?.pattern ?? /^$/);
    }
  });

  it("tags every resource with keys and values AWS accepts, the branch and expiry among them", () => {
    const [provider] = preview.ofType("pulumi:providers:aws");
    const tags = JSON.parse(String(provider?.inputs.defaultTags)).tags as Record<string, string>;
    expect(tags["preview-branch"]).toBe(branchLabel);
    expect(tags["preview-expires-at"]).toBe("2026-11-28T12:00:00.000Z");
    expect(tags["preview-pull-request"]).toBe("7");
    for (const [key, value] of Object.entries(tags)) {
      expect(key.length).toBeLessThanOrEqual(AWS_TAG.keyMax);
      expect([...value].length).toBeLessThanOrEqual(AWS_TAG.valueMax);
      expect(key).toMatch(AWS_TAG.pattern);
      expect(value).toMatch(AWS_TAG.pattern);
      expect(key).not.toMatch(AWS_TAG.reserved);
    }
  });

  it("passes the policy pack", async () => {
    const findings = await analyze(policies, preview.registrations);
    expect(findings.filter((finding) => finding.enforcementLevel === "mandatory")).toEqual([]);
  });

  it("fails the policy pack when its identity's policy names another preview's table", async () => {
    const other = "arn:aws:dynamodb:eu-west-1:123456789012:table/pv-other-0a1b2c3d-table-4f2a9c1";
    const widened = preview.registrations.map((registration) =>
      registration.type === "aws:iam/userPolicy:UserPolicy"
        ? {
            ...registration,
            inputs: { ...registration.inputs, policy: JSON.stringify(appDataPolicy(other)) },
          }
        : registration,
    );
    const findings = await analyze(policies, widened);
    expect(
      findings
        .filter((finding) => finding.policy === "preview-identity-own-resources")
        .map((finding) => finding.resource),
    ).toEqual([`${label}-data-policy`, `${label}-data-policy`]);
  });
});

describe("previews side by side", () => {
  it("share no resource name with each other, with the host, or with the test stack", async () => {
    const names = async (run: Promise<ProgramRun>) =>
      new Set(
        (await run).registrations
          .filter((registration) => registration.custom)
          .map((registration) => registration.name),
      );
    const [test, host, first, second] = await Promise.all([
      names(runProgram("test", USER_VALUES)),
      names(runProgram("previews-aws", hostConfig("ec2"))),
      names(runProgram(previewNames("feature/a").stackName, previewConfig("feature/a", "ec2"), AWS_HOST)),
      names(runProgram(previewNames("feature/b").stackName, previewConfig("feature/b", "ec2"), AWS_HOST)),
    ]);
    for (const name of first) {
      expect(second.has(name) || test.has(name) || host.has(name), name).toBe(false);
    }
  });
});

describe("the local preview host and a local preview", () => {
  it("host: the proxy on 10080 routing <label>.localhost, and no database: each preview brings its own", async () => {
    const host = await runProgram("previews-local", hostConfig("local"));
    expect(host.registrations.filter((registration) => isAws(registration.type))).toEqual([]);
    const proxy = host.named("docker:index/container:Container", "previews-proxy");
    expect(proxy.inputs.ports).toEqual([{ internal: 10001, external: 10080, ip: "127.0.0.1" }]);
    expect(proxy.inputs.envs).toEqual([
      `CADDYFILE=${caddyfile({ upstream: { kind: "previews", domain: "localhost" } })}`,
    ]);
    expect(host.registrations.map((registration) => registration.type)).not.toContain(
      "activity:data:DynamoDbLocal",
    );
    expect(host.outputs).toEqual({
      previewDomain: "localhost",
      previewPort: 10080,
      networkName: "previews-net-8b1c2d3",
    });
  });

  it("preview: its own image, and its own DynamoDB Local sealed on an internal network only its app joins", async () => {
    const { resourcePrefix: label, stackName } = previewNames("feature/a");
    const preview = await runProgram(stackName, previewConfig("feature/a", "local"), LOCAL_HOST);
    expect(preview.registrations.filter((registration) => isAws(registration.type))).toEqual([]);
    const image = preview.named("docker:index/image:Image", `${label}-image`);
    expect(image.inputs.imageName).toMatch(new RegExp(`^activity-api-${label}:0\\.1\\.0-[0-9a-f]{12}$`));
    const sealed = preview.named("docker:index/network:Network", `${label}-data-net`);
    expect(sealed.inputs).toEqual({ internal: true });
    const sealedName = `${label}-data-net-8b1c2d3`;
    const database = preview.named("docker:index/container:Container", `${label}-dynamodb`);
    expect(database.inputs.ports).toBeUndefined();
    expect(database.inputs.networksAdvanced).toEqual([{ name: sealedName, aliases: ["preview-dynamodb"] }]);
    expect(database.inputs).toMatchObject({
      memory: CONTAINER_MEMORY_MIB.previewDatabase,
      memorySwap: CONTAINER_MEMORY_MIB.previewDatabase,
      envs: [`JAVA_TOOL_OPTIONS=-Xmx${CONTAINER_MEMORY_MIB.previewDatabase / 2}m`],
    });
    const volume = `${label}-dynamodb-data-8b1c2d3`;
    expect(database.inputs.volumes).toEqual([{ volumeName: volume, containerPath: "/var/tmp" }]);
    // The app: on the host's network for the proxy, and on the sealed one, where no other preview is.
    const app = preview.named("docker:index/container:Container", `${label}-app-${preview.outputs.release}`);
    expect(app.inputs.networksAdvanced).toEqual([
      { name: "previews-net-8b1c2d3", aliases: [`preview-${label}`] },
      { name: sealedName },
    ]);
    expect(app.inputs.envs).toEqual([
      "APP_ENV=development",
      "PORT=4567",
      `TABLE_NAME=activities-${label}`,
      "DYNAMODB_ENDPOINT=http://preview-dynamodb:8000",
      "TRUSTED_PROXY_HOPS=1",
      "RATE_LIMIT_MAX=1000",
      "RATE_LIMIT_WINDOW_SECONDS=60",
    ]);
    // Its own data volume: a new one replaces the app on its next up, which creates its table there.
    expect(app.inputs.labels).toContainEqual({ label: "activity.data", value: volume });
    // The image is built only once the sealed database stands, so that a failed isolation leaves none: its
    // component waits for the database's resources, and a child registers only once its parent has.
    expect(preview.named("activity:image:AppImage", label).options.dependencies).toEqual(
      expect.arrayContaining([expect.stringMatching(`::${label}-dynamodb$`)]),
    );
    expect(preview.outputs).toMatchObject({
      apiUrl: `http://${label}.localhost:10080`,
      tableName: `activities-${label}`,
      release: expect.stringMatching(/^0\.1\.0-/),
      databaseVolume: volume,
    });
  });

  it("seals each preview from the other: no network, volume or container of one is the other's", async () => {
    const stackOf = async (branch: string) => {
      const run = await runProgram(
        previewNames(branch).stackName,
        previewConfig(branch, "local"),
        LOCAL_HOST,
      );
      const app = run.named(
        "docker:index/container:Container",
        `${previewNames(branch).resourcePrefix}-app-${run.outputs.release}`,
      );
      return (app.inputs.networksAdvanced as Array<{ name: string }>).map((network) => network.name);
    };
    const [a, b] = [await stackOf("feature/a"), await stackOf("feature/b")];
    // Both on the host's network, which the proxy reaches them through; each sealed network its own.
    expect(a[0]).toBe(b[0]);
    expect(a[1]).not.toBe(b[1]);
  });
});
