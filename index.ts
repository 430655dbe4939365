/**
 * The program: reads the stack's settings, composes the components for its target (the local Docker engine,
 * an EC2 Docker host on AWS, or ECS Fargate on AWS), and exports what a user needs to reach the API. No
 * resource logic lives here.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_TABLE_NAME, HOST_PORT } from "./app/src/contract.js";
import { ActivityTable } from "./components/activity-table.js";
import { AppContainer } from "./components/app-container.js";
import { AppImage, contentTag } from "./components/app-image.js";
import {
  type AwsSettings,
  type EcsSettings,
  type LocalSettings,
  loadSettings,
  stackTags,
} from "./components/config.js";
import { DockerHost } from "./components/docker-host.js";
import { DynamoDbLocal } from "./components/dynamodb-local.js";
import { FargateService } from "./components/fargate-service.js";

interface Deployment {
  apiUrl: pulumi.Input<string>;
  imageRef: pulumi.Input<string>;
  tableName: pulumi.Input<string>;
  hostId: pulumi.Input<string>;
}

/** dev: the app and DynamoDB Local on the local engine; no AWS resource, no credentials. */
function deployLocally(settings: LocalSettings, tag: string): Deployment {
  const name = settings.namePrefix;
  const database = new DynamoDbLocal(name);
  const image = new AppImage(name, { tag, baseImage: settings.baseImage, registry: { kind: "local" } });
  new AppContainer(name, {
    image: image.imageRef,
    appEnv: "development",
    tableName: DEFAULT_TABLE_NAME,
    dynamodbEndpoint: database.endpoint,
    network: database.networkName,
  });
  return {
    apiUrl: `http://localhost:${HOST_PORT}`,
    imageRef: image.imageRef,
    tableName: DEFAULT_TABLE_NAME,
    hostId: "local-docker-engine",
  };
}

/** What every AWS target shares: the provider that tags every resource, the regional table, the image in ECR. */
function onAws(settings: AwsSettings | EcsSettings, tag: string) {
  const name = settings.namePrefix;
  // Every AWS resource is tagged through this provider's defaultTags.
  const awsProvider = new aws.Provider(`${name}-aws`, {
    region: settings.region as aws.Region,
    defaultTags: { tags: stackTags(settings) },
  });
  const options = { providers: [awsProvider] };
  const table = new ActivityTable(name, { deletionProtection: settings.deletionProtection }, options);
  const image = new AppImage(
    name,
    {
      tag,
      baseImage: settings.baseImage,
      registry: { kind: "ecr", keepImages: settings.keepImages, forceDelete: settings.forceDeleteImages },
    },
    options,
  );
  return { options, table, image };
}

/** test and previews: the image in ECR, the app on an EC2 Docker host, the regional table. */
function deployToAws(settings: AwsSettings, tag: string): Deployment {
  const name = settings.namePrefix;
  const { options, table, image } = onAws(settings, tag);
  const host = new DockerHost(
    name,
    {
      region: settings.region,
      instanceType: settings.instanceType,
      allowedCidrs: settings.allowedCidrs,
      access: settings.hostAccess,
      sshPublicKey: settings.sshPublicKey,
      sshPrivateKeyPath: settings.sshPrivateKeyPath,
      tableArn: table.arn,
      repositoryArn: image.repositoryArn as pulumi.Output<string>,
      registryAuth: image.registryAuth,
    },
    options,
  );
  new AppContainer(
    name,
    { image: image.imageRef, pull: true, appEnv: "test", tableName: table.name, region: settings.region },
    { providers: [host.provider] },
  );
  return {
    apiUrl: pulumi.interpolate`http://${host.publicIp}:${HOST_PORT}`,
    imageRef: image.imageRef,
    tableName: table.name,
    hostId: host.instanceId,
  };
}

/** prod: the image in ECR, on ECS Fargate behind a load balancer, autoscaled; the regional table. */
function deployToEcs(settings: EcsSettings, tag: string): Deployment {
  const { options, table, image } = onAws(settings, tag);
  const service = new FargateService(
    settings.namePrefix,
    {
      image: image.imageRef,
      repositoryArn: image.repositoryArn as pulumi.Output<string>,
      tableName: table.name,
      tableArn: table.arn,
      region: settings.region,
      appEnv: "production",
      allowedCidrs: settings.allowedCidrs,
      minTasks: settings.minTasks,
      maxTasks: settings.maxTasks,
      cpu: settings.taskCpu,
      memory: settings.taskMemory,
      logRetentionDays: settings.logRetentionDays,
      certificateArn: settings.certificateArn,
      deletionProtection: settings.deletionProtection,
    },
    options,
  );
  return {
    apiUrl: service.url,
    imageRef: image.imageRef,
    tableName: table.name,
    // No host: the service, whose tasks come and go.
    hostId: pulumi.interpolate`${service.clusterName}/${service.serviceName}`,
  };
}

const settings = loadSettings();
const tag = settings.imageTag ?? contentTag(".");
const deployment =
  settings.target === "local"
    ? deployLocally(settings, tag)
    : settings.target === "ecs"
      ? deployToEcs(settings, tag)
      : deployToAws(settings, tag);

/** Where the API answers: GET {apiUrl}/activity/1. */
export const apiUrl = deployment.apiUrl;
/** The image every environment runs, pinned by digest. */
export const imageRef = deployment.imageRef;
export const tableName = deployment.tableName;
export const hostId = deployment.hostId;
