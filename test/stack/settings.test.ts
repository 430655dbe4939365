/** Stack configuration: each bad value fails with one message naming the key, before any resource exists. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { DEFAULTS, readSettings, stackTags } from "../../stack/settings.js";
import { isPublicRange } from "../../stack/validation.js";
import { installMocks, PROD_USER_VALUES, stackConfig, USER_VALUES } from "../helpers/pulumi.js";

/** readSettings through pulumi.Config's own getters, over `values` as the engine hands them to the program. */
function settingsOf(stack: string, values: Record<string, string>, warn?: (message: string) => void) {
  pulumi.runtime.setAllConfig(values);
  return readSettings(
    { stack, project: new pulumi.Config("activity-api"), aws: new pulumi.Config("aws") },
    warn,
  );
}

/** An issuer and audience as Amazon Cognito gives them: the user pool's URL, the app client's id. */
const ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123";
const AUTH = { "activity-api:authIssuer": ISSUER, "activity-api:authAudience": "4r8ctm2lb6s0ecgk3jfq8h0v1b" };

/** The error `attempt` throws; fails the test when it throws none. */
function errorOf(attempt: () => unknown): Error {
  try {
    attempt();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, but none was thrown");
}

/** readSettings over the real test stack's config, with `overrides` (undefined removes a key). */
function settingsFor(overrides: Record<string, unknown>, warn?: (message: string) => void) {
  return settingsOf("test", stackConfig("test", { ...USER_VALUES, ...overrides }), warn);
}

const bad: Array<[string, Record<string, unknown>, string]> = [
  [
    "an unknown target",
    { "activity-api:target": "gcp" },
    'activity-api:target "gcp" is not allowed: use local, ec2, ecs',
  ],
  // The engine itself refuses these before the program runs (test/helpers/engine-config.ts).
  [
    "a missing target",
    { "activity-api:target": undefined },
    "Stack 'test' is missing configuration value 'target'",
  ],
  [
    "a bad name prefix",
    { "activity-api:namePrefix": "Activity_1" },
    'activity-api:namePrefix "Activity_1" is not allowed',
  ],
  [
    "a name prefix with --",
    { "activity-api:namePrefix": "a--b" },
    'activity-api:namePrefix "a--b" is not allowed',
  ],
  [
    "a preview's name prefix on the test stack, which the CI preview role may change",
    { "activity-api:namePrefix": "pv-test" },
    'activity-api:namePrefix "pv-test" is a preview\'s (pv-... or previews), which the CI preview role may change',
  ],
  [
    "the preview hosts' name prefix on the test stack",
    { "activity-api:namePrefix": "previews" },
    'activity-api:namePrefix "previews" is a preview\'s',
  ],
  [
    "a permissions boundary that is no policy ARN",
    { "activity-api:permissionsBoundary": "activity-test-boundary" },
    'activity-api:permissionsBoundary "activity-test-boundary" is not an IAM policy ARN',
  ],
  ["a bad region", { "aws:region": "Ireland" }, 'aws:region "Ireland" is not an AWS region code'],
  ["a missing region", { "aws:region": undefined }, "aws:region is required when target is ec2"],
  [
    "a bad instance type",
    { "activity-api:instanceType": "large" },
    'activity-api:instanceType "large" is not an EC2 instance type',
  ],
  ["a Graviton instance type", { "activity-api:instanceType": "t4g.small" }, "is an arm64 (Graviton) type"],
  [
    "a bad CIDR",
    { "activity-api:allowedCidrs": ["10.0.0.0/33"] },
    'activity-api:allowedCidrs entry "10.0.0.0/33" is not a CIDR block',
  ],
  [
    "a CIDR with host bits",
    { "activity-api:allowedCidrs": ["10.1.2.3/8"] },
    "has host bits set; did you mean 10.0.0.0/8?",
  ],
  ["no CIDR", { "activity-api:allowedCidrs": [] }, "activity-api:allowedCidrs must list at least one CIDR"],
  [
    "a CIDR list that is not a list",
    { "activity-api:allowedCidrs": "10.0.0.0/8" },
    "must be a list of strings",
  ],
  [
    "missing CIDRs",
    { "activity-api:allowedCidrs": undefined },
    "activity-api:allowedCidrs is required when target is ec2",
  ],
  [
    "an unknown access mode",
    { "activity-api:hostAccess": "telnet" },
    'activity-api:hostAccess "telnet" is not allowed',
  ],
  [
    "ssh without CIDRs",
    { "activity-api:hostAccess": "ssh" },
    "activity-api:sshCidrs is required when hostAccess is ssh",
  ],
  [
    "SSH open to the world",
    { "activity-api:hostAccess": "ssh", "activity-api:sshCidrs": ["0.0.0.0/0"] },
    "activity-api:sshCidrs must not contain 0.0.0.0/0: SSH is never opened to the world",
  ],
  [
    "SSH open to the IPv6 world",
    { "activity-api:hostAccess": "ssh", "activity-api:sshCidrs": ["::/0"] },
    "must not contain ::/0",
  ],
  [
    "a missing public key",
    { "activity-api:sshPublicKey": undefined },
    "activity-api:sshPublicKey is required when target is ec2",
  ],
  [
    "a private key as public key",
    { "activity-api:sshPublicKey": "-----BEGIN OPENSSH PRIVATE KEY-----" },
    "is not an OpenSSH public key",
  ],
  [
    "a non-boolean",
    { "activity-api:deletionProtection": "yes" },
    'activity-api:deletionProtection "yes" must be true or false',
  ],
  [
    "a readiness timeout over a minute",
    { "activity-api:readinessTimeoutSeconds": 120 },
    'activity-api:readinessTimeoutSeconds "120" must be an integer from 5 to 60',
  ],
  [
    "zero images kept",
    { "activity-api:keepImages": 0 },
    'activity-api:keepImages "0" must be an integer from 1 to 1000',
  ],
  ["the latest tag", { "activity-api:imageTag": "latest" }, 'activity-api:imageTag "latest" is not allowed'],
  [
    "a release that is not a tag or a digest",
    { "activity-api:release": "latest" },
    'activity-api:release "latest" is not a release: use a tag such as 0.1.0-d6c1d784addc, a digest sha256:<64 hex>, or <tag>@<digest>',
  ],
  [
    "a release on a preview host",
    { "activity-api:previewHost": "true", "activity-api:release": "0.1.0-d6c1d784addc" },
    "activity-api:release is for a stack that serves the app; a preview host serves none: set it on a preview",
  ],
  [
    "a release with a short digest",
    { "activity-api:release": "0.1.0-d6c1d784addc@sha256:abc" },
    'activity-api:release "0.1.0-d6c1d784addc@sha256:abc" is not a release',
  ],
  [
    "a domain with capitals",
    { "activity-api:domain": "API.example.com" },
    'activity-api:domain "API.example.com" is not a domain name',
  ],
  [
    "a one-label domain",
    { "activity-api:domain": "intranet" },
    'activity-api:domain "intranet" is not a domain name',
  ],
  [
    "an unknown TLS issuer",
    { "activity-api:domain": "api.example.com", "activity-api:tlsIssuer": "self" },
    'activity-api:tlsIssuer "self" is not allowed: use acme (default) or internal',
  ],
  [
    "ACME without saying 80 and 443 are open to the Internet",
    { "activity-api:domain": "api.example.com" },
    "activity-api:domain with tlsIssuer acme needs ports 80 and 443 open to the whole Internet",
  ],
  [
    "ACME with 80 and 443 closed to the Internet",
    { "activity-api:domain": "api.example.com", "activity-api:httpsCidrs": ["198.51.100.0/24"] },
    "activity-api:httpsCidrs must contain 0.0.0.0/0 (or ::/0) for tlsIssuer acme",
  ],
  [
    "a domain on the ecs target, whose load balancer serves HTTPS itself",
    { "activity-api:target": "ecs", "activity-api:domain": "api.example.com" },
    "activity-api:domain is for the Docker hosts' proxy (targets local and ec2); on ecs the load balancer serves HTTPS with an ACM certificate: set activity-api:certificateArn",
  ],
  [
    "HTTPS CIDRs without a domain",
    { "activity-api:httpsCidrs": ["0.0.0.0/0"] },
    "activity-api:httpsCidrs is set but activity-api:domain is not",
  ],
  [
    "a bad ACME email",
    {
      "activity-api:domain": "api.example.com",
      "activity-api:acmeEmail": "ops",
      "activity-api:httpsCidrs": ["0.0.0.0/0"],
    },
    'activity-api:acmeEmail "ops" is not an email address',
  ],
  [
    "a bad base image",
    { "activity-api:baseImage": "Node 24" },
    'activity-api:baseImage "Node 24" is not an image reference',
  ],
  [
    "a preview's metadata without its host",
    { "activity-api:previewBranch": "main" },
    "activity-api:previewBranch is set but activity-api:previewHostStack is not: a preview runs on a preview host",
  ],
  [
    "a preview without expiry",
    { "activity-api:previewHostStack": "previews-aws", "activity-api:previewBranch": "main" },
    "activity-api:previewCreatedAt is required",
  ],
  [
    "a preview with a bad date",
    {
      "activity-api:previewHostStack": "previews-aws",
      "activity-api:previewBranch": "main",
      "activity-api:previewCreatedAt": "yesterday",
      "activity-api:previewExpiresAt": "2026-12-01T00:00:00Z",
    },
    'activity-api:previewCreatedAt "yesterday" is not an ISO 8601 date-time',
  ],
  [
    "a preview on a stack that is no preview host",
    { "activity-api:previewHostStack": "test", "activity-api:previewBranch": "main" },
    'activity-api:previewHostStack "test" is not a preview host: use previews-local or previews-aws',
  ],
  [
    "a stack that is both a host and a preview",
    { "activity-api:previewHost": "true", "activity-api:previewHostStack": "previews-aws" },
    "activity-api:previewHost and activity-api:previewHostStack cannot both be set",
  ],
  [
    "a preview host on a port below 1024",
    { "activity-api:previewHost": "true", "activity-api:previewPort": 80 },
    'activity-api:previewPort "80" must be an integer from 1024 to 65535',
  ],
  [
    "a preview host with a bad domain",
    { "activity-api:previewHost": "true", "activity-api:previewDomain": "Previews" },
    'activity-api:previewDomain "Previews" is not a domain name',
  ],
  [
    "HTTPS on a preview host",
    {
      "activity-api:previewHost": "true",
      "activity-api:domain": "api.example.com",
      "activity-api:tlsIssuer": "internal",
    },
    "activity-api:domain serves the app itself; previews answer at <label>.<previewDomain> over HTTP",
  ],
  [
    "publishTo on an EC2 stack, whose security group is the gate",
    { "activity-api:publishTo": "lan" },
    "activity-api:publishTo is for target local; on ec2 and ecs activity-api:allowedCidrs decides who reaches the API",
  ],
  [
    "publishTo on the EC2 preview host",
    { "activity-api:previewHost": "true", "activity-api:publishTo": "loopback" },
    "activity-api:publishTo is for target local",
  ],
  [
    "publishTo on a local preview, which publishes no port",
    {
      "activity-api:target": "local",
      "activity-api:previewHostStack": "previews-local",
      "activity-api:previewBranch": "feature/x",
      "activity-api:previewCreatedAt": "2026-11-25T10:00:00.000Z",
      "activity-api:previewExpiresAt": "2026-11-28T10:00:00.000Z",
      "activity-api:publishTo": "lan",
    },
    "activity-api:publishTo is set on a preview, which publishes no port: set it on the preview host stack previews-local",
  ],
  [
    "publishTo with a value of its own",
    { "activity-api:target": "local", "activity-api:publishTo": "0.0.0.0" },
    'activity-api:publishTo "0.0.0.0" is not allowed: use loopback (default: this machine only) or lan',
  ],
  [
    "an audience without an issuer",
    { "activity-api:authAudience": "mobile-app" },
    "activity-api:authAudience is set but activity-api:authIssuer is not: set authIssuer to require tokens, or unset authAudience",
  ],
  [
    "a user claim without an issuer",
    { "activity-api:authUserClaim": "username" },
    "activity-api:authUserClaim is set but activity-api:authIssuer is not",
  ],
  [
    "an issuer without an audience",
    { "activity-api:authIssuer": ISSUER },
    "activity-api:authAudience is required when authIssuer is set: the API's audience at the issuer (with Amazon Cognito, the app client id)",
  ],
  [
    "an issuer over plain HTTP",
    { ...AUTH, "activity-api:authIssuer": "http://issuer.example.com" },
    'activity-api:authIssuer "http://issuer.example.com" must be an https:// URL',
  ],
  [
    "a loopback issuer on a remote host, where loopback is the container itself",
    { ...AUTH, "activity-api:authIssuer": "http://127.0.0.1:9000" },
    'activity-api:authIssuer "http://127.0.0.1:9000" must be an https:// URL',
  ],
  [
    "an issuer with a query",
    { ...AUTH, "activity-api:authIssuer": `${ISSUER}?x=1` },
    "is not an issuer URL such as https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
  ],
  [
    "an audience with a space",
    { ...AUTH, "activity-api:authAudience": "mobile app" },
    'activity-api:authAudience "mobile app" is not allowed: use 1 to 512 visible ASCII characters',
  ],
  [
    "a user claim that is not a claim name",
    { ...AUTH, "activity-api:authUserClaim": "user name" },
    'activity-api:authUserClaim "user name" is not a claim name',
  ],
  [
    "a rate limit of zero",
    { "activity-api:rateLimitMax": 0 },
    'activity-api:rateLimitMax "0" must be an integer from 1 to 1000000',
  ],
  [
    "a rate-limit window over an hour",
    { "activity-api:rateLimitWindowSeconds": 7200 },
    'activity-api:rateLimitWindowSeconds "7200" must be an integer from 1 to 3600',
  ],
  [
    "a public range on plain HTTP without auth",
    { "activity-api:allowedCidrs": ["10.0.0.0/16", "52.95.110.1/32"] },
    "activity-api:allowedCidrs holds the public range 52.95.110.1/32, which would reach the API over plain HTTP on port 10001: list only private ranges there",
  ],
  [
    "a public range on plain HTTP, with auth (tokens in clear text)",
    { ...AUTH, "activity-api:allowedCidrs": ["0.0.0.0/0"] },
    "activity-api:allowedCidrs holds the public range 0.0.0.0/0, which would reach the API over plain HTTP on port 10001",
  ],
  [
    "HTTPS open to the Internet without auth",
    { "activity-api:domain": "api.example.com", "activity-api:httpsCidrs": ["0.0.0.0/0", "::/0"] },
    "activity-api:httpsCidrs holds the public range 0.0.0.0/0, but activity-api:authIssuer is not set: anyone there could read and change every activity",
  ],
  [
    "an EC2 preview host open to a public range",
    {
      "activity-api:previewHost": "true",
      "activity-api:allowedCidrs": ["::/0"],
      "activity-api:permissionsBoundary":
        "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary",
    },
    "activity-api:allowedCidrs holds the public range ::/0, but previews answer over plain HTTP only",
  ],
];

describe("readSettings", () => {
  it.each(bad)("rejects %s with one line naming the key", (_label, overrides, message) => {
    const { message: said } = errorOf(() => settingsFor(overrides));
    expect(said).toContain(message);
    expect(said).not.toContain("\n");
  });

  it("reads the former target name aws as ec2, and says in one line that it is deprecated", () => {
    const warnings: string[] = [];
    expect(settingsFor({ "activity-api:target": "aws" }, (message) => warnings.push(message))).toMatchObject({
      kind: "ec2App",
    });
    expect(warnings).toContain('activity-api:target "aws" is deprecated: say "ec2" (same target)');
  });

  it("applies every default itself, so that config without Pulumi.yaml's block (plain mocks) reads the same", () => {
    const userValues = {
      "activity-api:target": "ec2",
      "aws:region": "eu-west-1",
      "activity-api:allowedCidrs": JSON.stringify(USER_VALUES["activity-api:allowedCidrs"]),
      "activity-api:sshPublicKey": String(USER_VALUES["activity-api:sshPublicKey"]),
    };
    expect(settingsOf("test", userValues)).toEqual(settingsFor({}));
    expect(settingsFor({})).toMatchObject({
      instanceType: DEFAULTS.instanceType,
      keepImages: DEFAULTS.keepImages,
      deletionProtection: DEFAULTS.deletionProtection,
      readinessTimeoutSeconds: DEFAULTS.readinessTimeoutSeconds,
    });
    // Kamal's default: a release that runs but is not ready in 30 s is refused.
    expect(DEFAULTS.readinessTimeoutSeconds).toBe(30);
    expect(settingsFor({ "activity-api:readinessTimeoutSeconds": 60 })).toMatchObject({
      readinessTimeoutSeconds: 60,
    });
  });

  it("reads the test stack as README sets it up", () => {
    expect(settingsFor({})).toMatchObject({
      kind: "ec2App",
      namePrefix: "activity",
      region: "eu-west-1",
      instanceType: "t3.small",
      hostAccess: { mode: "ssm" },
      allowedCidrs: ["198.51.100.7/32", "2001:db8::/64"],
      deletionProtection: true,
      forceDeleteImages: false,
      keepImages: 5,
      release: undefined,
      imageTag: undefined,
      https: undefined,
      httpsCidrs: [],
    });
  });

  it("reads config release as a tag, a digest, or both (what rollback writes)", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    expect(settingsFor({ "activity-api:release": "0.1.0-d6c1d784addc" })).toMatchObject({
      release: { tag: "0.1.0-d6c1d784addc" },
    });
    expect(settingsFor({ "activity-api:release": digest })).toMatchObject({ release: { digest } });
    expect(settingsFor({ "activity-api:release": `0.1.0-d6c1d784addc@${digest}` })).toMatchObject({
      release: { tag: "0.1.0-d6c1d784addc", digest },
    });
  });

  it("serves a domain with Caddy's own CA to allowedCidrs, or with ACME only when the Internet may reach 80 and 443", () => {
    expect(
      settingsFor({ "activity-api:domain": "api.internal.example", "activity-api:tlsIssuer": "internal" }),
    ).toMatchObject({
      https: { domain: "api.internal.example", tlsIssuer: "internal", acmeEmail: undefined },
      httpsCidrs: ["198.51.100.7/32", "2001:db8::/64"],
    });
    expect(
      settingsFor({
        "activity-api:domain": "api.example.com",
        "activity-api:acmeEmail": "ops@example.com",
        "activity-api:httpsCidrs": ["0.0.0.0/0", "::/0"],
        ...AUTH,
      }),
    ).toMatchObject({
      https: { domain: "api.example.com", tlsIssuer: "acme", acmeEmail: "ops@example.com" },
      httpsCidrs: ["0.0.0.0/0", "::/0"],
    });
  });

  it("accepts ssh access from named CIDRs", () => {
    const settings = settingsFor({
      "activity-api:hostAccess": "ssh",
      "activity-api:sshCidrs": ["198.51.100.7/32"],
    });
    expect(settings).toMatchObject({ hostAccess: { mode: "ssh", sshCidrs: ["198.51.100.7/32"] } });
  });

  it("warns when the app port is only open to a documentation range (the committed placeholder)", () => {
    const warnings: string[] = [];
    settingsFor({ "activity-api:allowedCidrs": ["203.0.113.0/24"] }, (message) => warnings.push(message));
    expect(warnings).toEqual([
      "activity-api:allowedCidrs holds the documentation range 203.0.113.0/24, which nobody can come from: set your own ranges",
    ]);
  });

  it("tags a preview's resources with its branch, pull request and expiry", () => {
    const settings = settingsFor({
      "activity-api:namePrefix": "pv-feature-add-login-1a2b3c4d",
      "activity-api:previewHostStack": "previews-aws",
      "activity-api:previewBranch": "feature/add-login",
      "activity-api:previewPullRequest": 42,
      "activity-api:previewCreatedAt": "2026-11-25T10:00:00.000Z",
      "activity-api:previewExpiresAt": "2026-11-28T10:00:00.000Z",
    });
    expect(stackTags(settings)).toEqual({
      project: "activity-api",
      stack: "test",
      "managed-by": "pulumi",
      "preview-branch": "feature/add-login",
      "preview-pull-request": "42",
      "preview-expires-at": "2026-11-28T10:00:00.000Z",
    });
  });

  it("reads the dev stack without any AWS key", () => {
    expect(settingsOf("dev", stackConfig("dev"))).toEqual({
      kind: "localApp",
      stack: "dev",
      namePrefix: "activity",
      imageTag: undefined,
      baseImage: undefined,
      readinessTimeoutSeconds: 30,
      release: undefined,
      keepImages: 5,
      https: undefined,
      publishTo: "loopback",
      access: { auth: undefined, rateLimit: { max: 1000, windowSeconds: 60 } },
    });
  });

  it("opens the dev stack and the local preview host to the LAN only when publishTo says lan", () => {
    expect(settingsOf("dev", stackConfig("dev", { "activity-api:publishTo": "lan" }))).toMatchObject({
      kind: "localApp",
      publishTo: "lan",
    });
    const localHost = { "activity-api:target": "local", "activity-api:previewHost": "true" };
    expect(settingsOf("previews-local", stackConfig("dev", localHost))).toMatchObject({
      kind: "localPreviewHost",
      publishTo: "loopback",
    });
    expect(
      settingsOf("previews-local", stackConfig("dev", { ...localHost, "activity-api:publishTo": "lan" })),
    ).toMatchObject({ kind: "localPreviewHost", publishTo: "lan" });
  });

  it("reads a preview host, and a preview that needs no host settings of its own", () => {
    const boundary = "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary";
    const host = settingsFor({
      "activity-api:previewHost": "true",
      "activity-api:instanceType": "t3.micro",
      "activity-api:permissionsBoundary": boundary,
    });
    expect(host).toMatchObject({
      kind: "ec2PreviewHost",
      instanceType: "t3.micro",
      previewDomain: undefined,
      previewPort: 10080,
      permissionsBoundary: boundary,
    });
    const previewConfig = {
      "activity-api:namePrefix": "pv-feature-x-1a2b3c4d",
      "activity-api:sshPublicKey": undefined,
      "activity-api:previewHostStack": "previews-aws",
      "activity-api:previewBranch": "feature/x",
      "activity-api:previewCreatedAt": "2026-11-25T10:00:00.000Z",
      "activity-api:previewExpiresAt": "2026-11-28T10:00:00.000Z",
      "activity-api:previewKeep": "true",
    };
    const preview = settingsFor(previewConfig);
    expect(preview).toMatchObject({
      kind: "ec2Preview",
      hostStack: "previews-aws",
      metadata: { branch: "feature/x", pullRequest: undefined, keep: true },
    });
    expect(preview).not.toHaveProperty("sshPublicKey");
    expect(preview).not.toHaveProperty("instanceType");
  });

  it("refuses an EC2 preview host without a permissionsBoundary, naming where to get one", () => {
    expect(() => settingsFor({ "activity-api:previewHost": "true" })).toThrow(
      "activity-api:permissionsBoundary is required on an EC2 preview host: it caps every preview's identity. " +
        "Take the ci-identity stack's (pulumi stack output --stack ci-identity previewBoundaryArn) into " +
        "PREVIEW_PERMISSIONS_BOUNDARY before npm run preview -- up",
    );
  });

  it("refuses an EC2 preview whose prefix is not a preview's: its identity's boundary covers no other name", () => {
    expect(() =>
      settingsFor({
        "activity-api:namePrefix": "activity",
        "activity-api:previewHostStack": "previews-aws",
        "activity-api:previewBranch": "feature/x",
        "activity-api:previewCreatedAt": "2026-11-25T10:00:00.000Z",
        "activity-api:previewExpiresAt": "2026-11-28T10:00:00.000Z",
      }),
    ).toThrow(
      'activity-api:namePrefix "activity" must start with "pv-" on a preview: its identity may touch nothing else (npm run preview sets it)',
    );
  });
});

