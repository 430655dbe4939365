/**
 * A user's own unit test, written as Pulumi's unit-testing guide shows it (pulumi.runtime.setMocks, then the
 * program), with nothing of this repository's test helpers and no change to the SDK: copy it to start your own.
 * The stack's settings come from its own file, as the CLI would give them; every default is the program's.
 */
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** What AWS and Docker would compute, for the resources whose outputs the program reads. */
function computed({ type, name, inputs }: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const arn = (service: string, resource: string) => `arn:aws:${service}:eu-west-1:123456789012:${resource}`;
  switch (type) {
    case "awsx:ecr:Repository":
      return { url: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${name}` };
    case "aws:dynamodb/table:Table":
      return { name, arn: arn("dynamodb", `table/${name}`) };
    case "aws:iam/role:Role":
      return { name, arn: `arn:aws:iam::123456789012:role/${name}` };
    case "aws:ec2/instance:Instance":
      return { publicIp: "198.51.100.20" };
    case "docker:index/image:Image":
      return { repoDigest: `${String(inputs.imageName).split(":")[0]}@sha256:${"0".repeat(64)}` };
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: `sha256:${"1".repeat(64)}` };
    default:
      return {};
  }
}

/** Runs the program for `stack` under the SDK's mocks with its Pulumi.<stack>.yaml and `values` on top. */
async function runUnderMocks(stack: string, values: Record<string, string> = {}) {
  const registered: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}_id`, state: { ...args.inputs, ...computed(args) } };
      },
      // The lookups the AWS stacks make; any other call echoes its inputs.
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        switch (args.token) {
          case "aws:ec2/getVpc:getVpc":
            return { id: "vpc-0default" };
          case "aws:ec2/getSubnets:getSubnets":
            return { ids: ["subnet-0a", "subnet-0b"] };
          case "aws:ec2/getSubnet:getSubnet":
            return { id: args.inputs.id, vpcId: "vpc-0default" };
          case "aws:ssm/getParameter:getParameter":
            return { name: args.inputs.name, value: "ami-0123456789abcdef0", type: "String" };
          case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
              userName: "AWS",
              password: "token",
              proxyEndpoint: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            };
          default:
            return args.inputs;
        }
      },
    },
    "activity-api",
    stack,
  );
  const file = parse(readFileSync(new URL(`../../Pulumi.${stack}.yaml`, import.meta.url), "utf8")) as {
    config: Record<string, unknown>;
  };
  const config: Record<string, string> = { ...values };
  for (const [key, value] of Object.entries(file.config)) {
    config[key] ??= typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(config);

  const program = (await import("../../index.js")).default;
  const outputs = (await program()) as { release?: pulumi.Input<string> };
  // The app's release is read back from its container: once it resolves, the container is registered.
  const release = await new Promise((resolve) => pulumi.output(outputs.release).apply(resolve));
  return { registered, release };
}

const named = (registered: Registered[], type: string) =>
  registered.filter((resource) => resource.type === type).map((resource) => resource.name);

describe("a user's own unit test of the program", () => {
  it("sees every resource of the dev stack, the app's container included", async () => {
    const { registered, release } = await runUnderMocks("dev");
    // The app's container is named for its release: one resource per release.
    expect(named(registered, "docker:index/container:Container").sort()).toEqual([
      `activity-app-${release}`,
      "activity-dynamodb",
      "activity-proxy",
    ]);
    expect(named(registered, "docker:index/image:Image")).toEqual(["activity-image"]);
    expect(registered.some((resource) => resource.type.startsWith("aws:"))).toBe(false);
    expect(release).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
  });

  it("sees every resource of the test stack: the table, the repository, the EC2 host, and the app on it", async () => {
    const { registered, release } = await runUnderMocks("test", {
      "activity-api:sshPublicKey":
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl you@laptop",
    });
    expect(named(registered, "aws:dynamodb/table:Table")).toEqual(["activity-table"]);
    expect(named(registered, "aws:ec2/instance:Instance")).toEqual(["activity-host"]);
    expect(named(registered, "docker:index/container:Container").sort()).toEqual([
      `activity-app-${release}`,
      "activity-proxy",
    ]);
    const app = registered.find((resource) => resource.name === `activity-app-${release}`);
    expect(app?.inputs.envs).toContain("APP_ENV=test");
  });
});
