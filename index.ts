/**
 * The program: reads the stack's settings, composes the components for what the stack is (the app on the
 * local Docker engine, on an EC2 Docker host or on ECS Fargate; the shared host of previews; or one branch's
 * preview on that host), and returns what a user needs to reach it as the stack's outputs. No resource logic
 * lives here.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_TABLE_NAME, HOST_PORT } from "./app/src/contract.js";
import { awsProvider } from "./aws/provider.js";
import { ActivityTable } from "./components/activity-table.js";
import { AppContainer } from "./components/app-container.js";
import { AppImage, contentTag } from "./components/app-image.js";
import { CiIdentity } from "./components/ci-identity.js";
import { DockerHost } from "./components/docker-host.js";
import { DYNAMODB_LOCAL_PORT, DynamoDbLocal } from "./components/dynamodb-local.js";
import { FargateService } from "./components/fargate-service.js";
import { FrontProxy, PREVIEW_ALIAS_PREFIX, PUBLISH_ADDRESSES } from "./components/front-proxy.js";
import { hostDockerProvider, SshDockerHost } from "./components/ssh-docker-host.js";
import { TableIdentity } from "./components/table-identity.js";
import {
  type AppStackOutputs,
  type CiIdentityOutputs,
  CONTAINER_MEMORY_MIB,
  type Ec2PreviewHostOutputs,
  type LocalPreviewHostOutputs,
  type PreviewStackOutputs,
  pinOf,
  type ReleaseRecord,
} from "./stack/contract.js";
import { readOwnOutput, stackReference } from "./stack/references.js";
import { keptReleases, nextRecord, readRecord, resolvePin } from "./stack/releases.js";
import {
  type CiIdentitySettings,
  type Ec2AppSettings,
  type Ec2PreviewHostSettings,
  type Ec2PreviewSettings,
  type EcsAppSettings,
  type LocalAppSettings,
  type LocalPreviewHostSettings,
  type LocalPreviewSettings,
  loadSettings,
  type SshAppSettings,
  type StackSettings,
} from "./stack/settings.js";
import { StackConfigError } from "./stack/validation.js";

/** A stack's outputs as the program returns them: each value of the contract's type, or an Output of it. */
type Outputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** An EC2 host publishes on every interface: its security group (allowedCidrs) decides who reaches it. */
const EC2_PUBLISH_ADDRESS = "0.0.0.0";

/**
 * A local preview's database on its sealed network. Not dev's `dynamodb`: a preview host deployed before the
 * previews were sealed still runs a database under that alias on the network every preview's app joins, and
 * the app must not find that one. No preview's alias (`preview-pv-...`) can be this.
 */
const PREVIEW_DATABASE_ALIAS = "preview-dynamodb";

/** The release this stack served after its last successful update, read only when a new one fails. */
async function servingRelease(): Promise<string | undefined> {
  const release = await readOwnOutput("release");
  return typeof release === "string" && release !== "" ? release : undefined;
}

/**
 * The release an update deploys: its tag, the kept release it is pinned to (config `release`, resolved
 * against the record), and the release record the stack's last update left.
 */
interface Release {
  tag: string;
  pinned: ReleaseRecord | undefined;
  record: ReleaseRecord[];
  /** The releases whose images the stack keeps. */
  keep: number;
}

/** The stacks that serve the app, and so deploy a release. */
type ServingSettings = Exclude<
  StackSettings,
  LocalPreviewHostSettings | Ec2PreviewHostSettings | CiIdentitySettings
>;

/**
 * Reads the record, and resolves a pin against it before anything is declared: a release the stack does not
 * keep stops the update with one line, and nothing changes.
 */
async function releaseOf(settings: ServingSettings): Promise<Release> {
  const record = readRecord(await readOwnOutput("releases"));
  const pinned = settings.release && resolvePin(settings.release, record, settings.stack);
  const tag = pinned ? pinned.release : (settings.imageTag ?? contentTag("."));
  return { tag, pinned, record, keep: settings.keepImages };
}