/** readSettings over the real prod stack's config, with `overrides` (undefined removes a key). */
function prodSettingsFor(overrides: Record<string, unknown>) {
  return settingsOf("prod", stackConfig("prod", { ...PROD_USER_VALUES, ...overrides }));
}

const CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789";

const badForEcs: Array<[string, Record<string, unknown>, string]> = [
  ["one task", { "activity-api:minTasks": 1 }, 'activity-api:minTasks "1" must be an integer from 2 to 50'],
  [
    "a maximum below the minimum",
    { "activity-api:minTasks": 3, "activity-api:maxTasks": 2 },
    "activity-api:maxTasks 2 is below minTasks 3; raise maxTasks or lower minTasks",
  ],
  [
    "a runaway maximum",
    { "activity-api:maxTasks": 500 },
    'activity-api:maxTasks "500" must be an integer from 2 to 50',
  ],
  [
    "a task count that is not a number",
    { "activity-api:minTasks": "two" },
    'activity-api:minTasks "two" must be an integer from 2 to 50',
  ],
  [
    "a CPU size Fargate lacks",
    { "activity-api:taskCpu": 300 },
    "activity-api:taskCpu 300 is not a Fargate CPU size; use one of 256, 512, 1024, 2048, 4096, 8192, 16384",
  ],
  [
    "memory that does not fit the smallest CPU size",
    { "activity-api:taskMemory": 4096 },
    "activity-api:taskMemory 4096 does not fit taskCpu 256; with it Fargate allows 512, 1024 or 2048 MiB",
  ],
  [
    "memory that does not fit a larger CPU size",
    { "activity-api:taskCpu": 1024, "activity-api:taskMemory": 1024 },
    "activity-api:taskMemory 1024 does not fit taskCpu 1024; with it Fargate allows 2048 to 8192 in steps of 1024 MiB",
  ],
  [
    "a retention CloudWatch lacks",
    { "activity-api:logRetentionDays": 10 },
    "activity-api:logRetentionDays 10 is not a retention CloudWatch Logs offers; use one of 1, 3, 5, 7, 14, 30,",
  ],
  [
    "logs kept forever (0)",
    { "activity-api:logRetentionDays": 0 },
    'activity-api:logRetentionDays "0" must be an integer from 1 to 3653',
  ],
  [
    "a certificate ARN that is not one",
    { "activity-api:certificateArn": "my-cert" },
    'activity-api:certificateArn "my-cert" is not an ACM certificate ARN',
  ],
  [
    "a certificate of another region",
    { "activity-api:certificateArn": CERTIFICATE.replace("eu-west-1", "us-east-1") },
    "activity-api:certificateArn is in us-east-1, but the load balancer is in eu-west-1; request or import the certificate in eu-west-1",
  ],
  [
    "missing CIDRs",
    { "activity-api:allowedCidrs": undefined },
    "activity-api:allowedCidrs is required when target is ecs",
  ],
  ["a missing region", { "aws:region": undefined }, "aws:region is required when target is ecs"],
  [
    "a name prefix too long for a load balancer's name",
    { "activity-api:namePrefix": "activity-api-production-eu" },
    'activity-api:namePrefix "activity-api-production-eu" is too long for target ecs: at most 21 characters',
  ],
  [
    "a public range without auth",
    { "activity-api:allowedCidrs": ["0.0.0.0/0", "::/0"], "activity-api:certificateArn": CERTIFICATE },
    "activity-api:allowedCidrs holds the public range 0.0.0.0/0, but activity-api:authIssuer is not set",
  ],
  [
    "a public range with auth over plain HTTP (no certificate)",
    { ...AUTH, "activity-api:allowedCidrs": ["0.0.0.0/0", "::/0"] },
    "activity-api:allowedCidrs holds the public range 0.0.0.0/0, which would send bearer tokens to the load balancer over plain HTTP: set activity-api:certificateArn",
  ],
];

