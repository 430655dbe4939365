/**
 * Turns the inputs of a docker.Container, as the program declares them, into the Docker Engine API's create
 * options, the way the Docker provider does, so that a test can start what the program declares for real;
 * and waits for such a container to become healthy.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Container, ContainerCreateOptions } from "dockerode";

export interface ContainerInputs {
  image: string;
  command?: string[];
  envs?: string[];
  user?: string;
  ports?: Array<{ internal: number; external?: number; ip?: string; protocol?: string }>;
  networksAdvanced?: Array<{ name: string; aliases?: string[] }>;
  healthcheck?: {
    tests: string[];
    interval?: string;
    timeout?: string;
    startPeriod?: string;
    retries?: number;
  };
  restart?: string;
  readOnly?: boolean;
  tmpfs?: Record<string, string>;
  capabilities?: { adds?: string[]; drops?: string[] };
  securityOpts?: string[];
  memory?: number;
  logDriver?: string;
  logOpts?: Record<string, string>;
}

/** "5s", "1m30s", "250ms" to nanoseconds, as the Engine API wants durations. */
function nanoseconds(duration: string | undefined): number | undefined {
  if (duration === undefined) return undefined;
  const units: Record<string, number> = { h: 3.6e12, m: 6e10, s: 1e9, ms: 1e6 };
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+)(ms|h|m|s)/g))
    total += Number(amount) * (units[unit ?? "s"] ?? 0);
  return total;
}

export function createOptions(name: string, inputs: ContainerInputs): ContainerCreateOptions {
  const ports = inputs.ports ?? [];
  const network = inputs.networksAdvanced?.[0];
  return {
    name,
    Image: inputs.image,
    ...(inputs.command && { Cmd: inputs.command }),
    Env: inputs.envs ?? [],
    ...(inputs.user && { User: inputs.user }),
    ExposedPorts: Object.fromEntries(ports.map((port) => [`${port.internal}/${port.protocol ?? "tcp"}`, {}])),
    ...(inputs.healthcheck && {
      Healthcheck: {
        Test: inputs.healthcheck.tests,
        Interval: nanoseconds(inputs.healthcheck.interval),
        Timeout: nanoseconds(inputs.healthcheck.timeout),
        StartPeriod: nanoseconds(inputs.healthcheck.startPeriod),
        Retries: inputs.healthcheck.retries,
      },
    }),
    HostConfig: {
      PortBindings: Object.fromEntries(
        ports.map((port) => [
          `${port.internal}/${port.protocol ?? "tcp"}`,
          [{ HostIp: port.ip ?? "", HostPort: String(port.external ?? "") }],
        ]),
      ),
      ...(inputs.restart && { RestartPolicy: { Name: inputs.restart } }),
      ReadonlyRootfs: inputs.readOnly ?? false,
      ...(inputs.tmpfs && { Tmpfs: inputs.tmpfs }),
      ...(inputs.capabilities?.drops && { CapDrop: inputs.capabilities.drops }),
      ...(inputs.capabilities?.adds && { CapAdd: inputs.capabilities.adds }),
      ...(inputs.securityOpts && { SecurityOpt: inputs.securityOpts }),
      ...(inputs.memory && { Memory: inputs.memory * 1024 * 1024 }),
      ...(inputs.logDriver && { LogConfig: { Type: inputs.logDriver, Config: inputs.logOpts ?? {} } }),
      ...(network && { NetworkMode: network.name }),
    },
    ...(network && {
      NetworkingConfig: { EndpointsConfig: { [network.name]: { Aliases: network.aliases ?? [] } } },
    }),
  };
}

/** Resolves once `container` reports healthy; throws if it exits first or is not healthy within `timeoutMs`. */
export async function waitHealthy(container: Container, timeoutMs: number, pollMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { State } = await container.inspect();
    if (State.Health?.Status === "healthy") return;
    if (!State.Running)
      throw new Error(`the container exited with code ${State.ExitCode} before it was healthy`);
    if (Date.now() > deadline) throw new Error(`the container was not healthy within ${timeoutMs / 1000} s`);
    await sleep(pollMs);
  }
}
