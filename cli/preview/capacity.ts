/**
 * Measures a preview host before an up adds a preview to it: its memory (an EC2 type's size, or what the local
 * Docker engine reports) and the free space of the file system Docker keeps images on (the local engine's, or
 * over SSH on an EC2 host that exists; a host this up creates has a fresh root volume and is not measured).
 */
import { execFile } from "node:child_process";
import { statfs } from "node:fs/promises";
import { promisify } from "node:util";
import type { PreviewTarget } from "../../stack/contract.js";
import type { HostState } from "./host.js";
import { firstLine } from "./output.js";
import { CostGuardError, type HostCapacity, INSTANCE_MEMORY_MIB } from "./plan.js";

const exec = promisify(execFile);

export type MeasureHost = (
  target: PreviewTarget,
  host: HostState,
  instanceType: string,
) => Promise<HostCapacity>;

/** Where Docker keeps images and containers on the EC2 host (Amazon Linux's package). */
const EC2_DOCKER_ROOT = "/var/lib/docker";

export const measureHost: MeasureHost = async (target, host, instanceType) => {
  if (target === "local") {
    const { stdout } = await exec("docker", ["info", "--format", "{{.MemTotal}} {{.DockerRootDir}}"]);
    const { memoryBytes, rootDir } = parseDockerInfo(stdout);
    return {
      host: `${host.stackName} (this machine's Docker engine)`,
      memoryMib: Math.floor(memoryBytes / 2 ** 20),
      disk: await localDisk(rootDir),
    };
  }
  const memoryMib = INSTANCE_MEMORY_MIB[instanceType];
  if (memoryMib === undefined) {
    throw new CostGuardError(
      `instance type "${instanceType}" has no memory size in INSTANCE_MEMORY_MIB (cli/preview/plan.ts), so ` +
        "the host's capacity cannot be checked; add it there",
    );
  }
  const name = `${host.stackName} (${instanceType})`;
  const { dockerHost, sshOpts } = host.outputs ?? {};
  if (dockerHost === undefined || sshOpts === undefined) return { host: name, memoryMib, disk: undefined };
  try {
    const { stdout } = await exec(
      "ssh",
      [...sshOpts, dockerHost.replace(/^ssh:\/\//, ""), "df", "-B1", "--output=size,avail", EC2_DOCKER_ROOT],
      { timeout: 60_000 },
    );
    return { host: name, memoryMib, disk: parseDf(stdout) };
  } catch (error) {
    throw new Error(
      `cannot measure the disk of ${host.stackName} over SSH (${firstLine(error)}), so no preview was added`,
    );
  }
};

/** `docker info --format '{{.MemTotal}} {{.DockerRootDir}}'`. */
export function parseDockerInfo(text: string): { memoryBytes: number; rootDir: string } {
  const match = /^(\d+) (\/\S*)\s*$/.exec(text.trim());
  if (match === null) throw new Error(`unexpected docker info output: "${text.trim()}"`);
  return { memoryBytes: Number(match[1]), rootDir: match[2] as string };
}

/** `df -B1 --output=size,avail PATH`: a header, then the size and the space available, in bytes. */
export function parseDf(text: string): { totalBytes: number; freeBytes: number } {
  const match = /^\s*(\d+)\s+(\d+)\s*$/.exec(text.trim().split("\n").at(-1) ?? "");
  if (match === null) throw new Error(`unexpected df output: "${text.trim()}"`);
  return { totalBytes: Number(match[1]), freeBytes: Number(match[2]) };
}

/**
 * The file system of the Docker root on this machine; undefined where the engine is elsewhere (Docker Desktop
 * keeps it in its VM, a DOCKER_HOST names another machine), which no check here can see.
 */
async function localDisk(rootDir: string): Promise<HostCapacity["disk"]> {
  const dockerHost = process.env.DOCKER_HOST;
  if (dockerHost !== undefined && dockerHost !== "" && !dockerHost.startsWith("unix://")) return undefined;
  try {
    const stats = await statfs(rootDir);
    return { totalBytes: stats.blocks * stats.bsize, freeBytes: stats.bavail * stats.bsize };
  } catch {
    return undefined;
  }
}
