/**
 * AppContainer: runs one release of the activity API image on any Docker provider (the local engine, or an EC2
 * host's over SSH) behind the FrontProxy: no host port, a DNS alias on the proxy's network, a readiness gate
 * that the deployment waits for, bounded logs, and the hardening the image allows. A new release starts beside
 * the old one and the old one is stopped only once the new one is ready; a release whose process exits, or
 * that is not ready within the readiness timeout, fails the update and leaves the old one serving.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { APP_PORT, APP_UID, type AppEnv, ENV, READY_PATH } from "../app/src/contract.js";
import { CONTAINER_MEMORY_MIB, parseRefusal, type RefusalReport, WATCH_ENV } from "../stack/contract.js";
import { APP_ALIAS } from "./front-proxy.js";

/** The label that names a container's release (its image tag). */
export const RELEASE_LABEL = "activity.release";
/** The label that names the data its table lives in (DynamoDbLocal.dataVolume). */
const DATA_LABEL = "activity.data";

/** The image's readiness probe, run inside the container: exit 0 once /ready answers 200. */
const READINESS_PROBE = ["node", "dist/healthcheck.js", READY_PATH];

/** What the gate runs, from the project directory (the program's own loader, tsx, runs the TypeScript). */
const RELEASE_WATCH = "node --import tsx cli/release-watch.ts";

/** The default of the readiness timeout, and its bounds (stack/settings.ts reads the stack's own). */
export const READINESS_TIMEOUT_SECONDS = { default: 30, min: 5, max: 60 } as const;

export interface AppContainerArgs {
  /** The image, pinned by digest (AppImage.imageRef). */
  image: pulumi.Input<string>;
  /** The release the image is: its tag, e.g. 0.1.0-d6c1d784addc. Labelled on the container, and exported. */
  release: string;
  /**
   * Pull `image` onto the engine first (a remote host), and remove it there once a newer release replaces this
   * one; a locally built image needs no pull. @default false
   */
  pull?: boolean;
  /** APP_ENV: `test` switches the app to regional DynamoDB; `development` lets it create its table. */
  appEnv: AppEnv;
  /** TABLE_NAME. */
  tableName: pulumi.Input<string>;
  /** AWS_REGION (AWS stacks). @default unset */
  region?: pulumi.Input<string>;
  /**
   * Who may call the API (AUTH_*), and how often (RATE_LIMIT_*). @default unset: an open API with the app's
   * default rate limits
   */
  access?: ApiAccess;
  /** DYNAMODB_ENDPOINT, for DynamoDB Local in dev only. @default unset: the regional endpoint */
  dynamodbEndpoint?: pulumi.Input<string>;
  /**
   * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the identity of a tenant of a shared host, whose containers
   * reach no instance role (TableIdentity). The secret stays a Pulumi secret, in the container's environment
   * only. @default unset: the SDK's default chain (the instance role of a single-tenant host)
   */
  awsCredentials?: { accessKeyId: pulumi.Input<string>; secretAccessKey: pulumi.Input<string> };
  /**
   * With DynamoDB Local: the volume its tables live in (DynamoDbLocal.dataVolume), labelled on the container. A
   * development app creates its table when it starts, so new data (a first volume, or another) replaces the
   * container, which then creates its table there. @default unset
   */
  database?: pulumi.Input<string>;
  /** The FrontProxy's network, which the container joins. */
  network: pulumi.Input<string>;
  /** The DNS alias the proxy finds the app under on that network. @default "api" (APP_ALIAS) */
  alias?: string;
  /**
   * A second network the container joins, where its database is and the proxy is not: a sealed DynamoDbLocal's
   * (DynamoDbLocal.networkName). @default unset: the database, if any, is on `network`
   */
  databaseNetwork?: pulumi.Input<string>;
  /**
   * Reads the release serving before this update (the stack's previous `release` output), to name it in the
   * message of a release that fails. Called only then; it may reject, and the message says the release could
   * not be read. @default unset: the message names none
   */
  servingRelease?: () => Promise<string | undefined>;
  /** Memory limit in MiB. @default 512 (CONTAINER_MEMORY_MIB.app) */
  memoryMb?: number;
  /**
   * Seconds the deployment waits for a release that runs to answer /ready before refusing it; a release whose
   * process exits is refused at once. @default 30 (READINESS_TIMEOUT_SECONDS)
   */
  readinessTimeoutSeconds?: number;
  /**
   * How the gate reaches a remote host's engine with the docker CLI: over SSH to `dockerHost`
   * (`ssh://user@host`) with the Docker provider's own `sshOpts`. @default unset: the local engine
   */
  remoteEngine?: { dockerHost: pulumi.Input<string>; sshOpts: pulumi.Input<string[]> };
}

/** Who may call the API and how often, as the stack config says. */
export interface ApiAccess {
  /** Bearer tokens from this OIDC issuer, for this audience; undefined: an open API. */
  auth: { issuer: string; audience: string; userClaim: string } | undefined;
  /** Requests one caller may make per window. */
  rateLimit: { max: number; windowSeconds: number };
}

