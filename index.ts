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
import { FrontProxy } from "./components/front-proxy.js";

interface Deployment {
  apiUrl: pulumi.Input<string>;
  imageRef: pulumi.Input<string>;
  tableName: pulumi.Input<string>;
  hostId: pulumi.Input<string>;
  /** The Docker targets' serving release and proxy (ECS keeps its own deployment state). */
  release?: pulumi.Input<string>;
  proxyContainer?: pulumi.Input<string>;
}

/** The release this stack served after its last successful update: named if the new one fails. */
function servingRelease(): pulumi.Output<string | undefined> {
  const self = new pulumi.StackReference(
    `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  );
  return self.getOutput("release") as pulumi.Output<string | undefined>;
}

/** The proxy's settings, the same on every target. */
function proxyArgs(settings: LocalSettings | AwsSettings) {
  return settings.https === undefined ? {} : { ...settings.https };
}

/** dev: the proxy, the app and DynamoDB Local on the local engine; no AWS resource, no credentials. */
function deployLocally(settings: LocalSettings, tag: string): Deployment {
  const name = settings.namePrefix;
  const proxy = new FrontProxy(name, proxyArgs(settings));
  const database = new DynamoDbLocal(name, { network: proxy.networkName });
  const image = new AppImage(name, { tag, baseImage: settings.baseImage, registry: { kind: "local" } });
  const app = new AppContainer(name, {
    image: image.imageRef,
    release: tag,
    appEnv: "development",
    tableName: DEFAULT_TABLE_NAME,
    dynamodbEndpoint: database.endpoint,
    network: proxy.networkName,
    servingRelease: servingRelease(),
  });
  return {
    apiUrl: `http://localhost:${HOST_PORT}`,
    imageRef: image.imageRef,
    tableName: DEFAULT_TABLE_NAME,
    hostId: "local-docker-engine",
    release: app.release,
    proxyContainer: proxy.containerName,
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

/** test and previews: the image in ECR, the proxy and the app on an EC2 Docker host, the regional table. */
function deployToAws(settings: AwsSettings, tag: string): Deployment {
  const name = settings.namePrefix;
  const { options, table, image } = onAws(settings, tag);
  const host = new DockerHost(
    name,
    {
      region: settings.region,
      instanceType: settings.instanceType,
      allowedCidrs: settings.allowedCidrs,
      httpsCidrs: settings.httpsCidrs,
      access: settings.hostAccess,
      sshPublicKey: settings.sshPublicKey,
      sshPrivateKeyPath: settings.sshPrivateKeyPath,
      tableArn: table.arn,
      repositoryArn: image.repositoryArn as pulumi.Output<string>,
      registryAuth: image.registryAuth,
    },
    options,
  );
  const onHost = { providers: [host.provider] };
  const proxy = new FrontProxy(name, proxyArgs(settings), onHost);
  const app = new AppContainer(
    name,
    {
      image: image.imageRef,
      release: tag,
      pull: true,
      appEnv: "test",
      tableName: table.name,
      region: settings.region,
      network: proxy.networkName,
      servingRelease: servingRelease(),
    },
    onHost,
  );
  return {
    apiUrl: pulumi.interpolate`http://${host.publicIp}:${HOST_PORT}`,
    imageRef: image.imageRef,
    tableName: table.name,
    hostId: host.instanceId,
    release: app.release,
    proxyContainer: proxy.containerName,
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
/** The release serving now: the image tag of the app container that last became healthy. */
export const release = deployment.release;
/** The FrontProxy's container, e.g. for its local CA: docker exec <it> cat /data/caddy/pki/authorities/local/root.crt */
export const proxyContainer = deployment.proxyContainer;
/** With a domain: where the API answers over HTTPS. */
export const httpsUrl = settings.https && `https://${settings.https.domain}`;
