/**
 * The preview CLI wired to a MemoryWorkspace, a settable clock (sleep advances it), virtual files, a stub
 * health probe and the local tables, with its output captured: every command's tests run through it.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import type { MeasureHost } from "../../cli/preview/capacity.js";
import type { CliDeps } from "../../cli/preview/deps.js";
import type { HttpAnswer } from "../../cli/preview/health.js";
import { runCli } from "../../cli/preview/main.js";
import { previewNames } from "../../cli/preview/naming.js";
import { configKey, type PreviewTarget } from "../../stack/contract.js";
import { MemoryWorkspace } from "./memory-workspace.js";

export const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const START = new Date("2030-06-01T12:00:00.000Z");
export const HOUR = 3_600_000;

export type Harness = ReturnType<typeof harness>;

export function harness(env: Record<string, string> = {}) {
  let clock = START;
  const workspace = new MemoryWorkspace(() => clock);
  const files = new Map<string, string>();
  const out: string[] = [];
  const err: string[] = [];
  const probes: string[] = [];
  let opened = 0;
  let gitBranch: () => Promise<string> = async () => "feature/from-git";
  let answer: (url: string) => Promise<HttpAnswer> = async () => ({ status: 200, latencyMs: 35 });
  // A host with room to spare unless a test says otherwise: 16 GiB, and 80 of 100 GB free.
  let measureHost: MeasureHost = async (_target, host, instanceType) => ({
    host: `${host.stackName} (${instanceType})`,
    memoryMib: 16_384,
    disk: { totalBytes: 100e9, freeBytes: 80e9 },
  });
  const deps: CliDeps = {
    projectDir: fixtures,
    env: { GITHUB_OUTPUT: "/virtual/github-output", ...env },
    now: () => clock,
    sleep: async (milliseconds) => {
      clock = new Date(clock.getTime() + milliseconds);
    },
    openWorkspace: () => {
      opened += 1;
      return workspace;
    },
    readFile: async (path) => files.get(path) ?? (await readFile(path, "utf8")),
    appendFile: async (path, text) => {
      files.set(path, (files.get(path) ?? "") + text);
    },
    gitBranch: () => gitBranch(),
    httpGet: async (url) => {
      probes.push(url);
      return answer(url);
    },
    measureHost: (target, host, instanceType) => measureHost(target, host, instanceType),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    progress: () => {},
  };
  return {
    workspace,
    files,
    out,
    err,
    probes,
    run: (...argv: string[]) => runCli(argv, deps),
    now: () => clock,
    advance: (hours: number) => {
      clock = new Date(clock.getTime() + hours * HOUR);
    },
    opened: () => opened,
    setGitBranch: (branch: () => Promise<string>) => {
      gitBranch = branch;
    },
    setHttp: (next: (url: string) => Promise<HttpAnswer>) => {
      answer = next;
    },
    setMeasureHost: (next: MeasureHost) => {
      measureHost = next;
    },
    /** Forgets the output so far. */
    clearOutput: () => {
      out.length = 0;
      err.length = 0;
      workspace.calls.length = 0;
    },
    /** The GitHub step outputs written so far (the last value of each name), heredoc values included. */
    stepOutputs: () => {
      const outputs: Record<string, string> = {};
      const lines = (files.get("/virtual/github-output") ?? "").split("\n");
      for (let index = 0; index < lines.length; index += 1) {
        const line = lines[index] ?? "";
        const heredoc = /^([\w-]+)<<(\S+)$/.exec(line);
        if (heredoc?.[1] && heredoc[2]) {
          const end = lines.indexOf(heredoc[2], index + 1);
          outputs[heredoc[1]] = lines.slice(index + 1, end).join("\n");
          index = end;
        } else if (line.includes("=")) {
          outputs[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
        }
      }
      return outputs;
    },
  };
}

/** Preview metadata as a stack's config holds it. */
export function metadataConfig(
  branch: string,
  createdAt: Date,
  expiresAt: Date,
  extra: Record<string, string> = {},
): ConfigMap {
  const config: ConfigMap = {
    [configKey("previewBranch")]: { value: branch },
    [configKey("previewCreatedAt")]: { value: createdAt.toISOString() },
    [configKey("previewExpiresAt")]: { value: expiresAt.toISOString() },
  };
  for (const [key, value] of Object.entries(extra)) config[`activity-api:${key}`] = { value };
  return config;
}

/** Seeds `count` previews of `target` created an hour apart, the first the oldest; returns their stacks. */
export function seedPreviews(h: Harness, count: number, target: PreviewTarget = "ec2"): string[] {
  const names: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const branch = `feature/seeded-${index}`;
    const created = new Date(START.getTime() - (count - index) * HOUR);
    const { stackName } = previewNames(branch, target);
    h.workspace.seed(stackName, {
      resourceCount: 6,
      config: metadataConfig(branch, created, new Date(created.getTime() + 72 * HOUR)),
    });
    names.push(stackName);
  }
  return names;
}
