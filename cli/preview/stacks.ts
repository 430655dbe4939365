/**
 * Reading and destroying preview stacks, as destroy, prune, list, up and host destroy share them: a stack's
 * metadata wherever it is kept, and a destroy that is idempotent and recovers what a killed run left behind.
 */

import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { PREVIEW_HOST_STACKS, type PreviewTarget } from "../../stack/contract.js";
import type { CliDeps } from "./deps.js";
import { previewTargetOf } from "./naming.js";
import { firstLine } from "./output.js";
import type { StackRecord } from "./plan.js";
import { type PreviewMetadata, readPreviewMetadata } from "./stack-config.js";
import { type LastUpdate, type PreviewWorkspace, StackLockedError, StackMissingError } from "./workspace.js";

export interface Inspected {
  readonly record: StackRecord;
  readonly lastUpdate: LastUpdate | undefined;
  readonly problem: string | undefined;
}

/** The target's preview stacks among `stackNames`. */
export function previewsOf(target: PreviewTarget, stackNames: readonly string[]): string[] {
  return stackNames.filter((stackName) => previewTargetOf(stackName) === target);
}

/**
 * Reads a stack's preview metadata: from its Pulumi.<stack>.yaml when this checkout has one, else from the
 * config its last update ran with (a CI job starts from a fresh checkout). A stack that cannot be read still
 * counts: it is returned without metadata and with the problem.
 */
export async function inspect(workspace: PreviewWorkspace, stackName: string): Promise<Inspected> {
  try {
    const local = readPreviewMetadata(await workspace.getConfig(stackName));
    const lastUpdate = await workspace.lastUpdate(stackName);
    const metadata = local ?? (lastUpdate && readPreviewMetadata(lastUpdate.config));
    return { record: { stackName, metadata }, lastUpdate, problem: undefined };
  } catch (error) {
    return { record: { stackName, metadata: undefined }, lastUpdate: undefined, problem: firstLine(error) };
  }
}

/**
 * A preview's metadata alone, as `up` of an existing preview needs it: from `config`, its Pulumi.<stack>.yaml
 * as the caller read it, and only when this checkout has none from its last update (one more pulumi command).
 */
export async function readMetadata(
  workspace: PreviewWorkspace,
  stackName: string,
  config: ConfigMap,
): Promise<PreviewMetadata | undefined> {
  const local = readPreviewMetadata(config);
  if (local !== undefined) return local;
  const lastUpdate = await workspace.lastUpdate(stackName);
  return lastUpdate && readPreviewMetadata(lastUpdate.config);
}

/** One stack at a time: each read is a pulumi process, and a target may have many previews. */
export async function inspectAll(
  workspace: PreviewWorkspace,
  stackNames: readonly string[],
): Promise<Inspected[]> {
  const inspected: Inspected[] = [];
  for (const stackName of stackNames) inspected.push(await inspect(workspace, stackName));
  return inspected;
}

/**
 * Destroys a preview's resources and removes its stack; a local preview's data volume goes with them, which
 * it says, as npm run dev:down does. Idempotent: a stack that does not exist, or disappears meanwhile, is
 * success.
 */
export async function destroyPreview(
  workspace: PreviewWorkspace,
  stackName: string,
  deps: CliDeps,
  options: { readonly recoverLock: boolean },
): Promise<"destroyed" | "absent"> {
  const target = previewTargetOf(stackName);
  if (target === undefined) throw new Error(`refusing to destroy ${stackName}: it is not a preview stack`);
  // Read before the destroy, whose outputs go with the stack; a stack never deployed has none.
  const volume = target === "local" ? await databaseVolumeOf(workspace, stackName) : undefined;
  const outcome = await destroyStack(workspace, stackName, deps, options);
  if (outcome === "destroyed" && volume !== undefined) {
    deps.out(
      `Removed the volume ${volume} and with it DynamoDB Local's tables and items; ` +
        "the branch's next up starts from an empty database.",
    );
  }
  return outcome;
}

/**
 * Destroys a preview's or a preview host's resources and removes its stack; never any other stack.
 *
 * Recovering a stack left mid-operation by a killed run is two documented steps
 * (https://www.pulumi.com/docs/iac/troubleshooting/common-issues/interrupted-updates/):
 * 1. The lock. A killed run leaves the stack locked (Pulumi Cloud: the update stays "in progress"; DIY
 *    backends: a lock file), and every later operation fails as locked ({@link StackLockedError}).
 *    `pulumi cancel` releases it on both; the DIY backends support it since pulumi/pulumi#9100. It is used
 *    only after an operation was actually refused, only once, and only when `recoverLock` says the caller
 *    may (a user destroying one preview, not prune working unattended across many).
 * 2. Pending operations. Operations the run had started stay in the state's `pending_operations`; `pulumi
 *    refresh --clear-pending-creates` reads the real resources and drops them, where hand-editing the state
 *    (`pulumi stack export` and `import`) would be the error-prone alternative.
 *    A pending *create* may have made a resource that the state never recorded; it cannot be destroyed from
 *    here, so its URN is printed for a look.
 */
export async function destroyStack(
  workspace: PreviewWorkspace,
  stackName: string,
  deps: CliDeps,
  { recoverLock }: { readonly recoverLock: boolean },
): Promise<"destroyed" | "absent"> {
  const isHost = Object.values(PREVIEW_HOST_STACKS).includes(stackName);
  if (previewTargetOf(stackName) === undefined && !isHost) {
    throw new Error(`refusing to destroy ${stackName}: it is neither a preview nor a preview host`);
  }
  if (!(await workspace.listStacks()).includes(stackName)) return "absent";
  let cancelled = false;
  const unlocked = async (operation: () => Promise<void>): Promise<void> => {
    try {
      await operation();
    } catch (error) {
      if (!(error instanceof StackLockedError) || !recoverLock || cancelled) throw error;
      deps.err(
        `warning: ${stackName} is locked, presumably by a killed run; releasing the lock (pulumi cancel)`,
      );
      await workspace.cancel(stackName);
      cancelled = true;
      await operation();
    }
  };
  try {
    const pending = await workspace.pendingOperations(stackName);
    if (pending.length > 0) {
      deps.err(
        `warning: ${stackName} has ${pending.length} operation(s) an interrupted run left unfinished:`,
      );
      for (const operation of pending) deps.err(`  ${operation.type} ${operation.urn}`);
      deps.err("  a pending create may have made a resource the state does not know; check for it");
      await unlocked(() => workspace.clearPendingOperations(stackName, deps.progress));
    }
    await unlocked(() => workspace.destroy(stackName, deps.progress));
    await workspace.removeStack(stackName);
    return "destroyed";
  } catch (error) {
    if (error instanceof StackMissingError) return "absent";
    throw error;
  }
}

/** A local preview's `databaseVolume` output; undefined when it has none (never deployed, or absent). */
async function databaseVolumeOf(workspace: PreviewWorkspace, stackName: string): Promise<string | undefined> {
  const outputs = await workspace.outputs(stackName).catch(() => ({}) as Record<string, unknown>);
  return typeof outputs.databaseVolume === "string" ? outputs.databaseVolume : undefined;
}
