/** The release record's rules: what a stack keeps, in which order, and how a pin resolves against it. */
import { describe, expect, it } from "vitest";
import { parseReleasePin, type ReleaseRecord } from "../../stack/contract.js";
import { keptReleases, nextRecord, readRecord, resolvePin } from "../../stack/releases.js";

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const entry = (n: number): ReleaseRecord => ({
  release: `0.1.0-r${n}`,
  digest: digest(n),
  firstServed: `2026-12-0${n}T10:00:00.000Z`,
});
/** Newest first: r3, r2, r1. */
const record = [entry(3), entry(2), entry(1)];

describe("the release record", () => {
  it("puts a new release first and drops the oldest beyond keep", () => {
    const next = nextRecord(
      record,
      { release: "0.1.0-r4", digest: digest(4) },
      "2026-12-04T10:00:00.000Z",
      3,
    );
    expect(next).toEqual([entry(4), entry(3), entry(2)]);
  });

  it("keeps its order when a kept release serves again (a rollback does not make it new)", () => {
    expect(
      nextRecord(record, { release: "0.1.0-r2", digest: digest(2) }, "2026-12-09T00:00:00.000Z", 3),
    ).toEqual(record);
  });

  it("always keeps the serving release, even when keep shrank below its place", () => {
    expect(keptReleases(record, "0.1.0-r1", 1)).toEqual(["0.1.0-r3", "0.1.0-r1"]);
    expect(keptReleases(record, "0.1.0-r9", 2)).toEqual(["0.1.0-r9", "0.1.0-r3"]);
  });

  it("reads no record from a stack without one, and skips entries of another shape", () => {
    expect(readRecord(undefined)).toEqual([]);
    expect(readRecord("0.1.0-r1")).toEqual([]);
    expect(readRecord([entry(1), { release: "x" }])).toEqual([entry(1)]);
  });
});

describe("config release (a pin)", () => {
  it("parses a tag, a digest, or both, and refuses anything else", () => {
    expect(parseReleasePin("0.1.0-r2")).toEqual({ tag: "0.1.0-r2" });
    expect(parseReleasePin(digest(2))).toEqual({ digest: digest(2) });
    expect(parseReleasePin(`0.1.0-r2@${digest(2)}`)).toEqual({ tag: "0.1.0-r2", digest: digest(2) });
    for (const bad of ["latest", "sha256:abc", `a@b@${digest(1)}`, "", "-x"]) {
      expect(parseReleasePin(bad), bad).toBeUndefined();
    }
  });

  it("resolves a tag or a digest to the kept release, with the digest recorded when it first served", () => {
    expect(resolvePin({ tag: "0.1.0-r2" }, record, "dev")).toEqual(entry(2));
    expect(resolvePin({ digest: digest(1) }, record, "dev")).toEqual(entry(1));
    expect(resolvePin({ tag: "0.1.0-r2", digest: digest(2) }, record, "dev")).toEqual(entry(2));
  });

  it("refuses, in one line, a release the stack does not keep, or a digest that is not the one recorded", () => {
    expect(() => resolvePin({ tag: "0.1.0-r7" }, record, "dev")).toThrow(
      'activity-api:release "0.1.0-r7" is not a release stack dev keeps: npm run release -- list --stack dev shows the releases it keeps',
    );
    expect(() => resolvePin({ tag: "0.1.0-r2", digest: digest(3) }, record, "dev")).toThrow(
      `stack dev recorded release 0.1.0-r2 with digest ${digest(2)}, not that one`,
    );
  });
});
