/**
 * Every resource of every kind of stack keeps its URN: a URN that changes makes the engine delete the
 * resource and create another, a table or a host included. urns.json holds the URNs the program declared
 * before its code moved into stack/, aws/ and cli/ (the release pinned to 1.0.0, since the release is in some
 * names); a change that moves a URN on purpose adds an alias and updates that file in the same commit.
 */
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { previewNames } from "../../cli/preview/naming.js";
import { AWS_HOST, hostConfig, LOCAL_HOST, previewConfig } from "../helpers/preview-stacks.js";
import { PROD_USER_VALUES, runProgram, type StackOutputs, USER_VALUES } from "../helpers/pulumi.js";

const RECORDED = JSON.parse(readFileSync(new URL("./urns.json", import.meta.url), "utf8")) as Record<
  string,
  string[]
>;

/** Each kind of stack: its stack name, its config, and the stacks it reads. */
const KINDS: Record<string, [string, Record<string, unknown>, StackOutputs]> = {
  dev: ["dev", {}, {}],
  test: ["test", USER_VALUES, {}],
  prod: ["prod", PROD_USER_VALUES, {}],
  "previews-local": ["previews-local", hostConfig("local"), {}],
  "previews-aws": ["previews-aws", hostConfig("ec2"), {}],
  "preview-local": [
    previewNames("feature/a", "local").stackName,
    previewConfig("feature/a", "local"),
    LOCAL_HOST,
  ],
  "preview-aws": [previewNames("feature/a").stackName, previewConfig("feature/a", "ec2"), AWS_HOST],
};

/** The mock monitor's record of what the program registered, by URN. */
interface RecordingMonitor {
  getRegisteredResources(): Map<string, unknown>;
}

describe("the URN of every resource", () => {
  it("covers every kind of stack", () => {
    expect(Object.keys(KINDS).sort()).toEqual(Object.keys(RECORDED).sort());
  });

  it.each(Object.keys(KINDS))("is unchanged on a %s stack", async (kind) => {
    const [stack, values, stacks] = KINDS[kind] as (typeof KINDS)[string];
    await runProgram(stack, { ...values, "activity-api:imageTag": "1.0.0" }, stacks);
    const monitor = pulumi.runtime.getMonitor() as unknown as RecordingMonitor;
    expect([...monitor.getRegisteredResources().keys()].sort()).toEqual(RECORDED[kind]);
  });
});
