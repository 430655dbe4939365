/** `preview list`: the target's previews with their estimated cost, and a line for the host. */
import { describe, expect, it } from "vitest";
import { harness } from "../harness.js";

describe("preview list", () => {
  it("lists the target's previews only, with branch, age, expiry or pin, URL, last update and cost, then the host", async () => {
    const h = harness();
    h.workspace.seed("dev");
    h.workspace.seed("test");
    await h.run("up", "--branch", "feature/Add-Login");
    await h.run("up", "--branch", "kept", "--keep");
    await h.run("up", "--branch", "elsewhere", "--target", "local");
    h.advance(26);
    h.clearOutput();
    expect(await h.run("list")).toBe(0);
    expect(h.out).toEqual([
      "STACK                                   BRANCH             AGE  EXPIRES  URL                                                               LAST UPDATE                                COST/DAY",
      "preview-feature-add-login-dddb1d05d5ec  feature/Add-Login  26h  in 46h   http://pv-feature-add-login-dddb1d05.198.51.100.7.sslip.io:10080  update succeeded 2030-06-01T12:00:00.000Z  $0.39",
      "preview-kept-79f076abdd19               kept               26h  kept     http://pv-kept-79f076ab.198.51.100.7.sslip.io:10080               update succeeded 2030-06-01T12:00:00.000Z  $0.39",
      "Host previews-aws: deployed, serving *.198.51.100.7.sslip.io:10080; $0.73/day (t3.small), split over 2 preview(s).",
    ]);
  });

  it("lists local previews at no cost", async () => {
    const h = harness();
    await h.run("up", "--target", "local", "--branch", "x");
    h.clearOutput();
    expect(await h.run("list", "--target", "local")).toBe(0);
    expect(h.out[1]).toMatch(/ \$0$/);
    expect(h.out.at(-1)).toBe(
      "Host previews-local: deployed, serving *.localhost:10080; local engine: no cloud cost.",
    );
  });

  it("says so when there is none, and whether the host exists", async () => {
    const h = harness();
    h.workspace.seed("test");
    expect(await h.run("list")).toBe(0);
    expect(h.out).toEqual(["No ec2 previews.", "Host previews-aws: none; the next up creates it."]);
    h.workspace.seed("previews-aws");
    h.clearOutput();
    await h.run("list");
    expect(h.out.at(-1)).toBe(
      "Host previews-aws: its stack exists but is not deployed; the next up deploys it.",
    );
  });
});
