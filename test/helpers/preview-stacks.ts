/**
 * The config npm run preview sets on a preview host and on a branch's preview, derived by the CLI's own code
 * from the test stack's file, and the outputs a host stack hands its previews: what the program's tests run
 * the preview stacks with.
 */
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { previewNames } from "../../cli/preview/naming.js";
import { hostStackConfig, previewStackConfig } from "../../cli/preview/stack-config.js";
import { pinnedHostKeyOptions } from "../../components/ssh-docker-host.js";
import { EC2_HOST_KEY, ROOT, type StackOutputs, USER_VALUES } from "./pulumi.js";

/**
 * The ci-identity stack's previewBoundaryArn (test/program/ci-identity.test.ts derives the same), which
 * npm run preview sets as the EC2 host's permissionsBoundary from PREVIEW_PERMISSIONS_BOUNDARY.
 */
export const PREVIEWS_BOUNDARY = "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary";

/** What a preview host stack exports, as the mocks' StackReference returns it to a preview. */
export const AWS_HOST: StackOutputs = {
  "organization/activity-api/previews-aws": {
    previewDomain: "198.51.100.20.sslip.io",
    previewPort: 10080,
    networkName: "previews-net-8b1c2d3",
    region: "eu-west-1",
    instanceType: "t3.micro",
    publicIp: "198.51.100.20",
    dockerHost: "ssh://ec2-user@i-0previews",
    sshOpts: pinnedHostKeyOptions(EC2_HOST_KEY),
    previewBoundaryArn: PREVIEWS_BOUNDARY,
  },
};
export const LOCAL_HOST: StackOutputs = {
  "organization/activity-api/previews-local": {
    previewDomain: "localhost",
    previewPort: 10080,
    networkName: "previews-net-8b1c2d3",
  },
};

/** Config paths as the preview tool sets them (`key[0]`), folded back into the values the program reads. */
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

/** The test stack's file with the values README tells a user to set, as previews copy it. */
const TEST_STACK_YAML = stringify({
  config: {
    ...(parse(readFileSync(`${ROOT}/Pulumi.test.yaml`, "utf8")) as { config: object }).config,
    ...USER_VALUES,
  },
});

/** Exactly the config `npm run preview -- up` sets on a branch's stack (cli/preview/stack-config.ts). */
export function previewConfig(branch: string, target: "local" | "ec2"): Record<string, unknown> {
  const names = previewNames(branch);
  const { config } = previewStackConfig(target, {
    testStackYaml: TEST_STACK_YAML,
    resourcePrefix: names.resourcePrefix,
    metadata: {
      branchLabel: names.branchLabel,
      pullRequest: 7,
      createdAt: new Date("2026-11-25T12:00:00.000Z"),
      expiresAt: new Date("2026-11-28T12:00:00.000Z"),
      keep: false,
    },
  });
  return asProgramConfig(config);
}

/** Exactly the config `npm run preview -- up` sets on a target's host (PREVIEW_PERMISSIONS_BOUNDARY set). */
export function hostConfig(target: "local" | "ec2"): Record<string, unknown> {
  const { config } = hostStackConfig(target, {
    testStackYaml: TEST_STACK_YAML,
    instanceType: "t3.micro",
    previewDomain: undefined,
    permissionsBoundary: PREVIEWS_BOUNDARY,
  });
  return asProgramConfig(config);
}
