/**
 * An in-memory PreviewWorkspace that behaves like the Pulumi CLI where the commands depend on it: missing
 * and already existing stacks, a lock left by a killed run or held by a concurrent one, pending operations,
 * removal refused while resources remain, config that a fresh CI checkout does not have but the last update's
 * history does, and a program that deploys as index.ts does: a host exports its connection details, a branch
 * preview reads them (as its StackReference would) and fails without a deployed host.
 */
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import {
  type ConfigChange,
  type LastUpdate,
  type PendingOperation,
  type PreviewWorkspace,
  StackExistsError,
  StackLockedError,
  StackMissingError,
  topLevelKey,
} from "../../cli/preview/workspace.js";

export interface MemoryStack {
  config: ConfigMap;
  tags: Record<string, string>;
  resourceCount: number;
  outputs: Record<string, unknown>;
  /** Held by an update that is running or was killed. */
  locked: boolean;
  /** A concurrent run holding the lock until `until`; it then runs `finish` and lets go. */
  concurrentRun: { until: Date; finish: (stack: MemoryStack) => void } | undefined;
  pending: PendingOperation[];
  /** Newest first, as `pulumi stack history` lists it. */
  history: LastUpdate[];
}

const SAMPLE_DIGEST = `sha256:${"ab".repeat(32)}`;

export class MemoryWorkspace implements PreviewWorkspace {
  readonly stacks = new Map<string, MemoryStack>();
  /** Every mutating call, as "method stack", so tests can assert that nothing happened. */
  readonly calls: string[] = [];
  /** Every read of a stack's config or last update, as "method stack": each is a pulumi command or two. */
  readonly reads: string[] = [];
  /** The tags of each setTags call, in order. */
  readonly tagWrites: Record<string, string>[] = [];
  /** False behaves like a DIY backend, which refuses stack tags. */
  tagsSupported = true;
  /** Set to keep the stack locked after a cancel, as a run that is really alive would re-take it. */
  relockAfterCancel = false;
  /** Errors the next `up` of a stack throws, once. */
  readonly failNextUp = new Map<string, Error>();

  constructor(private readonly now: () => Date) {}

  /** Seeds a stack as if it existed before the test. */
  seed(stackName: string, stack: Partial<MemoryStack> = {}): MemoryStack {
    const seeded: MemoryStack = {
      config: {},
      tags: {},
      resourceCount: 0,
      outputs: {},
      locked: false,
      concurrentRun: undefined,
      pending: [],
      history: [],
      ...stack,
    };
    this.stacks.set(stackName, seeded);
    return seeded;
  }

  /** What a CI job sees: no Pulumi.<stack>.yaml files, only the backend. */
  forgetLocalConfig(): void {
    for (const stack of this.stacks.values()) stack.config = {};
  }

  /** A run killed halfway through `up`: the lock stays, and so does a create it had started. */
  killDuringUp(stackName: string): void {
    const stack = this.get(stackName);
    stack.locked = true;
    stack.pending.push({
      type: "creating",
      urn: `urn:pulumi:${stackName}::activity-api::aws:ec2/instance:Instance::host`,
    });
  }

  /**
   * Another run holds the stack (creating it if need be) until `until`, then finishes: by default as a
   * successful `up` with `config`, or as `finish` says.
   */
  holdByConcurrentRun(
    stackName: string,
    until: Date,
    options: { config?: ConfigMap; finish?: (stack: MemoryStack) => void } = {},
  ): MemoryStack {
    const stack = this.stacks.get(stackName) ?? this.seed(stackName);
    if (options.config) stack.config = { ...options.config };
    stack.locked = true;
    stack.concurrentRun = {
      until,
      finish: options.finish ?? ((held) => this.deploy(held)),
    };
    return stack;
  }

  async listStacks(): Promise<string[]> {
    return [...this.stacks.keys()];
  }

  async createStack(stackName: string): Promise<void> {
    this.calls.push(`createStack ${stackName}`);
    if (this.stacks.has(stackName)) throw new StackExistsError(stackName);
    this.seed(stackName);
  }

  async getConfig(stackName: string): Promise<ConfigMap> {
    this.reads.push(`getConfig ${stackName}`);
    return { ...this.get(stackName).config };
  }

  /** As `pulumi up -c` saves the config: before the update, whether or not it then succeeds. */
  private writeConfig(stackName: string, config: ConfigMap): void {
    this.calls.push(`writeConfig ${stackName}`);
    const stack = this.get(stackName);
    const setting = new Set(Object.keys(config).map(topLevelKey));
    const kept = Object.entries(stack.config).filter(([path]) => !setting.has(topLevelKey(path)));
    stack.config = { ...Object.fromEntries(kept), ...config };
  }

  async setTags(stackName: string, tags: Readonly<Record<string, string>>): Promise<void> {
    this.calls.push(`setTags ${stackName}`);
    this.tagWrites.push({ ...tags });
    if (!this.tagsSupported) throw new Error("stack tags not supported in diy mode");
    Object.assign(this.get(stackName).tags, tags);
  }

