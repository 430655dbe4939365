/**
 * The few stack operations the preview tool needs, as an interface the commands are written against, and its
 * implementation: one `pulumi` CLI command per operation, run in the project's directory.
 *
 * It runs the CLI itself rather than through the Automation API's LocalWorkspace. Measured on an update of a
 * local preview (docs/performance.md), the SDK spent about 2 s of a 12 s update on work this tool never uses:
 * 0.65 s importing it, a `pulumi version` at start, a `pulumi stack select` before each stack operation, and
 * three reads after `up` (the outputs twice, with and without secrets, and the last update's summary). The
 * commands and their arguments are the ones the SDK runs; the CLI's JSON is the same either way.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";

/** The stack is locked by another operation or a killed one. */
export class StackLockedError extends Error {
  constructor(stackName: string, cause?: unknown) {
    super(
      `stack ${stackName} is locked by another update; if that run was killed, ` +
        `\`pulumi cancel --stack ${stackName}\` releases the lock`,
      { cause },
    );
    this.name = "StackLockedError";
  }
}

/** The stack does not exist. */
export class StackMissingError extends Error {
  constructor(stackName: string, cause?: unknown) {
    super(`stack ${stackName} does not exist`, { cause });
    this.name = "StackMissingError";
  }
}

/** The stack exists already: another run created it meanwhile. */
export class StackExistsError extends Error {
  constructor(stackName: string, cause?: unknown) {
    super(`stack ${stackName} already exists`, { cause });
    this.name = "StackExistsError";
  }
}

/**
 * A Pulumi CLI command failed. Its output was already streamed as progress, so the message is only the CLI's own
 * diagnosis (its first `error:` line); the whole output is its cause, for --debug.
 */
export class PulumiCommandError extends Error {
  constructor(
    message: string,
    cause: unknown,
    /** The CLI's own `error:` line, when it printed one. */
    readonly diagnosis?: string,
  ) {
    super(message, { cause });
    this.name = "PulumiCommandError";
  }
}

/** The first `error:` line of a failed command's output, e.g. "error: Could not automatically download ...". */
function commandDiagnosis(output: string): string | undefined {
  return /^\s*error: (.+)$/m.exec(output)?.[1]?.trim();
}

export interface LastUpdate {
  readonly kind: string;
  readonly result: string;
  readonly endTime: Date | undefined;
  /** The config the update ran with: the only copy of a preview's metadata on a fresh CI checkout. */
  readonly config: ConfigMap;
}

/** An operation a killed run left unfinished in the stack's state. */
export interface PendingOperation {
  readonly type: string;
  readonly urn: string;
}

/**
 * Config an update sets: `set`, whose keys are config paths and whose values are plain (a secret would show in
 * the process list). A top-level key it sets that holds a list or map in `current` (the stack's config as
 * {@link PreviewWorkspace.getConfig} just read it) is removed first, so that a shorter list leaves no stale
 * elements behind; keys it does not set (a secret set by hand) stay.
 */
export interface ConfigChange {
  readonly set: ConfigMap;
  readonly current: ConfigMap;
}

/** Streamed engine output (progress lines, with their own newlines). */
export type OnOutput = (chunk: string) => void;

export interface PreviewWorkspace {
  /** Short names of all stacks of this project. */
  listStacks(): Promise<string[]>;
  /** Throws {@link StackExistsError} when another run created it first. */
  createStack(stackName: string): Promise<void>;
  /** The stack's config as its Pulumi.<stack>.yaml holds it; empty on a checkout that never set it. */
  getConfig(stackName: string): Promise<ConfigMap>;
  /** Sets stack tags; a backend without tags refuses them, so callers treat failure as a warning. */
  setTags(stackName: string, tags: Readonly<Record<string, string>>): Promise<void>;
  lastUpdate(stackName: string): Promise<LastUpdate | undefined>;
  outputs(stackName: string): Promise<Record<string, unknown>>;
  /**
   * Runs `pulumi up`, streaming progress; {@link StackLockedError} if locked. `config`, when given, is saved to
   * the stack's config as the update starts, even when the update then fails (see {@link ConfigChange}).
   */
  up(stackName: string, onOutput: OnOutput, config?: ConfigChange): Promise<void>;
  pendingOperations(stackName: string): Promise<PendingOperation[]>;
  /** Refreshes the stack, dropping pending operations (pending creates included) from its state. */
  clearPendingOperations(stackName: string, onOutput: OnOutput): Promise<void>;
  /** Releases the lock of an update that is no longer running (`pulumi cancel`). */
  cancel(stackName: string): Promise<void>;
  destroy(stackName: string, onOutput: OnOutput): Promise<void>;
  /** Removes a stack that has no resources left, with its config and history. */
  removeStack(stackName: string): Promise<void>;
}

/**
 * Opens the project in `workDir` (where Pulumi.yaml is) through the Pulumi CLI found on PATH. Nothing runs
 * until the first operation, so `--help` and bad input never need the CLI.
 */
