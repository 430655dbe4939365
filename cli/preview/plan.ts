/**
 * Pure decisions about previews' lives: when one expires, which ones prune destroys (and which it must never
 * touch), and the guards that refuse a new preview beyond the configured number, instance types, or what its
 * host's memory and disk hold.
 */

import { CONTAINER_MEMORY_MIB, type PreviewTarget } from "../../stack/contract.js";
import { previewNames, previewTargetOf } from "./naming.js";
import type { PreviewMetadata } from "./stack-config.js";

export const DEFAULT_TTL_HOURS = 72;
export const DEFAULT_MAX_LIVE = 5;
/**
 * The shared host's type. Not t3.micro: its 1 GiB holds the proxy, the system and no app with room for an
 * update's second release (checkCapacity); t3.small's 2 GiB holds two previews.
 */
export const DEFAULT_INSTANCE_TYPE = "t3.small";
// x86_64 only: the image is linux/amd64, and the program refuses Graviton (arm64) types.
export const DEFAULT_ALLOWED_INSTANCE_TYPES: readonly string[] = [
  "t3.micro",
  "t3.small",
  "t3a.micro",
  "t3a.small",
];

/** A stack as list, prune and the guard see it; metadata is undefined for stacks that carry none. */
export interface StackRecord {
  readonly stackName: string;
  readonly metadata: PreviewMetadata | undefined;
}

export function expiryFrom(now: Date, ttlHours: number): Date {
  return new Date(now.getTime() + ttlHours * 3_600_000);
}

export type PruneReason = "expired" | "branch deleted";

export interface PrunePlan {
  /** Previews to destroy, oldest first, each with every reason that applies. */
  readonly destroy: readonly { readonly stack: StackRecord; readonly reasons: readonly PruneReason[] }[];
  /** Previews that stay, with why (pinned, a live branch and time left, or no metadata to judge by). */
  readonly keep: readonly { readonly stack: StackRecord; readonly why: string }[];
  /** Stacks that are not previews of the target (hosts included): prune never touches them. */
  readonly protected: readonly string[];
}

/**
 * Plans a prune of `target`'s previews. `liveBranches` are the raw names of the branches that still exist; a
 * preview whose stack name is not the stack name of one of them belongs to a deleted branch (names are
 * deterministic, so no metadata is needed for this). Without the list, only expiry counts. A pinned preview
 * (`up --keep`) stays whatever applies to it.
 */
export function planPrune(
  stacks: readonly StackRecord[],
  now: Date,
  liveBranches: readonly string[] | undefined,
  target: PreviewTarget,
): PrunePlan {
  const liveStackNames =
    liveBranches && new Set(liveBranches.map((branch) => previewNames(branch, target).stackName));
  const destroy: { stack: StackRecord; reasons: PruneReason[] }[] = [];
  const keep: { stack: StackRecord; why: string }[] = [];
  const protectedStacks: string[] = [];
  for (const stack of stacks) {
    if (previewTargetOf(stack.stackName) !== target) {
      protectedStacks.push(stack.stackName);
      continue;
    }
    const reasons: PruneReason[] = [];
    const expiresAt = stack.metadata?.expiresAt;
    if (expiresAt !== undefined && expiresAt.getTime() <= now.getTime()) reasons.push("expired");
    if (liveStackNames && !liveStackNames.has(stack.stackName)) reasons.push("branch deleted");
    if (stack.metadata?.keep) {
      const otherwise = reasons.length > 0 ? ` (otherwise: ${reasons.join(", ")})` : "";
      keep.push({ stack, why: `pinned with up --keep${otherwise}; up --no-keep unpins it` });
    } else if (reasons.length > 0) destroy.push({ stack, reasons });
    else if (expiresAt === undefined)
      keep.push({ stack, why: "no preview metadata, so no expiry to judge by" });
    else keep.push({ stack, why: `expires ${expiresAt.toISOString()}` });
  }
  return { destroy: byAge(destroy, (entry) => entry.stack), keep, protected: protectedStacks };
}

/** `up` would exceed a limit; nothing has been created. */
export class CostGuardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CostGuardError";
  }
}

/** How many of the oldest previews the refusal names. */
const OLDEST_NAMED = 3;

/**
 * Refuses to create the preview `stackName` when `maxLive` previews of its target already exist (previews of
 * the other target are on another host and do not count). An existing preview may always be updated: it is
 * already counted. Expired previews count too, since they cost money until prune removes them.
 */
export function checkCostGuard(stackName: string, stacks: readonly StackRecord[], maxLive: number): void {
  const target = previewTargetOf(stackName);
  const previews = stacks.filter((stack) => previewTargetOf(stack.stackName) === target);
  if (previews.some((stack) => stack.stackName === stackName)) return;
  if (previews.length < maxLive) return;
  const oldest = byAge(previews, (stack) => stack)
    .slice(0, OLDEST_NAMED)
    .map(describe)
    .join(", ");
  throw new CostGuardError(
    `${previews.length} ${target} previews are live and the maximum is ${maxLive}, so ${stackName} was not ` +
      `created. Oldest: ${oldest}. Destroy one (npm run preview -- destroy --target ${target} --branch NAME), ` +
      "run prune, or raise --max-live.",
  );
}

