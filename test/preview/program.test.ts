/**
 * The real program under mocks with a preview stack's config, derived from the real Pulumi.test.yaml as
 * `npm run preview -- up` derives it: every physical name and tag fits AWS's limits, and nothing in a preview
 * collides with the test stack's names.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { derivePreviewConfig } from "../../scripts/preview/config.js";
import { AUTONAME_SUFFIX, AWS_NAME_LIMITS, AWS_TAG, previewNames } from "../../scripts/preview/naming.js";
import { type ProgramRun, ROOT, runProgram, USER_VALUES } from "../helpers/pulumi.js";

/** The AWS limit each auto-named resource type's physical name must meet (see naming.ts for the sources). */
const LIMIT_OF_TYPE: Record<string, string> = {
  "aws:iam/role:Role": "IAM role name",
  "aws:iam/instanceProfile:InstanceProfile": "IAM instance profile name",
  "aws:ec2/securityGroup:SecurityGroup": "EC2 security group name",
  "awsx:ecr:Repository": "ECR repository name",
  "aws:dynamodb/table:Table": "DynamoDB table name",
};

/** Config paths as the Automation API sets them (`key[0]`) folded back into the values the program reads. */
function asProgramConfig(config: Record<string, { value: string }>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [path, { value }] of Object.entries(config)) {
    const item = /^(.*)\[(\d+)\]$/.exec(path);
    if (item?.[1]) {
      const list = (result[item[1]] ?? []) as string[];
      list[Number(item[2])] = value;
      result[item[1]] = list;
    } else {
      result[path] = value;
    }
  }
  return result;
}

async function runPreview(branch: string): Promise<{ run: ProgramRun; prefix: string }> {
  const names = previewNames(branch);
  const { config } = derivePreviewConfig(readFileSync(`${ROOT}/Pulumi.test.yaml`, "utf8"), {
    resourcePrefix: names.resourcePrefix,
    instanceType: "t3.micro",
    metadata: {
      branchLabel: names.branchLabel,
      pullRequest: 7,
      createdAt: new Date("2026-11-25T12:00:00.000Z"),
      expiresAt: new Date("2026-11-28T12:00:00.000Z"),
    },
  });
  const run = await runProgram(names.stackName, {
    "activity-api:sshPublicKey": USER_VALUES["activity-api:sshPublicKey"],
    ...asProgramConfig(config),
  });
  return { run, prefix: names.resourcePrefix };
}

const BRANCHES = ["feature/Add-Login", `feature/${"x".repeat(292)}`, "émoji-🚀-ünïcödé", "--leading..dots"];

let testStackNames: Set<string>;
beforeAll(async () => {
  const test = await runProgram("test", USER_VALUES);
  testStackNames = new Set(test.registrations.map((registration) => registration.name));
});

describe.each(BRANCHES)("a preview of %s", (branch) => {
  let preview: { run: ProgramRun; prefix: string };
  beforeAll(async () => {
    preview = await runPreview(branch);
  });

  it("gives every auto-named AWS resource a physical name within AWS's limits", async () => {
    const { run, prefix } = preview;
    const checked = run.registrations.filter((registration) => LIMIT_OF_TYPE[registration.type]);
    expect(checked.length).toBe(Object.keys(LIMIT_OF_TYPE).length);
    for (const registration of checked) {
      expect(registration.name.startsWith(`${prefix}-`)).toBe(true);
      const limit = AWS_NAME_LIMITS.find((entry) => entry.resource === LIMIT_OF_TYPE[registration.type]);
      const physical = `${registration.name}${AUTONAME_SUFFIX}`;
      expect(physical.length, `${registration.type} ${physical}`).toBeLessThanOrEqual(limit?.max ?? 0);
      expect(physical).toMatch(limit?.pattern ?? /^$/);
    }
  });

  it("runs the preview overrides: small instance, no deletion protection, force-deleted images", async () => {
    const { run } = preview;
    expect(run.ofType("aws:ec2/instance:Instance")[0]?.inputs.instanceType).toBe("t3.micro");
    expect(run.ofType("aws:dynamodb/table:Table")[0]?.inputs.deletionProtectionEnabled).toBe(false);
    expect(run.ofType("awsx:ecr:Repository")[0]?.inputs.forceDelete).toBe(true);
  });

  it("tags every resource with keys and values AWS accepts, the branch and expiry among them", async () => {
    const { run } = preview;
    const [provider] = run.ofType("pulumi:providers:aws");
    const tags = JSON.parse(String(provider?.inputs.defaultTags)).tags as Record<string, string>;
    expect(tags["preview-branch"]).toBe(previewNames(branch).branchLabel);
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

  it("shares no resource name with the test stack", async () => {
    const { run } = preview;
    for (const registration of run.registrations) expect(testStackNames.has(registration.name)).toBe(false);
  });
});
