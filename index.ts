/**
 * The program: reads the stack's settings, composes the components for what the stack is (the app on the
 * local Docker engine, on an EC2 Docker host or on ECS Fargate; the shared host of previews; or one branch's
 * preview on that host), and returns what a user needs to reach it as the stack's outputs. No resource logic
 * lives here.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_TABLE_NAME, HOST_PORT } from "./app/src/contract.js";
import { ActivityTable } from "./components/activity-table.js";
import { AppContainer } from "./components/app-container.js";
import { AppImage, contentTag } from "./components/app-image.js";
import { DockerHost, hostDockerProvider } from "./components/docker-host.js";
import { DynamoDbLocal } from "./components/dynamodb-local.js";
import { FargateService } from "./components/fargate-service.js";
import { FrontProxy, PREVIEW_ALIAS_PREFIX } from "./components/front-proxy.js";
import { RoleGrant } from "./components/role-grant.js";
import { readOwnOutput, stackReference } from "./stack/references.js";
import {
  type AwsPreviewSettings,
  type AwsSettings,
  type EcsSettings,
  type LocalSettings,
  loadSettings,
  type PreviewHostRole,
  type PreviewRole,
  type StackSettings,
  stackTags,
} from "./stack/settings.js";

type Outputs = Record<string, pulumi.Input<unknown>>;

/** A preview host's DynamoDB Local on this machine: beside the dev stack's 8000. */
const PREVIEW_HOST_DYNAMODB_PORT = 8001;

/** The release this stack served after its last successful update, read only when a new one fails. */
async function servingRelease(): Promise<string | undefined> {
  const release = await readOwnOutput("release");
  return typeof release === "string" && release !== "" ? release : undefined;
}

/** The provider that tags every AWS resource of the stack, through its defaultTags. */
function awsProvider(settings: AwsSettings | AwsPreviewSettings | EcsSettings): {
  providers: aws.Provider[];
} {
  const provider = new aws.Provider(`${settings.namePrefix}-aws`, {
    region: settings.region as aws.Region,
    defaultTags: { tags: stackTags(settings) },
  });
  return { providers: [provider] };
}

/** The regional table and the image in ECR, which every AWS target has. */
function tableAndImage(
  settings: AwsSettings | AwsPreviewSettings | EcsSettings,
  tag: string,
  options: pulumi.ComponentResourceOptions,
) {
  const name = settings.namePrefix;
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
  // An ECR image always has its repository; AppImage leaves it undefined only for the local registry.
  const repositoryArn = image.repositoryArn as pulumi.Output<string>;
  return { table, image, repositoryArn };
}

/** The EC2 Docker host of the test stack and of the AWS preview host. */
function ec2Host(
  settings: AwsSettings,
  options: pulumi.ComponentResourceOptions,
  app?: ActivityTableAndImage,
) {
  const port = settings.role.kind === "previewHost" ? settings.role.port : HOST_PORT;
  return new DockerHost(
    settings.namePrefix,
    {
      region: settings.region,
      instanceType: settings.instanceType,
      allowedCidrs: settings.allowedCidrs,
      httpsCidrs: settings.httpsCidrs,
      appPort: port,
      access: settings.hostAccess,
      sshPublicKey: settings.sshPublicKey,
      sshPrivateKeyPath: settings.sshPrivateKeyPath,
      ...(app && {
        app: { tableArn: app.table.arn, repositoryArn: app.repositoryArn },
        registryAuth: app.image.registryAuth,
      }),
    },
    options,
  );
}
type ActivityTableAndImage = ReturnType<typeof tableAndImage>;

/**
 * The app as it runs on an EC2 Docker host (the test stack's, or the AWS preview host): the ECR image pulled
 * there, in test mode on the regional table. The caller adds the network, and a preview its alias.
 */
