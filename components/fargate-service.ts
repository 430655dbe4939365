/**
 * FargateService: the activity API image on ECS Fargate, at least two tasks spread over availability zones,
 * behind an Application Load Balancer that only `allowedCidrs` can reach, autoscaled on CPU between a minimum
 * and a maximum, with a deployment circuit breaker that rolls a failed rollout back.
 *
 * Built from `aws.*` resources rather than awsx.ecs.FargateService and awsx.lb.ApplicationLoadBalancer: awsx
 * creates its children inside its own provider, where neither the program's mock tests nor a policy pack run
 * over this program's registrations can see them, and by default it opens a load balancer security group to
 * 0.0.0.0/0 and attaches the broad AmazonECSTaskExecutionRolePolicy (ECR pulls on every repository). Each rule
 * this component keeps (security groups, health checks, listeners, roles, log retention) is therefore a
 * resource of its own here, checked by test/program/stacks.test.ts and by the policy pack.
 */
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { APP_PORT, APP_UID, type AppEnv, ENV, HOST_PORT, READY_PATH } from "../app/src/contract.js";
import { appDataPolicy, imagePullPolicy, logWritePolicy, serviceTrustPolicy } from "../aws/iam-policies.js";
import { type ApiAccess, accessEnvironment } from "./app-container.js";

/** The container's name in the task definition; the load balancer's target is this container's APP_PORT. */
export const CONTAINER_NAME = "api";
/** HTTPS port of the load balancer when a certificate is given. */
const HTTPS_PORT = 443;
/** TLS 1.3 and 1.2 only, AWS's recommended policy for HTTPS listeners. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/**
 * Fails when the service's primary deployment is not the task definition just deployed: the deployment circuit
 * breaker rolled it back. The AWS provider's waitForSteadyState counts the steady state a rollback reaches as
 * success (hashicorp/terraform-provider-aws#20858), so without this `pulumi up` would report a failed rollout
 * as done. Needs the AWS CLI v2 and the deployer's credentials.
 */
export const VERIFY_ROLLOUT = `set -euo pipefail
primary=$(aws ecs describe-services --region "$REGION" --cluster "$CLUSTER" --services "$SERVICE" \\
  --query 'services[0].deployments[?status==\`PRIMARY\`].taskDefinition | [0]' --output text)
if [[ "$primary" != "$TASK_DEFINITION" ]]; then
  echo "ECS rolled $SERVICE back to $primary: the rollout of $TASK_DEFINITION failed; its events say why: aws ecs describe-services --region $REGION --cluster $CLUSTER --services $SERVICE" >&2
  exit 1
fi
echo "$SERVICE runs $TASK_DEFINITION"
`;

