/** `preview url`: only the URL, on stdout, of the target's preview. */
import { describe, expect, it } from "vitest";
import { previewNames } from "../../../cli/preview/naming.js";
import { harness } from "../harness.js";

describe("preview url", () => {
  it("prints only the URL of the branch's preview on the target", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    await h.run("up", "--branch", "feature/Add-Login", "--target", "local");
    h.clearOutput();
    expect(await h.run("url", "--branch", "feature/Add-Login", "--target", "local")).toBe(0);
    expect(h.out).toEqual([`http://${previewNames("feature/Add-Login").resourcePrefix}.localhost:10080`]);
    expect(await h.run("url", "--branch", "feature/Add-Login")).toBe(0);
    expect(h.out.at(-1)).toBe(
      `http://${previewNames("feature/Add-Login").resourcePrefix}.198.51.100.7.sslip.io:10080`,
    );
    expect(h.err).toEqual([]);
  });

  it("fails with one line for a branch without a preview on the target, naming the checked-out branch", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/from-git");
    h.clearOutput();
    expect(await h.run("url", "--target", "local")).toBe(1);
    expect(h.err).toEqual([
      `preview url: branch feature/from-git has no preview on local (no stack ${previewNames("feature/from-git", "local").stackName}); run up first`,
    ]);
    expect(h.out).toEqual([]);
  });
});
