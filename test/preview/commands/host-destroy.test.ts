/** `preview host destroy`: only once no preview of the target is left; idempotent. */
import { describe, expect, it } from "vitest";
import { previewNames } from "../../../cli/preview/naming.js";
import { harness } from "../harness.js";

describe("preview host destroy", () => {
  it("refuses while previews of the target exist, naming them, and touches nothing", async () => {
    const h = harness();
    await h.run("up", "--branch", "one");
    await h.run("up", "--branch", "two", "--keep");
    h.clearOutput();
    expect(await h.run("host", "destroy")).toBe(1);
    expect(h.err).toEqual([
      `preview host destroy: previews-aws still serves 2 preview(s): ${previewNames("one").stackName}, ` +
        `${previewNames("two").stackName}. Destroy them first (npm run preview -- destroy --target ec2 --branch NAME, or prune)`,
    ]);
    expect(h.workspace.calls).toEqual([]);
  });

  it("with --if-idle leaves a host that still serves previews and succeeds", async () => {
    const h = harness();
    await h.run("up", "--branch", "one");
    h.clearOutput();
    expect(await h.run("host", "destroy", "--if-idle")).toBe(0);
    expect(h.out).toEqual([
      `previews-aws still serves 1 preview(s): ${previewNames("one").stackName}; left as it is.`,
    ]);
    expect(h.workspace.calls).toEqual([]);
  });

  it("destroys the host once its last preview is gone, whatever the other target has", async () => {
    const h = harness();
    await h.run("up", "--target", "local", "--branch", "one");
    await h.run("up", "--branch", "one");
    await h.run("destroy", "--target", "local", "--branch", "one");
    h.clearOutput();
    expect(await h.run("host", "destroy", "--target", "local", "--if-idle")).toBe(0);
    expect(h.out).toEqual(["Destroyed the preview host previews-local and removed its stack."]);
    expect([...h.workspace.stacks.keys()].sort()).toEqual(
      ["previews-aws", previewNames("one").stackName].sort(),
    );
  });

  it("is success when there is no host", async () => {
    const h = harness();
    expect(await h.run("host", "destroy")).toBe(0);
    expect(h.out).toEqual(["No preview host previews-aws; nothing to destroy."]);
  });

  it("never releases the lock of a run that holds the host", async () => {
    const h = harness();
    h.workspace.holdByConcurrentRun("previews-aws", new Date(h.now().getTime() + 60_000));
    expect(await h.run("host", "destroy")).toBe(1);
    expect(h.err).toEqual([expect.stringMatching(/^preview host destroy: stack previews-aws is locked/)]);
    expect(h.workspace.calls.filter((call) => call.startsWith("cancel"))).toEqual([]);
  });
});

describe("the local lifecycle", () => {
  it("two branches side by side with their own data; destroying one leaves the other; then nothing is left", async () => {
    const h = harness();
    expect(await h.run("up", "--target", "local", "--branch", "feature/a")).toBe(0);
    expect(await h.run("up", "--target", "local", "--branch", "feature/b")).toBe(0);
    const [a, b] = [previewNames("feature/a", "local"), previewNames("feature/b", "local")];
    const volumeOf = (stackName: string) => h.workspace.stacks.get(stackName)?.outputs.databaseVolume;
    expect(volumeOf(a.stackName)).toBe(`${a.resourcePrefix}-dynamodb-data-5d4c3b2`);
    expect(volumeOf(b.stackName)).toBe(`${b.resourcePrefix}-dynamodb-data-5d4c3b2`);
    // An update of one touches nothing of the other.
    h.clearOutput();
    expect(await h.run("up", "--target", "local", "--branch", "feature/a")).toBe(0);
    expect(h.workspace.calls.every((call) => call.endsWith(a.stackName))).toBe(true);

    expect(await h.run("destroy", "--target", "local", "--branch", "feature/a")).toBe(0);
    h.clearOutput();
    expect(await h.run("url", "--target", "local", "--branch", "feature/b")).toBe(0);
    expect(h.out).toEqual([`http://${b.resourcePrefix}.localhost:10080`]);

    expect(await h.run("destroy", "--target", "local", "--branch", "feature/b")).toBe(0);
    expect(await h.run("host", "destroy", "--target", "local")).toBe(0);
    expect(h.workspace.stacks.size).toBe(0);
  });
});
