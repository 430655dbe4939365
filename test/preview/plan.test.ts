/** Expiry, prune planning (what goes, what is protected) and the cost guard, as pure decisions. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { previewNames, previewTargetOf } from "../../cli/preview/naming.js";
import {
  CostGuardError,
  checkCapacity,
  checkCostGuard,
  checkInstanceType,
  committedMemoryMib,
  DEFAULT_ALLOWED_INSTANCE_TYPES,
  expiryFrom,
  INSTANCE_MEMORY_MIB,
  planPrune,
  type StackRecord,
} from "../../cli/preview/plan.js";
import type { PreviewMetadata } from "../../cli/preview/stack-config.js";

const now = new Date("2030-06-01T12:00:00.000Z");
const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000);

function metadata(branchLabel: string, createdHoursAgo: number, expiresInHours: number): PreviewMetadata {
  return {
    branchLabel,
    pullRequest: undefined,
    createdAt: hoursAgo(createdHoursAgo),
    expiresAt: hoursAgo(-expiresInHours),
    keep: false,
  };
}

/** A preview of `branch`, named exactly as `up` names it. */
function preview(branch: string, createdHoursAgo: number, expiresInHours: number): StackRecord {
  return {
    stackName: previewNames(branch).stackName,
    metadata: metadata(branch, createdHoursAgo, expiresInHours),
  };
}

describe("expiryFrom", () => {
  it("adds the TTL in hours", () => {
    expect(expiryFrom(now, 72).toISOString()).toBe("2030-06-04T12:00:00.000Z");
    expect(expiryFrom(now, 0.5).toISOString()).toBe("2030-06-01T12:30:00.000Z");
  });
});