/** Preview hosts are limited to small instance types; the list is configurable, the check is not optional. */
export function checkInstanceType(instanceType: string, allowed: readonly string[]): void {
  if (!allowed.includes(instanceType)) {
    throw new CostGuardError(
      `instance type "${instanceType}" is not allowed for previews; allowed: ${allowed.join(", ")} ` +
        "(PREVIEW_ALLOWED_INSTANCE_TYPES)",
    );
  }
}

/** Memory, in MiB, of the instance types a preview host may be (EC2's published sizes). */
export const INSTANCE_MEMORY_MIB: Readonly<Record<string, number>> = {
  "t3.micro": 1024,
  "t3.small": 2048,
  "t3.medium": 4096,
  "t3.large": 8192,
  "t3a.micro": 1024,
  "t3a.small": 2048,
  "t3a.medium": 4096,
  "t3a.large": 8192,
};

/** Memory a host keeps for its kernel, Docker and (on EC2) the SSM agent: never counted for containers. */
export const HOST_MEMORY_RESERVE_MIB = 384;

/** The share of Docker's disk on the host that must stay free once a new preview is on it. */
export const MIN_FREE_DISK_SHARE = 0.2;

/**
 * What a new preview takes on its host's disk at most: two images of about 250 MB (cost.ts's figure; an update
 * pulls the next release before the old one goes) and its logs (json-file, 3 files of 10 MB).
 */
export const PREVIEW_DISK_BYTES = 2 * 250e6 + 30e6;

/** What a preview host offers its containers, as measured (or known, for an EC2 type) before an up. */
export interface HostCapacity {
  /** How the refusal names the host, e.g. "previews-aws (t3.small)". */
  readonly host: string;
  readonly memoryMib: number;
  /** The file system Docker keeps images and containers on; undefined when it cannot be measured. */
  readonly disk: { readonly totalBytes: number; readonly freeBytes: number } | undefined;
}

/**
 * The memory limits of every container on a target's host with `previews` previews, while one of them rolls
 * out a new release beside the old (each container is limited, CONTAINER_MEMORY_MIB): the proxy, each
 * preview's app and, locally, its own DynamoDB Local.
 */
export function committedMemoryMib(target: PreviewTarget, previews: number): number {
  const perPreview =
    CONTAINER_MEMORY_MIB.app + (target === "local" ? CONTAINER_MEMORY_MIB.previewDatabase : 0);
  return CONTAINER_MEMORY_MIB.proxy + perPreview * previews + CONTAINER_MEMORY_MIB.app;
}

/**
 * Refuses to create the preview `stackName` as the `previews`-th of its target when the containers' memory
 * limits would add up beyond what the host has for them, or when its disk would keep less than
 * MIN_FREE_DISK_SHARE free. An existing preview may always be updated: it is already counted.
 */
export function checkCapacity(
  stackName: string,
  target: PreviewTarget,
  previews: number,
  capacity: HostCapacity,
): void {
  const committed = committedMemoryMib(target, previews);
  const forContainers = capacity.memoryMib - HOST_MEMORY_RESERVE_MIB;
  const wayOut =
    target === "ec2"
      ? "Destroy a preview, run prune, or use a larger --instance-type (host destroy, then up)."
      : "Destroy a preview, run prune, or give Docker more memory.";
  if (committed > forContainers) {
    throw new CostGuardError(
      `${stackName} was not created: ${previews} previews on ${capacity.host} would commit ${committed} MiB ` +
        `(the containers' memory limits, with one release rolling out) and it has ${forContainers} MiB for ` +
        `containers (${capacity.memoryMib} MiB less ${HOST_MEMORY_RESERVE_MIB} for the system). ${wayOut}`,
    );
  }
  if (capacity.disk === undefined) return;
  const { totalBytes, freeBytes } = capacity.disk;
  const freeShareAfter = (freeBytes - PREVIEW_DISK_BYTES) / totalBytes;
  if (freeShareAfter < MIN_FREE_DISK_SHARE) {
    const gb = (bytes: number) => (bytes / 1e9).toFixed(1);
    throw new CostGuardError(
      `${stackName} was not created: ${capacity.host} has ${gb(freeBytes)} GB of ${gb(totalBytes)} GB free on ` +
        `Docker's disk, and a new preview (up to ${gb(PREVIEW_DISK_BYTES)} GB) would leave ` +
        `${Math.max(0, Math.floor(freeShareAfter * 100))}% free, below the ${MIN_FREE_DISK_SHARE * 100}% kept free. ` +
        "Destroy a preview, run prune, or remove unused images on the host (docker image prune).",
    );
  }
}

function describe(stack: StackRecord): string {
  const metadata = stack.metadata;
  if (metadata === undefined) return `${stack.stackName} (no metadata)`;
  return `${stack.stackName} (branch ${metadata.branchLabel}, created ${metadata.createdAt.toISOString()})`;
}

/** Oldest first; previews without metadata first of all, as they are the likeliest leftovers. */
function byAge<T>(items: readonly T[], stackOf: (item: T) => StackRecord): T[] {
  const created = (item: T) => stackOf(item).metadata?.createdAt.getTime() ?? Number.NEGATIVE_INFINITY;
  return [...items].sort(
    (a, b) => created(a) - created(b) || stackOf(a).stackName.localeCompare(stackOf(b).stackName),
  );
}