function appOnEc2(
  settings: AwsSettings | AwsPreviewSettings,
  tag: string,
  { table, image }: ActivityTableAndImage,
) {
  return {
    image: image.imageRef,
    release: tag,
    pull: true,
    appEnv: "test",
    tableName: table.name,
    region: settings.region,
    servingRelease,
  } as const;
}

/** dev: the proxy, the app and DynamoDB Local on the local engine; no AWS resource, no credentials. */
function deployLocally(settings: LocalSettings, tag: string): Outputs {
  const name = settings.namePrefix;
  const proxy = new FrontProxy(name, { ...settings.https });
  const database = new DynamoDbLocal(name, { network: proxy.networkName });
  const image = new AppImage(name, { tag, baseImage: settings.baseImage, registry: { kind: "local" } });
  const app = new AppContainer(name, {
    image: image.imageRef,
    release: tag,
    appEnv: "development",
    tableName: DEFAULT_TABLE_NAME,
    dynamodbEndpoint: database.endpoint,
    network: proxy.networkName,
    servingRelease,
  });
  return {
    apiUrl: `http://localhost:${HOST_PORT}`,
    imageRef: image.imageRef,
    tableName: DEFAULT_TABLE_NAME,
    hostId: "local-docker-engine",
    release: app.release,
    proxyContainer: proxy.containerName,
    ...(settings.https && { httpsUrl: `https://${settings.https.domain}` }),
  };
}

/** test: the image in ECR, the proxy and the app on an EC2 Docker host, the regional table. */
function deployToAws(settings: AwsSettings, tag: string): Outputs {
  const name = settings.namePrefix;
  const options = awsProvider(settings);
  const tableImage = tableAndImage(settings, tag, options);
  const { table, image } = tableImage;
  const host = ec2Host(settings, options, tableImage);
  const onHost = { providers: [host.provider] };
  const proxy = new FrontProxy(name, { ...settings.https }, onHost);
  const app = new AppContainer(
    name,
    { ...appOnEc2(settings, tag, tableImage), network: proxy.networkName },
    onHost,
  );
  return {
    apiUrl: pulumi.interpolate`http://${host.publicIp}:${HOST_PORT}`,
    imageRef: image.imageRef,
    tableName: table.name,
    hostId: host.instanceId,
    release: app.release,
    proxyContainer: proxy.containerName,
    ...(settings.https && { httpsUrl: `https://${settings.https.domain}` }),
  };
}

