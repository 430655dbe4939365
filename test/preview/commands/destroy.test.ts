/** `preview destroy`: idempotent, recovers a killed run's lock, and locally says its data volume went with it. */
import { describe, expect, it } from "vitest";
import { previewNames } from "../../../cli/preview/naming.js";
import { harness } from "../harness.js";

const login = previewNames("feature/Add-Login", "ec2");
const localLogin = previewNames("feature/Add-Login", "local");

describe("preview destroy", () => {
  it("destroys the resources and removes the stack, leaves the host, and a second run is still success", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    expect(await h.run("destroy", "--branch", "feature/Add-Login")).toBe(0);
    expect([...h.workspace.stacks.keys()]).toEqual(["previews-aws"]);
    expect(h.out.at(-1)).toBe(`Destroyed ${login.stackName} and removed the stack.`);
    expect(h.stepOutputs()["comment-body"]).toMatch(
      /^<!-- activity-api-preview: .* -->\n### Preview environment destroyed/,
    );

    h.files.delete("/virtual/github-output");
    expect(await h.run("destroy", "--branch", "feature/Add-Login")).toBe(0);
    expect(h.out.at(-1)).toBe(
      `No preview stack ${login.stackName} for branch feature/Add-Login; nothing to destroy.`,
    );
    expect(h.stepOutputs()).toEqual({ stack: login.stackName });
  });

  it("succeeds for a branch that never had a preview, touching nothing", async () => {
    const h = harness();
    h.workspace.seed("test", { resourceCount: 20 });
    expect(await h.run("destroy", "--branch", "never-deployed")).toBe(0);
    expect(h.workspace.calls).toEqual([]);
  });

  it("destroys only the preview of the target it is given", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    await h.run("up", "--branch", "feature/Add-Login", "--target", "local");
    expect(await h.run("destroy", "--branch", "feature/Add-Login", "--target", "local")).toBe(0);
    expect(h.workspace.stacks.has(localLogin.stackName)).toBe(false);
    expect(h.workspace.stacks.has(login.stackName)).toBe(true);
  });

  it("recovers a stack a killed run left locked with a pending create", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    h.workspace.killDuringUp(login.stackName);
    h.clearOutput();

    expect(await h.run("destroy", "--branch", "feature/Add-Login")).toBe(0);
    expect(h.workspace.calls).toEqual([
      `clearPendingOperations ${login.stackName}`,
      `cancel ${login.stackName}`,
      `clearPendingOperations ${login.stackName}`,
      `destroy ${login.stackName}`,
      `removeStack ${login.stackName}`,
    ]);
    expect(h.workspace.stacks.has(login.stackName)).toBe(false);
    expect(h.err).toEqual([
      `warning: ${login.stackName} has 1 operation(s) an interrupted run left unfinished:`,
      `  creating urn:pulumi:${login.stackName}::activity-api::aws:ec2/instance:Instance::host`,
      "  a pending create may have made a resource the state does not know; check for it",
      `warning: ${login.stackName} is locked, presumably by a killed run; releasing the lock (pulumi cancel)`,
    ]);
  });

  it("cancels only once: a lock that comes back belongs to a live run, and destroy fails", async () => {
    const h = harness();
    await h.run("up", "--branch", "x");
    const stackName = previewNames("x").stackName;
    h.workspace.killDuringUp(stackName);
    h.workspace.relockAfterCancel = true;
    expect(await h.run("destroy", "--branch", "x")).toBe(1);
    expect(h.workspace.calls.filter((call) => call.startsWith("cancel"))).toHaveLength(1);
    expect(h.workspace.stacks.get(stackName)?.resourceCount).toBeGreaterThan(0);
    expect(h.err.at(-1)).toMatch(/^preview destroy: stack preview-x-.* is locked by another update/);
  });
});

describe("preview destroy --target local", () => {
  it("says that the preview's data volume went with it, as dev:down does, and leaves the other preview's", async () => {
    const h = harness();
    await h.run("up", "--target", "local", "--branch", "feature/Add-Login");
    await h.run("up", "--target", "local", "--branch", "feature/other");
    h.clearOutput();
    expect(await h.run("destroy", "--target", "local", "--branch", "feature/Add-Login")).toBe(0);
    expect(h.out).toEqual([
      `Removed the volume ${localLogin.resourcePrefix}-dynamodb-data-5d4c3b2 and with it DynamoDB Local's ` +
        "tables and items; the branch's next up starts from an empty database.",
      `Destroyed ${localLogin.stackName} and removed the stack.`,
    ]);
    const other = previewNames("feature/other", "local").stackName;
    expect(h.workspace.stacks.get(other)?.outputs.databaseVolume).toBe(
      `${previewNames("feature/other").resourcePrefix}-dynamodb-data-5d4c3b2`,
    );
    expect(h.workspace.calls).toEqual([
      `destroy ${localLogin.stackName}`,
      `removeStack ${localLogin.stackName}`,
    ]);
  });

  it("says nothing of a volume for a preview that never finished an up", async () => {
    const h = harness();
    await h.run("up", "--target", "local", "--branch", "first");
    const { stackName } = previewNames("x", "local");
    h.workspace.seed(stackName);
    h.clearOutput();
    expect(await h.run("destroy", "--target", "local", "--branch", "x")).toBe(0);
    expect(h.out).toEqual([`Destroyed ${stackName} and removed the stack.`]);
    expect(h.err).toEqual([]);
  });
});