/**
 * The app's environment for `access`, behind one proxy that appends the client's address to X-Forwarded-For
 * (the FrontProxy, or the ECS load balancer): the app trusts that one hop, so that its rate limits key on the
 * real client and it sends HSTS on answers the proxy received over HTTPS.
 */
export function accessEnvironment(access: ApiAccess | undefined): [string, string][] {
  const environment: [string, string][] = [[ENV.trustedProxyHops, "1"]];
  if (access === undefined) return environment;
  environment.push(
    [ENV.rateLimitMax, String(access.rateLimit.max)],
    [ENV.rateLimitWindowSeconds, String(access.rateLimit.windowSeconds)],
  );
  const { auth } = access;
  if (auth !== undefined) {
    environment.push(
      [ENV.authIssuer, auth.issuer],
      [ENV.authAudience, auth.audience],
      [ENV.authUserClaim, auth.userClaim],
    );
  }
  return environment;
}

/** The docker CLI's command line for the gate: docker itself, or ssh to the remote host, then docker. */
export function dockerCommand(remote: { dockerHost: string; sshOpts: string[] } | undefined): string[] {
  if (remote === undefined) return ["docker"];
  const destination = remote.dockerHost.replace(/^ssh:\/\//, "");
  return ["ssh", ...remote.sshOpts, destination, "docker"];
}

/** The container's environment: only what the app (and its AWS SDK) reads, each optional one only when given. */
function appEnvironment(
  args: Pick<
    AppContainerArgs,
    "appEnv" | "tableName" | "region" | "dynamodbEndpoint" | "awsCredentials" | "access"
  >,
) {
  const pairs: [string, pulumi.Input<string> | undefined][] = [
    [ENV.appEnv, args.appEnv],
    [ENV.port, String(APP_PORT)],
    [ENV.tableName, args.tableName],
    [ENV.region, args.region],
    [ENV.dynamodbEndpoint, args.dynamodbEndpoint],
    [ENV.accessKeyId, args.awsCredentials?.accessKeyId],
    [ENV.secretAccessKey, args.awsCredentials?.secretAccessKey],
    ...accessEnvironment(args.access),
  ];
  return pairs
    .filter((pair): pair is [string, pulumi.Input<string>] => pair[1] !== undefined)
    .map(([name, value]) => pulumi.interpolate`${name}=${value}`);
}

/**
 * Whether the engine this program runs under can register an error hook. The Pulumi engine can; the mock
 * monitor of the SDK's own unit-test support (`pulumi.runtime.setMocks`) has no `registerErrorHook`, and a hook
 * that cannot be registered keeps the resource it is bound to from ever being registered (the SDK awaits the
 * hook first). Mocks never run hooks anyway; under them the container is registered without it.
 */
function engineRunsErrorHooks(): boolean {
  return typeof pulumi.runtime.getMonitor()?.registerErrorHook === "function";
}

/** What a failed release's `up` says, in one paragraph a user can act on, and the lines the release logged. */
export function failedReleaseMessage(failed: {
  release: string;
  container: string;
  /** The release serving before: its tag, none (undefined), or why it could not be read. */
  serving: string | undefined | { readError: string };
  /** Why it was refused, and its last log lines (the gate's report), or the error of the failed step. */
  refusal: RefusalReport | { error: string };
}): string {
  const untouched = "nothing was switched and its container was not touched.";
  const { serving, refusal } = failed;
  const still =
    serving === undefined
      ? "No earlier release was serving."
      : typeof serving === "string"
        ? `Release ${serving} is still serving: ${untouched}`
        : `The release serving before could not be read (${serving.readError}); it is still serving: ${untouched}`;
  const why = "reason" in refusal ? refusal.reason : `its deployment failed (${refusal.error})`;
  const logged =
    "lastLines" in refusal
      ? refusal.lastLines.length === 0
        ? " It logged nothing."
        : ` The last lines it logged:\n${refusal.lastLines.map((line) => `  | ${line}`).join("\n")}`
      : "";
  return (
    `Release ${failed.release} was refused: ${why}. ${still} ` +
    `The failed container ${failed.container} takes no traffic and stays for inspection (docker logs ${failed.container}) ` +
    `until the next \`pulumi up\` replaces it.${logged}`
  );
}

export class AppContainer extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  /** The image the container runs. */
  public readonly image: pulumi.Output<string>;
  /** The release the container runs, read back from it: known only once it is ready. */
  public readonly release: pulumi.Output<string>;

  constructor(name: string, args: AppContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:app:AppContainer", name, {}, opts);
    const {
      pull = false,
      alias = APP_ALIAS,
      memoryMb = CONTAINER_MEMORY_MIB.app,
      readinessTimeoutSeconds = READINESS_TIMEOUT_SECONDS.default,
    } = args;

    const { release } = args;
    // Named for the release, as AppImage's local image is: a release owns the image it pulled.
    const image = pull
      ? new docker.RemoteImage(
          `${name}-app-image-${release}`,
          { name: args.image, keepLocally: false },
          { parent: this },
        ).imageId
      : pulumi.output(args.image);
    // Says which release failed, why, what it logged, and which still serves; bound to the container and its
    // gate wherever the engine can run error hooks.
    const explainFailure = engineRunsErrorHooks()
      ? new pulumi.ErrorHook(`${name}-failed-release`, async (failure) => {
          if (failure.failedOperation === "create") {
            const environment = failure.newInputs?.environment as Record<string, string> | undefined;
            const error = failure.errors[0] ?? "unknown error";
            pulumi.log.error(
              failedReleaseMessage({
                release,
                container: String(
                  environment?.[WATCH_ENV.container] ?? failure.newInputs?.name ?? failure.name,
                ),
                serving: await readServing(args.servingRelease),
                refusal: parseRefusal(error) ?? { error: error.split("\n")[0] ?? error },
              }),
              this,
            );
          }
          return false;
        })
      : undefined;
    const onError = explainFailure && { hooks: { onError: [explainFailure] } };

    // One resource per release, named for it, rather than one resource replaced by each release: a replaced
    // resource is marked for deletion once its replacement exists, and when the gate then fails, the next
    // `pulumi up` deletes the marked one first (the engine retires pending deletes before anything else),
    // which stopped the release still serving. A release's container that the program no longer declares is
    // deleted only at the end of an update that succeeded, after its successor passed the gate.
    const container = new docker.Container(
      `${name}-app-${release}`,
      {
        image,
        envs: appEnvironment(args),
        labels: [
          { label: RELEASE_LABEL, value: release },
          ...(args.database === undefined ? [] : [{ label: DATA_LABEL, value: args.database }]),
        ],
        // No host port: the FrontProxy owns it and finds the app by this alias, so that two releases can run
        // side by side during a rollout.
        networksAdvanced: [
          { name: args.network, aliases: [alias] },
          ...(args.databaseNetwork === undefined ? [] : [{ name: args.databaseNetwork }]),
        ],
        restart: "unless-stopped",
        // Readiness, for `docker ps` and the engine's own view; the deployment waits on the gate below, which
        // probes the same way but at once, where Docker 20.10 (no start interval) runs the first check only
        // one interval after the start.
        healthcheck: {
          tests: ["CMD", ...READINESS_PROBE],
          interval: "5s",
          timeout: "3s",
          retries: 3,
          startPeriod: "30s",
        },
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
        // SIGTERM, then the app's 8 s drain, before Docker's SIGKILL.
        destroyGraceSeconds: 10,
        mustRun: true,
      },
      {
        parent: this,
        // The Docker provider replaces every container delete-first (pulumi-docker provider/resources.go:
        // DeleteBeforeReplace: true for docker_container), an outage each time. Said explicitly, false overrides
        // it: a container replaced within its release (a changed setting) is created, and must pass its gate,
        // before the old one is deleted.
        deleteBeforeReplace: false,
        ...onError,
      },
    );

    // The gate: the update goes on (and the old release is stopped) only once the new container answers
    // /ready. The Docker provider's own `wait` watches the health status alone, so a release whose process
    // exits would keep the user waiting for the whole timeout; this watch reads the container's state, and
    // refuses it as soon as it exits or restarts (cli/release-watch.ts, decision 4).
    const remoteEngine = args.remoteEngine && pulumi.output(args.remoteEngine);
    const gate = new command.local.Command(
      `${name}-ready-${release}`,
      {
        create: RELEASE_WATCH,
        environment: {
          [WATCH_ENV.container]: container.name,
          [WATCH_ENV.timeoutSeconds]: String(readinessTimeoutSeconds),
          [WATCH_ENV.probe]: JSON.stringify(READINESS_PROBE),
          [WATCH_ENV.docker]: remoteEngine
            ? remoteEngine.apply((remote) => JSON.stringify(dockerCommand(remote)))
            : JSON.stringify(dockerCommand(undefined)),
        },
        // A container replaced within its release (a changed setting) is watched again.
        triggers: [container.id],
        // The error hook says what a refusal printed, once.
        logging: "none",
      },
      { parent: this, dependsOn: [container], ...onError },
    );

    this.containerName = container.name;
    this.image = image;
    this.release = pulumi
      .all([container.labels, gate.stdout])
      .apply(([labels]) => labels?.find((label) => label.label === RELEASE_LABEL)?.value ?? "");
    this.registerOutputs({ containerName: this.containerName, image: this.image, release: this.release });
  }
}

/** The serving release for the failure message: its read's error is reported in the message, never thrown. */
async function readServing(
  read: AppContainerArgs["servingRelease"],
): Promise<string | undefined | { readError: string }> {
  try {
    return await read?.();
  } catch (error) {
    return { readError: error instanceof Error ? error.message : String(error) };
  }
}