/** prod: the image in ECR, on ECS Fargate behind a load balancer, autoscaled; the regional table. */
function deployToEcs(settings: EcsSettings, tag: string): Outputs {
  const options = awsProvider(settings);
  const { table, image, repositoryArn } = tableAndImage(settings, tag, options);
  const service = new FargateService(
    settings.namePrefix,
    {
      image: image.imageRef,
      repositoryArn,
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

/**
 * A preview host: the proxy routing `<label>.<previewDomain>` to each preview's container, on the local engine
 * beside a shared DynamoDB Local, or on an EC2 host whose role each preview grants itself on. Its outputs are
 * what previews (through a StackReference) and npm run preview read.
 */
function deployPreviewHost(settings: LocalSettings | AwsSettings, role: PreviewHostRole): Outputs {
  const name = settings.namePrefix;
  const { port } = role;
  if (settings.target === "local") {
    const previewDomain = role.domain ?? "localhost";
    const proxy = new FrontProxy(name, {
      upstream: { kind: "previews", domain: previewDomain },
      httpPort: port,
    });
    const database = new DynamoDbLocal(name, {
      network: proxy.networkName,
      hostPort: PREVIEW_HOST_DYNAMODB_PORT,
    });
    return {
      previewDomain,
      previewPort: port,
      networkName: proxy.networkName,
      dynamodbEndpoint: database.endpoint,
      dynamodbHostEndpoint: database.hostEndpoint,
    };
  }
  const options = awsProvider(settings);
  const host = ec2Host(settings, options);
  const previewDomain = role.domain ?? pulumi.interpolate`${host.publicIp}.sslip.io`;
  const proxy = new FrontProxy(
    name,
    { upstream: { kind: "previews", domain: previewDomain }, httpPort: port },
    { providers: [host.provider] },
  );
  return {
    previewDomain,
    previewPort: port,
    networkName: proxy.networkName,
    region: settings.region,
    instanceType: settings.instanceType,
    publicIp: host.publicIp,
    dockerHost: host.dockerHost,
    sshOpts: host.sshOpts,
    roleName: host.roleName,
  };
}

/**
 * One branch's preview on its target's preview host: the app's container under the alias `preview-<label>`
 * on the host's network, with a table of its own (in the host's DynamoDB Local, or on AWS with its own
 * repository and its own grant on the host's role). Nothing of another preview is touched.
 */
function deployPreview(
  settings: LocalSettings | AwsPreviewSettings,
  role: PreviewRole,
  tag: string,
): Outputs {
  const label = settings.namePrefix;
  const host = stackReference(role.hostStack);
  const fromHost = (output: string) => host.requireOutput(output) as pulumi.Output<string>;
  const alias = `${PREVIEW_ALIAS_PREFIX}${label}`;
  const apiUrl = pulumi.interpolate`http://${label}.${fromHost("previewDomain")}:${fromHost("previewPort")}`;
  if (settings.target === "local") {
    const tableName = `${DEFAULT_TABLE_NAME}-${label}`;
    const image = new AppImage(label, {
      tag,
      baseImage: settings.baseImage,
      registry: { kind: "local", repository: `activity-api-${label}` },
    });
    const app = new AppContainer(label, {
      image: image.imageRef,
      release: tag,
      appEnv: "development",
      tableName,
      dynamodbEndpoint: fromHost("dynamodbEndpoint"),
      network: fromHost("networkName"),
      alias,
      servingRelease,
    });
    return { apiUrl, imageRef: image.imageRef, release: app.release, tableName };
  }
  const options = awsProvider(settings);
  const tableImage = tableAndImage(settings, tag, options);
  const { table, image, repositoryArn } = tableImage;
  new RoleGrant(
    label,
    {
      role: fromHost("roleName"),
      tableArn: table.arn,
      repositoryArn,
    },
    options,
  );
  const onHost = hostDockerProvider(`${label}-host-docker`, {
    dockerHost: fromHost("dockerHost"),
    sshOpts: host.requireOutput("sshOpts") as pulumi.Output<string[]>,
    registryAuth: image.registryAuth,
  });
  const app = new AppContainer(
    label,
    { ...appOnEc2(settings, tag, tableImage), network: fromHost("networkName"), alias },
    { providers: [onHost] },
  );
  return { apiUrl, imageRef: image.imageRef, release: app.release, tableName: table.name };
}

function deploy(settings: StackSettings, tag: string): Outputs {
  const { role } = settings;
  if (settings.target === "ecs") return deployToEcs(settings, tag);
  // readSettings pairs each role with its settings: a preview has no host of its own, a host no preview.
  if (role.kind === "preview")
    return deployPreview(settings as LocalSettings | AwsPreviewSettings, role, tag);
  const docker = settings as LocalSettings | AwsSettings;
  if (role.kind === "previewHost") return deployPreviewHost(docker, role);
  return docker.target === "local" ? deployLocally(docker, tag) : deployToAws(docker, tag);
}

/**
 * The stack's outputs, by what the stack is. The app's stacks: `apiUrl` (GET {apiUrl}/activity/1), `imageRef`
 * (the image, pinned by digest), `tableName`, `hostId`, and on Docker targets `release` (the release serving
 * now: the tag of the container that last became healthy), `proxyContainer` and, with a domain, `httpsUrl`.
 */
export default function program(): Outputs {
  const settings = loadSettings();
  return deploy(settings, settings.imageTag ?? contentTag("."));
}
