/**
 * The stacks on AWS, as the program composes them: the test stack on an EC2 Docker host, prod on ECS Fargate,
 * the EC2 preview host and its previews, the ci-identity stack, and the regional table of an ssh stack. Loaded
 * by index.ts only for such a stack, so that a stack on a Docker engine never loads the AWS SDKs (they take
 * about half a second of every update: docs/performance.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { HOST_PORT } from "../app/src/contract.js";
import { ActivityTable } from "../components/activity-table.js";
import { AppContainer } from "../components/app-container.js";
import { AppImage } from "../components/app-image.js";
import { CiIdentity } from "../components/ci-identity.js";
import { DockerHost } from "../components/docker-host.js";
import { FargateService } from "../components/fargate-service.js";
import { FrontProxy, PREVIEW_ALIAS_PREFIX } from "../components/front-proxy.js";
import { hostDockerProvider } from "../components/ssh-docker-host.js";
import { TableIdentity } from "../components/table-identity.js";
import {
  hostOutputs,
  type Outputs,
  previewUrl,
  type Release,
  releaseOutputs,
  servingRelease,
} from "../stack/composition.js";
import type {
  AppStackOutputs,
  CiIdentityOutputs,
  Ec2PreviewHostOutputs,
  PreviewStackOutputs,
} from "../stack/contract.js";
import type {
  CiIdentitySettings,
  Ec2AppSettings,
  Ec2PreviewHostSettings,
  Ec2PreviewSettings,
  EcsAppSettings,
  SshAppSettings,
} from "../stack/settings.js";
import { awsProvider } from "./provider.js";

/** An EC2 host publishes on every interface: its security group (allowedCidrs) decides who reaches it. */
const EC2_PUBLISH_ADDRESS = "0.0.0.0";

/** The regional table and the image in ECR, which every stack on AWS that builds the app has. */
function tableAndImage(
  settings: Ec2AppSettings | Ec2PreviewSettings | EcsAppSettings,
  { tag, pinned }: Release,
  options: pulumi.ComponentResourceOptions,
) {
  const name = settings.namePrefix;
  const table = new ActivityTable(name, { deletionProtection: settings.deletionProtection }, options);
  const image = new AppImage(
    name,
    {
      tag,
      pinnedDigest: pinned?.digest,
      baseImage: settings.baseImage,
      registry: { kind: "ecr", keepImages: settings.keepImages, forceDelete: settings.forceDeleteImages },
    },
    options,
  );
  // An ECR image always has its repository; AppImage leaves it undefined only for the local registry.
  const repositoryArn = image.repositoryArn as pulumi.Output<string>;
  return { table, image, repositoryArn };
}
type ActivityTableAndImage = ReturnType<typeof tableAndImage>;

/** The EC2 Docker host of the test stack (serving its app on `appPort`) and of the EC2 preview host. */
function ec2Host(
  settings: Ec2AppSettings | Ec2PreviewHostSettings,
  host: { appPort: number; httpsCidrs: string[] },
  options: pulumi.ComponentResourceOptions,
  app?: ActivityTableAndImage,
) {
  return new DockerHost(
    settings.namePrefix,
    {
      region: settings.region,
      instanceType: settings.instanceType,
      allowedCidrs: settings.allowedCidrs,
      httpsCidrs: host.httpsCidrs,
      appPort: host.appPort,
      access: settings.hostAccess,
      sshPublicKey: settings.sshPublicKey,
      sshPrivateKeyPath: settings.sshPrivateKeyPath,
      hostKey: settings.sshKnownHosts,
      permissionsBoundary: settings.permissionsBoundary,
      ...(app && {
        app: { tableArn: app.table.arn, repositoryArn: app.repositoryArn },
        registryAuth: app.image.registryAuth,
      }),
    },
    options,
  );
}

/**
 * The app as it runs on an EC2 Docker host (the test stack's, or the EC2 preview host): the ECR image pulled
 * there, in test mode on the regional table. The caller adds the network, and a preview its alias.
 */
function appOnEc2(
  settings: Ec2AppSettings | Ec2PreviewSettings,
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
    readinessTimeoutSeconds: settings.readinessTimeoutSeconds,
    access: settings.access,
  } as const;
}

/** test: the image in ECR, the proxy and the app on an EC2 Docker host, the regional table. */
export function deployToEc2(settings: Ec2AppSettings, release: Release): Outputs<AppStackOutputs> {
  const name = settings.namePrefix;
  const options = awsProvider(settings);
  const tableImage = tableAndImage(settings, release, options);
  const { table, image } = tableImage;
  const host = ec2Host(
    settings,
    { appPort: HOST_PORT, httpsCidrs: settings.httpsCidrs },
    options,
    tableImage,
  );
  const onHost = { providers: [host.provider] };
  const proxy = new FrontProxy(name, { ...settings.https, hostIp: EC2_PUBLISH_ADDRESS }, onHost);
  const app = new AppContainer(
    name,
    {
      ...appOnEc2(settings, release.tag, tableImage),
      network: proxy.networkName,
      remoteEngine: { dockerHost: host.dockerHost, sshOpts: host.sshOpts },
    },
    onHost,
  );
  return {
    apiUrl: pulumi.interpolate`http://${host.publicIp}:${HOST_PORT}`,
    imageRef: image.imageRef,
    tableName: table.name,
    hostId: host.instanceId,
    release: app.release,
    ...releaseOutputs(release, app.release, image.imageRef),
    proxyContainer: proxy.containerName,
    ...(settings.https && { httpsUrl: `https://${settings.https.domain}` }),
  };
}

