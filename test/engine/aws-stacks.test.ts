/**
 * The AWS stacks on the real engine, as far as they go without AWS (the AWS provider cannot be installed here):
 * the engine must accept the test and prod stacks' configuration with only what README tells a user to set,
 * and run the program until its first AWS resource; and every preview command that needs no AWS must work against the real
 * CLI on a file backend.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type ProjectCopy, requireEngine } from "./harness.js";

/**
 * What the engine says when the program reaches its first AWS resource: here, where no AWS plugin can be
 * installed, that it has none (the suite turns plugin downloads off: PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION
 * in harness.ts) or, with downloads on, that it cannot install it; where it can (a GitHub runner), that there
 * are no AWS credentials.
 */
const NEEDS_AWS =
  /no resource plugin 'pulumi-resource-aws' found|Could not automatically download and install resource plugin 'pulumi-resource-aws'|No valid credential sources found/;
/** What the engine said for every stack before issue 9: it never ran the program. */
const CONFIG_REFUSED = /validating stack config|missing configuration value/;

let copy: ProjectCopy;

beforeAll(async () => {
  await requireEngine();
  copy = await copyProject();
});

afterAll(async () => {
  await copy?.remove();
});

describe("the test stack on the real engine", () => {
  it("accepts README's set-up and runs the program until it needs AWS", async () => {
    // docs/deploying.md, "The test stack, step by step", with a backend of our own instead of `pulumi login`.
    for (const args of [
      ["stack", "select", "test", "--create"],
      [
        "config",
        "set",
        "--stack",
        "test",
        "sshPublicKey",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEngineSuiteKey engine@ci",
      ],
      ["config", "set", "--stack", "test", "--path", "allowedCidrs[0]", "192.0.2.10/32"],
    ]) {
      const step = await copy.run("pulumi", ...args);
      expect(step.code, step.stderr).toBe(0);
    }
    const preview = await copy.run("pulumi", "preview", "--stack", "test", "--policy-pack", "policy");
    const output = `${preview.stdout}\n${preview.stderr}`;
    expect(output).not.toMatch(CONFIG_REFUSED);
    // The program ran: its config was valid, and it declared the test stack's AWS provider.
    expect(output).toMatch(/pulumi:providers:aws\s+activity-aws/);
    expect(output).toMatch(NEEDS_AWS);
    expect(preview.code).not.toBe(0);
    // Only the key the user set was added to the tracked stack file (and the passphrase's salt).
    expect(await copy.run("git", "diff", "--stat", "Pulumi.test.yaml").then((diff) => diff.stdout)).toMatch(
      /1 file changed, \d+ insertions?\(\+\), 1 deletion/,
    );
  });
});

describe("the prod stack on the real engine", () => {
  it("accepts README's set-up and runs the program until it needs AWS", async () => {
    // docs/prod-ecs.md.
    for (const args of [
      ["stack", "select", "prod", "--create"],
      ["config", "set", "--stack", "prod", "--path", "allowedCidrs[0]", "192.0.2.10/32"],
    ]) {
      const step = await copy.run("pulumi", ...args);
      expect(step.code, step.stderr).toBe(0);
    }
    const preview = await copy.run("pulumi", "preview", "--stack", "prod", "--policy-pack", "policy");
    const output = `${preview.stdout}\n${preview.stderr}`;
    expect(output).not.toMatch(CONFIG_REFUSED);
    expect(output).toMatch(/pulumi:providers:aws\s+activity-aws/);
    expect(output).toMatch(NEEDS_AWS);
  });
});