export interface FargateServiceArgs {
  /** The image, pinned by digest (AppImage.imageRef). */
  image: pulumi.Input<string>;
  /** The image's ECR repository: all the execution role may pull from. */
  repositoryArn: pulumi.Input<string>;
  /** The app's table: TABLE_NAME. */
  tableName: pulumi.Input<string>;
  /** The table's ARN: its items (and its indexes') are all the task role may read and write. */
  tableArn: pulumi.Input<string>;
  /** AWS_REGION, and the region of the tasks' logs. */
  region: string;
  /** APP_ENV. Never development, which would make the app look for DynamoDB Local. @default "production" */
  appEnv?: Exclude<AppEnv, "development">;
  /**
   * Who may call the API (AUTH_*), and how often (RATE_LIMIT_*). @default unset: an open API with the app's
   * default rate limits
   */
  access?: ApiAccess;
  /** CIDRs that may reach the load balancer's listeners; nothing else reaches anything. */
  allowedCidrs: string[];
  /** Tasks that always run, spread over availability zones; at least 2. @default 2 */
  minTasks?: number;
  /** The most tasks autoscaling may run; at least minTasks. @default 4 */
  maxTasks?: number;
  /** The tasks' average CPU utilisation, in percent, that autoscaling keeps the service at. @default 60 */
  targetCpuPercent?: number;
  /** A task's CPU units (1024 = one vCPU). @default 256 */
  cpu?: number;
  /** A task's memory in MiB; one of the sizes Fargate allows with `cpu`. @default 512 */
  memory?: number;
  /** Days CloudWatch Logs keeps the tasks' logs. @default 30 */
  logRetentionDays?: number;
  /**
   * An ACM certificate in `region`: the load balancer then serves HTTPS on 443, and its HTTP listener only
   * redirects there. @default unset: HTTP only
   */
  certificateArn?: pulumi.Input<string>;
  /** Refuse to delete the load balancer (its DNS name is what clients know). @default true */
  deletionProtection?: boolean;
  /** The load balancer's HTTP port. @default 10001 (HOST_PORT) */
  listenerPort?: number;
  /**
   * The VPC and at least two subnets in different availability zones, with a route to the Internet for the
   * load balancer. @default the region's default VPC and its default subnets (one per availability zone)
   */
  network?: { vpcId: pulumi.Input<string>; subnetIds: pulumi.Input<string[]> };
  /**
   * Give each task a public IPv4 address, so that it reaches ECR, DynamoDB and CloudWatch Logs from a public
   * subnet without a NAT gateway. Its security group still admits only the load balancer. Set false for
   * private subnets that have a NAT gateway or VPC endpoints. @default true
   */
  assignPublicIp?: boolean;
  /**
   * After each rollout, check with the AWS CLI that ECS runs the new task definition rather than one the
   * circuit breaker rolled back to (VERIFY_ROLLOUT), and fail the update if not. @default true
   */
  verifyRollout?: boolean;
}

/** Checks the arguments before any resource exists; the message names the argument and the way out. */
function validateFargateServiceArgs(args: FargateServiceArgs): string | undefined {
  const { minTasks = 2, maxTasks = 4, targetCpuPercent = 60 } = args;
  if (args.allowedCidrs.length === 0) return "allowedCidrs must list at least one CIDR";
  if (!Number.isInteger(minTasks) || minTasks < 2) {
    return `minTasks ${minTasks} is below 2: one task in each of two availability zones is the least that survives losing one`;
  }
  if (!Number.isInteger(maxTasks) || maxTasks < minTasks) {
    return `maxTasks ${maxTasks} is below minTasks ${minTasks}; raise maxTasks or lower minTasks`;
  }
  if (!(targetCpuPercent > 0 && targetCpuPercent <= 100)) {
    return `targetCpuPercent ${targetCpuPercent} must be above 0 and at most 100`;
  }
  const subnetIds = args.network?.subnetIds;
  if (Array.isArray(subnetIds) && subnetIds.length < 2) {
    return `${subnetIds.length} subnet(s) given; the load balancer and the tasks need subnets in at least two availability zones`;
  }
  if ((args.appEnv as string) === "development") {
    return "appEnv development needs DynamoDB Local; use production or test";
  }
  return undefined;
}

/** The container: non-root, read-only root with a writable /tmp, the readiness check, logs to CloudWatch. */
export function containerDefinition(args: {
  image: string;
  appEnv: Exclude<AppEnv, "development">;
  tableName: string;
  region: string;
  logGroupName: string;
  access?: ApiAccess;
}) {
  const environment: [string, string][] = [
    [ENV.appEnv, args.appEnv],
    [ENV.port, String(APP_PORT)],
    [ENV.tableName, args.tableName],
    [ENV.region, args.region],
    ...accessEnvironment(args.access),
  ];
  return {
    name: CONTAINER_NAME,
    image: args.image,
    essential: true,
    user: `${APP_UID}:${APP_UID}`,
    readonlyRootFilesystem: true,
    // Fargate has no tmpfs: /tmp is a volume on the task's ephemeral storage.
    mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
    linuxParameters: { capabilities: { drop: ["ALL"] } },
    portMappings: [{ containerPort: APP_PORT, protocol: "tcp" }],
    environment: environment.map(([name, value]) => ({ name, value })),
    // Readiness, as the Docker host's container has: a task that cannot reach its table is replaced.
    healthCheck: {
      command: ["CMD", "node", "dist/healthcheck.js", READY_PATH],
      interval: 10,
      timeout: 5,
      retries: 3,
      startPeriod: 30,
    },
    // The app drains and exits within 8 s of SIGTERM; Docker's default, 10 s, is its bound elsewhere too.
    stopTimeout: 10,
    logConfiguration: {
      logDriver: "awslogs",
      options: {
        "awslogs-group": args.logGroupName,
        "awslogs-region": args.region,
        "awslogs-stream-prefix": CONTAINER_NAME,
      },
    },
  };
}