export function openPulumiWorkspace(workDir: string, retry: ReadRetry = TORN_READ_RETRY): PreviewWorkspace {
  return new CliPreviewWorkspace(workDir, retry);
}

/** How often, and how far apart, a read that came back torn is tried. */
export interface ReadRetry {
  readonly attempts: number;
  readonly pauseMs: number;
}
const TORN_READ_RETRY: ReadRetry = { attempts: 10, pauseMs: 200 };

/**
 * A read of the state that met a stack's update writing it: on a file backend, the blob store rewrites a state
 * file's `.attrs` sidecar in place, and a reader that opens it in between gets EOF (`pulumi stack ls` prints
 * "error: EOF", a read of one stack "failed to load checkpoint: EOF"). Seen on the real engine while two
 * previews came up at once; the same read a moment later succeeds.
 */
function isTornRead(diagnosis: string | undefined): boolean {
  return diagnosis !== undefined && /(?:^|: )EOF$/.test(diagnosis);
}

/** What a finished `pulumi` command printed. */
interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A `pulumi` command that exited non-zero, with everything it printed: the cause of the error a caller sees,
 * for --debug.
 */
class FailedCommand extends Error {
  constructor(
    args: readonly string[],
    readonly exitCode: number | null,
    readonly output: CommandOutput,
  ) {
    super(
      `pulumi ${args.join(" ")} exited ${exitCode}\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`,
    );
    this.name = "FailedCommand";
  }
}

/**
 * The CLI's words for the three failures the commands act on, as the Automation API reads them
 * (automation/errors.ts): a missing stack, a stack that exists already, and a lock held by another update, in
 * the Pulumi Cloud backend's words and the file backends'.
 */
const STACK_MISSING = /no stack named.*found/;
const STACK_EXISTS = /stack.*already exists/;
const STACK_LOCKED = [
  "[409] Conflict: Another update is currently in progress.",
  "the stack is currently locked by",
];

class CliPreviewWorkspace implements PreviewWorkspace {
  constructor(
    private readonly workDir: string,
    private readonly retry: ReadRetry,
  ) {}

  async listStacks(): Promise<string[]> {
    const listed = await this.read("*", ["stack", "ls", "--json"]);
    const summaries = JSON.parse(listed) as Array<{ name: string }>;
    // Some backends list "org/project/stack"; every other call here takes the short name.
    return summaries.map((summary) => summary.name.split("/").at(-1) ?? summary.name);
  }

  async createStack(stackName: string): Promise<void> {
    await this.run(stackName, ["stack", "init", stackName]);
  }

  async getConfig(stackName: string): Promise<ConfigMap> {
    return JSON.parse(
      await this.read(stackName, ["config", "--show-secrets", "--json", "--stack", stackName]),
    );
  }

  async setTags(stackName: string, tags: Readonly<Record<string, string>>): Promise<void> {
    for (const [key, value] of Object.entries(tags)) {
      await this.run(stackName, ["stack", "tag", "set", key, value, "--stack", stackName]);
    }
  }

  async lastUpdate(stackName: string): Promise<LastUpdate | undefined> {
    // No --show-secrets: the metadata is plain, and listing must not need the stack's decryption key.
    const history = await this.read(stackName, [
      "stack",
      "history",
      "--json",
      "--page-size",
      "1",
      "--page",
      "1",
      "--stack",
      stackName,
    ]);
    const [summary] = JSON.parse(history) as Array<{
      kind: string;
      result: string;
      endTime?: string;
      config?: ConfigMap;
    }>;
    if (summary === undefined) return undefined;
    return {
      kind: summary.kind,
      result: summary.result,
      endTime: summary.endTime === undefined ? undefined : new Date(summary.endTime),
      config: summary.config ?? {},
    };
  }

  async outputs(stackName: string): Promise<Record<string, unknown>> {
    // No --show-secrets: no command reads a secret output, and reading one would need the stack's key.
    return JSON.parse(await this.read(stackName, ["stack", "output", "--json", "--stack", stackName]));
  }

  async up(stackName: string, onOutput: OnOutput, config?: ConfigChange): Promise<void> {
    // The project's policy pack guards every preview as `pulumi up --policy-pack policy` would.
    const policyPack = join(this.workDir, "policy");
    // `pulumi up -c` saves the config and updates in one command, where `config set-all` would be one more.
    const configArgs = config === undefined ? [] : await this.configArgs(stackName, config);
    await this.run(
      stackName,
      [
        "up",
        "--yes",
        "--skip-preview",
        "--policy-pack",
        policyPack,
        "--color",
        "never",
        ...configArgs,
        "--stack",
        stackName,
      ],
      onOutput,
    );
  }

  async pendingOperations(stackName: string): Promise<PendingOperation[]> {
    // No --show-secrets: only the pending operations are read.
    const exported = JSON.parse(await this.read(stackName, ["stack", "export", "--stack", stackName]));
    // `pulumi stack export` emits apitype.DeploymentV3, whose pending_operations are { resource: { urn },
    // type }.
    const pending: unknown = exported?.deployment?.pending_operations;
    if (!Array.isArray(pending)) return [];
    return pending.map((operation) => ({
      type: String(operation?.type ?? "unknown"),
      urn: String(operation?.resource?.urn ?? "unknown"),
    }));
  }