describe("the ci-identity stack on the real engine", () => {
  it("refuses it in one line without the repository, then runs it until it needs AWS", async () => {
    const stack = ["--stack", "ci-identity"];
    expect((await copy.run("pulumi", "stack", "select", "ci-identity", "--create")).code).toBe(0);
    const refused = await copy.run("pulumi", "preview", ...stack);
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}\n${refused.stderr}`).toMatch(
      /activity-api:githubRepository is required for the ci-identity stack: the repository whose workflows assume the roles, owner\/name/,
    );
    // docs/github-actions.md, "Creating the identities".
    for (const [key, value] of [
      ["githubRepository", "octo-org/activity-stack"],
      ["stateBucket", "octo-pulumi-state"],
    ]) {
      const step = await copy.run("pulumi", "config", "set", ...stack, String(key), String(value));
      expect(step.code, step.stderr).toBe(0);
    }
    const preview = await copy.run("pulumi", "preview", ...stack, "--policy-pack", "policy");
    const output = `${preview.stdout}\n${preview.stderr}`;
    expect(output).not.toMatch(CONFIG_REFUSED);
    expect(output).toMatch(/pulumi:providers:aws\s+activity-aws/);
    expect(output).toMatch(NEEDS_AWS);
  });
});

describe("npm run preview --target ec2 (the default) on the real CLI and a file backend", () => {
  const preview = (...args: string[]) => copy.run("npm", "run", "--silent", "preview", "--", ...args);

  it("lists no preview, finds no URL, and destroys or prunes nothing, cleanly", async () => {
    const list = await preview("list");
    expect([list.code, list.stdout.trim()]).toEqual([
      0,
      "No ec2 previews.\nHost previews-aws: none; the next up creates it.",
    ]);
    // The target's former name still works, and says in one line that it is deprecated.
    const listAws = await preview("list", "--target", "aws");
    expect([listAws.code, listAws.stdout, listAws.stderr.trim()]).toEqual([
      0,
      list.stdout,
      'warning: --target "aws" is deprecated: say "ec2" (same target)',
    ]);
    const url = await preview("url", "--branch", "feature/engine");
    expect(url.code).toBe(1);
    expect(url.stderr.trim()).toMatch(
      /^preview url: branch feature\/engine has no preview on ec2 .*; run up first$/,
    );
    const destroy = await preview("destroy", "--branch", "feature/engine");
    expect(destroy.code, destroy.stderr).toBe(0);
    expect(destroy.stdout).toContain("nothing to destroy");
    const prune = await preview("prune");
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toContain("Nothing to prune.");
  });

  it("creates the shared host first, runs it until it needs AWS, fails with one line, and removes the host", async () => {
    // Without the preview pipeline's boundary, which caps every preview's identity, the host is refused in
    // one line before its program declares anything.
    const unbounded = await preview("up", "--branch", "feature/engine");
    expect(unbounded.code).toBe(1);
    expect(unbounded.stderr.trim().split("\n").at(-1)).toMatch(
      /permissionsBoundary is required on an EC2 preview host: .*PREVIEW_PERMISSIONS_BOUNDARY/,
    );
    expect(unbounded.stderr).not.toMatch(NEEDS_AWS);
    // The test stack's file, with the key README tells a user to set (the first describe set it), is what the
    // host copies; the boundary is the ci-identity stack's previewBoundaryArn, as docs/previews.md says.
    copy.env.PREVIEW_PERMISSIONS_BOUNDARY =
      "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary";
    const up = await preview("up", "--branch", "feature/engine");
    expect(up.code).toBe(1);
    expect(up.stdout).toContain("Deploying the ec2 preview host previews-aws");
    expect(up.stderr.trim().split("\n").at(-1)).toMatch(/^preview up: pulumi failed on stack previews-aws: /);
    expect(`${up.stdout}\n${up.stderr}`).not.toMatch(CONFIG_REFUSED);
    expect(up.stderr).toMatch(NEEDS_AWS);
    const list = await preview("list");
    expect(list.stdout).toContain("Host previews-aws: its stack exists but is not deployed");
    const host = await preview("host", "destroy");
    expect(host.code, host.stderr).toBe(0);
    expect((await preview("list")).stdout).toContain("Host previews-aws: none");
  });
});
