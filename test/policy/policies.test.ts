/**
 * Each policy of the pack (policy/policies.ts) against good and bad resources, with the arguments that
 * @pulumi/policy's server gives a policy: the props behind its unknown-checking proxy, the type token the
 * engine sends, and isType/asType/notApplicable as the server implements them.
 */
import { unknownValue } from "@pulumi/pulumi/runtime/rpc.js";
import { describe, expect, it } from "vitest";
import { HOST_PORT } from "../../app/src/contract.js";
import { appDataPolicy, imagePullPolicy } from "../../aws/iam-policies.js";
import { ingressRules } from "../../components/docker-host.js";
import { pinnedHostKeyOptions } from "../../components/ssh-docker-host.js";
import {
  APP_HOST_PORT,
  dockerSshHostKeyPinned,
  dynamodbOnDemand,
  dynamodbTableProtection,
  EC2_PREVIEW_HOST_STACK,
  ec2EncryptedVolumes,
  ec2InstanceMetadataV2,
  ec2RootVolumeGp3,
  ecrRepositoryLifecyclePolicy,
  ecrRepositorySettings,
  iamLeastPrivilege,
  noPublicAllPorts,
  noPublicAppPort,
  noPublicPortsButWeb,
  noPublicSsh,
  noWorldOpenDockerPort,
  PREVIEW_PREFIX,
  policies,
  previewHostSealedMetadata,
  previewIdentityOwnResources,
  requiredTags,
} from "../../policy/policies.js";
import { PREVIEW_HOST_STACKS, PREVIEW_RESOURCE_PREFIX } from "../../stack/contract.js";
import { check, checkStack, stackResource } from "../helpers/policy.js";

/** The engine's value for "unknown during preview"; the props proxy throws when a policy reads it. */
const UNKNOWN = unknownValue;

const TYPES = {
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  instance: "aws:ec2/instance:Instance",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  user: "aws:iam/user:User",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  userPolicyAttachment: "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  policy: "aws:iam/policy:Policy",
  role: "aws:iam/role:Role",
  repository: "aws:ecr/repository:Repository",
  lifecyclePolicy: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
  table: "aws:dynamodb/table:Table",
} as const;

const tcp = (port: number, cidr: string) => ({
  protocol: "tcp",
  fromPort: port,
  toPort: port,
  cidrBlocks: [cidr],
});

const SSH_FIX =
  "allow port 22 only from known CIDRs, or reach the host through SSM Session Manager with no port 22 open " +
  "at all.";
const ALL_PORTS_FIX = "open only the ports the host serves, and only to the CIDRs that need them.";
const APP_PORT_FIX =
  "list the clients' CIDRs instead (allowedCidrs), or disable this advisory policy if a public API is " +
  "deliberate.";
const appPort = (where: string, ports: string, cidr: string) =>
  `${where} opens the app's host port ${HOST_PORT} (${ports}) to ${cidr}; ${APP_PORT_FIX}`;

describe("the pack", () => {
  it("serves every rule once, at the enforcement level the product asks for", () => {
    expect(policies.map((policy) => [policy.name, policy.enforcementLevel])).toEqual([
      ["no-public-ssh", "mandatory"],
      ["no-public-all-ports", "mandatory"],
      ["no-public-app-port", "advisory"],
      ["no-public-ports-but-web", "mandatory"],
      ["ec2-instance-metadata-v2", "mandatory"],
      ["preview-host-sealed-metadata", "mandatory"],
      ["ec2-encrypted-volumes", "mandatory"],
      ["ec2-root-volume-gp3", "advisory"],
      ["iam-least-privilege", "mandatory"],
      ["preview-identity-own-resources", "mandatory"],
      ["iam-github-trust-pinned", "mandatory"],
      ["ecr-repository-settings", "mandatory"],
      ["ecr-repository-lifecycle-policy", "mandatory"],
      ["dynamodb-table-protection", "mandatory"],
      ["dynamodb-on-demand", "advisory"],
      ["required-tags", "mandatory"],
      ["ecs-deployment-circuit-breaker", "mandatory"],
      ["ecs-service-redundancy", "advisory"],
      ["ecs-tasks-behind-load-balancer", "mandatory"],
      ["ecs-no-registry-credentials", "mandatory"],
      ["ecs-image-pinned", "mandatory"],
      ["lb-target-group-readiness", "mandatory"],
      ["lb-https-tls12", "mandatory"],
      ["log-group-retention", "mandatory"],
      ["auth-issuer-https", "mandatory"],
      ["no-world-open-docker-port", "mandatory"],
      ["docker-ssh-host-key-pinned", "mandatory"],
    ]);
  });

  it("watches the host port that app/src/contract.ts publishes the API on", () => {
    expect(APP_HOST_PORT).toBe(HOST_PORT);
  });

  it("knows the preview host's stack and the previews' prefix as stack/contract.ts names them", () => {
    expect(EC2_PREVIEW_HOST_STACK).toBe(PREVIEW_HOST_STACKS.ec2);
    expect(PREVIEW_PREFIX).toBe(PREVIEW_RESOURCE_PREFIX);
  });
});

