/**
 * The cost meter: what a target's preview host and each of its previews are estimated to cost a day, from a
 * small price table, and the budget cap (PREVIEW_BUDGET_PER_DAY) that refuses an `up` beyond it.
 */
import type { PreviewTarget } from "../../stack/contract.js";
import { CostGuardError } from "./plan.js";

/**
 * eu-west-1 (Ireland) on-demand list prices in USD, Linux, as this repository has used them since the test
 * stack's cost note (docs/deploying.md, late 2026), from AWS's pricing pages: aws.amazon.com/ec2/pricing/on-demand/
 * (instances), /vpc/pricing/ (public IPv4), /ebs/pricing/ (gp3), /dynamodb/pricing/on-demand/ (requests,
 * storage, PITR), /ecr/pricing/ (storage). Other regions differ by up to a fifth: the meter is an estimate to
 * hold a budget by, not a bill.
 */
export const PRICES = {
  instancePerHour: {
    "t3.micro": 0.0114,
    "t3.small": 0.0228,
    "t3a.micro": 0.0102,
    "t3a.small": 0.0204,
  } as Readonly<Record<string, number>>,
  publicIpv4PerHour: 0.005,
  gp3PerGbMonth: 0.088,
  dynamodbPerMillionWrites: 0.7068,
  dynamodbPerMillionReads: 0.1413,
  dynamodbStoragePerGbMonth: 0.283,
  dynamodbPitrPerGbMonth: 0.2263,
  ecrStoragePerGbMonth: 0.1,
} as const;

/** AWS turns monthly prices into hourly ones with 730 hours a month. */
const HOURS_PER_MONTH = 730;
/** The host's encrypted gp3 root volume (components/docker-host.ts). */
const ROOT_VOLUME_GB = 20;

/**
 * What one preview is assumed to use, generously for a review environment: 10,000 writes and 100,000 reads
 * a day, a 100 MB table with point-in-time recovery, a 250 MB image in ECR.
 */
const PREVIEW_USAGE = {
  writesPerDay: 10_000,
  readsPerDay: 100_000,
  tableGb: 0.1,
  imageGb: 0.25,
} as const;

const perDay = (perMonth: number) => (perMonth * 24) / HOURS_PER_MONTH;

/** A preview's own cost a day, beside its share of the host: about $0.024 with the figures above. */
export const PREVIEW_OWN_PER_DAY =
  (PREVIEW_USAGE.writesPerDay / 1e6) * PRICES.dynamodbPerMillionWrites +
  (PREVIEW_USAGE.readsPerDay / 1e6) * PRICES.dynamodbPerMillionReads +
  perDay(PREVIEW_USAGE.tableGb * (PRICES.dynamodbStoragePerGbMonth + PRICES.dynamodbPitrPerGbMonth)) +
  perDay(PREVIEW_USAGE.imageGb * PRICES.ecrStoragePerGbMonth);

/** The AWS host's cost a day (instance, public IPv4, root volume); undefined for a type without a price. */
export function hostCostPerDay(instanceType: string): number | undefined {
  const instance = PRICES.instancePerHour[instanceType];
  if (instance === undefined) return undefined;
  return (instance + PRICES.publicIpv4PerHour) * 24 + perDay(ROOT_VOLUME_GB * PRICES.gp3PerGbMonth);
}

export interface CostEstimate {
  readonly target: PreviewTarget;
  /** aws: the host's instance type. */
  readonly instanceType: string | undefined;
  /** The host's cost a day; 0 locally; undefined when no price is known for its instance type. */
  readonly hostPerDay: number | undefined;
  /** The target's live previews, over which the host's cost is split. */
  readonly previews: number;
  /** One preview's own cost a day, beside its share of the host. */
  readonly ownPerDay: number;
}

