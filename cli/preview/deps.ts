/**
 * Everything the commands take from the outside world, as one object (CliDeps), and its implementation for a
 * real process; tests supply their own.
 */
import { execFile } from "node:child_process";
import { appendFile, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type MeasureHost, measureHost } from "./capacity.js";
import { type HttpGet, httpGet } from "./health.js";
import { type OnOutput, openPulumiWorkspace, type PreviewWorkspace } from "./workspace.js";

export interface CliDeps {
  /** The directory holding Pulumi.yaml and Pulumi.test.yaml. */
  readonly projectDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  now(): Date;
  /** Waits; tests advance their clock instead. */
  sleep(milliseconds: number): Promise<void>;
  openWorkspace(): PreviewWorkspace;
  readFile(path: string): Promise<string>;
  appendFile(path: string, text: string): Promise<void>;
  /** The checked-out branch (`git rev-parse --abbrev-ref HEAD`). */
  gitBranch(): Promise<string>;
  /** The health probe's GET. */
  httpGet: HttpGet;
  /** A preview host's memory and Docker disk, before up adds a preview to it. */
  measureHost: MeasureHost;
  /** One line of the command's own output (stdout). */
  out(line: string): void;
  /** One line of warning or error (stderr). */
  err(line: string): void;
  /** Engine progress, streamed as it comes (stderr, so that stdout holds only the command's output). */
  progress: OnOutput;
}

export function processDeps(): CliDeps {
  const projectDir = fileURLToPath(new URL("../../", import.meta.url));
  return {
    projectDir,
    env: process.env,
    now: () => new Date(),
    sleep: (milliseconds) => sleep(milliseconds),
    openWorkspace: () => openPulumiWorkspace(projectDir),
    readFile: (path) => readFile(path, "utf8"),
    appendFile: (path, text) => appendFile(path, text, "utf8"),
    gitBranch: async () =>
      (await promisify(execFile)("git", ["rev-parse", "--abbrev-ref", "HEAD"], { cwd: projectDir })).stdout,
    httpGet,
    measureHost,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progress: (chunk) => process.stderr.write(chunk),
  };
}
