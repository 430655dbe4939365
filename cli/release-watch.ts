/**
 * The readiness watch of a new release, which AppContainer's gate runs on the deployer's machine
 * (`node --import tsx cli/release-watch.ts`, from the project directory): it polls the new container
 * until its app answers the readiness probe (exit 0), and refuses the release (exit 1) as soon as the
 * container's own state shows its process exited (a stop, or a restart by the restart policy), or once the
 * readiness timeout has passed. A refusal prints one line, REFUSAL_MARKER and a JSON RefusalReport with the
 * container's last log lines, for the error hook to quote.
 */
import { execFile } from "node:child_process";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { REFUSAL_MARKER, type RefusalReport, WATCH_ENV } from "../stack/contract.js";

const run = promisify(execFile);

/** How many of the container's last log lines a refusal quotes. */
export const QUOTED_LOG_LINES = 20;

/** Between two looks at the container: a probe is a short node process inside it. */
const POLL_MS = 200;

/** The longest a docker command may take (a probe bounds its own request at 2 s): past it, it has failed. */
const DOCKER_COMMAND_TIMEOUT_MS = 10_000;

/** The part of `docker inspect` the watch reads. */
export interface ContainerState {
  State: { Status: string; ExitCode: number };
  RestartCount: number;
}

/**
 * Why the release must be refused now, or undefined while it may still become ready. An exit is final: the
 * restart policy would start the process again, but a release whose process exits before it is ready is
 * broken, and waiting out the timeout would only delay saying so.
 */
export function refusalReason(
  container: ContainerState,
  waitedSeconds: number,
  timeoutSeconds: number,
): string | undefined {
  const { Status, ExitCode } = container.State;
  const restarts = container.RestartCount;
  const times = `${restarts} time${restarts === 1 ? "" : "s"}`;
  // Exited, or between exit and restart: the exit code is its process's.
  if (Status === "exited" || Status === "dead" || Status === "restarting") {
    return `its process exited with code ${ExitCode} before it was ready${restarts > 0 ? `, and Docker restarted it ${times}` : ""}`;
  }
  // Running again after a restart: Docker has reset the exit code, and only the count tells.
  if (restarts > 0) return `its process exited before it was ready, and Docker restarted it ${times}`;
  if (waitedSeconds >= timeoutSeconds) return `it did not become ready within ${timeoutSeconds} s`;
  return undefined;
}

/**
 * The last `count` lines of `docker logs --timestamps`, stdout and stderr merged in the order they were
 * written, without their timestamps.
 */
export function mergeLogLines(stdout: string, stderr: string, count: number): string[] {
  const lines = `${stdout}\n${stderr}`.split("\n").filter((line) => line.trim() !== "");
  const stamp = (line: string) => line.slice(0, line.indexOf(" "));
  return lines
    .sort((a, b) => (stamp(a) < stamp(b) ? -1 : stamp(a) > stamp(b) ? 1 : 0))
    .slice(-count)
    .map((line) => line.slice(line.indexOf(" ") + 1));
}

function readEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`release-watch: ${name} is not set`);
  return value;
}

async function watch(): Promise<number> {
  const container = readEnv(WATCH_ENV.container);
  const timeoutSeconds = Number(readEnv(WATCH_ENV.timeoutSeconds));
  const probe = JSON.parse(readEnv(WATCH_ENV.probe)) as string[];
  const [cli, ...cliArgs] = JSON.parse(readEnv(WATCH_ENV.docker)) as [string, ...string[]];
  const docker = (...args: string[]) =>
    run(cli, [...cliArgs, ...args], { maxBuffer: 4 * 1024 * 1024, timeout: DOCKER_COMMAND_TIMEOUT_MS });
  const startedAt = performance.now();
  for (;;) {
    const [state] = JSON.parse((await docker("inspect", container)).stdout) as [ContainerState];
    const waitedSeconds = (performance.now() - startedAt) / 1000;
    const reason = refusalReason(state, waitedSeconds, timeoutSeconds);
    if (reason !== undefined) {
      const logs = await docker("logs", "--timestamps", "--tail", String(QUOTED_LOG_LINES), container);
      const report: RefusalReport = {
        reason,
        lastLines: mergeLogLines(logs.stdout, logs.stderr, QUOTED_LOG_LINES),
      };
      process.stdout.write(`${REFUSAL_MARKER}${JSON.stringify(report)}\n`);
      return 1;
    }
    const ready = await docker("exec", container, ...probe).then(
      () => true,
      () => false,
    );
    if (ready) {
      process.stdout.write(`ready after ${waitedSeconds.toFixed(1)} s\n`);
      return 0;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  watch().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stdout.write(
        `release-watch failed: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(2);
    },
  );
}
