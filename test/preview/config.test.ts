/** A preview's config is the test stack's (real file format) plus the preview overrides, never secrets. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CONFIG_KEYS,
  ConfigError,
  derivePreviewConfig,
  type PreviewMetadata,
  type PreviewOverrides,
  previewTags,
  readPreviewMetadata,
} from "../../scripts/preview/config.js";
import { AWS_TAG, PULUMI_STACK_TAG } from "../../scripts/preview/naming.js";

const testStackYaml = readFileSync(new URL("./fixtures/Pulumi.test.yaml", import.meta.url), "utf8");

const metadata: PreviewMetadata = {
  branchLabel: "feature/Add-Login",
  pullRequest: undefined,
  createdAt: new Date("2030-01-01T10:00:00.000Z"),
  expiresAt: new Date("2030-01-04T10:00:00.000Z"),
};
const overrides: PreviewOverrides = {
  resourcePrefix: "pv-feature-add-login-dddb1d05",
  instanceType: "t3.micro",
  metadata,
};

const plain = (value: string) => ({ value, secret: false });

describe("derivePreviewConfig", () => {
  it("copies the test stack's config and applies the preview overrides", () => {
    const { config, skipped } = derivePreviewConfig(testStackYaml, overrides);
    expect(config).toEqual({
      "aws:region": plain("eu-west-1"),
      "activity-api:target": plain("aws"),
      "activity-api:allowedCidrs[0]": plain("203.0.113.0/24"),
      "activity-api:namePrefix": plain("pv-feature-add-login-dddb1d05"),
      "activity-api:instanceType": plain("t3.micro"),
      "activity-api:deletionProtection": plain("false"),
      "activity-api:forceDeleteImages": plain("true"),
      "activity-api:previewBranch": plain("feature/Add-Login"),
      "activity-api:previewCreatedAt": plain("2030-01-01T10:00:00.000Z"),
      "activity-api:previewExpiresAt": plain("2030-01-04T10:00:00.000Z"),
    });
    expect(skipped).toEqual([]);
  });

  it("records the pull request when it is known", () => {
    const { config } = derivePreviewConfig(testStackYaml, {
      ...overrides,
      metadata: { ...metadata, pullRequest: 42 },
    });
    expect(config[CONFIG_KEYS.previewPullRequest]).toEqual(plain("42"));
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
    const { config, skipped } = derivePreviewConfig(yaml, overrides);
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
    const { config } = derivePreviewConfig(yaml, overrides);
    expect(config).toMatchObject({
      "aws:defaultTags.tags.Environment": plain("preview"),
      'aws:defaultTags.tags["Cost Center"]': plain("4711"),
      "activity-api:ports[0]": plain("80"),
      "activity-api:ports[1]": plain("443"),
      "activity-api:debug": plain("false"),
    });
  });

  it("skips empty values, which a config path cannot express", () => {
    const yaml = "config:\n  activity-api:unset:\n  activity-api:none: []\n  aws:region: eu-west-1\n";
    const { config, skipped } = derivePreviewConfig(yaml, overrides);
    expect(skipped).toEqual([
      { key: "activity-api:unset", reason: "empty value" },
      { key: "activity-api:none", reason: "empty value" },
    ]);
    expect(Object.keys(config)).not.toContain("activity-api:unset");
  });

  it("accepts an empty file or one without config", () => {
    expect(Object.keys(derivePreviewConfig("", overrides).config)).toHaveLength(7);
    expect(Object.keys(derivePreviewConfig("encryptionsalt: v1:abc\n", overrides).config)).toHaveLength(7);
  });

  it.each([
    ["config: [\n", /not valid YAML/],
    ["- a\n- b\n", /must be a YAML mapping/],
    ["config: text\n", /`config:` section .* must be a mapping/],
    ["config:\n  region: eu-west-1\n", /config key "region" .* namespace:name/],
    ["config:\n  activity-api:a.b: 1\n", /config key "activity-api:a.b"/],
  ])("explains why %j cannot be used", (yaml, message) => {
    expect(() => derivePreviewConfig(yaml, overrides)).toThrow(ConfigError);
    expect(() => derivePreviewConfig(yaml, overrides)).toThrow(message);
  });
});

describe("readPreviewMetadata", () => {
  it("reads back what derivePreviewConfig wrote", () => {
    const withPr = { ...metadata, pullRequest: 7 };
    const { config } = derivePreviewConfig(testStackYaml, { ...overrides, metadata: withPr });
    expect(readPreviewMetadata(config)).toEqual(withPr);
  });

  it("finds none on a stack without preview keys or with unreadable dates", () => {
    expect(readPreviewMetadata({ "aws:region": plain("eu-west-1") })).toBeUndefined();
    const { config } = derivePreviewConfig(testStackYaml, overrides);
    expect(readPreviewMetadata({ ...config, [CONFIG_KEYS.previewExpiresAt]: plain("soon") })).toBeUndefined();
  });

  it("ignores a pull request number that is not one", () => {
    const { config } = derivePreviewConfig(testStackYaml, overrides);
    expect(
      readPreviewMetadata({ ...config, [CONFIG_KEYS.previewPullRequest]: plain("abc") })?.pullRequest,
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
    });
    for (const value of Object.values(tags)) {
      expect(value).toMatch(AWS_TAG.pattern);
      expect(Buffer.byteLength(value)).toBeLessThanOrEqual(PULUMI_STACK_TAG.valueMaxBytes);
    }
    expect(previewTags(metadata)).not.toHaveProperty("preview:pull-request");
  });
});
