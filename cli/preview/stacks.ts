/**
 * Reading and destroying preview stacks, as destroy, prune, list, up and host destroy share them: a stack's
 * metadata wherever it is kept, and a destroy that is idempotent and recovers what a killed run left behind.
 */

import { PREVIEW_HOST_STACKS, type PreviewTarget } from "../../stack/contract.js";
import type { CliDeps } from "./deps.js";
import { readHostOutputs } from "./host.js";
import { previewTargetOf } from "./naming.js";
import { firstLine } from "./output.js";
import type { StackRecord } from "./plan.js";
import { readPreviewMetadata } from "./stack-config.js";
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

/** One stack at a time: selecting a stack rewrites the workspace's current-stack file. */
export async function inspectAll(
  workspace: PreviewWorkspace,
  stackNames: readonly string[],
): Promise<Inspected[]> {
  const inspected: Inspected[] = [];
  for (const stackName of stackNames) inspected.push(await inspect(workspace, stackName));
  return inspected;
}

/**
 * Destroys a preview's resources and removes its stack; locally, then deletes its table from the host's
 * DynamoDB Local, where the stack does not own it. Idempotent: a stack that does not exist, or disappears
 * meanwhile, is success.
 */
export async function destroyPreview(
  workspace: PreviewWorkspace,
  stackName: string,
  deps: CliDeps,
  options: { readonly recoverLock: boolean },
): Promise<"destroyed" | "absent"> {
  const target = previewTargetOf(stackName);
  if (target === undefined) throw new Error(`refusing to destroy ${stackName}: it is not a preview stack`);
  const table = target === "local" ? await localTableOf(workspace, stackName) : undefined;
  const outcome = await destroyStack(workspace, stackName, deps, options);
  if (outcome === "destroyed" && table !== undefined) await deleteTable(table, deps);
  return outcome;
}

/**
 * Destroys a preview's or a preview host's resources and removes its stack; never any other stack.
 *
 * Recovering a stack left mid-operation by a killed run is two documented steps
 * (https://www.pulumi.com/docs/iac/troubleshooting/common-issues/interrupted-updates/):
 * 1. The lock. A killed run leaves the stack locked (Pulumi Cloud: the update stays "in progress"; DIY
 *    backends: a lock file), and every later operation fails with ConcurrentUpdateError. `Stack.cancel()`
 *    (`pulumi cancel`) releases it on both; the DIY backends support it since pulumi/pulumi#9100. It is used
 *    only after an operation was actually refused, only once, and only when `recoverLock` says the caller
 *    may (a user destroying one preview, not prune working unattended across many).
 * 2. Pending operations. Operations the run had started stay in the state's `pending_operations`; `pulumi
 *    refresh --clear-pending-creates` (RefreshOptions.clearPendingCreates) reads the real resources and drops
 *    them, where hand-editing the state through exportStack/importStack would be the error-prone alternative.
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

interface LocalTable {
  readonly stackName: string;
  /** The preview's `tableName` output; undefined when it never finished an up. */
  readonly tableName: string | undefined;
  /** The host's `dynamodbHostEndpoint`; undefined when the host is gone, and its tables with it. */
  readonly endpoint: string | undefined;
}

/**
 * Read before the destroy: afterwards the stack's outputs are gone. A stack or host that does not exist reads
 * as no outputs (destroyStack then finds the stack absent, and a host that is gone took its tables with it).
 */
async function localTableOf(workspace: PreviewWorkspace, stackName: string): Promise<LocalTable> {
  const outputsOf = (name: string) => workspace.outputs(name).catch(() => ({}) as Record<string, unknown>);
  const outputs = await outputsOf(stackName);
  const tableName = typeof outputs.tableName === "string" ? outputs.tableName : undefined;
  const host = readHostOutputs(await outputsOf(PREVIEW_HOST_STACKS.local));
  return { stackName, tableName, endpoint: host?.dynamodbHostEndpoint };
}

/** A table left behind is worth a warning, not a failure: the stack is gone, and host destroy removes it. */
async function deleteTable(table: LocalTable, deps: CliDeps): Promise<void> {
  if (table.tableName === undefined) {
    deps.err(`note: ${table.stackName} exported no tableName (it never finished an up): no table to delete`);
    return;
  }
  if (table.endpoint === undefined) {
    deps.err(`note: the local preview host is not deployed, so table ${table.tableName} went with it`);
    return;
  }
  try {
    const outcome = await deps.deleteLocalTable(table.endpoint, table.tableName);
    deps.out(
      outcome === "deleted"
        ? `Deleted table ${table.tableName} from the host's DynamoDB Local (${table.endpoint}).`
        : `Table ${table.tableName} was not in the host's DynamoDB Local; nothing to delete.`,
    );
  } catch (error) {
    deps.err(
      `warning: could not delete table ${table.tableName} from ${table.endpoint} (${firstLine(error)}); ` +
        `delete it by hand (aws dynamodb delete-table --table-name ${table.tableName} ` +
        `--endpoint-url ${table.endpoint}) or run host destroy once no preview is left`,
    );
  }
}
