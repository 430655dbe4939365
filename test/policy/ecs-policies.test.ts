/**
 * The pack's ECS and load balancer rules (policy/policies.ts, rule 8) against good and bad resources;
 * test/program/prod-stack.test.ts runs the whole pack over the prod stack.
 */
import { unknownValue } from "@pulumi/pulumi/runtime/rpc.js";
import { describe, expect, it } from "vitest";
import { READY_PATH } from "../../app/src/contract.js";
import { containerDefinition, TLS_POLICY } from "../../components/fargate-service.js";
import {
  APP_READY_PATH,
  ecsDeploymentCircuitBreaker,
  ecsImagePinned,
  ecsNoRegistryCredentials,
  ecsServiceRedundancy,
  ecsTasksBehindLoadBalancer,
  lbHttpsTls12,
  lbTargetGroupReadiness,
  logGroupRetention,
} from "../../policy/policies.js";
import { check, checkStack, stackResource } from "../helpers/policy.js";

const UNKNOWN = unknownValue;

const TYPES = {
  service: "aws:ecs/service:Service",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  listener: "aws:lb/listener:Listener",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
} as const;

const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/activity-repo@sha256:${"a".repeat(64)}`;
/** The FargateService's container definitions, as its task definition carries them. */
const containers = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify([
    {
      ...containerDefinition({
        image: IMAGE,
        appEnv: "production",
        tableName: "activities",
        region: "eu-west-1",
        logGroupName: "activity-logs",
      }),
      ...overrides,
    },
  ]);

describe("the pack's ECS rules", () => {
  it("checks the readiness path that app/src/contract.ts serves", () => {
    expect(APP_READY_PATH).toBe(READY_PATH);
  });
});

describe("ecs-deployment-circuit-breaker: a failing rollout stops and rolls back", () => {
  const FIX =
    "set { enable: true, rollback: true } so that a rollout whose tasks keep failing stops and the service " +
    "returns to its last working deployment.";

  it("accepts the breaker with rollback, and services deployed by CodeDeploy", async () => {
    const good = { deploymentCircuitBreaker: { enable: true, rollback: true } };
    expect(await check(ecsDeploymentCircuitBreaker, TYPES.service, good)).toEqual([]);
    const codeDeploy = { deploymentController: { type: "CODE_DEPLOY" } };
    expect(await check(ecsDeploymentCircuitBreaker, TYPES.service, codeDeploy)).toEqual([]);
  });

  it("flags no breaker, and a breaker that does not roll back", async () => {
    expect(await check(ecsDeploymentCircuitBreaker, TYPES.service, {})).toEqual([
      `deploymentCircuitBreaker is unset; ${FIX}`,
    ]);
    const noRollback = { deploymentCircuitBreaker: { enable: true, rollback: false } };
    expect(await check(ecsDeploymentCircuitBreaker, TYPES.service, noRollback)).toEqual([
      `deploymentCircuitBreaker is {"enable":true,"rollback":false}; ${FIX}`,
    ]);
  });

  it("judges no value unknown during preview, and applies to services only", async () => {
    const props = { deploymentCircuitBreaker: { enable: true, rollback: UNKNOWN } };
    expect(await check(ecsDeploymentCircuitBreaker, TYPES.service, props)).toEqual([]);
    expect(await check(ecsDeploymentCircuitBreaker, TYPES.taskDefinition, {})).toBeUndefined();
  });
});

describe("ecs-service-redundancy (advisory): two tasks or more, over two zones or more", () => {
  it("accepts 2 tasks over 2 subnets, flags 1 task and 1 subnet", async () => {
    const good = { desiredCount: 2, networkConfiguration: { subnets: ["subnet-a", "subnet-b"] } };
    expect(await check(ecsServiceRedundancy, TYPES.service, good)).toEqual([]);
    const single = { desiredCount: 1, networkConfiguration: { subnets: ["subnet-a"] } };
    expect((await check(ecsServiceRedundancy, TYPES.service, single))?.map((m) => m.split(";")[0])).toEqual([
      "desiredCount is 1",
      "networkConfiguration.subnets lists 1 subnet",
    ]);
    expect(await check(ecsServiceRedundancy, TYPES.service, { desiredCount: UNKNOWN })).toEqual([]);
  });
});

describe("ecs-tasks-behind-load-balancer: only security groups, never CIDRs, reach the tasks", () => {
  const taskGroup = (props: Record<string, unknown> = {}) =>
    stackResource(TYPES.securityGroup, "task-sg", props);
  const serviceIn = (group: ReturnType<typeof taskGroup>) =>
    stackResource(
      TYPES.service,
      "api",
      { networkConfiguration: { subnets: ["subnet-a"], securityGroups: [UNKNOWN] } },
      { networkConfiguration: [group] },
    );
  const message = (where: string, cidr: string) =>
    `ECS service "api" runs its tasks in security group "task-sg", whose ${where} admits ${cidr}; admit only ` +
    "the load balancer's security group (referencedSecurityGroupId), so that nothing reaches the tasks but " +
    "through it.";

  it("accepts a rule from the load balancer's group", async () => {
    const group = taskGroup();
    const fromLb = stackResource(
      TYPES.ingressRule,
      "from-lb",
      { securityGroupId: UNKNOWN, referencedSecurityGroupId: UNKNOWN, ipProtocol: "tcp", fromPort: 4567 },
      { securityGroupId: [group] },
    );
    expect(await checkStack(ecsTasksBehindLoadBalancer, [group, fromLb, serviceIn(group)])).toEqual([]);
  });

  it("flags, on the service, CIDRs in separate rules and inline, whatever their range", async () => {
    const group = taskGroup({
      ingress: [{ protocol: "tcp", fromPort: 4567, toPort: 4567, cidrBlocks: ["10.0.0.0/16"] }],
    });
    const open = stackResource(
      TYPES.ingressRule,
      "open",
      { securityGroupId: UNKNOWN, ipProtocol: "tcp", fromPort: 4567, toPort: 4567, cidrIpv4: "0.0.0.0/0" },
      { securityGroupId: [group] },
    );
    const legacy = stackResource(
      TYPES.securityGroupRule,
      "legacy",
      { type: "ingress", securityGroupId: UNKNOWN, ipv6CidrBlocks: ["::/0"] },
      { securityGroupId: [group] },
    );
    const elsewhere = stackResource(TYPES.ingressRule, "elsewhere", { cidrIpv4: "0.0.0.0/0" });
    const service = serviceIn(group);
    expect(await checkStack(ecsTasksBehindLoadBalancer, [group, open, legacy, elsewhere, service])).toEqual([
      { message: message("ingress[0].cidrBlocks", "10.0.0.0/16"), urn: service.urn },
      { message: message('cidrIpv4 (rule "open")', "0.0.0.0/0"), urn: service.urn },
      { message: message('ipv6CidrBlocks (rule "legacy")', "::/0"), urn: service.urn },
    ]);
  });

  it("judges no value unknown during preview", async () => {
    const group = taskGroup({ ingress: [{ cidrBlocks: [UNKNOWN] }] });
    const rule = stackResource(TYPES.ingressRule, "r", { cidrIpv4: UNKNOWN }, { securityGroupId: [group] });
    expect(await checkStack(ecsTasksBehindLoadBalancer, [group, rule, serviceIn(group)])).toEqual([]);
  });
});

describe("ecs-no-registry-credentials and ecs-image-pinned: pull by role, by digest", () => {
  it("accept the FargateService's container", async () => {
    const task = { containerDefinitions: containers() };
    expect(await check(ecsNoRegistryCredentials, TYPES.taskDefinition, task)).toEqual([]);
    expect(await check(ecsImagePinned, TYPES.taskDefinition, task)).toEqual([]);
  });

  it("flag repository credentials, and an image named by tag", async () => {
    const task = {
      containerDefinitions: containers({
        image: "docker.io/example/api:1.2.3",
        repositoryCredentials: { credentialsParameter: "arn:aws:secretsmanager:eu-west-1:1:secret:hub" },
      }),
    };
    expect(await check(ecsNoRegistryCredentials, TYPES.taskDefinition, task)).toEqual([
      'container "api" has repositoryCredentials; pull from ECR with the task\'s execution role instead, so ' +
        "that no registry password is stored anywhere.",
    ]);
    expect(await check(ecsImagePinned, TYPES.taskDefinition, task)).toEqual([
      'container "api" runs image "docker.io/example/api:1.2.3"; name it by digest (AppImage.imageRef), so ' +
        "that every task runs exactly the image that was built and tested.",
    ]);
  });

  it("judge nothing while the definitions are unknown", async () => {
    expect(await check(ecsImagePinned, TYPES.taskDefinition, { containerDefinitions: UNKNOWN })).toEqual([]);
  });
});

describe("lb-target-group-readiness: HTTP target groups check /ready", () => {
  it("accepts /ready, leaves TCP groups alone, flags another path or a disabled check", async () => {
    const http = { protocol: "HTTP", healthCheck: { enabled: true, path: "/ready" } };
    expect(await check(lbTargetGroupReadiness, TYPES.targetGroup, http)).toEqual([]);
    expect(await check(lbTargetGroupReadiness, TYPES.targetGroup, { protocol: "TCP" })).toEqual([]);
    expect(
      (
        await check(lbTargetGroupReadiness, TYPES.targetGroup, {
          protocol: "HTTP",
          healthCheck: { path: "/health" },
        })
      )?.[0],
    ).toMatch(/^healthCheck is on path "\/health"; check \/ready, which answers 200 only while/);
    expect(await check(lbTargetGroupReadiness, TYPES.targetGroup, { protocol: "HTTP" })).toEqual([
      "healthCheck is on path unset; check /ready, which answers 200 only while the task reaches its table, so " +
        "that the load balancer sends nothing to a task that would answer 503.",
    ]);
    const disabled = { protocol: "HTTP", healthCheck: { enabled: false, path: "/ready" } };
    expect((await check(lbTargetGroupReadiness, TYPES.targetGroup, disabled))?.[0]).toMatch(
      /^healthCheck is disabled;/,
    );
  });
});

describe("lb-https-tls12: HTTPS listeners refuse TLS 1.0 and 1.1", () => {
  it("accepts the FargateService's policy, flags the default and an old policy, ignores HTTP", async () => {
    expect(await check(lbHttpsTls12, TYPES.listener, { protocol: "HTTPS", sslPolicy: TLS_POLICY })).toEqual(
      [],
    );
    expect(await check(lbHttpsTls12, TYPES.listener, { protocol: "HTTP" })).toEqual([]);
    expect(await check(lbHttpsTls12, TYPES.listener, { protocol: "HTTPS" })).toEqual([
      'sslPolicy is unset (unset means "ELBSecurityPolicy-2016-08", which accepts TLS 1.0); use ' +
        '"ELBSecurityPolicy-TLS13-1-2-2021-06" or another TLS 1.2+ policy.',
    ]);
    const old = { protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS-1-1-2017-01" };
    expect((await check(lbHttpsTls12, TYPES.listener, old))?.length).toBe(1);
  });
});

describe("log-group-retention: log events expire", () => {
  it("accepts a retention, flags none or 0, and judges no unknown", async () => {
    expect(await check(logGroupRetention, TYPES.logGroup, { retentionInDays: 30 })).toEqual([]);
    expect(await check(logGroupRetention, TYPES.logGroup, {})).toEqual([
      "retentionInDays is unset (unset or 0 keeps every event forever, billed monthly); set a retention such as 30.",
    ]);
    expect((await check(logGroupRetention, TYPES.logGroup, { retentionInDays: 0 }))?.length).toBe(1);
    expect(await check(logGroupRetention, TYPES.logGroup, { retentionInDays: UNKNOWN })).toEqual([]);
  });
});
