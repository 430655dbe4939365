/**
 * The host's and a preview's config: on AWS the test stack's (real file format) plus the overrides, never
 * secrets; locally only what the contract with the program names.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AWS_TAG, PULUMI_STACK_TAG } from "../../cli/preview/naming.js";
import {
  hostStackConfig,
  type PreviewMetadata,
  previewStackConfig,
  previewTags,
  readPreviewMetadata,
  TestStackConfigError,
} from "../../cli/preview/stack-config.js";
import { configKey } from "../../stack/contract.js";

const testStackYaml = readFileSync(new URL("./fixtures/Pulumi.test.yaml", import.meta.url), "utf8");

const metadata: PreviewMetadata = {
  branchLabel: "feature/Add-Login",
  pullRequest: undefined,
  createdAt: new Date("2030-01-01T10:00:00.000Z"),
  expiresAt: new Date("2030-01-04T10:00:00.000Z"),
  keep: false,
};
const resourcePrefix = "pv-feature-add-login-dddb1d05";
const awsPreview = (yaml: string, extra: Partial<PreviewMetadata> = {}) =>
  previewStackConfig("ec2", { testStackYaml: yaml, resourcePrefix, metadata: { ...metadata, ...extra } });

const plain = (value: string) => ({ value, secret: false });

describe("hostStackConfig", () => {
  it("gives the local host only what makes it a host: the program's defaults do the rest", () => {
    expect(
      hostStackConfig("local", {
        testStackYaml: undefined,
        instanceType: "t3.small",
        previewDomain: undefined,
      }),
    ).toEqual({
      config: {
        "activity-api:target": plain("local"),
        "activity-api:previewHost": plain("true"),
        "activity-api:namePrefix": plain("previews"),
      },
      skipped: [],
    });
  });

  it("gives the AWS host the test stack's settings, its instance type, and a domain only when one is given", () => {
    const { config, skipped } = hostStackConfig("ec2", {
      testStackYaml,
      instanceType: "t3a.small",
      previewDomain: undefined,
    });
    expect(config).toEqual({
      "aws:region": plain("eu-west-1"),
      "activity-api:allowedCidrs[0]": plain("203.0.113.0/24"),
      "activity-api:target": plain("ec2"),
      "activity-api:previewHost": plain("true"),
      "activity-api:namePrefix": plain("previews"),
      "activity-api:instanceType": plain("t3a.small"),
      "activity-api:deletionProtection": plain("false"),
      "activity-api:forceDeleteImages": plain("true"),
    });
    expect(skipped).toEqual([]);
    const withDomain = hostStackConfig("ec2", {
      testStackYaml,
      instanceType: "t3.small",
      previewDomain: "p.example.com",
    });
    expect(withDomain.config[configKey("previewDomain")]).toEqual(plain("p.example.com"));
  });

  it("gives the AWS host the preview pipeline's own key and boundary, never the test stack's boundary", () => {
    const testBoundary = "arn:aws:iam::123456789012:policy/ci-identity/activity-test-boundary";
    const withTestBoundary = `${testStackYaml}  activity-api:permissionsBoundary: ${testBoundary}\n`;
    const bare = hostStackConfig("ec2", {
      testStackYaml: withTestBoundary,
      instanceType: "t3.small",
      previewDomain: undefined,
    });
    expect(bare.config[configKey("permissionsBoundary")]).toBeUndefined();
    const own = hostStackConfig("ec2", {
      testStackYaml: withTestBoundary,
      instanceType: "t3.small",
      previewDomain: undefined,
      sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPreviewKeyOnly preview@ci",
      permissionsBoundary: "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary",
    });
    expect(own.config[configKey("sshPublicKey")]).toEqual(
      plain("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPreviewKeyOnly preview@ci"),
    );
    expect(own.config[configKey("permissionsBoundary")]).toEqual(
      plain("arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary"),
    );
  });
});

describe("previewStackConfig", () => {
  it("gives a local preview its names, its host stack and its metadata, nothing else", () => {
    expect(
      previewStackConfig("local", {
        testStackYaml: undefined,
        resourcePrefix,
        metadata: { ...metadata, pullRequest: 7, keep: true },
      }).config,
    ).toEqual({
      "activity-api:target": plain("local"),
      "activity-api:previewHostStack": plain("previews-local"),
      "activity-api:namePrefix": plain(resourcePrefix),
      "activity-api:previewBranch": plain("feature/Add-Login"),
      "activity-api:previewPullRequest": plain("7"),
      "activity-api:previewCreatedAt": plain("2030-01-01T10:00:00.000Z"),
      "activity-api:previewExpiresAt": plain("2030-01-04T10:00:00.000Z"),
      "activity-api:previewKeep": plain("true"),
    });
  });

  it("gives an AWS preview the test stack's settings without the host's instance type, and the overrides", () => {
    const { config, skipped } = awsPreview(testStackYaml);
    expect(config).toEqual({
      "aws:region": plain("eu-west-1"),
      "activity-api:allowedCidrs[0]": plain("203.0.113.0/24"),
      "activity-api:target": plain("ec2"),
      "activity-api:previewHostStack": plain("previews-aws"),
      "activity-api:namePrefix": plain(resourcePrefix),
      "activity-api:previewBranch": plain("feature/Add-Login"),
      "activity-api:previewCreatedAt": plain("2030-01-01T10:00:00.000Z"),
      "activity-api:previewExpiresAt": plain("2030-01-04T10:00:00.000Z"),
      "activity-api:previewKeep": plain("false"),
      "activity-api:deletionProtection": plain("false"),
      "activity-api:forceDeleteImages": plain("true"),
    });
    expect(skipped).toEqual([]);
  });

  it("never takes a host's keys from the test stack", () => {
    const yaml = "config:\n  activity-api:previewDomain: x.example.com\n  activity-api:previewHost: true\n";
    const { config } = awsPreview(yaml);
    expect(config[configKey("previewDomain")]).toBeUndefined();
    expect(config[configKey("previewHost")]).toBeUndefined();
    expect(config[configKey("instanceType")]).toBeUndefined();
  });

  it("never copies a secret, at the top level or nested, and names each one skipped", () => {
    const yaml = `
config:
  aws:region: eu-west-1
  activity-api:apiKey:
    secure: v1:AAAABBBBCCCC:ddddeeeeffff
  activity-api:database:
    host: db.internal
    password:
      secure: v1:GGGGHHHHIIII:jjjjkkkkllll
`;
    const { config, skipped } = awsPreview(yaml);
    expect(skipped.map((entry) => entry.key)).toEqual(["activity-api:apiKey", "activity-api:database"]);
    expect(skipped[0]?.reason).toMatch(/secret/);
    expect(JSON.stringify(config)).not.toMatch(/v1:|apiKey|database/);
    expect(config["aws:region"]).toEqual(plain("eu-west-1"));
  });

  it("flattens lists and maps into config paths, quoting keys a path cannot hold", () => {
    const yaml = `
config:
  aws:defaultTags:
    tags:
      Environment: preview
      Cost Center: "4711"
  activity-api:ports: [80, 443]
  activity-api:debug: false
`;
    expect(awsPreview(yaml).config).toMatchObject({
      "aws:defaultTags.tags.Environment": plain("preview"),
      'aws:defaultTags.tags["Cost Center"]': plain("4711"),
      "activity-api:ports[0]": plain("80"),
      "activity-api:ports[1]": plain("443"),
      "activity-api:debug": plain("false"),
    });
  });

  it("skips empty values, which a config path cannot express", () => {
    const yaml = "config:\n  activity-api:unset:\n  activity-api:none: []\n  aws:region: eu-west-1\n";
    const { config, skipped } = awsPreview(yaml);
    expect(skipped).toEqual([
      { key: "activity-api:unset", reason: "empty value" },
      { key: "activity-api:none", reason: "empty value" },
    ]);
    expect(Object.keys(config)).not.toContain("activity-api:unset");
  });

  it("accepts an empty file or one without config", () => {
    expect(Object.keys(awsPreview("").config)).toHaveLength(9);
    expect(Object.keys(awsPreview("encryptionsalt: v1:abc\n").config)).toHaveLength(9);
  });

  it.each([
    ["config: [\n", /not valid YAML/],
    ["- a\n- b\n", /must be a YAML mapping/],
    ["config: text\n", /`config:` section .* must be a mapping/],
    ["config:\n  region: eu-west-1\n", /config key "region" .* namespace:name/],
    ["config:\n  activity-api:a.b: 1\n", /config key "activity-api:a.b"/],
  ])("explains why %j cannot be used", (yaml, message) => {
    expect(() => awsPreview(yaml)).toThrow(TestStackConfigError);
    expect(() => awsPreview(yaml)).toThrow(message);
  });
});

describe("readPreviewMetadata", () => {
  it("reads back what previewStackConfig wrote, the pin included", () => {
    for (const target of ["ec2", "local"] as const) {
      const written = { ...metadata, pullRequest: 7, keep: true };
      const { config } = previewStackConfig(target, { testStackYaml, resourcePrefix, metadata: written });
      expect(readPreviewMetadata(config)).toEqual(written);
    }
  });

  it("reads a preview without a pin (made before pins existed) as not kept", () => {
    const { config } = awsPreview(testStackYaml);
    const { [configKey("previewKeep")]: _pin, ...older } = config;
    expect(readPreviewMetadata(older)?.keep).toBe(false);
  });

  it("finds none on a stack without preview keys or with unreadable dates", () => {
    expect(readPreviewMetadata({ "aws:region": plain("eu-west-1") })).toBeUndefined();
    const { config } = awsPreview(testStackYaml);
    expect(
      readPreviewMetadata({ ...config, [configKey("previewExpiresAt")]: plain("soon") }),
    ).toBeUndefined();
  });

  it("ignores a pull request number that is not one", () => {
    const { config } = awsPreview(testStackYaml);
    expect(
      readPreviewMetadata({ ...config, [configKey("previewPullRequest")]: plain("abc") })?.pullRequest,
    ).toBe(undefined);
  });
});

describe("previewTags", () => {
  it("mirrors the metadata in values that fit Pulumi's and AWS's tag rules", () => {
    const tags = previewTags({ ...metadata, pullRequest: 42 });
    expect(tags).toEqual({
      "preview:branch": "feature/Add-Login",
      "preview:pull-request": "42",
      "preview:created-at": "2030-01-01T10:00:00.000Z",
      "preview:expires-at": "2030-01-04T10:00:00.000Z",
      "preview:keep": "false",
    });
    for (const value of Object.values(tags)) {
      expect(value).toMatch(AWS_TAG.pattern);
      expect(Buffer.byteLength(value)).toBeLessThanOrEqual(PULUMI_STACK_TAG.valueMaxBytes);
    }
    expect(previewTags(metadata)).not.toHaveProperty("preview:pull-request");
  });
});