/** An image reference's digest: the part after `@`, or all of a local image id (`sha256:…`). */
const digestOf = (imageRef: string) => imageRef.slice(imageRef.lastIndexOf("@") + 1);

/**
 * The `releases` and `pinnedRelease` outputs: the record once `serving` serves (known once its container
 * passed the gate, so a refused release is never recorded), and the pin. `firstServed` is this run's clock.
 */
function releaseOutputs(
  release: Release,
  serving: pulumi.Input<string>,
  imageRef: pulumi.Input<string>,
): { releases: pulumi.Output<ReleaseRecord[]>; pinnedRelease?: string } {
  const now = new Date().toISOString();
  return {
    releases: pulumi
      .all([serving, imageRef])
      .apply(([tag, ref]) =>
        nextRecord(release.record, { release: tag, digest: digestOf(ref) }, now, release.keep),
      ),
    ...(release.pinned && { pinnedRelease: pinOf(release.pinned) }),
  };
}

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

/** A locally kept image's args: built unless pinned, with the other kept releases' images beside it. */
function localImage(
  settings: LocalAppSettings | LocalPreviewSettings,
  { tag, pinned, record, keep }: Release,
  registry: { kind: "local"; repository?: string },
) {
  return {
    tag,
    pinnedDigest: pinned?.digest,
    baseImage: settings.baseImage,
    registry: { ...registry, keptTags: keptReleases(record, tag, keep) },
  };
}

/** dev: the proxy, the app and DynamoDB Local on the local engine; no AWS resource, no credentials. */
function deployLocally(settings: LocalAppSettings, release: Release): Outputs<AppStackOutputs> {
  const name = settings.namePrefix;
  const { tag } = release;
  const proxy = new FrontProxy(name, { ...settings.https, hostIp: PUBLISH_ADDRESSES[settings.publishTo] });
  const database = new DynamoDbLocal(name, { network: proxy.networkName, hostPort: DYNAMODB_LOCAL_PORT });
  const image = new AppImage(name, localImage(settings, release, { kind: "local" }));
  const app = new AppContainer(name, {
    image: image.imageRef,
    release: tag,
    appEnv: "development",
    tableName: DEFAULT_TABLE_NAME,
    dynamodbEndpoint: database.endpoint,
    database: database.dataVolume,
    network: proxy.networkName,
    servingRelease,
    readinessTimeoutSeconds: settings.readinessTimeoutSeconds,
    access: settings.access,
  });
  return {
    apiUrl: `http://localhost:${HOST_PORT}`,
    imageRef: image.imageRef,
    tableName: DEFAULT_TABLE_NAME,
    hostId: "local-docker-engine",
    release: app.release,
    ...releaseOutputs(release, app.release, image.imageRef),
    proxyContainer: proxy.containerName,
    databaseVolume: database.dataVolume,
    ...(settings.https && { httpsUrl: `https://${settings.https.domain}` }),
  };
}

