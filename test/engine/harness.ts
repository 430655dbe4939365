/**
 * What the real-engine suites share: a fresh copy of the repository to run in (as a user's fresh clone, with
 * this checkout's changes), the Pulumi CLI from PATH on a file backend in that copy, commands run and timed, and
 * a client that reads the API without pause and counts what failed.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { HOST_PORT } from "../../app/src/contract.js";
import { ROOT } from "../helpers/pulumi.js";
import { type CommandResult, run } from "../helpers/run.js";

const exec = promisify(execFile);

/** A copy of the repository in a temporary directory, committed, with this checkout's node_modules. */
export interface ProjectCopy {
  dir: string;
  /** The environment for `pulumi` and the npm scripts: a file backend in the copy, no update checks. */
  env: NodeJS.ProcessEnv;
  run(command: string, ...args: string[]): Promise<CommandResult>;
  /** `git status --porcelain` of the copy: what the commands changed in tracked or new files. */
  changedFiles(): Promise<string[]>;
  remove(): Promise<void>;
}

/**
 * Copies what a clone of this checkout would hold (tracked files and new files git does not ignore, as they
 * are now), links node_modules instead of running `npm ci` again, and commits it all, so that a test can tell
 * which files a command rewrote.
 */
export async function copyProject(): Promise<ProjectCopy> {
  const dir = await mkdtemp(join(tmpdir(), "activity-engine-"));
  const { stdout } = await exec("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const files = stdout.split("\0").filter((file) => file.length > 0);
  await new Promise<void>((resolve, reject) => {
    const pack = spawn("tar", ["-c", "--null", "-T", "-", "--ignore-failed-read"], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    });
    const unpack = spawn("tar", ["-x", "-C", dir], { stdio: ["pipe", "inherit", "inherit"] });
    pack.stdout.pipe(unpack.stdin);
    pack.stdin.end(files.join("\0"));
    unpack.on("error", reject);
    unpack.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}`))));
  });
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  // A file backend's directory must exist (\`pulumi login file://...\` does not create it).
  await mkdir(join(dir, ".pulumi"));
  const git = (...args: string[]) =>
    exec("git", ["-c", "user.name=engine-suite", "-c", "user.email=engine@example.invalid", ...args], {
      cwd: dir,
    });
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-q", "-m", "a fresh clone");

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${dir}/.pulumi`,
    PULUMI_CONFIG_PASSPHRASE: "",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    // The project's packages include @pulumi/aws and @pulumi/awsx, whose plugins no stack of this suite loads
    // and this machine cannot download: without this, every pulumi command that runs the program spends about
    // 2.7 s retrying those downloads before it starts. A machine with network installs them once.
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // The suite's own NODE_OPTIONS (vitest's) must not leak into the program the engine starts.
    NODE_OPTIONS: "",
  };
  return {
    dir,
    env,
    run: (command, ...args) => run(command, args, { cwd: dir, env }),
    changedFiles: async () =>
      (await git("status", "--porcelain")).stdout.split("\n").filter((line) => line.trim().length > 0),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * The start of a suite that deploys the dev stack: the engine's version (for its figures), port 10001 free (a
 * dev stack left running would answer the suite's requests in its place), then a fresh copy of the project.
 */
export async function startDevStackSuite(): Promise<{ engine: string; copy: ProjectCopy }> {
  const engine = await requireEngine();
  const busy = await fetch(`http://127.0.0.1:${HOST_PORT}/health`).then(
    () => true,
    () => false,
  );
  if (busy) throw new Error(`something already answers on port ${HOST_PORT}: stop it before the suite runs`);
  return { engine, copy: await copyProject() };
}

/** Fails fast, naming what is missing, when the suite cannot run here. */
export async function requireEngine(): Promise<string> {
  try {
    const { stdout } = await exec("pulumi", ["version"], {
      env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    });
    await exec("docker", ["info"]);
    return stdout.trim();
  } catch (error) {
    throw new Error(
      `the real-engine suite needs the Pulumi CLI on PATH and a Docker engine that answers (${(error as Error).message.split("\n")[0]}); ` +
        'see docs/testing.md: export PATH="$(bash ../shared/engine/build.sh | tail -1):$PATH"',
    );
  }
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP request, answered or rejected within `timeoutMs`. A `*.localhost` host is reached on 127.0.0.1 with
 * its name in the Host header, as browsers and curl resolve it (Node's resolver does not).
 */
export function request(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const target = new URL(url);
  const local = target.hostname === "localhost" || target.hostname.endsWith(".localhost");
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: local ? "127.0.0.1" : target.hostname,
        port: target.port || 80,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? "GET",
        headers: {
          host: target.host,
          ...(options.body === undefined ? {} : { "content-type": "application/json" }),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 3000,
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
        response.on("error", reject);
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error("no answer in time")));
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

export interface ProbeReport {
  requests: number;
  failures: number;
  /** The longest time from a failed request's start to the next success's end, in seconds. */
  longestOutageSeconds: number;
  /** The slowest request, answered or not, in seconds. */
  slowestSeconds: number;
  /** The statuses and errors of failed requests, counted. */
  failed: Record<string, number>;
}

/** The paced client of issue 21's measurements: two loops, each pausing 5 ms between requests. */
const PROBE_LOOPS = 2;
const PROBE_PAUSE_MS = 5;

/**
 * Reads `url` until stopped, as a busy client does during a rollout: PROBE_LOOPS loops on keep-alive
 * connections (Node's global agent keeps them alive), each sending its next request PROBE_PAUSE_MS after the
 * last answer (about 300 requests a second through the proxy here). A request fails on any status but 200, a
 * network error, or no answer within 3 s.
 */
export function probe(url: string): { stop(): Promise<ProbeReport> } {
  let running = true;
  const report: ProbeReport = {
    requests: 0,
    failures: 0,
    longestOutageSeconds: 0,
    slowestSeconds: 0,
    failed: {},
  };
  const loop = async () => {
    let outageStart: number | undefined;
    while (running) {
      const started = performance.now();
      let outcome: string;
      try {
        outcome = String((await request(url)).status);
      } catch (error) {
        outcome = (error as Error).message;
      }
      report.requests += 1;
      report.slowestSeconds = Math.max(report.slowestSeconds, (performance.now() - started) / 1000);
      if (outcome === "200") {
        if (outageStart !== undefined) {
          report.longestOutageSeconds = Math.max(
            report.longestOutageSeconds,
            (performance.now() - outageStart) / 1000,
          );
          outageStart = undefined;
        }
      } else {
        report.failures += 1;
        report.failed[outcome] = (report.failed[outcome] ?? 0) + 1;
        outageStart ??= started;
      }
      await sleep(PROBE_PAUSE_MS);
    }
    if (outageStart !== undefined) {
      report.longestOutageSeconds = Math.max(
        report.longestOutageSeconds,
        (performance.now() - outageStart) / 1000,
      );
    }
  };
  const loops = Promise.all(Array.from({ length: PROBE_LOOPS }, loop));
  return {
    stop: async () => {
      running = false;
      await loops;
      return report;
    },
  };
}

/** The figures a suite measured, printed once at its end (they go into docs/testing.md's tables). */
export function printFigures(title: string, rows: ReadonlyArray<readonly [string, string]>): void {
  const width = Math.max(...rows.map(([name]) => name.length));
  process.stdout.write(
    `\n${title}\n${rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`).join("\n")}\n`,
  );
}

/** One line of `pulumi up --json`: the engine's events, stamped in whole seconds. */
interface EngineEvent {
  timestamp: number;
  resourcePreEvent?: { metadata: { op: string; type: string; urn: string } };
  resOutputsEvent?: { metadata: { op: string; type: string; urn: string } };
}

/** One line of `docker events --format '{{json .}}'`, stamped in nanoseconds. */
interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano: number;
}

/** The engine's events in the output of `pulumi up --json`: one JSON object a line. */
export function parseEngineEvents(stdout: string): EngineEvent[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as EngineEvent);
}

/**
 * Records what the Docker engine does from now until stopped. A live subscription, not a replay afterwards:
 * the daemon keeps only its last 256 events for replay, and a readiness gate's probes (three events each)
 * push a minute's early events out of it.
 */
export function recordDockerEvents(): { stop(): Promise<DockerEvent[]> } {
  const since = (Date.now() / 1000 - 1).toFixed(3);
  const events = spawn("docker", ["events", "--since", since, "--format", "{{json .}}"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  events.stdout.setEncoding("utf8");
  events.stdout.on("data", (chunk: string) => {
    output += chunk;
  });
  return {
    stop: async () => {
      // Events reach the subscriber a moment after they happen: let the last ones arrive.
      await sleep(500);
      const closed = new Promise((resolve) => events.on("close", resolve));
      events.kill();
      await closed;
      return output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as DockerEvent);
    },
  };
}

/** The steps of a rollout, in order, each with its seconds (undefined where a mark was not seen). */
export type RolloutBreakdown = Array<[step: string, seconds: number | undefined]>;

/**
 * Where a rollout's wall time went, from the engine's events (`pulumi up --json`, whole seconds: the start of
 * the image's step)
 * and the Docker engine's (nanoseconds: the image tagged, the new container created, started and first
 * answering /ready, the old one killed and removed). The steps follow each other, so they add up to the wall
 * time; a step whose marks are missing is undefined and its time goes to the next step that has them.
 */
export function rolloutBreakdown(rollout: {
  startedAt: number;
  endedAt: number;
  release: string;
  oldRelease: string;
  engine: EngineEvent[];
  docker: DockerEvent[];
}): RolloutBreakdown {
  const { release, oldRelease, docker } = rollout;
  const ms = (event: DockerEvent | undefined) => (event === undefined ? undefined : event.timeNano / 1e6);
  const ofRelease = (tag: string, action: string) =>
    docker.find(
      (event) =>
        event.Type === "container" &&
        event.Action === action &&
        event.Actor.Attributes["activity.release"] === tag,
    );
  const imageStep = rollout.engine.find(
    (event) =>
      event.resourcePreEvent?.metadata.type === "docker:index/image:Image" &&
      event.resourcePreEvent.metadata.op !== "same",
  );
  const created = ofRelease(release, "create");
  const ready = docker.find(
    (event) =>
      event.Actor.ID === created?.Actor.ID &&
      ((event.Action.startsWith("exec_die") && event.Actor.Attributes.exitCode === "0") ||
        event.Action === "health_status: healthy"),
  );
  const marks: Array<[string, number | undefined]> = [
    ["engine start and program", imageStep === undefined ? undefined : imageStep.timestamp * 1000],
    [
      "image build",
      ms(
        docker.find(
          (event) =>
            event.Type === "image" &&
            event.Action === "tag" &&
            event.Actor.Attributes.name?.endsWith(`:${release}`) === true,
        ),
      ),
    ],
    ["built image to container create (engine)", ms(created)],
    ["container create and start", ms(ofRelease(release, "start"))],
    ["time to ready (/ready answers)", ms(ready)],
    ["ready to the old release's stop (engine)", ms(ofRelease(oldRelease, "kill"))],
    ["stopping the old release", ms(ofRelease(oldRelease, "destroy"))],
    ["engine finish", rollout.endedAt],
  ];
  let last = rollout.startedAt;
  return marks.map(([step, at]) => {
    if (at === undefined) return [step, undefined];
    const seconds = Math.max(0, at - last) / 1000;
    last = Math.max(last, at);
    return [step, seconds];
  });
}

/** The median of several timed runs: the figure a timed step is judged by, every run being printed too. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
