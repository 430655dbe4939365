/**
 * An in-memory PreviewWorkspace that behaves like the Automation API where the commands depend on it: missing
 * stacks, a lock left by a killed run, pending operations, removal refused while resources remain, and config
 * that a fresh CI checkout does not have but the last update's history does.
 */
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import {
  type LastUpdate,
  type PendingOperation,
  type PreviewWorkspace,
  StackLockedError,
  StackMissingError,
  topLevelKey,
} from "../../scripts/preview/workspace.js";

export interface MemoryStack {
  config: ConfigMap;
  tags: Record<string, string>;
  resourceCount: number;
  outputs: Record<string, unknown>;
  /** Held by an update that is running or was killed. */
  locked: boolean;
  pending: PendingOperation[];
  /** Newest first, as `pulumi stack history` lists it. */
  history: LastUpdate[];
}

export class MemoryWorkspace implements PreviewWorkspace {
  readonly stacks = new Map<string, MemoryStack>();
  /** Every mutating call, as "method stack", so tests can assert that nothing happened. */
  readonly calls: string[] = [];
  /** False behaves like a DIY backend, which refuses stack tags. */
  tagsSupported = true;
  /** Set to keep the stack locked after a cancel, as a run that is really alive would re-take it. */
  relockAfterCancel = false;

  constructor(private readonly now: () => Date) {}

  /** Seeds a stack as if it existed before the test. */
  seed(stackName: string, stack: Partial<MemoryStack> = {}): MemoryStack {
    const seeded: MemoryStack = {
      config: {},
      tags: {},
      resourceCount: 0,
      outputs: {},
      locked: false,
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

  async listStacks(): Promise<string[]> {
    return [...this.stacks.keys()];
  }

  async createStack(stackName: string): Promise<void> {
    this.calls.push(`createStack ${stackName}`);
    if (this.stacks.has(stackName)) throw new Error(`stack '${stackName}' already exists`);
    this.seed(stackName);
  }

  async getConfig(stackName: string): Promise<ConfigMap> {
    return { ...this.get(stackName).config };
  }

  async setConfig(stackName: string, config: ConfigMap): Promise<void> {
    this.calls.push(`setConfig ${stackName}`);
    const stack = this.get(stackName);
    const setting = new Set(Object.keys(config).map(topLevelKey));
    const kept = Object.entries(stack.config).filter(([path]) => !setting.has(topLevelKey(path)));
    stack.config = { ...Object.fromEntries(kept), ...config };
  }

  async setTags(stackName: string, tags: Readonly<Record<string, string>>): Promise<void> {
    this.calls.push(`setTags ${stackName}`);
    if (!this.tagsSupported) throw new Error("stack tags not supported in diy mode");
    Object.assign(this.get(stackName).tags, tags);
  }

  async lastUpdate(stackName: string): Promise<LastUpdate | undefined> {
    return this.get(stackName).history[0];
  }

  async outputs(stackName: string): Promise<Record<string, unknown>> {
    return { ...this.get(stackName).outputs };
  }

  async up(stackName: string, onOutput: (chunk: string) => void): Promise<Record<string, unknown>> {
    this.calls.push(`up ${stackName}`);
    const stack = this.unlocked(stackName);
    onOutput(`Updating (${stackName})\n`);
    const prefix = stack.config["activity-api:namePrefix"]?.value ?? "none";
    stack.resourceCount = 12;
    stack.outputs = {
      apiUrl: "http://198.51.100.7:10001",
      imageRef: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${prefix}-api@sha256:${"ab".repeat(32)}`,
      tableName: `${prefix}-activities`,
      hostId: "i-0123456789abcdef0",
    };
    this.record(stack, "update");
    return { ...stack.outputs };
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

  private get(stackName: string): MemoryStack {
    const stack = this.stacks.get(stackName);
    if (stack === undefined) throw new StackMissingError(stackName);
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
