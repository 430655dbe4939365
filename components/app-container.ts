/**
 * AppContainer: runs the activity API image on any Docker provider (the local engine, or an EC2 host's over
 * SSH) with its environment, the host-port mapping (10001 to the app's port), a readiness healthcheck that the
 * deployment waits for, bounded logs, and the hardening the image allows.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { APP_PORT, APP_UID, type AppEnv, ENV, HOST_PORT, READY_PATH } from "../app/src/contract.js";

export interface AppContainerArgs {
  /** The image, pinned by digest (AppImage.imageRef). */
  image: pulumi.Input<string>;
  /** Pull `image` onto the engine first (a remote host); a locally built image needs no pull. @default false */
  pull?: boolean;
  /** APP_ENV: `test` switches the app to regional DynamoDB; `development` lets it create its table. */
  appEnv: AppEnv;
  /** TABLE_NAME. */
  tableName: pulumi.Input<string>;
  /** AWS_REGION (AWS stacks). @default unset */
  region?: pulumi.Input<string>;
  /** DYNAMODB_ENDPOINT, for DynamoDB Local in dev only. @default unset: the regional endpoint */
  dynamodbEndpoint?: pulumi.Input<string>;
  /** A Docker network to join, e.g. DynamoDB Local's. @default the default bridge */
  network?: pulumi.Input<string>;
  /** Host port. @default 10001 (HOST_PORT) */
  hostPort?: number;
  /** Host address the port is bound to. @default "0.0.0.0" */
  hostIp?: string;
  /** Memory limit in MiB. @default 512 */
  memoryMb?: number;
  /** Seconds the deployment waits for the container to become healthy. @default 120 */
  healthyTimeoutSeconds?: number;
}

/** The container's environment: only what the app reads, and DYNAMODB_ENDPOINT only when one is given. */
export function appEnvironment(
  args: Pick<AppContainerArgs, "appEnv" | "tableName" | "region" | "dynamodbEndpoint">,
) {
  const pairs: [string, pulumi.Input<string> | undefined][] = [
    [ENV.appEnv, args.appEnv],
    [ENV.port, String(APP_PORT)],
    [ENV.tableName, args.tableName],
    [ENV.region, args.region],
    [ENV.dynamodbEndpoint, args.dynamodbEndpoint],
  ];
  return pairs
    .filter((pair): pair is [string, pulumi.Input<string>] => pair[1] !== undefined)
    .map(([name, value]) => pulumi.interpolate`${name}=${value}`);
}

export class AppContainer extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  /** The image the container runs. */
  public readonly image: pulumi.Output<string>;

  constructor(name: string, args: AppContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:app:AppContainer", name, {}, opts);
    const {
      pull = false,
      hostPort = HOST_PORT,
      hostIp = "0.0.0.0",
      memoryMb = 512,
      healthyTimeoutSeconds = 120,
    } = args;

    const image = pull
      ? new docker.RemoteImage(`${name}-app-image`, { name: args.image, keepLocally: true }, { parent: this })
          .imageId
      : pulumi.output(args.image);

    const container = new docker.Container(
      `${name}-app`,
      {
        image,
        envs: appEnvironment(args),
        ports: [{ internal: APP_PORT, external: hostPort, ip: hostIp }],
        ...(args.network === undefined
          ? {}
          : { networksAdvanced: [{ name: args.network, aliases: ["api"] }] }),
        restart: "unless-stopped",
        // Readiness, not just liveness: the deployment succeeds only once the app reaches its table.
        healthcheck: {
          tests: ["CMD", "node", "dist/healthcheck.js", READY_PATH],
          interval: "5s",
          timeout: "3s",
          retries: 3,
          startPeriod: "30s",
        },
        wait: true,
        waitTimeout: healthyTimeoutSeconds,
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
        user: `${APP_UID}:${APP_UID}`,
        readOnly: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges:true"],
        memory: memoryMb,
        // No swap: memory plus swap equals the limit. Left unset, Docker sets swap to twice the memory limit and
        // reports that back, so every refresh found drift (memorySwap 1024 => 0) and every `up` updated the
        // container.
        memorySwap: memoryMb,
        destroyGraceSeconds: 10,
        mustRun: true,
      },
      // The host port is fixed: the old container must free it before its replacement starts.
      { parent: this, deleteBeforeReplace: true },
    );

    this.containerName = container.name;
    this.image = image;
    this.registerOutputs({ containerName: this.containerName, image: this.image });
  }
}
