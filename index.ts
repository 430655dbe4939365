/**
 * The program: reads the stack's settings, composes the components for what the stack is, and returns what a
 * user needs to reach it as the stack's outputs. The stacks on Docker engines are composed here (dev on the
 * local engine, the local preview host and its previews, a server reached over SSH); those on AWS (test on an
 * EC2 Docker host, prod on ECS Fargate, the EC2 preview host and its previews, ci-identity) in aws/stacks.ts,
 * loaded only for them. No resource logic lives here.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_TABLE_NAME, HOST_PORT } from "./app/src/contract.js";
import { AppContainer } from "./components/app-container.js";
import { AppImage } from "./components/app-image.js";
import { DYNAMODB_LOCAL_PORT, DynamoDbLocal } from "./components/dynamodb-local.js";
import { FrontProxy, PREVIEW_ALIAS_PREFIX, PUBLISH_ADDRESSES } from "./components/front-proxy.js";
import { SshDockerHost } from "./components/ssh-docker-host.js";
import {
  hostOutputs,
  type Outputs,
  previewUrl,
  type Release,
  releaseOf,
  releaseOutputs,
  servingRelease,
} from "./stack/composition.js";
import {
  type AppStackOutputs,
  CONTAINER_MEMORY_MIB,
  type LocalPreviewHostOutputs,
  type PreviewStackOutputs,
} from "./stack/contract.js";
import { keptReleases } from "./stack/releases.js";
import {
  type LocalAppSettings,
  type LocalPreviewHostSettings,
  type LocalPreviewSettings,
  loadSettings,
  type SshAppSettings,
  type StackSettings,
} from "./stack/settings.js";
import { StackConfigError } from "./stack/validation.js";

/**
 * A local preview's database on its sealed network. Not dev's `dynamodb`: a preview host deployed before the
 * previews were sealed still runs a database under that alias on the network every preview's app joins, and
 * the app must not find that one. No preview's alias (`preview-pv-...`) can be this.
 */
const PREVIEW_DATABASE_ALIAS = "preview-dynamodb";

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

/**
 * The app's data on the ssh target: DynamoDB Local beside it on the server (its data on a named volume), or a
 * regional table that the app reaches with an IAM user's key, the only AWS identity on the server
 * (aws/stacks.ts sshRegionalTable).
 */
async function sshDatabase(
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
  // Loaded only now: a stack on DynamoDB Local loads no AWS SDK.
  const { sshRegionalTable } = await import("./aws/stacks.js");
  return sshRegionalTable({ ...settings, database });
}

/**
 * ssh: the image pushed to the stack's registry, and the proxy, the app and its database (DynamoDB Local on a
 * volume, or a regional table) on a server with Docker that the stack reaches over SSH and does not create.
 */
async function deployToSsh(settings: SshAppSettings, release: Release): Promise<Outputs<AppStackOutputs>> {
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
  const database = await sshDatabase(settings, proxy.networkName, onHost);
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

/** The compositions of the stacks on AWS, loaded only for such a stack (aws/stacks.ts). */
const onAws = () => import("./aws/stacks.js");

/** Composes what the stack is; each kind's outputs are the contract's (stack/contract.ts). */
async function deploy(settings: StackSettings) {
  switch (settings.kind) {
    case "localPreviewHost":
      return deployLocalPreviewHost(settings);
    case "ec2PreviewHost":
      return (await onAws()).deployEc2PreviewHost(settings);
    case "ciIdentity":
      return (await onAws()).deployCiIdentity(settings);
  }
  const release = await releaseOf(settings);
  switch (settings.kind) {
    case "localApp":
      return deployLocally(settings, release);
    case "ec2App":
      return (await onAws()).deployToEc2(settings, release);
    case "ecsApp":
      return (await onAws()).deployToEcs(settings, release);
    case "localPreview":
      return deployLocalPreview(settings, release);
    case "ec2Preview":
      return (await onAws()).deployEc2Preview(settings, release);
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
