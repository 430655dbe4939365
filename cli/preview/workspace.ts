/**
 * The few stack operations the preview tool needs, as an interface the commands are written against, and its
 * thin implementation over the Pulumi Automation API's LocalWorkspace for this project.
 */
import { join } from "node:path";
import type {
  LocalWorkspace as AutomationWorkspace,
  ConfigMap,
  OutputMap,
  Stack,
  UpdateSummary,
} from "@pulumi/pulumi/automation/index.js";

/** The stack is locked by another operation or a killed one (Automation API ConcurrentUpdateError). */
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

/** The stack does not exist (Automation API StackNotFoundError). */
export class StackMissingError extends Error {
  constructor(stackName: string, cause?: unknown) {
    super(`stack ${stackName} does not exist`, { cause });
    this.name = "StackMissingError";
  }
}

/** The stack exists already (Automation API StackAlreadyExistsError): another run created it meanwhile. */
export class StackExistsError extends Error {
  constructor(stackName: string, cause?: unknown) {
    super(`stack ${stackName} already exists`, { cause });
    this.name = "StackExistsError";
  }
}

/**
 * A Pulumi CLI command failed. Its output was already streamed as progress, so the message is only the CLI's own
 * diagnosis (its first `error:` line); the Automation API's raw error, which repeats the whole output, is the
 * cause, for --debug.
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

/** Streamed engine output (progress lines, with their own newlines). */
export type OnOutput = (chunk: string) => void;

export interface PreviewWorkspace {
  /** Short names of all stacks of this project. */
  listStacks(): Promise<string[]>;
  /** Throws {@link StackExistsError} when another run created it first. */
  createStack(stackName: string): Promise<void>;
  /** The stack's config as its Pulumi.<stack>.yaml holds it; empty on a checkout that never set it. */
  getConfig(stackName: string): Promise<ConfigMap>;
  /**
   * Sets `config`, whose keys are config paths. Each top-level key it sets is removed first, so that a
   * shorter list leaves no stale elements behind; keys it does not set (a secret set by hand) stay.
   */
  setConfig(stackName: string, config: ConfigMap): Promise<void>;
  /** Sets stack tags; the DIY backends refuse tags, so callers treat failure as a warning. */
  setTags(stackName: string, tags: Readonly<Record<string, string>>): Promise<void>;
  lastUpdate(stackName: string): Promise<LastUpdate | undefined>;
  outputs(stackName: string): Promise<Record<string, unknown>>;
  /** Runs `pulumi up`, streaming progress, and returns the stack outputs; {@link StackLockedError} if locked. */
  up(stackName: string, onOutput: OnOutput): Promise<Record<string, unknown>>;
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
 * Opens the project in `workDir` (where Pulumi.yaml is) through the Pulumi CLI found on PATH. The SDK is
 * imported here, lazily, because loading it takes about a second that `--help`, bad input and the tests never
 * need.
 */
export async function openAutomationWorkspace(
  workDir: string,
  retry: ReadRetry = TORN_READ_RETRY,
): Promise<PreviewWorkspace> {
  const automation = await import("@pulumi/pulumi/automation/index.js");
  try {
    const workspace = await automation.LocalWorkspace.create({ workDir });
    return new AutomationPreviewWorkspace(workspace, automation, retry);
  } catch (error) {
    // The SDK reports a missing CLI as a spawn failure of `pulumi version`, several lines long.
    if (error instanceof automation.CommandError && /ENOENT/.test(error.message)) {
      throw new Error(
        "the Pulumi CLI was not found on PATH; install it: https://www.pulumi.com/docs/iac/download-install/",
      );
    }
    throw error;
  }
}

type Automation = typeof import("@pulumi/pulumi/automation/index.js");

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

class AutomationPreviewWorkspace implements PreviewWorkspace {
  constructor(
    private readonly workspace: AutomationWorkspace,
    private readonly automation: Automation,
    private readonly retry: ReadRetry,
  ) {}

  async listStacks(): Promise<string[]> {
    const summaries = await this.retried("*", () => this.workspace.listStacks());
    // Some backends list "org/project/stack"; every other call here takes the short name.
    return summaries.map((summary) => summary.name.split("/").at(-1) ?? summary.name);
  }

  async createStack(stackName: string): Promise<void> {
    await this.call(stackName, () => this.workspace.createStack(stackName));
  }

  getConfig(stackName: string): Promise<ConfigMap> {
    return this.retried(stackName, () => this.workspace.getAllConfig(stackName));
  }