describe("readSettings for the ecs target (the prod stack)", () => {
  it.each(badForEcs)("rejects %s with one line naming the key", (_label, overrides, message) => {
    const { message: said } = errorOf(() => prodSettingsFor(overrides));
    expect(said).toContain(message);
    expect(said).not.toContain("\n");
  });

  it("reads the prod stack as README sets it up: no SSH key, no host settings", () => {
    const settings = prodSettingsFor({});
    expect(settings).toEqual({
      kind: "ecsApp",
      stack: "prod",
      namePrefix: "activity",
      imageTag: undefined,
      baseImage: undefined,
      region: "eu-west-1",
      allowedCidrs: ["198.51.100.7/32", "2001:db8::/64"],
      deletionProtection: true,
      forceDeleteImages: false,
      keepImages: 5,
      release: undefined,
      minTasks: 2,
      maxTasks: 4,
      taskCpu: 256,
      taskMemory: 512,
      logRetentionDays: 30,
      certificateArn: undefined,
      access: { auth: undefined, rateLimit: { max: 1000, windowSeconds: 60 } },
    });
  });

  it("accepts a larger task, wider bounds and a certificate of the stack's region", () => {
    expect(
      prodSettingsFor({
        "activity-api:minTasks": 3,
        "activity-api:maxTasks": 12,
        "activity-api:taskCpu": 1024,
        "activity-api:taskMemory": 3072,
        "activity-api:logRetentionDays": 365,
        "activity-api:certificateArn": CERTIFICATE,
      }),
    ).toMatchObject({
      minTasks: 3,
      maxTasks: 12,
      taskCpu: 1024,
      taskMemory: 3072,
      logRetentionDays: 365,
      certificateArn: CERTIFICATE,
    });
  });
});