describe("planPrune", () => {
  const expired = metadata("old", 100, -28);
  const stacks: StackRecord[] = [
    // Not previews, even with expired preview metadata in their config: never touched.
    { stackName: "dev", metadata: expired },
    { stackName: "test", metadata: expired },
    { stackName: "preview", metadata: expired },
    { stackName: "Preview-x", metadata: expired },
    { stackName: "xpreview-y", metadata: expired },
    // The hosts, and the other target's previews.
    { stackName: "previews-aws", metadata: expired },
    { stackName: "previews-local", metadata: expired },
    { stackName: previewNames("feature/expired", "local").stackName, metadata: expired },
    preview("feature/expired", 80, -8),
    preview("feature/alive", 10, 62),
    preview("feature/deleted", 5, 67),
    preview("feature/expired-and-deleted", 90, -18),
    { stackName: previewNames("feature/no-metadata").stackName, metadata: undefined },
  ];
  const liveBranches = ["main", "feature/expired", "feature/alive", "feature/no-metadata"];

  it("destroys expired previews and those of deleted branches, oldest first, with every reason", () => {
    const plan = planPrune(stacks, now, liveBranches, "ec2");
    expect(plan.destroy.map(({ stack, reasons }) => [stack.metadata?.branchLabel, reasons])).toEqual([
      ["feature/expired-and-deleted", ["expired", "branch deleted"]],
      ["feature/expired", ["expired"]],
      ["feature/deleted", ["branch deleted"]],
    ]);
    expect(plan.keep.map(({ stack }) => stack.stackName)).toEqual([
      previewNames("feature/alive").stackName,
      previewNames("feature/no-metadata").stackName,
    ]);
    expect(plan.keep[1]?.why).toMatch(/no preview metadata/);
  });

  it("never plans to destroy a stack that is not a preview", () => {
    const plan = planPrune(stacks, now, liveBranches, "ec2");
    expect(plan.protected).toEqual([
      "dev",
      "test",
      "preview",
      "Preview-x",
      "xpreview-y",
      "previews-aws",
      "previews-local",
      previewNames("feature/expired", "local").stackName,
    ]);
    expect(plan.destroy.every(({ stack }) => previewTargetOf(stack.stackName) === "ec2")).toBe(true);
  });

  it("keeps a pinned preview whatever applies to it, and says what would otherwise have applied", () => {
    const pinned = preview("feature/pinned", 100, -28);
    const kept = { ...pinned, metadata: pinned.metadata && { ...pinned.metadata, keep: true } };
    const plan = planPrune([kept], now, ["main"], "ec2");
    expect(plan.destroy).toEqual([]);
    expect(plan.keep).toEqual([
      {
        stack: kept,
        why: "pinned with up --keep (otherwise: expired, branch deleted); up --no-keep unpins it",
      },
    ]);
  });

  it("plans the local target's previews by their local names", () => {
    const local = {
      ...preview("feature/x", 10, 62),
      stackName: previewNames("feature/x", "local").stackName,
    };
    expect(planPrune([local], now, ["feature/x"], "local").keep).toHaveLength(1);
    expect(planPrune([local], now, ["main"], "local").destroy).toHaveLength(1);
    expect(planPrune([local], now, ["main"], "ec2").protected).toEqual([local.stackName]);
  });

  it("judges by expiry alone without a list of live branches", () => {
    const plan = planPrune(stacks, now, undefined, "ec2");
    expect(plan.destroy.map(({ stack }) => stack.metadata?.branchLabel)).toEqual([
      "feature/expired-and-deleted",
      "feature/expired",
    ]);
  });

  it("counts a preview as expired from the very moment of its expiry", () => {
    const atExpiry = { stackName: "preview-edge", metadata: { ...metadata("edge", 72, 0), expiresAt: now } };
    expect(planPrune([atExpiry], now, undefined, "ec2").destroy).toHaveLength(1);
  });

  it("partitions any set of stacks and destroys only previews", () => {
    const record = fc.record({
      stackName: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 20 }).map((rest) => `preview-${rest}`),
        fc.string({ maxLength: 20 }).map((rest) => `preview-local.${rest}`),
        fc.constantFrom(
          "dev",
          "test",
          "preview",
          "Preview-x",
          "xpreview-y",
          "previews-aws",
          "previews-local",
        ),
      ),
      metadata: fc.option(
        fc.record({
          branchLabel: fc.string({ maxLength: 10 }),
          pullRequest: fc.constant(undefined),
          createdAt: fc.date({ noInvalidDate: true }),
          expiresAt: fc.date({ noInvalidDate: true }),
          keep: fc.boolean(),
        }),
        { nil: undefined },
      ),
    });
    const branches = fc.option(fc.array(fc.stringMatching(/^[a-z][a-z0-9/-]{0,15}$/), { minLength: 1 }), {
      nil: undefined,
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 15 }), branches, (records, live) => {
        const plan = planPrune(records, now, live, "ec2");
        expect(plan.destroy.length + plan.keep.length + plan.protected.length).toBe(records.length);
        for (const { stack } of plan.destroy) expect(previewTargetOf(stack.stackName)).toBe("ec2");
        for (const name of plan.protected) expect(previewTargetOf(name)).not.toBe("ec2");
      }),
      { numRuns: 500 },
    );
  });
});

describe("checkCostGuard", () => {
  const five = [
    preview("b", 30, 42),
    preview("a", 50, 22),
    preview("c", 20, 52),
    preview("d", 10, 62),
    preview("e", 5, 67),
  ];

  it("lets a new preview through below the maximum", () => {
    expect(() => checkCostGuard(previewNames("new").stackName, five.slice(0, 4), 5)).not.toThrow();
  });

  it("refuses a new preview at the maximum and names the three oldest, oldest first", () => {
    const target = previewNames("new").stackName;
    expect(() => checkCostGuard(target, five, 5)).toThrow(CostGuardError);
    expect(() => checkCostGuard(target, five, 5)).toThrow(
      new RegExp(
        `5 ec2 previews are live and the maximum is 5, so ${target} was not created\\. ` +
          `Oldest: ${previewNames("a").stackName} \\(branch a, created .*\\), ` +
          `${previewNames("b").stackName} \\(branch b, .*\\), ${previewNames("c").stackName} \\(branch c, .*\\)\\. ` +
          "Destroy one",
      ),
    );
  });

  it("puts previews without metadata first among the oldest", () => {
    const orphan = { stackName: "preview-orphan", metadata: undefined };
    expect(() => checkCostGuard("preview-new", [...five.slice(0, 4), orphan], 5)).toThrow(
      /Oldest: preview-orphan \(no metadata\), /,
    );
  });

  it("always lets an existing preview update, even above the maximum", () => {
    expect(() => checkCostGuard(five[0]?.stackName ?? "", five, 3)).not.toThrow();
  });

  it("counts only the previews of the new preview's target", () => {
    const local = five.map((stack) => ({
      ...stack,
      stackName: stack.stackName.replace(/^preview-/, "preview-local."),
    }));
    expect(() =>
      checkCostGuard(previewNames("new").stackName, [...local, ...five.slice(0, 4)], 5),
    ).not.toThrow();
    expect(() => checkCostGuard(previewNames("new", "local").stackName, local, 5)).toThrow(
      /^5 local previews are live and the maximum is 5/,
    );
  });

  it("counts only previews", () => {
    const others = ["dev", "test", "preview", "Preview-x"].map((stackName) => ({
      stackName,
      metadata: undefined,
    }));
    expect(() => checkCostGuard("preview-new", [...others, ...five.slice(0, 4)], 5)).not.toThrow();
  });

  it("refuses every new preview with a maximum of 0", () => {
    expect(() => checkCostGuard("preview-new", [], 0)).toThrow(
      /0 ec2 previews are live and the maximum is 0/,
    );
  });
});