  async lastUpdate(stackName: string): Promise<LastUpdate | undefined> {
    this.reads.push(`lastUpdate ${stackName}`);
    return this.get(stackName).history[0];
  }

  /** Like `pulumi stack output`, readable while another run holds the lock. */
  async outputs(stackName: string): Promise<Record<string, unknown>> {
    return { ...this.get(stackName).outputs };
  }

  async up(stackName: string, onOutput: (chunk: string) => void, config?: ConfigChange): Promise<void> {
    if (config !== undefined) this.writeConfig(stackName, config.set);
    this.calls.push(`up ${stackName}`);
    const stack = this.unlocked(stackName);
    const failure = this.failNextUp.get(stackName);
    if (failure) {
      this.failNextUp.delete(stackName);
      throw failure;
    }
    onOutput(`Updating (${stackName})\n`);
    this.deploy(stack);
  }

  async pendingOperations(stackName: string): Promise<PendingOperation[]> {
    return [...this.get(stackName).pending];
  }

  async clearPendingOperations(stackName: string): Promise<void> {
    this.calls.push(`clearPendingOperations ${stackName}`);
    const stack = this.unlocked(stackName);
    stack.pending = [];
    this.record(stack, "refresh");
  }

  async cancel(stackName: string): Promise<void> {
    this.calls.push(`cancel ${stackName}`);
    const stack = this.get(stackName);
    // Pulumi Cloud answers a cancel without a running update with an error; callers must not guess.
    if (!stack.locked) throw new Error(`no update in progress on ${stackName}`);
    stack.locked = this.relockAfterCancel;
  }

  /** Strict where Pulumi only warns: refusing pending operations proves that destroy clears them first. */
  async destroy(stackName: string, onOutput: (chunk: string) => void): Promise<void> {
    this.calls.push(`destroy ${stackName}`);
    const stack = this.unlocked(stackName);
    if (stack.pending.length > 0) throw new Error(`${stackName} has pending operations`);
    onOutput(`Destroying (${stackName})\n`);
    stack.resourceCount = 0;
    stack.outputs = {};
    this.record(stack, "destroy");
  }

  async removeStack(stackName: string): Promise<void> {
    this.calls.push(`removeStack ${stackName}`);
    const stack = this.get(stackName);
    if (stack.resourceCount > 0) {
      throw new Error(
        `'${stackName}' still has resources; removal rejected. Possible actions: destroy first`,
      );
    }
    this.stacks.delete(stackName);
  }

  /** What the program would deploy with the stack's config. */
  private deploy(stack: MemoryStack): void {
    const target = this.setting(stack, "target");
    if (this.setting(stack, "previewHost") === "true") {
      stack.resourceCount = 6;
      stack.outputs =
        target === "local"
          ? {
              previewDomain: "localhost",
              previewPort: 10080,
              networkName: "previews-local",
            }
          : {
              previewDomain: this.setting(stack, "previewDomain") ?? "198.51.100.7.sslip.io",
              previewPort: 10080,
              networkName: "previews",
              region: stack.config["aws:region"]?.value,
              instanceType: this.setting(stack, "instanceType"),
              publicIp: "198.51.100.7",
              previewBoundaryArn: "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary",
            };
    } else {
      const hostStack = this.setting(stack, "previewHostStack");
      const host = hostStack === undefined ? undefined : this.stacks.get(hostStack);
      const domain = host?.outputs.previewDomain;
      if (typeof domain !== "string") {
        throw new Error(`unknown stack reference ${hostStack}, or it has no output previewDomain`);
      }
      const prefix = this.setting(stack, "namePrefix") ?? "none";
      const registry =
        target === "local" ? "activity-local-image" : "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
      stack.resourceCount = target === "local" ? 7 : 6;
      stack.outputs = {
        apiUrl: `http://${prefix}.${domain}:${String(host?.outputs.previewPort)}`,
        imageRef: `${registry}/${prefix}-api@${SAMPLE_DIGEST}`,
        release: "0.1.0-9e3e49c03609",
        tableName: `${prefix}-activities`,
        // A local preview's own DynamoDB Local keeps its data on this volume, which goes with the stack.
        ...(target === "local" && { databaseVolume: `${prefix}-dynamodb-data-5d4c3b2` }),
      };
    }
    this.record(stack, "update");
  }

  private setting(stack: MemoryStack, name: string): string | undefined {
    return stack.config[`activity-api:${name}`]?.value;
  }

  /** A stack, after any concurrent run whose time has come has finished. */
  private get(stackName: string): MemoryStack {
    const stack = this.stacks.get(stackName);
    if (stack === undefined) throw new StackMissingError(stackName);
    const run = stack.concurrentRun;
    if (run !== undefined && this.now().getTime() >= run.until.getTime()) {
      stack.concurrentRun = undefined;
      stack.locked = false;
      run.finish(stack);
    }
    return stack;
  }

  private unlocked(stackName: string): MemoryStack {
    const stack = this.get(stackName);
    if (stack.locked) throw new StackLockedError(stackName);
    return stack;
  }

  private record(stack: MemoryStack, kind: string): void {
    stack.history.unshift({ kind, result: "succeeded", endTime: this.now(), config: { ...stack.config } });
  }
}