describe("the program with a bad value", () => {
  it("stops with the message as a clean CLI error and declares no resource", async () => {
    vi.resetModules();
    const { registrations } = await installMocks("test");
    pulumi.runtime.setAllConfig(
      stackConfig("test", { ...USER_VALUES, "activity-api:allowedCidrs": ["10.1.2.3/8"] }),
    );
    const failure = import("../../index.js").then((program) => program.default());
    await expect(failure).rejects.toBeInstanceOf(pulumi.RunError);
    await expect(failure).rejects.toThrow('activity-api:allowedCidrs entry "10.1.2.3/8" has host bits set');
    expect(registrations).toEqual([]);
  });

  it("stops before declaring anything when a public range would reach the API over plain HTTP", async () => {
    vi.resetModules();
    const { registrations } = await installMocks("test");
    pulumi.runtime.setAllConfig(
      stackConfig("test", { ...USER_VALUES, ...AUTH, "activity-api:allowedCidrs": ["0.0.0.0/0"] }),
    );
    const failure = import("../../index.js").then((program) => program.default());
    await expect(failure).rejects.toBeInstanceOf(pulumi.RunError);
    await expect(failure).rejects.toThrow("activity-api:allowedCidrs holds the public range 0.0.0.0/0");
    expect(registrations).toEqual([]);
  });
});

