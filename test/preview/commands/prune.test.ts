/** `preview prune`: expired or orphaned previews of the target only; never a kept one, a host, or another stack. */
import { describe, expect, it } from "vitest";
import { previewNames } from "../../../cli/preview/naming.js";
import { harness, metadataConfig } from "../harness.js";

/** dev, test, the hosts and look-alikes, all carrying expired preview metadata, and five ec2 previews. */
async function pruneFixture() {
  const h = harness();
  const expired = metadataConfig(
    "old",
    new Date("2030-01-01T00:00:00.000Z"),
    new Date("2030-01-04T00:00:00.000Z"),
  );
  for (const name of ["dev", "test", "preview", "Preview-x", "xpreview-y"]) {
    h.workspace.seed(name, { resourceCount: 5, config: { ...expired } });
  }
  for (const branch of ["feature/old", "feature/gone", "feature/alive"])
    await h.run("up", "--branch", branch);
  await h.run("up", "--branch", "feature/pinned-gone", "--keep");
  await h.run("up", "--target", "local", "--branch", "feature/old");
  h.advance(10);
  await h.run("up", "--branch", "feature/alive");
  h.advance(70);
  h.files.set("/virtual/live", "main\nfeature/old\nfeature/alive\n\n");
  h.clearOutput();
  return h;
}

describe("preview prune", () => {
  it("is a dry run unless --yes, listing what it would destroy and keep, and why", async () => {
    const h = await pruneFixture();
    expect(await h.run("prune", "--live-branches", "/virtual/live")).toBe(0);
    expect(h.workspace.calls).toEqual([]);
    expect(h.out).toEqual([
      `Not ec2 previews, never touched: dev, test, preview, Preview-x, xpreview-y, previews-aws, previews-local, ${previewNames("feature/old", "local").stackName}`,
      `keep     ${previewNames("feature/alive").stackName}: expires 2030-06-04T22:00:00.000Z`,
      `keep     ${previewNames("feature/pinned-gone").stackName}: pinned with up --keep (otherwise: expired, branch deleted); up --no-keep unpins it`,
      `destroy  ${previewNames("feature/gone").stackName}: expired, branch deleted`,
      `destroy  ${previewNames("feature/old").stackName}: expired`,
      "Dry run: nothing destroyed. Run again with --yes to destroy 2 preview(s).",
    ]);
  });

  it("with --yes destroys expired and orphaned previews of the target and never anything else", async () => {
    const h = await pruneFixture();
    const before = [...h.workspace.stacks.keys()];
    expect(await h.run("prune", "--live-branches", "/virtual/live", "--yes")).toBe(0);
    const gone = [previewNames("feature/gone").stackName, previewNames("feature/old").stackName];
    expect([...h.workspace.stacks.keys()].sort()).toEqual(
      before.filter((name) => !gone.includes(name)).sort(),
    );
    expect(h.workspace.calls.every((call) => gone.some((name) => call.endsWith(` ${name}`)))).toBe(true);
  });

  it("prunes the local target's previews and their data volumes", async () => {
    const h = await pruneFixture();
    const old = previewNames("feature/old", "local");
    expect(await h.run("prune", "--target", "local", "--yes")).toBe(0);
    expect(h.workspace.stacks.has(old.stackName)).toBe(false);
    expect(h.workspace.stacks.has(previewNames("feature/old").stackName)).toBe(true);
    expect(h.out).toContain(
      `Removed the volume ${old.resourcePrefix}-dynamodb-data-5d4c3b2 and with it DynamoDB Local's tables and ` +
        "items; the branch's next up starts from an empty database.",
    );
    expect(h.out).toContain(`Destroyed ${old.stackName}.`);
  });

  it("without --live-branches judges by expiry only", async () => {
    const h = harness();
    await h.run("up", "--branch", "gone-but-fresh");
    h.clearOutput();
    expect(await h.run("prune", "--yes")).toBe(0);
    expect(h.out).toEqual([
      "No --live-branches given: only expiry is checked.",
      "Not ec2 previews, never touched: previews-aws",
      `keep     ${previewNames("gone-but-fresh").stackName}: expires 2030-06-04T12:00:00.000Z`,
      "Nothing to prune.",
    ]);
  });

  it("leaves a locked preview alone, reports it, destroys the rest and fails", async () => {
    const h = await pruneFixture();
    const old = previewNames("feature/old").stackName;
    h.workspace.killDuringUp(old);
    expect(await h.run("prune", "--live-branches", "/virtual/live", "--yes")).toBe(1);
    expect(h.workspace.stacks.has(old)).toBe(true);
    expect(h.workspace.stacks.has(previewNames("feature/gone").stackName)).toBe(false);
    expect(h.workspace.calls.filter((call) => call.startsWith("cancel"))).toEqual([]);
    expect(h.err.slice(-2)).toEqual([
      expect.stringMatching(`^could not destroy ${old}: stack ${old} is locked`),
      "  if no run is active on it, destroy it by hand: npm run preview -- destroy --target ec2 --branch <its branch>",
    ]);
  });

  it("refuses an empty live-branch list rather than treat every preview as orphaned", async () => {
    const h = await pruneFixture();
    h.files.set("/virtual/live", "\n \n");
    expect(await h.run("prune", "--live-branches", "/virtual/live", "--yes")).toBe(2);
    expect(h.err[0]).toBe(
      "preview prune: --live-branches file /virtual/live lists no branch; refusing to prune",
    );
    expect(h.workspace.calls).toEqual([]);
  });
});