describe("checkInstanceType", () => {
  it("allows the listed types only", () => {
    for (const type of DEFAULT_ALLOWED_INSTANCE_TYPES) {
      expect(() => checkInstanceType(type, DEFAULT_ALLOWED_INSTANCE_TYPES)).not.toThrow();
    }
    expect(() => checkInstanceType("m5.24xlarge", DEFAULT_ALLOWED_INSTANCE_TYPES)).toThrow(
      'instance type "m5.24xlarge" is not allowed for previews; allowed: t3.micro, t3.small, t3a.micro, t3a.small',
    );
  });
});

describe("the capacity guard", () => {
  const onEc2 = (type: string) => ({
    host: `previews-aws (${type})`,
    memoryMib: INSTANCE_MEMORY_MIB[type] ?? 0,
  });
  /** How many previews a host of `memoryMib` takes: the most for which checkCapacity lets the last one in. */
  const fits = (target: "ec2" | "local", memoryMib: number) => {
    let previews = 0;
    for (;;) {
      try {
        checkCapacity("preview-next", target, previews + 1, { host: "h", memoryMib, disk: undefined });
      } catch (error) {
        expect(error).toBeInstanceOf(CostGuardError);
        return previews;
      }
      previews += 1;
    }
  };

  it("adds up the proxy, one app per preview plus a release rolling out and, locally, each preview's database", () => {
    expect(committedMemoryMib("ec2", 1)).toBe(128 + 512 * 2);
    expect(committedMemoryMib("ec2", 3)).toBe(128 + 512 * 4);
    expect(committedMemoryMib("local", 1)).toBe(128 + (512 + 384) + 512);
    expect(committedMemoryMib("local", 3)).toBe(128 + (512 + 384) * 3 + 512);
  });

  it("holds two previews on a t3.small and none on a t3.micro, whose memory the limits already exceed", () => {
    expect(fits("ec2", onEc2("t3.small").memoryMib)).toBe(2);
    expect(fits("ec2", onEc2("t3.micro").memoryMib)).toBe(0);
    expect(fits("ec2", onEc2("t3.medium").memoryMib)).toBe(6);
  });

  it("lets a preview in while a fifth of the disk stays free after it, and not once less would", () => {
    const disk = (freeBytes: number) => ({
      host: "h",
      memoryMib: 16_384,
      disk: { totalBytes: 100e9, freeBytes },
    });
    expect(() => checkCapacity("p", "local", 1, disk(20.53e9))).not.toThrow();
    expect(() => checkCapacity("p", "local", 1, disk(20.52e9))).toThrow(
      /would leave 19% free, below the 20% kept free/,
    );
    // A disk that cannot be measured (Docker Desktop's, in its VM) is not held against the preview.
    expect(() =>
      checkCapacity("p", "local", 1, { host: "h", memoryMib: 16_384, disk: undefined }),
    ).not.toThrow();
  });
});