/** The estimate for `target` with `previews` live previews on a host of `instanceType` (aws). */
export function estimateCost(
  target: PreviewTarget,
  instanceType: string | undefined,
  previews: number,
): CostEstimate {
  if (target === "local") return { target, instanceType: undefined, hostPerDay: 0, previews, ownPerDay: 0 };
  return {
    target,
    instanceType,
    hostPerDay: instanceType === undefined ? undefined : hostCostPerDay(instanceType),
    previews,
    ownPerDay: PREVIEW_OWN_PER_DAY,
  };
}

/** One preview's estimate: its share of the host and its own costs. */
export function previewPerDay(estimate: CostEstimate): number | undefined {
  if (estimate.hostPerDay === undefined) return undefined;
  return estimate.hostPerDay / Math.max(1, estimate.previews) + estimate.ownPerDay;
}

/** The target's estimate: nothing without a preview, else the host and every preview's own costs. */
export function totalPerDay(estimate: CostEstimate): number | undefined {
  if (estimate.previews === 0) return 0;
  if (estimate.hostPerDay === undefined) return undefined;
  return estimate.hostPerDay + estimate.previews * estimate.ownPerDay;
}

export function usd(amount: number): string {
  return `$${amount.toFixed(2)}`;
}

/** One preview's estimate with how it is made, e.g. "$0.17/day (host t3.small $0.73/day ÷ 5 previews + $0.02)". */
export function describePreviewCost(estimate: CostEstimate): string {
  if (estimate.target === "local") return "$0/day (local engine: no cloud cost)";
  const each = previewPerDay(estimate);
  if (each === undefined || estimate.hostPerDay === undefined) return unknownPrice(estimate);
  const split = estimate.previews === 1 ? "1 preview" : `${estimate.previews} previews`;
  return (
    `${usd(each)}/day (host ${estimate.instanceType} ${usd(estimate.hostPerDay)}/day ÷ ${split} ` +
    `+ ${usd(estimate.ownPerDay)} of its own)`
  );
}

/** The host's line of the estimate, e.g. "$0.73/day (t3.small), split over 2 previews". */
export function describeHostCost(estimate: CostEstimate): string {
  if (estimate.target === "local") return "local engine: no cloud cost";
  if (estimate.hostPerDay === undefined) return unknownPrice(estimate);
  return `${usd(estimate.hostPerDay)}/day (${estimate.instanceType}), split over ${estimate.previews} preview(s)`;
}

function unknownPrice(estimate: CostEstimate): string {
  return `unknown (no price for instance type ${estimate.instanceType ?? "?"} in cli/preview/cost.ts)`;
}

/**
 * Refuses an `up` that would bring the target's estimated daily cost (host and every preview, this one
 * included) above `cap`; nothing has been created. Without a cap there is nothing to check.
 */
export function checkBudget(estimate: CostEstimate, cap: number | undefined, stackName: string): void {
  if (cap === undefined) return;
  const total = totalPerDay(estimate);
  const wayOut =
    `Destroy a preview (npm run preview -- destroy --target ${estimate.target} --branch NAME), run prune, ` +
    "or raise PREVIEW_BUDGET_PER_DAY.";
  if (total === undefined) {
    throw new CostGuardError(
      `no price is known for instance type ${estimate.instanceType}, so PREVIEW_BUDGET_PER_DAY ` +
        `${usd(cap)} cannot be checked and ${stackName} was not created. Use a type of the price table ` +
        `(${Object.keys(PRICES.instancePerHour).join(", ")}) or unset PREVIEW_BUDGET_PER_DAY.`,
    );
  }
  // Compared as displayed, in cents, so that a refusal never reads "$0.72/day, over $0.72".
  if (Math.round(total * 100) <= Math.round(cap * 100)) return;
  throw new CostGuardError(
    `with ${stackName} the ${estimate.target} previews would cost an estimated ${usd(total)}/day ` +
      `(host ${usd(estimate.hostPerDay ?? 0)} + ${estimate.previews} × ${usd(estimate.ownPerDay)}), over ` +
      `PREVIEW_BUDGET_PER_DAY ${usd(cap)}, so it was not created. ${wayOut}`,
  );
}
