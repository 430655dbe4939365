/**
 * Pulumi's AWSGuard policies (@pulumi/awsguard 0.3.1) over the prod stack as the program declares it under
 * mocks: every policy AWSGuard registers, each made mandatory (AwsGuard's own default is advisory, under which
 * nothing could ever be a mandatory violation) and given its default configuration.
 *
 * AWSGuard is written against @pulumi/aws v4 and matches resources by type token. Its three load balancer
 * policies match only the v4 tokens `aws:elasticloadbalancingv2/...` and `aws:applicationloadbalancing/...`,
 * which aws v5 removed; the program's `aws:lb/...` resources never meet them. So the load balancer and its
 * listeners are also presented to those policies under the v4 alias of `aws.lb`, whose schema is the same.
 */
import { createRequire } from "node:module";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../helpers/policy.js";
import { PROD_USER_VALUES, type ProgramRun, runProgram } from "../helpers/pulumi.js";

type AwsGuardPolicy = (ResourceValidationPolicy | StackValidationPolicy) & {
  configSchema?: { properties?: Record<string, { default?: unknown }> };
};

/** AWSGuard's modules, each registering its policies; they export them at run time only (`@internal`). */
const MODULES = ["apiGateway", "compute", "database", "elasticsearch", "network", "security", "storage"];

function loadAwsGuard(): AwsGuardPolicy[] {
  // security.js loads the AWS SDK v2, which prints an end-of-support notice unless told not to.
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
  const require = createRequire(import.meta.url);
  return MODULES.flatMap((module) =>
    Object.values(require(`@pulumi/awsguard/${module}.js`) as Record<string, unknown>).filter(
      (value): value is AwsGuardPolicy => typeof value === "object" && value !== null && "name" in value,
    ),
  ).map((policy) => ({ ...policy, enforcementLevel: "mandatory" }));
}

/** A policy's default configuration, as the pack would give it from its configSchema. */
function defaults(policy: AwsGuardPolicy): object {
  const properties = Object.entries(policy.configSchema?.properties ?? {});
  return Object.fromEntries(
    properties.filter(([, schema]) => "default" in schema).map(([name, schema]) => [name, schema.default]),
  );
}

/** The aws v4 token that `aws.lb` aliased, for the types AWSGuard's load balancer policies look for. */
const V4_ALIASES: Record<string, string> = {
  "aws:lb/loadBalancer:LoadBalancer": "aws:elasticloadbalancingv2/loadBalancer:LoadBalancer",
  "aws:lb/listener:Listener": "aws:elasticloadbalancingv2/listener:Listener",
};

describe("Pulumi's AWSGuard over the prod stack (every policy mandatory, default configuration)", () => {
  let prod: ProgramRun;
  let awsGuard: AwsGuardPolicy[];
  beforeAll(async () => {
    awsGuard = loadAwsGuard();
    prod = await runProgram("prod", PROD_USER_VALUES);
  });

  it("loads all 26 of AWSGuard's policies", () => {
    expect(awsGuard.map((policy) => policy.name)).toHaveLength(26);
    expect(awsGuard.map((policy) => policy.name)).toContain("dynamodb-table-encryption-enabled");
  });

  it("finds no violation, with the resource types the engine sends", async () => {
    expect(await analyze(awsGuard, prod.registrations, { configOf: defaults })).toEqual([]);
  });

  it("does judge the stack: a table with encryption turned off is a violation", async () => {
    const unencrypted = prod.registrations.map((registration) =>
      registration.type === "aws:dynamodb/table:Table"
        ? { ...registration, inputs: { ...registration.inputs, serverSideEncryption: { enabled: false } } }
        : registration,
    );
    expect(await analyze(awsGuard, unencrypted, { configOf: defaults })).toEqual([
      {
        policy: "dynamodb-table-encryption-enabled",
        enforcementLevel: "mandatory",
        resource: "activity-table",
        message: "DynamoDB must have server side encryption enabled.",
      },
    ]);
  });

  it("with the load balancer under its aws v4 alias, finds only the two findings README accepts", async () => {
    const aliased = prod.registrations.map((registration) => ({
      ...registration,
      type: V4_ALIASES[registration.type] ?? registration.type,
    }));
    const findings = await analyze(awsGuard, aliased, { configOf: defaults });
    // Deletion protection is on (elb-deletion-protection-enabled passes). Plain HTTP on 10001 is the product's
    // contract (http://<host>:10001), HTTPS being on 443 once certificateArn is set; access logs need an S3
    // bucket, which README lists as a follow-up.
    expect(findings.map(({ policy, resource, message }) => [policy, resource, message])).toEqual([
      ["elb-logging-enabled", "activity-lb", "Elastic Load Balancer must have access logs enabled."],
      [
        "alb-http-to-https-redirection",
        "activity-http",
        "Default action for HTTP listener must be a redirect using HTTPS.",
      ],
    ]);
  });
});
