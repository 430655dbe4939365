/**
 * FargateService on its own under mocks, with non-default args: children named from the component's name,
 * every documented option taking effect, and bad arguments refused before any resource exists.
 */
import type * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { FargateService, type FargateServiceArgs } from "../../components/fargate-service.js";
import { runDeclarations } from "../helpers/pulumi.js";

const declare = (build: () => Record<string, pulumi.Input<unknown>>) =>
  runDeclarations("unit", {}, async () => build());

const serviceArgs: FargateServiceArgs = {
  image: "123456789012.dkr.ecr.us-east-2.amazonaws.com/r@sha256:0123",
  repositoryArn: "arn:aws:ecr:us-east-2:123456789012:repository/r",
  tableName: "t",
  tableArn: "arn:aws:dynamodb:us-east-2:123456789012:table/t",
  region: "us-east-2",
  appEnv: "test",
  allowedCidrs: ["192.0.2.10/32"],
  minTasks: 3,
  maxTasks: 9,
  targetCpuPercent: 45,
  cpu: 1024,
  memory: 3072,
  logRetentionDays: 7,
  deletionProtection: false,
  listenerPort: 8080,
  network: { vpcId: "vpc-0given", subnetIds: ["subnet-0x", "subnet-0y", "subnet-0z"] },
  assignPublicIp: false,
};

describe("FargateService", () => {
  it("takes every option: network, size, bounds, port, retention, APP_ENV; looks up no default VPC", async () => {
    const run = await declare(() => ({ url: new FargateService("edge", serviceArgs).url }));
    const service = run.named("aws:ecs/service:Service", "edge-service");
    expect(service.inputs).toMatchObject({
      desiredCount: 3,
      networkConfiguration: {
        subnets: ["subnet-0x", "subnet-0y", "subnet-0z"],
        securityGroups: ["edge-task-sg-id"],
        assignPublicIp: false,
      },
    });
    expect(run.named("aws:ecs/taskDefinition:TaskDefinition", "edge-task").inputs).toMatchObject({
      family: "edge-api",
      cpu: "1024",
      memory: "3072",
    });
    const [container] = JSON.parse(
      String(run.named("aws:ecs/taskDefinition:TaskDefinition", "edge-task").inputs.containerDefinitions),
    );
    expect(container.environment).toContainEqual({ name: "APP_ENV", value: "test" });
    expect(run.named("aws:appautoscaling/target:Target", "edge-scaling").inputs).toMatchObject({
      minCapacity: 3,
      maxCapacity: 9,
    });
    expect(
      run.named("aws:appautoscaling/policy:Policy", "edge-cpu-scaling").inputs
        .targetTrackingScalingPolicyConfiguration,
    ).toMatchObject({ targetValue: 45 });
    expect(run.named("aws:cloudwatch/logGroup:LogGroup", "edge-logs").inputs.retentionInDays).toBe(7);
    expect(run.named("aws:lb/loadBalancer:LoadBalancer", "edge-lb").inputs).toMatchObject({
      enableDeletionProtection: false,
      subnets: ["subnet-0x", "subnet-0y", "subnet-0z"],
    });
    expect(run.named("aws:lb/listener:Listener", "edge-http").inputs.port).toBe(8080);
    expect(
      run.named("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "edge-lb-in-0").inputs,
    ).toMatchObject({
      securityGroupId: "edge-lb-sg-id",
      fromPort: 8080,
      cidrIpv4: "192.0.2.10/32",
    });
    for (const group of run.ofType("aws:ec2/securityGroup:SecurityGroup")) {
      expect(group.inputs.vpcId).toBe("vpc-0given");
    }
    expect(run.invokes).toEqual([]);
    expect(run.outputs.url).toBe("http://edge-lb-3c4d5e6-1234567890.eu-west-1.elb.amazonaws.com:8080");
  });

  it.each([
    [{ minTasks: 1 }, "FargateService: minTasks 1 is below 2"],
    [{ minTasks: 4, maxTasks: 3 }, "FargateService: maxTasks 3 is below minTasks 4"],
    [{ allowedCidrs: [] }, "FargateService: allowedCidrs must list at least one CIDR"],
    [{ targetCpuPercent: 0 }, "FargateService: targetCpuPercent 0 must be above 0 and at most 100"],
    [
      { network: { vpcId: "vpc-0", subnetIds: ["subnet-0x"] } },
      "FargateService: 1 subnet(s) given; the load balancer and the tasks need subnets in at least two availability zones",
    ],
  ])("refuses %o before creating anything", async (change, message) => {
    await expect(
      declare(() => ({ url: new FargateService("edge", { ...serviceArgs, ...change }).url })),
    ).rejects.toThrow(message);
  });
});