/** test: the image in ECR, the proxy and the app on an EC2 Docker host, the regional table. */
function deployToEc2(settings: Ec2AppSettings, release: Release): Outputs<AppStackOutputs> {
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

/**
 * The app's data on the ssh target: DynamoDB Local beside it on the server (its data on a named volume), or a
 * regional table that the app reaches with an IAM user's key, the only AWS identity on the server.
 */
function sshDatabase(
  settings: SshAppSettings,
  network: pulumi.Input<string>,
  onHost: pulumi.ComponentResourceOptions,
) {
  const name = settings.namePrefix;
  const { database } = settings;
  if (database.kind === "dynamoDbLocal") {
    const local = new DynamoDbLocal(
      name,
      {
        network,
        // Named, so that the stack created again on the same server finds the data it kept.
        volumeName: `${name}-dynamodb-data`,
        keepData: database.keepDataOnDestroy,
      },
      onHost,
    );
    return {
      appData: {
        appEnv: "development",
        tableName: DEFAULT_TABLE_NAME,
        dynamodbEndpoint: local.endpoint,
        database: local.dataVolume,
      },
      outputs: { tableName: DEFAULT_TABLE_NAME, databaseVolume: local.dataVolume },
    } as const;
  }
  const options = awsProvider({ ...settings, region: database.region });
  const table = new ActivityTable(name, { deletionProtection: database.deletionProtection }, options);
  const identity = new TableIdentity(
    name,
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

/**
 * ssh: the image pushed to the stack's registry, and the proxy, the app and its database (DynamoDB Local on a
 * volume, or a regional table) on a server with Docker that the stack reaches over SSH and does not create.
 */
function deployToSsh(settings: SshAppSettings, release: Release): Outputs<AppStackOutputs> {
  const name = settings.namePrefix;
  const { tag, pinned } = release;
  const image = new AppImage(name, {
    tag,
    pinnedDigest: pinned?.digest,
    baseImage: settings.baseImage,
    registry: { kind: "registry", ...settings.registry, password: pulumi.secret(settings.registry.password) },
  });
  const host = new SshDockerHost(name, {
    user: settings.sshUser,
    address: settings.sshAddress,
    port: settings.sshPort,
    hostKey: settings.sshKnownHosts,
    privateKeyPath: settings.sshPrivateKeyPath,
    registryAuth: image.registryAuth,
  });
  const onHost = { providers: [host.provider] };
  const proxy = new FrontProxy(name, { hostIp: settings.publishAddress }, onHost);
  const database = sshDatabase(settings, proxy.networkName, onHost);
  const app = new AppContainer(
    name,
    {
      image: image.imageRef,
      release: tag,
      pull: true,
      ...database.appData,
      network: proxy.networkName,
      servingRelease,
      readinessTimeoutSeconds: settings.readinessTimeoutSeconds,
      access: settings.access,
      remoteEngine: { dockerHost: host.dockerHost, sshOpts: host.sshOpts },
    },
    onHost,
  );
  const apiHost = settings.publishAddress;
  return {
    apiUrl: `http://${apiHost.includes(":") ? `[${apiHost}]` : apiHost}:${HOST_PORT}`,
    imageRef: image.imageRef,
    hostId: settings.sshHost,
    release: app.release,
    ...releaseOutputs(release, app.release, image.imageRef),
    proxyContainer: proxy.containerName,
    ...database.outputs,
  };
}

/** prod: the image in ECR, on ECS Fargate behind a load balancer, autoscaled; the regional table. */
function deployToEcs(settings: EcsAppSettings, release: Release): Outputs<AppStackOutputs> {
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
 * The local preview host: the proxy routing `<label>.<previewDomain>` to each preview's container. Each preview
 * brings its own database. Previews (through a StackReference) and npm run preview read its outputs.
 */
function deployLocalPreviewHost(settings: LocalPreviewHostSettings): Outputs<LocalPreviewHostOutputs> {
  const name = settings.namePrefix;
  const previewDomain = settings.previewDomain ?? "localhost";
  const proxy = new FrontProxy(name, {
    upstream: { kind: "previews", domain: previewDomain },
    httpPort: settings.previewPort,
    hostIp: PUBLISH_ADDRESSES[settings.publishTo],
  });
  return { previewDomain, previewPort: settings.previewPort, networkName: proxy.networkName };
}

/**
 * The EC2 preview host: an EC2 Docker host whose containers reach no instance credentials, and its proxy. Its
 * permissionsBoundary (the ci-identity stack's) is passed on: each preview's identity is created under it.
 */
function deployEc2PreviewHost(settings: Ec2PreviewHostSettings): Outputs<Ec2PreviewHostOutputs> {
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

/** An output of the preview host stack `hostStack`, typed by what that kind of host exports. */
function hostOutputs<T extends LocalPreviewHostOutputs | Ec2PreviewHostOutputs>(hostStack: string) {
  const host = stackReference(hostStack);
  return <K extends keyof T & string>(name: K) => host.requireOutput(name) as pulumi.Output<T[K]>;
}

/** `http://<label>.<previewDomain>:<previewPort>`, where the preview host's proxy routes the preview. */
function previewUrl(
  label: string,
  fromHost: (name: "previewDomain" | "previewPort") => pulumi.Output<string | number>,
) {
  return pulumi.interpolate`http://${label}.${fromHost("previewDomain")}:${fromHost("previewPort")}`;
}

/**
 * One branch's preview on the local preview host: the app's container under the alias `preview-<label>` on
 * the host's network, and a DynamoDB Local of its own, sealed: on an internal network that only this preview's
 * app joins, with no host port, so that no other preview can reach its data
 * (docs/decisions/0001-sealed-local-previews.md). Nothing of another preview is touched.
 */
function deployLocalPreview(settings: LocalPreviewSettings, release: Release): Outputs<PreviewStackOutputs> {
  const label = settings.namePrefix;
  const { tag } = release;
  const fromHost = hostOutputs<LocalPreviewHostOutputs>(settings.hostStack);
  const tableName = `${DEFAULT_TABLE_NAME}-${label}`;
  const database = new DynamoDbLocal(label, {
    alias: PREVIEW_DATABASE_ALIAS,
    memoryMb: CONTAINER_MEMORY_MIB.previewDatabase,
  });
  // Built once the sealed database stands: a preview whose isolation cannot be set up leaves no image behind.
  const image = new AppImage(
    label,
    localImage(settings, release, { kind: "local", repository: `activity-api-${label}` }),
    { dependsOn: [database] },
  );
  const app = new AppContainer(label, {
    image: image.imageRef,
    release: tag,
    appEnv: "development",
    tableName,
    dynamodbEndpoint: database.endpoint,
    database: database.dataVolume,
    network: fromHost("networkName"),
    alias: `${PREVIEW_ALIAS_PREFIX}${label}`,
    databaseNetwork: database.networkName,
    servingRelease,
    readinessTimeoutSeconds: settings.readinessTimeoutSeconds,
    access: settings.access,
  });
  return {
    apiUrl: previewUrl(label, fromHost),
    imageRef: image.imageRef,
    release: app.release,
    ...releaseOutputs(release, app.release, image.imageRef),
    tableName,
    databaseVolume: database.dataVolume,
  };
}

/**
 * One branch's preview on the EC2 preview host: its own table and repository, its own identity (the only
 * credentials its container holds), and the app's container under the alias `preview-<label>` on the host's
 * network.
 */
function deployEc2Preview(settings: Ec2PreviewSettings, release: Release): Outputs<PreviewStackOutputs> {
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
function deployCiIdentity(settings: CiIdentitySettings): Outputs<CiIdentityOutputs> {
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

/** Composes what the stack is; each kind's outputs are the contract's (stack/contract.ts). */
async function deploy(settings: StackSettings) {
  switch (settings.kind) {
    case "localPreviewHost":
      return deployLocalPreviewHost(settings);
    case "ec2PreviewHost":
      return deployEc2PreviewHost(settings);
    case "ciIdentity":
      return deployCiIdentity(settings);
  }
  const release = await releaseOf(settings);
  switch (settings.kind) {
    case "localApp":
      return deployLocally(settings, release);
    case "ec2App":
      return deployToEc2(settings, release);
    case "ecsApp":
      return deployToEcs(settings, release);
    case "localPreview":
      return deployLocalPreview(settings, release);
    case "ec2Preview":
      return deployEc2Preview(settings, release);
    case "sshApp":
      return deployToSsh(settings, release);
  }
}

/**
 * The program, as the Node.js language host runs it: reads the stack's settings and its release record,
 * deploys, returns outputs. Async, because the record (its last update's outputs) is read before anything is
 * declared.
 */
export default async function program() {
  const settings = loadSettings();
  try {
    return await deploy(settings);
  } catch (error) {
    // RunError prints its message without a stack trace: the message is the whole story.
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}
