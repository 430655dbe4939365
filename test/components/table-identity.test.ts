/**
 * TableIdentity under mocks: a preview's user is named its prefix, capped by the boundary it is given,
 * allowed its own table only, and its key's secret leaves the component as a Pulumi secret; an ssh stack's user
 * is named by Pulumi, with no boundary unless given one.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { TableIdentity } from "../../components/table-identity.js";
import { runDeclarations } from "../helpers/pulumi.js";

const TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/pv-a-12345678-table-0a1b2c3";
const BOUNDARY = "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary";

describe("TableIdentity", () => {
  it("is a user named its prefix, under the boundary, with an inline policy on its table and one key", async () => {
    const run = await runDeclarations("unit", {}, async () => {
      const identity = new TableIdentity("pv-a-12345678", {
        tableArn: TABLE,
        userName: "pv-a-12345678",
        permissionsBoundary: BOUNDARY,
      });
      return {
        userName: identity.userName,
        accessKeyId: identity.credentials.accessKeyId,
        secretIsSecret: pulumi.output(pulumi.isSecret(identity.credentials.secretAccessKey)),
      };
    });
    expect(run.named("aws:iam/user:User", "pv-a-12345678-user").inputs).toEqual({
      name: "pv-a-12345678",
      permissionsBoundary: BOUNDARY,
    });
    const policy = run.named("aws:iam/userPolicy:UserPolicy", "pv-a-12345678-data-policy");
    expect(policy.inputs.user).toBe("pv-a-12345678");
    expect(JSON.parse(String(policy.inputs.policy)).Statement[0].Resource).toEqual([
      TABLE,
      `${TABLE}/index/*`,
    ]);
    expect(run.named("aws:iam/accessKey:AccessKey", "pv-a-12345678-key").inputs).toEqual({
      user: "pv-a-12345678",
    });
    expect(run.outputs).toEqual({
      userName: "pv-a-12345678",
      accessKeyId: "pv-a-12345678-key-id",
      secretIsSecret: true,
    });
  });

  it("leaves the user's name to Pulumi, and sets no boundary, unless given them", async () => {
    const run = await runDeclarations("unit", {}, async () => ({
      userName: new TableIdentity("activity", { tableArn: TABLE }).userName,
    }));
    expect(run.named("aws:iam/user:User", "activity-user").inputs).toEqual({});
    expect(run.named("activity:iam:TableIdentity", "activity").name).toBe("activity");
  });
});
