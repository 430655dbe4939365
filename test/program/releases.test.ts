/**
 * Releases by name, the real program under mocks: what a stack keeps, what a pin deploys (nothing built), and
 * a pin the stack does not keep refused before anything is declared. The record is the stack's own outputs,
 * as the engine's readStackOutputs returns them.
 */
import { describe, expect, it } from "vitest";
import type { ReleaseRecord } from "../../stack/contract.js";
import { type ProgramRun, runProgram, USER_VALUES } from "../helpers/pulumi.js";

const digest = (hex: string) => `sha256:${hex.repeat(64).slice(0, 64)}`;
const R2: ReleaseRecord = {
  release: "0.1.0-222222222222",
  digest: digest("b"),
  firstServed: "2026-12-07T01:20:00.000Z",
};
const R1: ReleaseRecord = {
  release: "0.1.0-111111111111",
  digest: digest("a"),
  firstServed: "2026-12-07T01:10:00.000Z",
};
/** The record of a stack that served r1, then r2 (serving). */
const recorded = (stack: string) => ({
  [`organization/activity-api/${stack}`]: { release: R2.release, releases: [R2, R1] },
});

const names = (run: ProgramRun, type: string) => run.ofType(type).map((registration) => registration.name);
/** The local images the stack owns, by resource name, sorted (they register as their names resolve). */
const localImages = (run: ProgramRun) =>
  names(run, "docker:index/remoteImage:RemoteImage")
    .filter((name) => name.startsWith("activity-local-image-"))
    .sort();

describe("the dev stack's releases", () => {
  it("builds the working tree, keeps the images of the recorded releases, and records the new one first", async () => {
    const run = await runProgram("dev", {}, recorded("dev"));
    const release = String(run.outputs.release);
    expect(names(run, "docker:index/image:Image")).toEqual(["activity-image"]);
    expect(localImages(run)).toEqual(
      [
        `activity-local-image-${release}`,
        `activity-local-image-${R2.release}`,
        `activity-local-image-${R1.release}`,
      ].sort(),
    );
    expect(
      run.named("docker:index/remoteImage:RemoteImage", `activity-local-image-${R1.release}`).inputs,
    ).toMatchObject({
      name: `activity-api:${R1.release}`,
      keepLocally: false,
    });
    const releases = run.outputs.releases as ReleaseRecord[];
    expect(releases.map((entry) => entry.release)).toEqual([release, R2.release, R1.release]);
    expect(releases[0]?.digest).toBe(run.outputs.imageRef);
    expect(run.outputs.pinnedRelease).toBeUndefined();
  });

  it("keeps only the last keepImages releases: an image beyond them is no longer declared, so the engine removes it", async () => {
    const run = await runProgram("dev", { "activity-api:keepImages": 2 }, recorded("dev"));
    const release = String(run.outputs.release);
    expect(localImages(run)).toEqual(
      [`activity-local-image-${release}`, `activity-local-image-${R2.release}`].sort(),
    );
    expect((run.outputs.releases as ReleaseRecord[]).map((entry) => entry.release)).toEqual([
      release,
      R2.release,
    ]);
  });

  it("deploys a pinned release from its kept image, building nothing, and says it is pinned", async () => {
    const run = await runProgram("dev", { "activity-api:release": R1.release }, recorded("dev"));
    expect(names(run, "docker:index/image:Image")).toEqual([]);
    expect(run.outputs.release).toBe(R1.release);
    const container = run.named("docker:index/container:Container", `activity-app-${R1.release}`);
    const image = run.named("docker:index/remoteImage:RemoteImage", `activity-local-image-${R1.release}`);
    expect(image.inputs.name).toBe(`activity-api:${R1.release}`);
    expect(container.inputs.image).toBe(run.outputs.imageRef);
    expect(run.outputs.pinnedRelease).toBe(`${R1.release}@${R1.digest}`);
    // A rollback does not make the old release new: the record keeps its order.
    expect(run.outputs.releases).toEqual([R2, R1]);
  });

  it("refuses a pin the stack does not keep, or whose digest is not the recorded one, before declaring anything", async () => {
    await expect(
      runProgram("dev", { "activity-api:release": "0.0.9-000000000000" }, recorded("dev")),
    ).rejects.toThrow(
      'activity-api:release "0.0.9-000000000000" is not a release stack dev keeps: npm run release -- list --stack dev shows the releases it keeps',
    );
    await expect(
      runProgram("dev", { "activity-api:release": `${R1.release}@${R2.digest}` }, recorded("dev")),
    ).rejects.toThrow(`stack dev recorded release ${R1.release} with digest ${R1.digest}, not that one`);
  });
});

describe("the test stack's releases (ECR)", () => {
  it("pins the host's pull and the container to the recorded digest in the stack's repository, and pushes nothing", async () => {
    const run = await runProgram(
      "test",
      { ...USER_VALUES, "activity-api:release": R1.release },
      recorded("test"),
    );
    expect(names(run, "docker:index/image:Image")).toEqual([]);
    const repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/activity-repo-7d3e0b2";
    expect(run.outputs.imageRef).toBe(`${repository}@${R1.digest}`);
    expect(
      run.named("docker:index/remoteImage:RemoteImage", `activity-app-image-${R1.release}`).inputs.name,
    ).toBe(`${repository}@${R1.digest}`);
    expect(run.outputs.pinnedRelease).toBe(`${R1.release}@${R1.digest}`);
  });

  it("records a pushed release by the digest of its image in the repository", async () => {
    const run = await runProgram("test", USER_VALUES, recorded("test"));
    const [newest] = run.outputs.releases as ReleaseRecord[];
    expect(newest?.release).toBe(run.outputs.release);
    expect(String(run.outputs.imageRef)).toBe(
      `${String(run.outputs.imageRef).split("@")[0]}@${newest?.digest}`,
    );
  });
});
