/**
 * Pure decisions about previews' lives: when one expires, which ones prune destroys (and which it must never
 * touch), and the cost guard that refuses a new preview beyond the configured number or instance types.
 */
import type { PreviewMetadata } from "./config.js";
import { isPreviewStackName, previewNames } from "./naming.js";

export const DEFAULT_TTL_HOURS = 72;
export const DEFAULT_MAX_LIVE = 5;
export const DEFAULT_INSTANCE_TYPE = "t3.micro";
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
  /** Previews that stay, with why (a live branch and time left, or no metadata to judge by). */
  readonly keep: readonly { readonly stack: StackRecord; readonly why: string }[];
  /** Stacks that are not previews: prune never touches them, whatever their config says. */
  readonly protected: readonly string[];
}

/**
 * Plans a prune. `liveBranches` are the raw names of the branches that still exist; a preview whose stack
 * name is not the stack name of one of them belongs to a deleted branch (names are deterministic, so no
 * metadata is needed for this). Without the list, only expiry counts.
 */
export function planPrune(
  stacks: readonly StackRecord[],
  now: Date,
  liveBranches: readonly string[] | undefined,
): PrunePlan {
  const liveStackNames =
    liveBranches && new Set(liveBranches.map((branch) => previewNames(branch).stackName));
  const destroy: { stack: StackRecord; reasons: PruneReason[] }[] = [];
  const keep: { stack: StackRecord; why: string }[] = [];
  const protectedStacks: string[] = [];
  for (const stack of stacks) {
    if (!isPreviewStackName(stack.stackName)) {
      protectedStacks.push(stack.stackName);
      continue;
    }
    const reasons: PruneReason[] = [];
    const expiresAt = stack.metadata?.expiresAt;
    if (expiresAt !== undefined && expiresAt.getTime() <= now.getTime()) reasons.push("expired");
    if (liveStackNames && !liveStackNames.has(stack.stackName)) reasons.push("branch deleted");
    if (reasons.length > 0) destroy.push({ stack, reasons });
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
 * Refuses to create `target` when `maxLive` previews already exist. An existing preview may always be
 * updated: it is already counted. Expired previews count too, since they cost money until prune removes them.
 */
export function checkCostGuard(target: string, stacks: readonly StackRecord[], maxLive: number): void {
  const previews = stacks.filter((stack) => isPreviewStackName(stack.stackName));
  if (previews.some((stack) => stack.stackName === target)) return;
  if (previews.length < maxLive) return;
  const oldest = byAge(previews, (stack) => stack)
    .slice(0, OLDEST_NAMED)
    .map(describe)
    .join(", ");
  throw new CostGuardError(
    `${previews.length} previews are live and the maximum is ${maxLive}, so ${target} was not created. ` +
      `Oldest: ${oldest}. Destroy one (npm run preview -- destroy --branch NAME), run prune, or raise --max-live.`,
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