describe("who may call the API, and how often", () => {
  it("reads an issuer and audience, with the user claim and rate limits defaulting to the app's", () => {
    expect(settingsFor(AUTH)).toMatchObject({
      kind: "ec2App",
      access: {
        auth: { issuer: ISSUER, audience: AUTH["activity-api:authAudience"], userClaim: "sub" },
        rateLimit: { max: 1000, windowSeconds: 60 },
      },
    });
    expect(DEFAULTS).toMatchObject({ authUserClaim: "sub", rateLimitMax: 1000, rateLimitWindowSeconds: 60 });
  });

  it("reads a user claim and rate limits of the stack's own", () => {
    const settings = settingsFor({
      ...AUTH,
      "activity-api:authUserClaim": "username",
      "activity-api:rateLimitMax": 120,
      "activity-api:rateLimitWindowSeconds": 30,
    });
    expect(settings).toMatchObject({
      access: { auth: { userClaim: "username" }, rateLimit: { max: 120, windowSeconds: 30 } },
    });
  });

  it("lets a public range reach an EC2 host over HTTPS when tokens are required", () => {
    const settings = settingsFor({
      ...AUTH,
      "activity-api:domain": "api.example.com",
      "activity-api:httpsCidrs": ["0.0.0.0/0", "::/0"],
    });
    expect(settings).toMatchObject({ kind: "ec2App", httpsCidrs: ["0.0.0.0/0", "::/0"] });
  });

  it("lets a public range reach the load balancer with auth and a certificate", () => {
    const settings = prodSettingsFor({
      ...AUTH,
      "activity-api:allowedCidrs": ["0.0.0.0/0", "::/0"],
      "activity-api:certificateArn": CERTIFICATE,
    });
    expect(settings).toMatchObject({ kind: "ecsApp", access: { auth: { issuer: ISSUER } } });
  });

  it("keeps the dev stack open, even on the LAN, and accepts a loopback issuer over HTTP there only", () => {
    expect(settingsOf("dev", stackConfig("dev", { "activity-api:publishTo": "lan" }))).toMatchObject({
      access: { auth: undefined },
    });
    const warnings: string[] = [];
    const local = settingsOf(
      "dev",
      stackConfig("dev", {
        "activity-api:authIssuer": "http://127.0.0.1:9000",
        "activity-api:authAudience": "activity-api",
      }),
      (message) => warnings.push(message),
    );
    expect(local).toMatchObject({ access: { auth: { issuer: "http://127.0.0.1:9000" } } });
    // Accepted, as the app accepts it, but the container's loopback is its own: said in one line.
    expect(warnings).toEqual([
      expect.stringContaining(
        "activity-api:authIssuer http://127.0.0.1:9000 is on loopback, which inside the app's container is the container itself",
      ),
    ]);
  });

  it("counts private, loopback, link-local and documentation ranges as not public, and nothing wider", () => {
    const notPublic = ["10.0.0.0/8", "172.16.5.0/24", "192.168.1.7/32", "127.0.0.1/32", "169.254.0.0/16"];
    const alsoNotPublic = ["198.51.100.7/32", "fd00::/8", "fe80::/64", "::1/128", "2001:db8::/64"];
    for (const cidr of [...notPublic, ...alsoNotPublic]) expect(isPublicRange(cidr), cidr).toBe(false);
    const publicRanges = [
      "0.0.0.0/0",
      "10.0.0.0/7",
      "172.32.0.0/16",
      "100.64.0.0/10",
      "::/0",
      "2a05:d018::/32",
    ];
    for (const cidr of publicRanges) expect(isPublicRange(cidr), cidr).toBe(true);
  });
});