  async clearPendingOperations(stackName: string, onOutput: OnOutput): Promise<void> {
    await this.run(
      stackName,
      [
        "refresh",
        "--yes",
        "--skip-preview",
        "--clear-pending-creates",
        "--color",
        "never",
        "--stack",
        stackName,
      ],
      onOutput,
    );
  }

  async cancel(stackName: string): Promise<void> {
    await this.run(stackName, ["cancel", "--yes", "--stack", stackName]);
  }

  async destroy(stackName: string, onOutput: OnOutput): Promise<void> {
    await this.run(
      stackName,
      ["destroy", "--yes", "--skip-preview", "--color", "never", "--stack", stackName],
      onOutput,
    );
  }

  async removeStack(stackName: string): Promise<void> {
    await this.run(stackName, ["stack", "rm", "--yes", stackName]);
  }

  /** `--config-path -c <path>=<value>…` for `pulumi up`, once the lists and maps it replaces are removed. */
  private async configArgs(stackName: string, { set, current }: ConfigChange): Promise<string[]> {
    const secret = Object.keys(set).find((path) => set[path]?.secret === true);
    if (secret !== undefined) {
      throw new Error(
        `${secret} is a secret: the preview tool sets plain config only, on pulumi up's command line`,
      );
    }
    const setting = new Set(Object.keys(set).map(topLevelKey));
    const byPath = new Set(
      Object.keys(set)
        .filter((path) => topLevelKey(path) !== path)
        .map(topLevelKey),
    );
    // A plain value is overwritten in place; a list or map (set by path) is removed first, one more command.
    const stale = Object.entries(current)
      .filter(([key, { value }]) => setting.has(key) && (byPath.has(key) || /^\s*[[{]/.test(value)))
      .map(([key]) => key);
    if (stale.length > 0) await this.run(stackName, ["config", "rm-all", "--stack", stackName, ...stale]);
    return [
      "--config-path",
      ...Object.entries(set).flatMap(([path, { value }]) => ["-c", `${path}=${value}`]),
    ];
  }

  /**
   * {@link run} for a command that only reads the backend's state, returning its stdout: a torn read
   * ({@link isTornRead}) is tried again.
   */
  private async read(stackName: string, args: readonly string[]): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.run(stackName, args)).stdout;
      } catch (error) {
        const torn = error instanceof PulumiCommandError && isTornRead(error.diagnosis);
        if (!torn || attempt >= this.retry.attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, this.retry.pauseMs));
      }
    }
  }

  /**
   * Runs `pulumi <args> --non-interactive` in the project's directory, streaming stdout to `onOutput` when
   * given, and translates a failure: the three the commands act on, and any other into one line. `stackName`
   * is "*" for commands about no one stack.
   */
  private async run(stackName: string, args: readonly string[], onOutput?: OnOutput): Promise<CommandOutput> {
    const { exitCode, output } = await runPulumi([...args, "--non-interactive"], this.workDir, onOutput);
    if (exitCode === 0) return output;
    const failure = new FailedCommand(args, exitCode, output);
    if (STACK_MISSING.test(output.stderr)) throw new StackMissingError(stackName, failure);
    if (STACK_EXISTS.test(output.stderr)) throw new StackExistsError(stackName, failure);
    if (STACK_LOCKED.some((words) => output.stderr.includes(words)))
      throw new StackLockedError(stackName, failure);
    const diagnosis = commandDiagnosis(`${output.stdout}\n${output.stderr}`);
    const where = stackName === "*" ? "listing the stacks" : `on stack ${stackName}`;
    throw new PulumiCommandError(
      `pulumi failed ${where}: ${diagnosis ?? "see its output above"}`,
      failure,
      diagnosis,
    );
  }
}

/** Spawns the CLI; a missing CLI is said in one line, not as a spawn error. */
function runPulumi(
  args: readonly string[],
  cwd: string,
  onOutput: OnOutput | undefined,
): Promise<{ exitCode: number | null; output: CommandOutput }> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", args, {
      cwd,
      // Many short commands in a row: none of them should ask the network for a newer CLI.
      env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: string[] = [];
    const stderr: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout.push(chunk);
      onOutput?.(chunk);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT"
          ? new Error(
              "the Pulumi CLI was not found on PATH; install it: https://www.pulumi.com/docs/iac/download-install/",
            )
          : error,
      ),
    );
    child.on("close", (exitCode) =>
      resolve({ exitCode, output: { stdout: stdout.join(""), stderr: stderr.join("") } }),
    );
  });
}

/** The key a config path belongs to: `activity-api:allowedCidrs[0]` → `activity-api:allowedCidrs`. */
export function topLevelKey(path: string): string {
  return /^[^.[]+/.exec(path)?.[0] ?? path;
}