  async setConfig(stackName: string, config: ConfigMap): Promise<void> {
    await this.retried(stackName, async () => {
      // set-all overwrites a plain value in place; a list or map (set by path) is removed first, so that a
      // shorter one leaves no stale elements behind. Each removal is one more pulumi command.
      const byPath = new Set(
        Object.keys(config)
          .filter((path) => topLevelKey(path) !== path)
          .map(topLevelKey),
      );
      const setting = new Set(Object.keys(config).map(topLevelKey));
      const current = await this.workspace.getAllConfig(stackName);
      const stale = Object.entries(current)
        .filter(([key, { value }]) => setting.has(key) && (byPath.has(key) || /^\s*[[{]/.test(value)))
        .map(([key]) => key);
      if (stale.length > 0) await this.workspace.removeAllConfig(stackName, stale);
      await this.workspace.setAllConfig(stackName, config, true);
    });
  }

  async setTags(stackName: string, tags: Readonly<Record<string, string>>): Promise<void> {
    for (const [key, value] of Object.entries(tags)) {
      await this.call(stackName, () => this.workspace.setTag(stackName, key, value));
    }
  }

  async lastUpdate(stackName: string): Promise<LastUpdate | undefined> {
    const stack = await this.select(stackName);
    // No --show-secrets: the metadata is plain, and listing must not need the stack's decryption key.
    const summary: UpdateSummary | undefined = await this.retried(stackName, () => stack.info(false));
    if (summary === undefined) return undefined;
    return {
      kind: summary.kind,
      result: summary.result,
      endTime: summary.endTime,
      config: summary.config ?? {},
    };
  }

  async outputs(stackName: string): Promise<Record<string, unknown>> {
    return values(await this.retried(stackName, () => this.workspace.stackOutputs(stackName)));
  }

  async up(stackName: string, onOutput: OnOutput): Promise<Record<string, unknown>> {
    const stack = await this.select(stackName);
    // The project's policy pack guards every preview as `pulumi up --policy-pack policy` would.
    const policyPacks = [join(this.workspace.workDir, "policy")];
    const result = await this.call(stackName, () => stack.up({ onOutput, color: "never", policyPacks }));
    return values(result.outputs);
  }

  async pendingOperations(stackName: string): Promise<PendingOperation[]> {
    const exported = await this.retried(stackName, () => this.workspace.exportStack(stackName));
    // `pulumi stack export` emits apitype.DeploymentV3, whose pending_operations are { resource: { urn },
    // type }.
    const pending: unknown = exported.deployment?.pending_operations;
    if (!Array.isArray(pending)) return [];
    return pending.map((operation) => ({
      type: String(operation?.type ?? "unknown"),
      urn: String(operation?.resource?.urn ?? "unknown"),
    }));
  }

  async clearPendingOperations(stackName: string, onOutput: OnOutput): Promise<void> {
    const stack = await this.select(stackName);
    await this.call(stackName, () => stack.refresh({ clearPendingCreates: true, onOutput, color: "never" }));
  }

  async cancel(stackName: string): Promise<void> {
    const stack = await this.select(stackName);
    await this.call(stackName, () => stack.cancel());
  }

  async destroy(stackName: string, onOutput: OnOutput): Promise<void> {
    const stack = await this.select(stackName);
    await this.call(stackName, () => stack.destroy({ onOutput, color: "never" }));
  }

  async removeStack(stackName: string): Promise<void> {
    await this.call(stackName, () => this.workspace.removeStack(stackName));
  }

  private select(stackName: string): Promise<Stack> {
    return this.retried(stackName, () => this.automation.Stack.select(stackName, this.workspace));
  }

  /**
   * {@link call} for a command that only reads the backend's state (it may write this checkout's stack file,
   * the same way each time): a torn read ({@link isTornRead}) is tried again.
   */
  private async retried<T>(stackName: string, operation: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call(stackName, operation);
      } catch (error) {
        const torn = error instanceof PulumiCommandError && isTornRead(error.diagnosis);
        if (!torn || attempt >= this.retry.attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, this.retry.pauseMs));
      }
    }
  }

  /**
   * Translates the SDK's errors: the two the commands act on, and a failed command into one line. `stackName`
   * is "*" for calls about no one stack.
   */
  private async call<T>(stackName: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof this.automation.ConcurrentUpdateError)
        throw new StackLockedError(stackName, error);
      if (error instanceof this.automation.StackNotFoundError) throw new StackMissingError(stackName, error);
      if (error instanceof this.automation.StackAlreadyExistsError)
        throw new StackExistsError(stackName, error);
      if (error instanceof this.automation.CommandError) {
        const diagnosis = commandDiagnosis(error.message);
        const where = stackName === "*" ? "listing the stacks" : `on stack ${stackName}`;
        throw new PulumiCommandError(
          `pulumi failed ${where}: ${diagnosis ?? "see its output above"}`,
          error,
          diagnosis,
        );
      }
      throw error;
    }
  }
}

/** The key a config path belongs to: `activity-api:allowedCidrs[0]` → `activity-api:allowedCidrs`. */
export function topLevelKey(path: string): string {
  return /^[^.[]+/.exec(path)?.[0] ?? path;
}

function values(outputs: OutputMap): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([key, output]) => [key, output.value]));
}