/** prod: the image in ECR, on ECS Fargate behind a load balancer, autoscaled; the regional table. */
export function deployToEcs(settings: EcsAppSettings, release: Release): Outputs<AppStackOutputs> {
  const options = awsProvider(settings);
  const { table, image, repositoryArn } = tableAndImage(settings, release, options);
  const service = new FargateService(
    settings.namePrefix,
    {
      image: image.imageRef,
      repositoryArn,
      tableName: table.name,
      tableArn: table.arn,
      region: settings.region,
      appEnv: "production",
      access: settings.access,
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
    release: release.tag,
    ...releaseOutputs(release, release.tag, image.imageRef),
  };
}

/**
 * The EC2 preview host: an EC2 Docker host whose containers reach no instance credentials, and its proxy. Its
 * permissionsBoundary (the ci-identity stack's) is passed on: each preview's identity is created under it.
 */
export function deployEc2PreviewHost(settings: Ec2PreviewHostSettings): Outputs<Ec2PreviewHostOutputs> {
  const options = awsProvider(settings);
  const host = ec2Host(settings, { appPort: settings.previewPort, httpsCidrs: [] }, options);
  const previewDomain = settings.previewDomain ?? pulumi.interpolate`${host.publicIp}.sslip.io`;
  const proxy = new FrontProxy(
    settings.namePrefix,
    {
      upstream: { kind: "previews", domain: previewDomain },
      httpPort: settings.previewPort,
      hostIp: EC2_PUBLISH_ADDRESS,
    },
    { providers: [host.provider] },
  );
  return {
    previewDomain,
    previewPort: settings.previewPort,
    networkName: proxy.networkName,
    region: settings.region,
    instanceType: settings.instanceType,
    publicIp: host.publicIp,
    dockerHost: host.dockerHost,
    sshOpts: host.sshOpts,
    previewBoundaryArn: settings.permissionsBoundary,
  };
}

/**
 * One branch's preview on the EC2 preview host: its own table and repository, its own identity (the only
 * credentials its container holds), and the app's container under the alias `preview-<label>` on the host's
 * network.
 */
export function deployEc2Preview(
  settings: Ec2PreviewSettings,
  release: Release,
): Outputs<PreviewStackOutputs> {
  const label = settings.namePrefix;
  const fromHost = hostOutputs<Ec2PreviewHostOutputs>(settings.hostStack);
  const options = awsProvider(settings);
  const tableImage = tableAndImage(settings, release, options);
  const { table, image } = tableImage;
  const identity = new TableIdentity(
    label,
    { tableArn: table.arn, userName: label, permissionsBoundary: fromHost("previewBoundaryArn") },
    options,
  );
  const onHost = hostDockerProvider(`${label}-host-docker`, {
    dockerHost: fromHost("dockerHost"),
    sshOpts: fromHost("sshOpts"),
    registryAuth: image.registryAuth,
  });
  const app = new AppContainer(
    label,
    {
      ...appOnEc2(settings, release.tag, tableImage),
      awsCredentials: identity.credentials,
      network: fromHost("networkName"),
      alias: `${PREVIEW_ALIAS_PREFIX}${label}`,
      remoteEngine: { dockerHost: fromHost("dockerHost"), sshOpts: fromHost("sshOpts") },
    },
    { providers: [onHost] },
  );
  return {
    apiUrl: previewUrl(label, fromHost),
    imageRef: image.imageRef,
    release: app.release,
    ...releaseOutputs(release, app.release, image.imageRef),
    tableName: table.name,
  };
}

/** ci-identity: the CI pipelines' roles and their boundaries (and GitHub's OIDC provider unless it exists). */
export function deployCiIdentity(settings: CiIdentitySettings): Outputs<CiIdentityOutputs> {
  const identity = new CiIdentity(
    settings.namePrefix,
    {
      repository: settings.githubRepository,
      region: settings.region,
      stateBucket: settings.stateBucket,
      oidcProviderArn: settings.oidcProviderArn,
      testNamePrefix: settings.testNamePrefix,
    },
    awsProvider(settings),
  );
  return {
    previewRoleArn: identity.previewRoleArn,
    testDeployRoleArn: identity.testDeployRoleArn,
    pruneRoleArn: identity.pruneRoleArn,
    previewBoundaryArn: identity.previewBoundaryArn,
    testBoundaryArn: identity.testBoundaryArn,
    oidcProviderArn: identity.oidcProviderArn,
  };
}

/**
 * An ssh stack's regional table (`database: dynamodb`), and the IAM user whose key is the app's only AWS
 * identity there: the server is no AWS resource, so no instance role can hand the app credentials.
 */
export function sshRegionalTable(settings: SshAppSettings & { database: { kind: "regionalTable" } }) {
  const { database } = settings;
  const options = awsProvider({ ...settings, region: database.region });
  const table = new ActivityTable(
    settings.namePrefix,
    { deletionProtection: database.deletionProtection },
    options,
  );
  const identity = new TableIdentity(
    settings.namePrefix,
    { tableArn: table.arn, permissionsBoundary: database.permissionsBoundary },
    options,
  );
  return {
    appData: {
      appEnv: "test",
      tableName: table.name,
      region: database.region,
      awsCredentials: identity.credentials,
    },
    outputs: { tableName: table.name },
  } as const;
}
