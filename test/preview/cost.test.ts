/** The cost meter: the price table's arithmetic, the split over live previews, and the budget cap. */
import { describe, expect, it } from "vitest";
import {
  checkBudget,
  describeHostCost,
  describePreviewCost,
  estimateCost,
  hostCostPerDay,
  PREVIEW_OWN_PER_DAY,
  PRICES,
  previewPerDay,
  totalPerDay,
} from "../../cli/preview/cost.js";
import { CostGuardError, DEFAULT_ALLOWED_INSTANCE_TYPES } from "../../cli/preview/plan.js";

describe("the price table", () => {
  it("prices every instance type previews allow by default", () => {
    for (const type of DEFAULT_ALLOWED_INSTANCE_TYPES)
      expect(PRICES.instancePerHour[type]).toBeGreaterThan(0);
  });

  it("costs a host its instance, its public IPv4 address and its 20 GB gp3 volume", () => {
    // t3.small: (0.0228 + 0.005) × 24 + 20 × 0.088 × 24 / 730
    expect(hostCostPerDay("t3.small")).toBeCloseTo(0.6672 + 0.05786, 4);
    expect(hostCostPerDay("t3.micro")).toBeCloseTo(0.4515, 4);
    expect(hostCostPerDay("m5.large")).toBeUndefined();
  });

  it("costs a preview's own table and image about two cents a day", () => {
    expect(PREVIEW_OWN_PER_DAY).toBeCloseTo(0.0237, 4);
  });
});

describe("estimateCost", () => {
  it("splits the host over the target's live previews", () => {
    const two = estimateCost("ec2", "t3.small", 2);
    expect(previewPerDay(two)).toBeCloseTo(0.725 / 2 + 0.0237, 3);
    expect(totalPerDay(two)).toBeCloseTo(0.725 + 2 * 0.0237, 3);
    expect(describePreviewCost(two)).toBe(
      "$0.39/day (host t3.small $0.73/day ÷ 2 previews + $0.02 of its own)",
    );
    expect(describeHostCost(two)).toBe("$0.73/day (t3.small), split over 2 preview(s)");
  });

  it("counts no host without a preview", () => {
    expect(totalPerDay(estimateCost("ec2", "t3.small", 0))).toBe(0);
  });

  it("costs nothing locally", () => {
    const local = estimateCost("local", undefined, 3);
    expect([previewPerDay(local), totalPerDay(local)]).toEqual([0, 0]);
    expect(describePreviewCost(local)).toBe("$0/day (local engine: no cloud cost)");
    expect(describeHostCost(local)).toBe("local engine: no cloud cost");
  });

  it("knows it does not know a type without a price", () => {
    const unknown = estimateCost("ec2", "t3.nano", 1);
    expect(totalPerDay(unknown)).toBeUndefined();
    expect(describePreviewCost(unknown)).toBe(
      "unknown (no price for instance type t3.nano in cli/preview/cost.ts)",
    );
  });
});

describe("checkBudget", () => {
  it("passes without a cap, and at or under it", () => {
    expect(() => checkBudget(estimateCost("ec2", "t3.small", 5), undefined, "preview-x")).not.toThrow();
    expect(() => checkBudget(estimateCost("ec2", "t3.small", 1), 1, "preview-x")).not.toThrow();
    expect(() => checkBudget(estimateCost("local", undefined, 50), 0, "preview-local.x")).not.toThrow();
  });

  it("refuses over the cap with the estimate, the cap and the way out, in one line", () => {
    expect(() => checkBudget(estimateCost("ec2", "t3.small", 3), 0.75, "preview-x")).toThrow(
      new CostGuardError(
        "with preview-x the ec2 previews would cost an estimated $0.80/day (host $0.73 + 3 × $0.02), over " +
          "PREVIEW_BUDGET_PER_DAY $0.75, so it was not created. Destroy a preview (npm run preview -- destroy " +
          "--target ec2 --branch NAME), run prune, or raise PREVIEW_BUDGET_PER_DAY.",
      ),
    );
  });
});