describe("target ssh", () => {
  const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNzaHRhcmdldGhvc3RrZXlmb3J0ZXN0aW5nMDAwMDAw";
  const values: Record<string, unknown> = {
    "activity-api:target": "ssh",
    "activity-api:sshHost": "deploy@203.0.113.10",
    "activity-api:sshKnownHosts": `203.0.113.10 ${hostKey}`,
    "activity-api:registryServer": "registry.example.com:5000",
    "activity-api:registryUsername": "pusher",
    "activity-api:registryPassword": "s3cret",
  };
  /** readSettings for an ssh stack; the registry password is a secret unless `plainPassword`. */
  function sshSettings(
    overrides: Record<string, unknown> = {},
    { plainPassword = false, warn }: { plainPassword?: boolean; warn?: (message: string) => void } = {},
  ) {
    pulumi.runtime.setAllConfig(stackConfig("ssh", { ...values, ...overrides }));
    const secret = plainPassword ? [] : ["activity-api:registryPassword"];
    return readSettings(
      {
        stack: "ssh",
        project: new pulumi.Config("activity-api"),
        aws: new pulumi.Config("aws"),
        isSecret: (key) => secret.includes(key),
      },
      warn,
    );
  }

  it("reads the server, the pin, the registry and the defaults: port 22, the host only, data kept", () => {
    expect(sshSettings()).toEqual({
      kind: "sshApp",
      stack: "ssh",
      namePrefix: DEFAULTS.namePrefix,
      imageTag: undefined,
      baseImage: undefined,
      readinessTimeoutSeconds: DEFAULTS.readinessTimeoutSeconds,
      sshHost: "deploy@203.0.113.10",
      sshUser: "deploy",
      sshAddress: "203.0.113.10",
      sshPort: 22,
      sshPrivateKeyPath: undefined,
      sshKnownHosts: hostKey,
      registry: { server: "registry.example.com:5000", username: "pusher", password: "s3cret" },
      publishAddress: "127.0.0.1",
      database: { kind: "dynamoDbLocal", keepDataOnDestroy: true },
      access: { auth: undefined, rateLimit: { max: 1000, windowSeconds: 60 } },
      release: undefined,
      keepImages: DEFAULTS.keepImages,
    });
  });

  it("takes the host's own key file as the pin too, and keeps only the key", () => {
    const pinned = sshSettings({ "activity-api:sshKnownHosts": `${hostKey} root@server` });
    expect(pinned.kind === "sshApp" && pinned.sshKnownHosts).toBe(hostKey);
  });

  const refused: Array<[string, Record<string, unknown>, string]> = [
    [
      "no sshHost",
      { "activity-api:sshHost": undefined },
      "activity-api:sshHost is required when target is ssh",
    ],
    ["an sshHost without a user", { "activity-api:sshHost": "203.0.113.10" }, "is not user@address"],
    [
      "no sshKnownHosts",
      { "activity-api:sshKnownHosts": undefined },
      "activity-api:sshKnownHosts is required when target is ssh, so that only that server is trusted",
    ],
    [
      "an sshKnownHosts that is not a key",
      { "activity-api:sshKnownHosts": "203.0.113.10 not-a-key" },
      "activity-api:sshKnownHosts is not one host key line",
    ],
    [
      "two keys in sshKnownHosts",
      { "activity-api:sshKnownHosts": `a ${hostKey}\nb ${hostKey}` },
      "activity-api:sshKnownHosts is not one host key line",
    ],
    ["a port out of range", { "activity-api:sshPort": 70000 }, "activity-api:sshPort"],
    ["no registry", { "activity-api:registryServer": undefined }, "activity-api:registryServer is required"],
    [
      "a registry with a scheme",
      { "activity-api:registryServer": "https://ghcr.io" },
      "is not a registry address",
    ],
    ["a publishAddress that is not one", { "activity-api:publishAddress": "lan" }, "is not an IP address"],
  ];
  it.each(refused)("refuses %s with one line", (_case, overrides, message) => {
    const error = errorOf(() => sshSettings(overrides));
    expect(error.message).toContain(message);
    expect(error.message).not.toContain("\n");
  });

  it("refuses a registry password in plain config, with the command that sets it as a secret", () => {
    const error = errorOf(() => sshSettings({}, { plainPassword: true }));
    expect(error.message).toBe(
      "activity-api:registryPassword is set in plain text: set it again as a secret with pulumi config set --secret registryPassword (and rotate it, it was readable in the stack file)",
    );
  });

  it.each([
    ["0.0.0.0", "on every interface of the server, its public ones included"],
    ["::", "on every interface of the server, its public ones included"],
    ["93.184.216.34", "on a public address"],
  ])("refuses publishAddress %s: plain HTTP would reach the Internet", (address, where) => {
    expect(() => sshSettings({ "activity-api:publishAddress": address })).toThrow(
      `activity-api:publishAddress ${address} would serve the API over plain HTTP ${where}`,
    );
  });

  it("takes a private address of the server", () => {
    const onLan = sshSettings({ "activity-api:publishAddress": "10.0.0.5" });
    expect(onLan.kind === "sshApp" && onLan.publishAddress).toBe("10.0.0.5");
  });
});
