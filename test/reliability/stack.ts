/**
 * The stack the Docker scenarios run: the app container exactly as the Pulumi AppContainer declares it
 * (read-only root, no capabilities, restart policy, memory limit, readiness healthcheck) on a loopback port,
 * beside a dynalite container on a network of their own.
 */
import { randomUUID } from "node:crypto";
import type Dockerode from "dockerode";
import {
  getContainerRuntimeClient,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
} from "testcontainers";
import { APP_PORT, ENV } from "../../app/src/contract.js";
import { AppContainer } from "../../components/app-container.js";
import { type ContainerInputs, createOptions, waitHealthy } from "../helpers/docker-spec.js";
import {
  buildAppImage,
  buildDynaliteImage,
  DYNALITE_PORT,
  startDynaliteContainer,
} from "../helpers/images.js";
import { runDeclarations } from "../helpers/pulumi.js";
import type { Violations } from "./report.js";

/** Contains a '.', which no activity id can: a 404 echoing a fuzzed id can never look like a leaked name. */
export const TABLE_NAME = "reliability.activities";
const DATABASE_ALIAS = "dynamodb";
const HEALTHY_TIMEOUT_MS = 60_000;
/** pino's "error" level: what the app logs for a 500 or a failed close (app/src/http/error-handler.ts). */
const LOG_LEVEL_ERROR = 50;

export interface Stack {
  /** The app on its loopback port: http://127.0.0.1:PORT. */
  url: string;
  app: Dockerode.Container;
  database: Dockerode.Container;
  /** Runs `command` in `container`; resolves with its exit code and output. */
  exec(container: Dockerode.Container, command: string[]): Promise<{ exitCode: number; output: string }>;
  /** The app process's resident set size, from /proc/1/status inside its container (node is PID 1). */
  appRssMb(): Promise<number>;
  /** The app's log, one JSON object per event. */
  appLogs(): Promise<Array<Record<string, unknown>>>;
  /**
   * Adds a violation for each sign of a fault in the app container since it started: a crash or restart, an
   * out-of-memory kill, an error logged (what a 500 leaves), or, unless `stopped` is expected, not running.
   */
  checkAppFaults(violations: Violations, expect?: { stopped: boolean }): Promise<void>;
  close(): Promise<void>;
}

let images: Promise<[string, string]> | undefined;

/** Builds both images once per process (BuildKit's cache makes a rebuild after the container tests quick). */
function buildImages(): Promise<[string, string]> {
  images ??= Promise.all([buildAppImage("activity-api:reliability"), buildDynaliteImage()]);
  return images;
}

/**
 * The app container's inputs as the program declares them, on `network`, and published on a free loopback port
 * so that the scenarios reach the app itself, not the FrontProxy the program puts in front of it.
 */
async function declaredAppContainer(image: string, network: string): Promise<ContainerInputs> {
  const run = await runDeclarations("reliability", {}, async () => {
    const declared = new AppContainer("reliability", {
      image,
      release: "reliability",
      appEnv: "development",
      tableName: TABLE_NAME,
      dynamodbEndpoint: `http://${DATABASE_ALIAS}:${DYNALITE_PORT}`,
      network,
    });
    return { containerName: declared.containerName };
  });
  const inputs = run.named("docker:index/container:Container", "reliability-app-reliability")
    .inputs as unknown as ContainerInputs;
  // The scenarios drive the app from one address far above any one client's rate limit (the soak offers
  // 150 requests a second): they measure the app, not the limiter, which test/app/rate-limit.test.ts covers.
  const envs = [...(inputs.envs ?? []), `${ENV.rateLimitMax}=1000000`];
  return { ...inputs, envs, ports: [{ internal: APP_PORT, external: 0, ip: "127.0.0.1" }] };
}

/**
 * Starts the stack. With `persistent`, dynalite keeps its store in a fresh named volume, so that it survives
 * `docker stop` and `docker start` of its container.
 */
export async function startStack(options: { persistent?: boolean } = {}): Promise<Stack> {
  const [appImage, dynaliteImage] = await buildImages();
  const client = await getContainerRuntimeClient();
  const docker = client.container.dockerode;
  const suffix = randomUUID().slice(0, 8);
  const volume = options.persistent ? `reliability-dynalite-${suffix}` : undefined;
  let network: StartedNetwork | undefined;
  let database: StartedTestContainer | undefined;
  let app: Dockerode.Container | undefined;

  const close = async () => {
    await app?.remove({ force: true }).catch(() => undefined);
    await database?.stop().catch(() => undefined);
    await network?.stop().catch(() => undefined);
    if (volume)
      await docker
        .getVolume(volume)
        .remove()
        .catch(() => undefined);
  };

  try {
    network = await new Network().start();
    database = await startDynaliteContainer(dynaliteImage, network, DATABASE_ALIAS, volume);
    const inputs = await declaredAppContainer(appImage, network.getName());
    app = await docker.createContainer(createOptions(`reliability-app-${suffix}`, inputs));
    await app.start();
    await waitHealthy(app, HEALTHY_TIMEOUT_MS);
  } catch (error) {
    await close();
    throw error;
  }

  const started = await app.inspect();
  const hostPort = started.NetworkSettings.Ports[`${APP_PORT}/tcp`]?.[0]?.HostPort;
  const appContainer = app;
  const exec: Stack["exec"] = async (container, command) => {
    const { exitCode, output } = await client.container.exec(container, command, { log: false });
    return { exitCode, output };
  };
  const appLogs = async () => {
    const raw = await appContainer.logs({ stdout: true, stderr: true });
    return raw
      .toString("utf8")
      .split("\n")
      .flatMap((line) => {
        try {
          // Each line may start with the engine's 8-byte stream header; the JSON starts at the first "{".
          return [JSON.parse(line.slice(line.indexOf("{"))) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  };

  return {
    url: `http://127.0.0.1:${hostPort}`,
    app: appContainer,
    database: client.container.getById(database.getId()),
    exec,
    appRssMb: async () => {
      const { output } = await exec(appContainer, ["cat", "/proc/1/status"]);
      const kilobytes = /VmRSS:\s+(\d+)/.exec(output)?.[1];
      if (kilobytes === undefined) throw new Error(`no VmRSS in the app's /proc/1/status: ${output}`);
      return Math.round(Number(kilobytes) / 1024);
    },
    appLogs,
    checkAppFaults: async (violations, expect = { stopped: false }) => {
      const { State, RestartCount } = await appContainer.inspect();
      violations.check(RestartCount === 0, `the app container restarted ${RestartCount} times: it crashed`);
      violations.check(!State.OOMKilled, "the app container ran out of memory");
      violations.check(
        expect.stopped || State.Running,
        `the app container stopped (exit code ${State.ExitCode})`,
      );
      violations.check(
        expect.stopped || State.StartedAt === started.State.StartedAt,
        `the app container was restarted at ${State.StartedAt}`,
      );
      for (const entry of await appLogs()) {
        if (Number(entry.level) < LOG_LEVEL_ERROR) continue;
        const error = entry.err as { message?: string } | undefined;
        violations.add("the app logged an error", `${entry.msg}: ${error?.message ?? ""}`.slice(0, 300));
      }
    },
    close,
  };
}