describe("no-public-ssh: no ingress rule lets the whole Internet reach port 22", () => {
  it("flags an inline security group rule for port 22 from 0.0.0.0/0, naming the rule", async () => {
    const props = { ingress: [tcp(HOST_PORT, "203.0.113.0/24"), tcp(22, "0.0.0.0/0")] };
    expect(await check(noPublicSsh, TYPES.securityGroup, props)).toEqual([
      `ingress[1].cidrBlocks opens SSH (TCP port 22) to 0.0.0.0/0; ${SSH_FIX}`,
    ]);
  });

  it("flags ::/0, a port range that covers 22, and a rule for all protocols", async () => {
    const props = {
      ingress: [
        { protocol: "tcp", fromPort: 20, toPort: 25, ipv6CidrBlocks: ["::/0"] },
        { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
        { protocol: "all", fromPort: 0, toPort: 0, cidrBlocks: ["0::/0"] },
      ],
    };
    expect(await check(noPublicSsh, TYPES.securityGroup, props)).toEqual([
      `ingress[0].ipv6CidrBlocks opens SSH (TCP ports 20-25) to ::/0; ${SSH_FIX}`,
      `ingress[1].cidrBlocks opens SSH (all protocols and ports) to 0.0.0.0/0; ${SSH_FIX}`,
      `ingress[2].cidrBlocks opens SSH (all protocols and ports) to 0::/0; ${SSH_FIX}`,
    ]);
  });

  it("accepts SSH from known CIDRs, UDP port 22, and port ranges that leave 22 out", async () => {
    const props = {
      ingress: [
        tcp(22, "198.51.100.7/32"),
        { protocol: "udp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] },
        { protocol: "tcp", fromPort: 23, toPort: 1024, cidrBlocks: ["0.0.0.0/0"] },
      ],
    };
    expect(await check(noPublicSsh, TYPES.securityGroup, props)).toEqual([]);
  });

  it("accepts the DockerHost's own rules, SSH mode included", async () => {
    const ingress = ingressRules(["203.0.113.0/24", "2001:db8::/32"], HOST_PORT, {
      mode: "ssh",
      sshCidrs: ["198.51.100.7/32"],
    });
    expect(await check(noPublicSsh, TYPES.securityGroup, { ingress })).toEqual([]);
  });

  it("flags a VPC ingress rule, by its cidrIpv4 or cidrIpv6", async () => {
    const ssh = { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" };
    expect(await check(noPublicSsh, TYPES.ingressRule, ssh)).toEqual([
      `cidrIpv4 opens SSH (TCP port 22) to 0.0.0.0/0; ${SSH_FIX}`,
    ]);
    expect(await check(noPublicSsh, TYPES.ingressRule, { ipProtocol: "-1", cidrIpv6: "::/0" })).toEqual([
      `cidrIpv6 opens SSH (all protocols and ports) to ::/0; ${SSH_FIX}`,
    ]);
  });

  it("flags a security group rule of type ingress, protocol by number, and leaves egress alone", async () => {
    const rule = { protocol: "6", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] };
    expect(await check(noPublicSsh, TYPES.securityGroupRule, { ...rule, type: "ingress" })).toEqual([
      `cidrBlocks opens SSH (TCP port 22) to 0.0.0.0/0; ${SSH_FIX}`,
    ]);
    expect(await check(noPublicSsh, TYPES.securityGroupRule, { ...rule, type: "egress" })).toEqual([]);
  });

  it("judges no value unknown during preview, and still judges the known ones beside it", async () => {
    const props = {
      ingress: [
        UNKNOWN,
        { protocol: "tcp", fromPort: UNKNOWN, toPort: 22, cidrBlocks: ["0.0.0.0/0"] },
        { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: UNKNOWN },
        { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: [UNKNOWN, "0.0.0.0/0"] },
      ],
    };
    expect(await check(noPublicSsh, TYPES.securityGroup, props)).toEqual([
      `ingress[3].cidrBlocks opens SSH (TCP port 22) to 0.0.0.0/0; ${SSH_FIX}`,
    ]);
    expect(await check(noPublicSsh, TYPES.securityGroup, { ingress: UNKNOWN })).toEqual([]);
    expect(
      await check(noPublicSsh, TYPES.securityGroupRule, { ...tcp(22, "0.0.0.0/0"), type: UNKNOWN }),
    ).toEqual([]);
    expect(
      await check(noPublicSsh, TYPES.ingressRule, {
        ipProtocol: UNKNOWN,
        fromPort: 22,
        toPort: 22,
        cidrIpv4: "0.0.0.0/0",
      }),
    ).toEqual([]);
  });

  it("does not apply to other resource types", async () => {
    expect(await check(noPublicSsh, TYPES.instance, {})).toBeUndefined();
  });
});

describe("no-public-all-ports: no ingress rule opens every port to the whole Internet", () => {
  it("flags all protocols, and every TCP or UDP port, from 0.0.0.0/0 or ::/0", async () => {
    const props = {
      ingress: [
        { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
        { protocol: "tcp", fromPort: 0, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] },
        { protocol: "udp", fromPort: 1, toPort: 65535, ipv6CidrBlocks: ["::/0"] },
      ],
    };
    expect(await check(noPublicAllPorts, TYPES.securityGroup, props)).toEqual([
      `ingress[0].cidrBlocks opens all protocols and ports to 0.0.0.0/0; ${ALL_PORTS_FIX}`,
      `ingress[1].cidrBlocks opens TCP ports 0-65535 to 0.0.0.0/0; ${ALL_PORTS_FIX}`,
      `ingress[2].ipv6CidrBlocks opens UDP ports 1-65535 to ::/0; ${ALL_PORTS_FIX}`,
    ]);
  });

  it("accepts every port from a known CIDR, and a wide but partial range from the Internet", async () => {
    const props = {
      ingress: [
        { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["10.0.0.0/16"] },
        { protocol: "tcp", fromPort: 1024, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] },
      ],
    };
    expect(await check(noPublicAllPorts, TYPES.securityGroup, props)).toEqual([]);
  });

  it("flags a VPC ingress rule for all protocols", async () => {
    expect(
      await check(noPublicAllPorts, TYPES.ingressRule, { ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" }),
    ).toEqual([`cidrIpv4 opens all protocols and ports to 0.0.0.0/0; ${ALL_PORTS_FIX}`]);
  });
});

describe("no-public-app-port (advisory): the app's host port is not open to the whole Internet", () => {
  it(`flags port ${HOST_PORT}, alone or in a range, from the whole Internet`, async () => {
    const props = {
      ingress: [
        tcp(HOST_PORT, "0.0.0.0/0"),
        { protocol: "tcp", fromPort: 10000, toPort: 10010, ipv6CidrBlocks: ["::/0"] },
      ],
    };
    expect(await check(noPublicAppPort, TYPES.securityGroup, props)).toEqual([
      appPort("ingress[0].cidrBlocks", `TCP port ${HOST_PORT}`, "0.0.0.0/0"),
      appPort("ingress[1].ipv6CidrBlocks", "TCP ports 10000-10010", "::/0"),
    ]);
  });

  it("accepts the DockerHost's rules, and leaves open-everything rules to no-public-all-ports", async () => {
    const ingress = [
      ...ingressRules(["203.0.113.0/24"], HOST_PORT, { mode: "ssm" }),
      { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
      { protocol: "udp", fromPort: HOST_PORT, toPort: HOST_PORT, cidrBlocks: ["0.0.0.0/0"] },
    ];
    expect(await check(noPublicAppPort, TYPES.securityGroup, { ingress })).toEqual([]);
  });

  it("flags a security group rule of type ingress", async () => {
    expect(
      await check(noPublicAppPort, TYPES.securityGroupRule, {
        ...tcp(HOST_PORT, "0.0.0.0/0"),
        type: "ingress",
      }),
    ).toEqual([appPort("cidrBlocks", `TCP port ${HOST_PORT}`, "0.0.0.0/0")]);
  });
});

describe("no-public-ports-but-web: only the front proxy's ports face the whole Internet", () => {
  it("accepts the DockerHost's rules, with a domain's 80 and 443 open to the world for its certificate", async () => {
    const ingress = ingressRules(["0.0.0.0/0", "::/0"], HOST_PORT, { mode: "ssm" }, ["0.0.0.0/0", "::/0"]);
    expect(ingress.map((rule) => rule.fromPort)).toEqual([HOST_PORT, HOST_PORT, 80, 443, 80, 443]);
    expect(await check(noPublicPortsButWeb, TYPES.securityGroup, { ingress })).toEqual([]);
  });

  it("flags any other public port, and a range even when it holds a web port", async () => {
    const props = {
      ingress: [
        tcp(5432, "0.0.0.0/0"),
        { protocol: "tcp", fromPort: 80, toPort: 8080, ipv6CidrBlocks: ["::/0"] },
        tcp(8000, "10.0.0.0/8"),
      ],
    };
    expect(await check(noPublicPortsButWeb, TYPES.securityGroup, props)).toEqual([
      expect.stringMatching(
        /^ingress\[0\]\.cidrBlocks opens TCP port 5432 to 0\.0\.0\.0\/0; only the front proxy's/,
      ),
      expect.stringMatching(/^ingress\[1\]\.ipv6CidrBlocks opens TCP ports 80-8080 to ::\/0;/),
    ]);
  });

  it("leaves port 22 and every-port rules to the policies that name them", async () => {
    const props = {
      ingress: [tcp(22, "0.0.0.0/0"), { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
    };
    expect(await check(noPublicPortsButWeb, TYPES.securityGroup, props)).toEqual([]);
  });
});

/** The DockerHost's instance settings: IMDSv2 with two hops, an encrypted gp3 root volume. */
const GOOD_INSTANCE = {
  metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 },
  rootBlockDevice: { volumeType: "gp3", volumeSize: 20, encrypted: true, deleteOnTermination: true },
};

describe("ec2-instance-metadata-v2: IMDSv2 only, with a hop limit a container can reach", () => {
  it("accepts the DockerHost's metadata options", async () => {
    expect(await check(ec2InstanceMetadataV2, TYPES.instance, GOOD_INSTANCE)).toEqual([]);
  });

  it("flags optional tokens and a hop limit of 1, saying why two hops are needed", async () => {
    const props = { metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 } };
    expect(await check(ec2InstanceMetadataV2, TYPES.instance, props)).toEqual([
      'metadataOptions.httpTokens is "optional"; set it to "required" so that the instance role\'s credentials ' +
        "need an IMDSv2 session token, which a request forged through the app cannot get.",
      "metadataOptions.httpPutResponseHopLimit is 1; set it to 2 or more, because a container on Docker's " +
        "bridge network is one hop further from IMDS: with a limit of 1 it gets no IMDSv2 token, so no role " +
        "credentials.",
    ]);
  });

  it("flags metadata options left to the AMI's defaults", async () => {
    const messages = await check(ec2InstanceMetadataV2, TYPES.instance, {});
    expect(messages?.map((message) => message.split(";")[0])).toEqual([
      "metadataOptions.httpTokens is unset",
      "metadataOptions.httpPutResponseHopLimit is unset",
    ]);
  });

  it("judges no value unknown during preview", async () => {
    expect(await check(ec2InstanceMetadataV2, TYPES.instance, { metadataOptions: UNKNOWN })).toEqual([]);
    const props = { metadataOptions: { httpTokens: UNKNOWN, httpPutResponseHopLimit: 1 } };
    expect((await check(ec2InstanceMetadataV2, TYPES.instance, props))?.length).toBe(1);
  });
});

describe("preview-host-sealed-metadata: a host that runs previews gives containers no instance credentials", () => {
  const previewHost = (metadataOptions: unknown) => ({
    metadataOptions,
    tagsAll: { project: "activity-api", stack: "previews-aws" },
  });
  const WHY =
    "so that no preview's container can take the instance role's credentials (each preview holds an identity " +
    "of its own).";

  it("accepts the preview host's options, and leaves a single-tenant host to ec2-instance-metadata-v2", async () => {
    const sealed = previewHost({
      httpEndpoint: "enabled",
      httpTokens: "required",
      httpPutResponseHopLimit: 1,
    });
    expect(await check(previewHostSealedMetadata, TYPES.instance, sealed)).toEqual([]);
    expect(await check(ec2InstanceMetadataV2, TYPES.instance, sealed)).toEqual([]);
    const testHost = { ...GOOD_INSTANCE, tagsAll: { project: "activity-api", stack: "test" } };
    expect(await check(previewHostSealedMetadata, TYPES.instance, testHost)).toEqual([]);
  });

  it("flags a hop limit above 1 and optional tokens on an instance of the preview host stack", async () => {
    const open = previewHost({ httpTokens: "optional", httpPutResponseHopLimit: 2 });
    expect(await check(previewHostSealedMetadata, TYPES.instance, open)).toEqual([
      'metadataOptions.httpTokens is "optional" on a host that runs previews; set it to "required", since ' +
        `IMDSv1 answers any process that reaches the address, ${WHY}`,
      "metadataOptions.httpPutResponseHopLimit is 2 on a host that runs previews; set it to 1 (unset takes " +
        "the account's or the AMI's default, which may be 2), so that the IMDSv2 token never reaches a " +
        `container on Docker's bridge network, one hop further, ${WHY}`,
    ]);
  });

  it("flags a hop limit left unset, and finds the stack in tags as well as in tagsAll", async () => {
    const props = { metadataOptions: { httpTokens: "required" }, tags: { stack: "previews-aws" } };
    const messages = await check(previewHostSealedMetadata, TYPES.instance, props);
    expect(messages?.map((message) => message.split(";")[0])).toEqual([
      "metadataOptions.httpPutResponseHopLimit is unset on a host that runs previews",
    ]);
  });

  it("judges nothing while the tags or the options are unknown", async () => {
    const hop3 = { httpTokens: "required", httpPutResponseHopLimit: 3 };
    expect(
      await check(previewHostSealedMetadata, TYPES.instance, { metadataOptions: hop3, tagsAll: UNKNOWN }),
    ).toEqual([]);
    expect(await check(previewHostSealedMetadata, TYPES.instance, previewHost(UNKNOWN))).toEqual([]);
  });
});

describe("ec2-encrypted-volumes: the root volume and every EBS volume are encrypted", () => {
  const FIX = "set it to true (the account's default EBS encryption is not visible to this check).";

  it("accepts the DockerHost's root volume and encrypted EBS volumes", async () => {
    const props = { ...GOOD_INSTANCE, ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: true }] };
    expect(await check(ec2EncryptedVolumes, TYPES.instance, props)).toEqual([]);
  });

  it("flags an unencrypted or unset root volume, and each unencrypted EBS volume by index", async () => {
    const props = {
      rootBlockDevice: { volumeType: "gp3", encrypted: false },
      ebsBlockDevices: [
        { deviceName: "/dev/sdf", encrypted: true },
        { deviceName: "/dev/sdg", encrypted: false },
        { deviceName: "/dev/sdh" },
      ],
    };
    expect(await check(ec2EncryptedVolumes, TYPES.instance, props)).toEqual([
      `rootBlockDevice.encrypted is false; ${FIX}`,
      `ebsBlockDevices[1].encrypted is false; ${FIX}`,
      `ebsBlockDevices[2].encrypted is unset; ${FIX}`,
    ]);
    expect(await check(ec2EncryptedVolumes, TYPES.instance, {})).toEqual([
      `rootBlockDevice.encrypted is unset; ${FIX}`,
    ]);
  });

  it("judges no value unknown during preview", async () => {
    const props = {
      rootBlockDevice: { encrypted: UNKNOWN },
      ebsBlockDevices: [UNKNOWN, { deviceName: "/dev/sdg", encrypted: UNKNOWN }],
    };
    expect(await check(ec2EncryptedVolumes, TYPES.instance, props)).toEqual([]);
    const unknownLists = { rootBlockDevice: UNKNOWN, ebsBlockDevices: UNKNOWN };
    expect(await check(ec2EncryptedVolumes, TYPES.instance, unknownLists)).toEqual([]);
  });
});

describe("ec2-root-volume-gp3 (advisory): root volumes are gp3", () => {
  it("accepts gp3, flags gp2 and an unset type, and judges no unknown", async () => {
    expect(await check(ec2RootVolumeGp3, TYPES.instance, GOOD_INSTANCE)).toEqual([]);
    expect(await check(ec2RootVolumeGp3, TYPES.instance, { rootBlockDevice: { volumeType: "gp2" } })).toEqual(
      [
        'rootBlockDevice.volumeType is "gp2"; set it to "gp3", which costs up to 20% less per GiB than gp2 and ' +
          "has a 3,000 IOPS baseline at any size.",
      ],
    );
    expect((await check(ec2RootVolumeGp3, TYPES.instance, {}))?.[0]).toMatch(
      /^rootBlockDevice.volumeType is unset;/,
    );
    expect(
      await check(ec2RootVolumeGp3, TYPES.instance, { rootBlockDevice: { volumeType: UNKNOWN } }),
    ).toEqual([]);
  });
});

const TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/activity-table-1a2b3c4";
const EVERY_TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/*";
const REPOSITORY_ARN = "arn:aws:ecr:eu-west-1:123456789012:repository/activity-repo-1a2b3c4";
const TABLES_ONLY =
  "grant DynamoDB actions on table and index ARNs only (arn:aws:dynamodb:<region>:<account>:table/<name> or " +
  "table/<name prefix>*, and <table ARN>/index/<name>).";
const statement = (Action: unknown, Resource: unknown) => ({ Effect: "Allow", Action, Resource });
const documentOf = (...Statement: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement });

describe("iam-least-privilege: no wildcard grants, DynamoDB on tables only, ECR on * for the token only", () => {
  it("accepts the DockerHost's data and image pull policies, GetAuthorizationToken on * included", async () => {
    for (const document of [appDataPolicy(TABLE_ARN), imagePullPolicy(REPOSITORY_ARN)]) {
      expect(await check(iamLeastPrivilege, TYPES.rolePolicy, { policy: JSON.stringify(document) })).toEqual(
        [],
      );
    }
  });

  it('flags "*", "iam:*" and whole-service wildcards such as "dynamodb:*", by statement', async () => {
    const policy = documentOf(
      statement("*", "*"),
      { Sid: "Admin", ...statement(["iam:*"], "*") },
      statement(["dynamodb:*"], TABLE_ARN),
    );
    const fix =
      'name only the actions the role needs (for example "dynamodb:GetItem") instead of a wildcard.';
    expect(await check(iamLeastPrivilege, TYPES.rolePolicy, { policy })).toEqual([
      `policy Statement[0] allows Action "*"; ${fix}`,
      `policy statement "Admin" allows Action "iam:*"; ${fix}`,
      `policy Statement[2] allows Action "dynamodb:*"; ${fix}`,
    ]);
  });

  it("accepts DynamoDB actions on the tables of one name prefix, as the previews' boundary grants them", async () => {
    const previewTables = "arn:aws:dynamodb:eu-west-1:123456789012:table/pv-*";
    const policy = JSON.stringify(appDataPolicy(previewTables));
    expect(await check(iamLeastPrivilege, TYPES.policy, { policy })).toEqual([]);
  });

  it("accepts DynamoDB actions on the tables of a name prefix (a CI pipeline's), and their indexes", async () => {
    const prefixed = "arn:aws:dynamodb:eu-west-1:123456789012:table/pv-*";
    const policy = documentOf(statement("dynamodb:DeleteTable", [prefixed, `${prefixed}/index/*`]));
    expect(await check(iamLeastPrivilege, TYPES.rolePolicy, { policy })).toEqual([]);
  });

  it("flags DynamoDB actions on *, on every table, or through NotResource", async () => {
    const policy = documentOf(
      statement(["dynamodb:GetItem", "dynamodb:Query"], "*"),
      statement("dynamodb:PutItem", [EVERY_TABLE]),
      { Effect: "Allow", Action: "dynamodb:Scan", NotResource: TABLE_ARN },
    );
    expect(await check(iamLeastPrivilege, TYPES.rolePolicy, { policy })).toEqual([
      `policy Statement[0] allows dynamodb:GetItem, dynamodb:Query on Resource "*"; ${TABLES_ONLY}`,
      `policy Statement[1] allows dynamodb:PutItem on Resource "${EVERY_TABLE}"; ${TABLES_ONLY}`,
      `policy Statement[2] allows dynamodb:Scan on NotResource; ${TABLES_ONLY}`,
    ]);
  });

  it('flags ECR actions other than GetAuthorizationToken on "*"', async () => {
    const policy = documentOf(statement(["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:Get*"], "*"));
    expect(await check(iamLeastPrivilege, TYPES.rolePolicy, { policy })).toEqual([
      'policy Statement[0] allows ecr:BatchGetImage, ecr:Get* on Resource "*"; grant them on the repository\'s ' +
        'ARN, since only ecr:GetAuthorizationToken needs "*".',
    ]);
  });

  it("flags an Allow with NotAction, and leaves Deny statements alone", async () => {
    const policy = documentOf(
      { Effect: "Allow", NotAction: "iam:*", Resource: "*" },
      { Effect: "Deny", Action: "*", Resource: "*" },
    );
    expect(await check(iamLeastPrivilege, TYPES.rolePolicy, { policy })).toEqual([
      "policy Statement[0] allows NotAction, which grants every action it does not list; name the allowed " +
        "actions in Action instead.",
    ]);
  });

  it("reads a managed policy, a document object and a single statement too", async () => {
    const policy = { Version: "2012-10-17", Statement: statement("dynamodb:*", TABLE_ARN) };
    expect(await check(iamLeastPrivilege, TYPES.policy, { policy })).toEqual([
      'policy Statement allows Action "dynamodb:*"; name only the actions the role needs (for example ' +
        '"dynamodb:GetItem") instead of a wildcard.',
    ]);
  });

  it("judges the known parts of a document and nothing unknown during preview", async () => {
    expect(await check(iamLeastPrivilege, TYPES.rolePolicy, { policy: UNKNOWN })).toEqual([]);
    const policy = { Statement: [statement("dynamodb:GetItem", UNKNOWN), statement("*", [UNKNOWN])] };
    expect(
      (await check(iamLeastPrivilege, TYPES.rolePolicy, { policy }))?.map((m) => m.split(";")[0]),
    ).toEqual(['policy Statement[1] allows Action "*"']);
  });

  it("reports a policy that is not JSON", async () => {
    expect(await check(iamLeastPrivilege, TYPES.rolePolicy, { policy: "{ Statement: [" })).toEqual([
      "policy is not valid JSON; give a JSON policy document, or an object that Pulumi serialises.",
    ]);
  });
});

describe("ecr-repository-settings: scan on push, immutable tags", () => {
  it("accepts the AppImage's repository settings", async () => {
    const props = { imageScanningConfiguration: { scanOnPush: true }, imageTagMutability: "IMMUTABLE" };
    expect(await check(ecrRepositorySettings, TYPES.repository, props)).toEqual([]);
  });

  it("flags a repository left to AWS's defaults, and mutable tags", async () => {
    expect(await check(ecrRepositorySettings, TYPES.repository, {})).toEqual([
      "imageScanningConfiguration.scanOnPush is unset; set it to true so that every pushed image is scanned " +
        "for known vulnerabilities.",
      'imageTagMutability is unset (unset means "MUTABLE"); set it to "IMMUTABLE" so that a tag always names ' +
        "the image that was tested.",
    ]);
    const mutable = { imageScanningConfiguration: { scanOnPush: true }, imageTagMutability: "MUTABLE" };
    expect((await check(ecrRepositorySettings, TYPES.repository, mutable))?.[0]).toMatch(
      /^imageTagMutability is "MUTABLE" \(unset means "MUTABLE"\);/,
    );
  });

  it("judges no value unknown during preview", async () => {
    const props = { imageScanningConfiguration: UNKNOWN, imageTagMutability: UNKNOWN };
    expect(await check(ecrRepositorySettings, TYPES.repository, props)).toEqual([]);
  });
});

describe("ecr-repository-lifecycle-policy: every repository has a lifecycle policy", () => {
  const repository = (name: string, props: Record<string, unknown> = { name }) =>
    stackResource(TYPES.repository, name, props);
  const message = (name: string) =>
    `ECR repository "${name}" has no aws.ecr.LifecyclePolicy whose repository is its name; add one ` +
    "(awsx.ecr.Repository makes it from its lifecyclePolicy argument) so that old images expire.";

  it("accepts a lifecycle policy whose repository depends on the repository, even while unknown", async () => {
    const repo = repository("activity-repo", { name: UNKNOWN });
    const lifecycle = stackResource(
      TYPES.lifecyclePolicy,
      "activity-repo",
      { repository: UNKNOWN },
      {
        repository: [repo],
      },
    );
    expect(await checkStack(ecrRepositoryLifecyclePolicy, [repo, lifecycle])).toEqual([]);
  });

  it("accepts a lifecycle policy that names the repository", async () => {
    const repo = repository("activity-repo-1a2b3c4");
    const lifecycle = stackResource(TYPES.lifecyclePolicy, "keep-10", {
      repository: "activity-repo-1a2b3c4",
    });
    expect(await checkStack(ecrRepositoryLifecyclePolicy, [lifecycle, repo])).toEqual([]);
  });

  it("flags, on the repository, a repository that no lifecycle policy refers to", async () => {
    const covered = repository("covered");
    const bare = repository("bare");
    const elsewhere = repository("elsewhere");
    const resources = [
      covered,
      bare,
      elsewhere,
      stackResource(
        TYPES.lifecyclePolicy,
        "by-dependency",
        { repository: UNKNOWN },
        { repository: [covered] },
      ),
      stackResource(TYPES.lifecyclePolicy, "by-name", { repository: "some-other-repository" }),
    ];
    expect(await checkStack(ecrRepositoryLifecyclePolicy, resources)).toEqual([
      { message: message("bare"), urn: bare.urn },
      { message: message("elsewhere"), urn: elsewhere.urn },
    ]);
    expect(await checkStack(ecrRepositoryLifecyclePolicy, [bare])).toEqual([
      { message: message("bare"), urn: bare.urn },
    ]);
  });

  it("flags nothing that an unknown name could settle", async () => {
    const unnamed = repository("unnamed", { name: UNKNOWN });
    const named = repository("named");
    const byName = stackResource(TYPES.lifecyclePolicy, "by-name", { repository: "x" });
    const pending = stackResource(TYPES.lifecyclePolicy, "pending", { repository: UNKNOWN });
    expect(await checkStack(ecrRepositoryLifecyclePolicy, [unnamed, byName])).toEqual([]);
    expect(await checkStack(ecrRepositoryLifecyclePolicy, [named, pending])).toEqual([]);
  });
});

/** The ActivityTable's settings. */
const GOOD_TABLE = {
  billingMode: "PAY_PER_REQUEST",
  serverSideEncryption: { enabled: true },
  pointInTimeRecovery: { enabled: true },
};

describe("dynamodb-table-protection: point-in-time recovery and KMS encryption", () => {
  it("accepts the ActivityTable's settings", async () => {
    expect(await check(dynamodbTableProtection, TYPES.table, GOOD_TABLE)).toEqual([]);
  });

  it("flags recovery turned off and encryption left unset", async () => {
    const props = { pointInTimeRecovery: { enabled: false } };
    expect(await check(dynamodbTableProtection, TYPES.table, props)).toEqual([
      "pointInTimeRecovery.enabled is false; set it to true so that the table can be restored to any second " +
        "of the recovery period (35 days unless recoveryPeriodInDays says less).",
      "serverSideEncryption.enabled is unset; set it to true so that the table is encrypted with a KMS key " +
        "(aws/dynamodb, or yours in kmsKeyArn) that CloudTrail logs the use of.",
    ]);
  });

  it("judges no value unknown during preview", async () => {
    const props = { pointInTimeRecovery: UNKNOWN, serverSideEncryption: { enabled: UNKNOWN } };
    expect(await check(dynamodbTableProtection, TYPES.table, props)).toEqual([]);
  });
});

describe("dynamodb-on-demand (advisory): tables bill per request", () => {
  it("accepts PAY_PER_REQUEST, flags provisioned or unset, and judges no unknown", async () => {
    expect(await check(dynamodbOnDemand, TYPES.table, GOOD_TABLE)).toEqual([]);
    expect(await check(dynamodbOnDemand, TYPES.table, { billingMode: "PROVISIONED" })).toEqual([
      'billingMode is "PROVISIONED" (unset means "PROVISIONED"); set it to "PAY_PER_REQUEST" so that a table ' +
        "with light, bursty traffic pays for the requests it serves, not for idle capacity.",
    ]);
    expect((await check(dynamodbOnDemand, TYPES.table, {}))?.[0]).toMatch(/^billingMode is unset/);
    expect(await check(dynamodbOnDemand, TYPES.table, { billingMode: UNKNOWN })).toEqual([]);
  });
});

describe("required-tags: project and stack, from tags or the provider's defaultTags", () => {
  const defaults = { project: "activity-api", stack: "test", "managed-by": "pulumi" };
  const fix = "to the resource's tags, or to the aws provider's defaultTags.";

  it("accepts the tags in tags, or in tagsAll when the provider's defaultTags bring them", async () => {
    for (const type of [TYPES.instance, TYPES.securityGroup, TYPES.role, TYPES.repository, TYPES.table]) {
      expect(await check(requiredTags, type, { tags: defaults })).toEqual([]);
      const host = { tags: { Name: "activity-host" }, tagsAll: { ...defaults, Name: "activity-host" } };
      expect(await check(requiredTags, type, host)).toEqual([]);
    }
  });

  it("names the missing tags", async () => {
    const props = {
      tags: { Name: "activity-host" },
      tagsAll: { Name: "activity-host", project: "activity-api" },
    };
    expect(await check(requiredTags, TYPES.instance, props)).toEqual([
      `tags and tagsAll lack "stack"; add it ${fix}`,
    ]);
    expect(await check(requiredTags, TYPES.table, { tagsAll: {} })).toEqual([
      `tags and tagsAll lack "project" and "stack"; add them ${fix}`,
    ]);
    expect(await check(requiredTags, TYPES.role, { tags: { project: "activity-api" } })).toEqual([
      `tags and tagsAll lack "stack"; add it ${fix}`,
    ]);
  });

  it("judges nothing that an unknown or an unchecked tagsAll could still supply", async () => {
    const props = { tags: { Name: "activity-host" }, tagsAll: UNKNOWN };
    expect(await check(requiredTags, TYPES.instance, props)).toEqual([]);
    expect(await check(requiredTags, TYPES.instance, { tags: UNKNOWN })).toEqual([]);
    expect(await check(requiredTags, TYPES.instance, {})).toEqual([]);
    const unknownValues = { tags: { project: UNKNOWN, stack: UNKNOWN } };
    expect(await check(requiredTags, TYPES.instance, unknownValues)).toEqual([]);
  });

  it("does not apply to resources outside the five types", async () => {
    expect(await check(requiredTags, TYPES.rolePolicy, { policy: "{}" })).toBeUndefined();
  });
});

describe("no-world-open-docker-port: a port on every interface only behind a security group of the stack", () => {
  const container = (name: string, ports: unknown) =>
    stackResource("docker:index/container:Container", name, { ports });
  const proxy = (ip: unknown) => container("proxy", [{ internal: 10001, external: 10001, ip }]);

  it.each([["0.0.0.0"], ["::"], [undefined]])(
    "refuses the ip %s with no security group in the stack",
    async (ip) => {
      const [violation, ...others] = (await checkStack(noWorldOpenDockerPort, [proxy(ip)])) ?? [];
      expect(others).toEqual([]);
      expect(violation?.message).toBe(
        `container "proxy" publishes port 10001 on every interface (ip ${ip === undefined ? "unset" : JSON.stringify(ip)}), ` +
          "and no security group of the stack is in front of it: bind it to one address (publishAddress), or set " +
          "this rule advisory in the pack's config if the server's own firewall is the gate.",
      );
    },
  );

  it("accepts one address, a container with no port, and every interface behind a security group", async () => {
    expect(await checkStack(noWorldOpenDockerPort, [proxy("127.0.0.1"), proxy("10.0.0.5")])).toEqual([]);
    expect(await checkStack(noWorldOpenDockerPort, [container("app", undefined)])).toEqual([]);
    const group = stackResource("aws:ec2/securityGroup:SecurityGroup", "host-sg", {});
    expect(await checkStack(noWorldOpenDockerPort, [proxy("0.0.0.0"), group])).toEqual([]);
  });

  it("reports nothing for a port whose address is not known yet", async () => {
    expect(await checkStack(noWorldOpenDockerPort, [proxy(unknownValue)])).toEqual([]);
  });
});

describe("preview-identity-own-resources: a preview's identity reaches its own resources only", () => {
  const PREFIX = "pv-feature-a-951d42dc";
  const OWN_TABLE = `arn:aws:dynamodb:eu-west-1:123456789012:table/${PREFIX}-table-4f2a9c1`;
  const OTHER_TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/pv-feature-b-0c1d2e3f-table-1a2b3c4";
  const BOUNDARY = "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary";
  const userPolicy = (user: string, tableArn: string) => ({
    user,
    policy: JSON.stringify(appDataPolicy(tableArn)),
  });
  const FIX = `which is not the preview's own; a preview's identity may name only resources whose name starts with "${PREFIX}-", so that no preview's container reaches another's data.`;

  it("accepts the identity PreviewIdentity creates", async () => {
    const user = { name: PREFIX, permissionsBoundary: BOUNDARY };
    expect(await check(previewIdentityOwnResources, TYPES.user, user)).toEqual([]);
    expect(await check(previewIdentityOwnResources, TYPES.userPolicy, userPolicy(PREFIX, OWN_TABLE))).toEqual(
      [],
    );
  });

  it("flags a preview's policy on another preview's table, and on every SSM parameter", async () => {
    expect(
      await check(previewIdentityOwnResources, TYPES.userPolicy, userPolicy(PREFIX, OTHER_TABLE)),
    ).toEqual([
      `the policy of preview identity "${PREFIX}" allows Resource ${JSON.stringify(OTHER_TABLE)}, ${FIX}`,
      `the policy of preview identity "${PREFIX}" allows Resource ${JSON.stringify(`${OTHER_TABLE}/index/*`)}, ${FIX}`,
    ]);
    const ssm = {
      user: PREFIX,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["ssm:GetParameter"], Resource: "*" }],
      }),
    };
    expect(await check(previewIdentityOwnResources, TYPES.userPolicy, ssm)).toEqual([
      `the policy of preview identity "${PREFIX}" allows Resource "*", ${FIX}`,
    ]);
  });

  it("reads a policy given as a document object too, and names an S3 bucket's own objects its own", async () => {
    const document = {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: ["s3:GetObject"], Resource: [`arn:aws:s3:::${PREFIX}-uploads/*`] },
        { Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: [OTHER_TABLE, UNKNOWN] },
      ],
    };
    expect(
      await check(previewIdentityOwnResources, TYPES.userPolicy, { user: PREFIX, policy: document }),
    ).toEqual([
      `the policy of preview identity "${PREFIX}" allows Resource ${JSON.stringify(OTHER_TABLE)}, ${FIX}`,
    ]);
  });

  it("flags a prefix that only starts like its own, and a preview role's policy too", async () => {
    const lookalike = `arn:aws:dynamodb:eu-west-1:123456789012:table/${PREFIX}0-table`;
    const role = { role: PREFIX, policy: JSON.stringify(appDataPolicy(lookalike)) };
    expect((await check(previewIdentityOwnResources, TYPES.rolePolicy, role))?.length).toBe(2);
  });

  it("flags a preview user without a boundary, and any managed policy attached to one", async () => {
    expect(await check(previewIdentityOwnResources, TYPES.user, { name: PREFIX })).toEqual([
      `preview identity "${PREFIX}" has no permissionsBoundary; create it under the previews' boundary ` +
        "(the ci-identity stack's previewBoundaryArn), which caps whatever its own policy says.",
    ]);
    const attachment = { user: PREFIX, policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" };
    expect(await check(previewIdentityOwnResources, TYPES.userPolicyAttachment, attachment)).toEqual([
      `preview identity "${PREFIX}" has managed policy "arn:aws:iam::aws:policy/AdministratorAccess" ` +
        "attached; give it only an inline policy that names its own resources.",
    ]);
  });

  it("leaves other identities to iam-least-privilege, and judges nothing unknown", async () => {
    expect(
      await check(previewIdentityOwnResources, TYPES.userPolicy, userPolicy("deployer", OTHER_TABLE)),
    ).toEqual([]);
    expect(await check(previewIdentityOwnResources, TYPES.user, { name: "deployer" })).toEqual([]);
    expect(
      await check(previewIdentityOwnResources, TYPES.userPolicy, { user: UNKNOWN, policy: UNKNOWN }),
    ).toEqual([]);
    expect(
      await check(previewIdentityOwnResources, TYPES.userPolicy, { user: PREFIX, policy: UNKNOWN }),
    ).toEqual([]);
  });
});

describe("docker-ssh-host-key-pinned: a Docker engine over SSH behind one pinned host key", () => {
  const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBvbGljeXRlc3Rob3N0a2V5MDAwMDAwMDAwMDAwMDA";
  const provider = (host: unknown, sshOpts: unknown) =>
    check(dockerSshHostKeyPinned, "pulumi:providers:docker", { host, sshOpts });

  it("passes the pinned options, as the engine hands them over (JSON text) or as a list", async () => {
    const pinned = pinnedHostKeyOptions(KEY);
    expect(await provider("ssh://ec2-user@i-0abc", JSON.stringify(pinned))).toEqual([]);
    expect(await provider("ssh://deploy@203.0.113.10", [...pinned, "-o", "Port=2222"])).toEqual([]);
  });

  it.each([
    ["trust on first use", ["-o", "StrictHostKeyChecking=accept-new"]],
    ["no checking at all", ["-o", "StrictHostKeyChecking=no"]],
    ["the user's known_hosts, whatever it holds", ["-o", "StrictHostKeyChecking=yes"]],
    ["no options", undefined],
  ])("refuses %s", async (_case, sshOpts) => {
    const [violation, ...others] = (await provider("ssh://ec2-user@198.51.100.20", sshOpts)) ?? [];
    expect(others).toEqual([]);
    expect(violation).toContain("the Docker provider reaches ssh://ec2-user@198.51.100.20 with ssh options");
    expect(violation).toContain("pin the host's key");
  });

  it("leaves the local engine, other providers and options not yet known alone", async () => {
    expect(await provider("unix:///var/run/docker.sock", undefined)).toEqual([]);
    expect(await provider(undefined, undefined)).toEqual([]);
    expect(await provider("ssh://ec2-user@i-0abc", unknownValue)).toEqual([]);
    expect(
      await check(dockerSshHostKeyPinned, "pulumi:providers:aws", { host: "ssh://x", sshOpts: [] }),
    ).toEqual([]);
  });
});