/** One ingress rule per CIDR and port, for aws.vpc.SecurityGroupIngressRule: IPv4 or IPv6 by the CIDR. */
function listenerIngress(allowedCidrs: string[], ports: number[]) {
  return ports.flatMap((port) =>
    allowedCidrs.map((cidr) => ({
      ipProtocol: "tcp",
      fromPort: port,
      toPort: port,
      description: `activity API clients on ${port}`,
      ...(cidr.includes(":") ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
    })),
  );
}

export class FargateService extends pulumi.ComponentResource {
  /** Where the API answers: `http://<load balancer>:10001`, or with a certificate `https://<load balancer>`. */
  public readonly url: pulumi.Output<string>;
  public readonly loadBalancerDnsName: pulumi.Output<string>;
  public readonly clusterName: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;
  public readonly logGroupName: pulumi.Output<string>;

  constructor(name: string, args: FargateServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:ecs:FargateService", name, {}, opts);
    const invalid = validateFargateServiceArgs(args);
    if (invalid !== undefined) throw new pulumi.ResourceError(`FargateService: ${invalid}`, this);
    const {
      region,
      appEnv = "production",
      access,
      allowedCidrs,
      minTasks = 2,
      maxTasks = 4,
      targetCpuPercent = 60,
      cpu = 256,
      memory = 512,
      logRetentionDays = 30,
      certificateArn,
      deletionProtection = true,
      listenerPort = HOST_PORT,
      assignPublicIp = true,
      verifyRollout = true,
    } = args;
    const child = { parent: this };
    const network = args.network ?? defaultNetwork(this);
    const subnetIds = pulumi.output(network.subnetIds).apply((ids) => {
      if (ids.length < 2) {
        throw new pulumi.ResourceError(
          `FargateService: ${ids.length} subnet(s) given; the load balancer and the tasks need subnets in at least two availability zones`,
          this,
        );
      }
      return ids;
    });

    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { retentionInDays: logRetentionDays },
      child,
    );

    // The task role is the app's identity: its table's items, nothing else.
    const taskRole = new aws.iam.Role(
      `${name}-task-role`,
      {
        description: "The activity API's tasks: the table's items only",
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ecs-tasks.amazonaws.com")),
      },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-task-data-policy`,
      {
        role: taskRole.id,
        policy: pulumi.output(args.tableArn).apply((arn) => JSON.stringify(appDataPolicy(arn))),
      },
      child,
    );
    // The execution role is ECS's, to start a task: pull its image and write its logs. No registry secret.
    const executionRole = new aws.iam.Role(
      `${name}-execution-role`,
      {
        description: "ECS starting the activity API's tasks: pull the image, write the logs",
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ecs-tasks.amazonaws.com")),
      },
      child,
    );
    const executionPolicies = [
      new aws.iam.RolePolicy(
        `${name}-execution-pull-policy`,
        {
          role: executionRole.id,
          policy: pulumi.output(args.repositoryArn).apply((arn) => JSON.stringify(imagePullPolicy(arn))),
        },
        child,
      ),
      new aws.iam.RolePolicy(
        `${name}-execution-logs-policy`,
        { role: executionRole.id, policy: logGroup.arn.apply((arn) => JSON.stringify(logWritePolicy(arn))) },
        child,
      ),
    ];

    // Security groups: clients reach the load balancer on its listeners, and only the load balancer reaches
    // the tasks. Rules are resources of their own, as the two groups refer to each other.
    const lbGroup = new aws.ec2.SecurityGroup(
      `${name}-lb-sg`,
      {
        vpcId: network.vpcId,
        description: "activity API load balancer: the listeners from allowed CIDRs only",
      },
      child,
    );
    const taskGroup = new aws.ec2.SecurityGroup(
      `${name}-task-sg`,
      { vpcId: network.vpcId, description: "activity API tasks: the app port from the load balancer only" },
      child,
    );
    const listenerPorts = certificateArn === undefined ? [listenerPort] : [listenerPort, HTTPS_PORT];
    listenerIngress(allowedCidrs, listenerPorts).forEach((rule, index) => {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-lb-in-${index}`,
        { securityGroupId: lbGroup.id, ...rule },
        child,
      );
    });
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-lb-to-tasks`,
      {
        securityGroupId: lbGroup.id,
        referencedSecurityGroupId: taskGroup.id,
        ipProtocol: "tcp",
        fromPort: APP_PORT,
        toPort: APP_PORT,
        description: "requests and health checks to the tasks",
      },
      child,
    );
    const taskRules = [
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-task-from-lb`,
        {
          securityGroupId: taskGroup.id,
          referencedSecurityGroupId: lbGroup.id,
          ipProtocol: "tcp",
          fromPort: APP_PORT,
          toPort: APP_PORT,
          description: "the load balancer only",
        },
        child,
      ),
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-task-https-out`,
        {
          securityGroupId: taskGroup.id,
          cidrIpv4: "0.0.0.0/0",
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          description: "ECR, DynamoDB and CloudWatch Logs",
        },
        child,
      ),
    ];

    const loadBalancer = new aws.lb.LoadBalancer(
      `${name}-lb`,
      {
        loadBalancerType: "application",
        internal: false,
        securityGroups: [lbGroup.id],
        subnets: subnetIds,
        dropInvalidHeaderFields: true,
        // Below the app's 75 s keep-alive, so that the app never closes a connection the balancer reuses.
        idleTimeout: 60,
        enableDeletionProtection: deletionProtection,
      },
      child,
    );
    const targetGroup = new aws.lb.TargetGroup(
      `${name}-tg`,
      {
        vpcId: network.vpcId,
        targetType: "ip",
        protocol: "HTTP",
        port: APP_PORT,
        // The app drains in-flight requests within 8 s of SIGTERM; ALB's default of 300 s slows every rollout.
        deregistrationDelay: 30,
        healthCheck: {
          enabled: true,
          protocol: "HTTP",
          port: "traffic-port",
          path: READY_PATH,
          matcher: "200",
          interval: 15,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      },
      child,
    );
    const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
    // With a certificate, plain HTTP serves nothing: it only redirects, and the app's HSTS keeps a client that
    // followed the redirect on HTTPS, so its later requests never carry a token in clear text.
    const redirectToHttps = [
      {
        type: "redirect",
        redirect: { protocol: "HTTPS", port: String(HTTPS_PORT), statusCode: "HTTP_301" },
      },
    ];
    const listeners = [
      new aws.lb.Listener(
        `${name}-http`,
        {
          loadBalancerArn: loadBalancer.arn,
          port: listenerPort,
          protocol: "HTTP",
          defaultActions: certificateArn === undefined ? forward : redirectToHttps,
        },
        child,
      ),
      ...(certificateArn === undefined
        ? []
        : [
            new aws.lb.Listener(
              `${name}-https`,
              {
                loadBalancerArn: loadBalancer.arn,
                port: HTTPS_PORT,
                protocol: "HTTPS",
                certificateArn,
                sslPolicy: TLS_POLICY,
                defaultActions: forward,
              },
              child,
            ),
          ]),
    ];

    const cluster = new aws.ecs.Cluster(`${name}-cluster`, {}, child);
    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: `${name}-api`,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(cpu),
        memory: String(memory),
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        volumes: [{ name: "tmp" }],
        containerDefinitions: pulumi
          .all([args.image, args.tableName, logGroup.name])
          .apply(([image, tableName, logGroupName]) =>
            JSON.stringify([containerDefinition({ image, appEnv, tableName, region, logGroupName, access })]),
          ),
      },
      child,
    );
    const service = new aws.ecs.Service(
      `${name}-service`,
      {
        cluster: cluster.arn,
        taskDefinition: taskDefinition.arn,
        launchType: "FARGATE",
        platformVersion: "LATEST",
        desiredCount: minTasks,
        networkConfiguration: { subnets: subnetIds, securityGroups: [taskGroup.id], assignPublicIp },
        loadBalancers: [
          { targetGroupArn: targetGroup.arn, containerName: CONTAINER_NAME, containerPort: APP_PORT },
        ],
        // ECS spreads a service's Fargate tasks over the subnets' zones, and moves them back after a zone recovers.
        availabilityZoneRebalancing: "ENABLED",
        // Start the new tasks before stopping the old ones; a rollout that keeps failing is undone.
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        // The container's start period plus two load balancer checks.
        healthCheckGracePeriodSeconds: 60,
        propagateTags: "SERVICE",
        enableEcsManagedTags: true,
        // `pulumi up` ends when the rollout has (and the rollout check then tells a rollback from success).
        waitForSteadyState: true,
      },
      {
        parent: this,
        // A target group is usable only once a listener forwards to it.
        dependsOn: [...listeners, ...executionPolicies, ...taskRules],
        // Autoscaling owns the task count after creation; `up` must not reset it to minTasks.
        ignoreChanges: ["desiredCount"],
      },
    );

    if (verifyRollout) {
      new command.local.Command(
        `${name}-rollout-check`,
        {
          create: VERIFY_ROLLOUT,
          interpreter: ["/bin/bash", "-c"],
          environment: {
            REGION: region,
            CLUSTER: cluster.name,
            SERVICE: service.name,
            TASK_DEFINITION: taskDefinition.arn,
          },
          // Each new task definition is a new rollout to check.
          triggers: [taskDefinition.arn],
        },
        { parent: this, dependsOn: [service] },
      );
    }

    const scaling = new aws.appautoscaling.Target(
      `${name}-scaling`,
      {
        serviceNamespace: "ecs",
        scalableDimension: "ecs:service:DesiredCount",
        resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
        minCapacity: minTasks,
        maxCapacity: maxTasks,
      },
      child,
    );
    new aws.appautoscaling.Policy(
      `${name}-cpu-scaling`,
      {
        policyType: "TargetTrackingScaling",
        serviceNamespace: scaling.serviceNamespace,
        scalableDimension: scaling.scalableDimension,
        resourceId: scaling.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
          targetValue: targetCpuPercent,
          // Out quickly under load; in slowly, so that a burst does not make the count oscillate.
          scaleOutCooldown: 60,
          scaleInCooldown: 300,
        },
      },
      child,
    );

    this.loadBalancerDnsName = loadBalancer.dnsName;
    this.url =
      certificateArn === undefined
        ? pulumi.interpolate`http://${loadBalancer.dnsName}:${listenerPort}`
        : pulumi.interpolate`https://${loadBalancer.dnsName}`;
    this.clusterName = cluster.name;
    this.serviceName = service.name;
    this.logGroupName = logGroup.name;
    this.registerOutputs({
      url: this.url,
      loadBalancerDnsName: this.loadBalancerDnsName,
      clusterName: this.clusterName,
      serviceName: this.serviceName,
      logGroupName: this.logGroupName,
    });
  }
}

/** The region's default VPC and its default subnets, one per availability zone. */
function defaultNetwork(parent: pulumi.Resource) {
  const vpcId = aws.ec2.getVpcOutput({ default: true }, { parent }).id;
  const subnetIds = aws.ec2.getSubnetsOutput(
    {
      filters: [
        { name: "vpc-id", values: [vpcId] },
        { name: "default-for-az", values: ["true"] },
      ],
    },
    { parent },
  ).ids;
  return { vpcId, subnetIds };
}
