/**
 * DynamoDbLocal: a local stack's database, the official DynamoDB Local image in a container reached by name,
 * its tables on a Docker volume that outlives the container (a restart, a crash, a Docker upgrade, a reboot) and
 * goes only with the stack (`pulumi destroy`), or stays after it when the stack keeps its data (`keepData`). Either on a network it is given (dev: the proxy's, published on
 * 127.0.0.1 for a developer's tools), or sealed: on an internal network of its own that only its app joins, with
 * no host port (a local preview, which no other preview may reach; docs/decisions/0001-sealed-local-previews.md).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_MEMORY_MIB } from "../stack/contract.js";

/** The pinned official image; scripts/offline-images.sh reads this line to build its stand-in under this name. */
const DYNAMODB_LOCAL_IMAGE = "amazon/dynamodb-local:2.6.1";
/** The port DynamoDB Local listens on in its container, and the port dev publishes it on. */
export const DYNAMODB_LOCAL_PORT = 8000;

/**
 * Where the data volume is mounted and the database keeps its files. The image runs as a non-root user, and
 * Docker creates an empty named volume owned by root, which that user cannot write, unless the mount point
 * exists in the image: the volume then takes that directory's owner and mode. /var/tmp exists in every Linux
 * base image, writable by any user (mode 1777), and nothing else in the container writes there (the JVM's
 * temporary files go to /tmp).
 */
const DATA_PATH = "/var/tmp";

/**
 * The JVM's options. The image's entrypoint is `java` itself, which reads JAVA_TOOL_OPTIONS (every HotSpot JVM
 * does; the image has no JAVA_OPTS of its own). The heap gets half the container's limit: the other half is
 * for what the JVM keeps beside it (classes, compiled code, threads) and SQLite's native memory, so that the
 * JVM runs out of heap with an error in its log before the kernel kills the container.
 */
export function jvmOptions(memoryMb: number): string {
  return `-Xmx${Math.floor(memoryMb / 2)}m`;
}

export interface DynamoDbLocalArgs {
  /**
   * The network to join (dev: FrontProxy.networkName). @default unset: sealed, on a network of its own with
   * `internal: true` (no route off it, no other container on it) that the component creates and exports as
   * `networkName`, for its app alone to join
   */
  network?: pulumi.Input<string>;
  /** The image, pinned. @default "amazon/dynamodb-local:2.6.1" */
  image?: string;
  /** Host port published on 127.0.0.1. @default unset: none, only containers on its network reach it */
  hostPort?: number;
  /** The container's name on the network. @default "dynamodb" */
  alias?: string;
  /** Memory limit in MiB, half of it the JVM's heap. @default 512 (CONTAINER_MEMORY_MIB.dynamodbLocal) */
  memoryMb?: number;
  /**
   * The data volume's name on the engine: the same stack created again finds its data under it (Docker's
   * create answers with the existing volume of that name). @default a name Pulumi makes unique
   */
  volumeName?: string;
  /** Keep the tables when the stack goes: `pulumi destroy` leaves the volume. @default false */
  keepData?: boolean;
}

export class DynamoDbLocal extends pulumi.ComponentResource {
  /** The endpoint for containers on its network, e.g. http://dynamodb:8000. */
  public readonly endpoint: pulumi.Output<string>;
  /** The network it is reached on: the one it was given, or its own sealed one. */
  public readonly networkName: pulumi.Output<string>;
  /**
   * The Docker volume that holds the tables; destroying the stack removes it, nothing else does. Known once the
   * database runs on it, so that an app that prepares its table there waits for that.
   */
  public readonly dataVolume: pulumi.Output<string>;

  constructor(name: string, args: DynamoDbLocalArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:data:DynamoDbLocal", name, {}, opts);
    const {
      image = DYNAMODB_LOCAL_IMAGE,
      hostPort,
      alias = "dynamodb",
      memoryMb = CONTAINER_MEMORY_MIB.dynamodbLocal,
      keepData = false,
    } = args;

    // Sealed: created first, and the volume waits for it, so that a network Docker cannot create (its address
    // pools used up) leaves no volume or container behind.
    const sealed =
      args.network === undefined
        ? new docker.Network(`${name}-data-net`, { internal: true }, { parent: this })
        : undefined;
    const network = sealed?.name ?? pulumi.output(args.network as pulumi.Input<string>);
    const pulled = new docker.RemoteImage(
      `${name}-dynamodb-image`,
      { name: image, keepLocally: true },
      { parent: this },
    );
    // No option that a later change could alter: a replaced volume would be an empty one.
    const data = new docker.Volume(
      `${name}-dynamodb-data`,
      args.volumeName === undefined ? {} : { name: args.volumeName },
      { parent: this, dependsOn: sealed, retainOnDelete: keepData },
    );
    const container = new docker.Container(
      `${name}-dynamodb`,
      {
        image: pulled.imageId,
        // The image's entrypoint is java; -sharedDb so that any credentials see the same tables.
        command: ["-jar", "DynamoDBLocal.jar", "-sharedDb", "-dbPath", DATA_PATH],
        envs: [`JAVA_TOOL_OPTIONS=${jvmOptions(memoryMb)}`],
        volumes: [{ volumeName: data.name, containerPath: DATA_PATH }],
        ...(hostPort !== undefined && {
          ports: [{ internal: DYNAMODB_LOCAL_PORT, external: hostPort, ip: "127.0.0.1" }],
        }),
        networksAdvanced: [{ name: network, aliases: [alias] }],
        memory: memoryMb,
        // No swap, as the app's: and Docker reports an unset swap limit back as twice the memory (drift).
        memorySwap: memoryMb,
        restart: "unless-stopped",
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
      },
      // Delete-first: the host port may be fixed, and two databases must never open the same files.
      { parent: this, deleteBeforeReplace: true },
    );

    this.dataVolume = pulumi.all([data.name, container.id]).apply(([volumeName]) => volumeName);
    this.endpoint = pulumi.output(`http://${alias}:${DYNAMODB_LOCAL_PORT}`);
    this.networkName = network;
    this.registerOutputs({
      endpoint: this.endpoint,
      networkName: this.networkName,
      dataVolume: this.dataVolume,
    });
  }
}
