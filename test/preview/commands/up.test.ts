/** `preview up` against the in-memory workspace: the host on first use, the branch's stack, every guard. */
import { describe, expect, it } from "vitest";
import { previewNames } from "../../../cli/preview/naming.js";
import { PulumiCommandError, StackExistsError } from "../../../cli/preview/workspace.js";
import { configKey, PREVIEW_HOST_STACKS } from "../../../stack/contract.js";
import { fixtures, HOUR, harness, seedPreviews } from "../harness.js";

const login = previewNames("feature/Add-Login", "ec2");
const localLogin = previewNames("feature/Add-Login", "local");
const plain = (value: string) => ({ value, secret: false });

describe("preview up --target ec2", () => {
  it("creates the host on first use, then the branch's preview on it, and prints health, cost, expiry, URL", async () => {
    const h = harness();
    expect(await h.run("up", "--branch", "feature/Add-Login", "--pr", "42", "--sha", "3f2a9c1d")).toBe(0);

    expect(h.workspace.calls).toEqual([
      "createStack previews-aws",
      "writeConfig previews-aws",
      "up previews-aws",
      `createStack ${login.stackName}`,
      `writeConfig ${login.stackName}`,
      `up ${login.stackName}`,
      // Once the preview is deployed: the config holds the metadata, the tags show it.
      `setTags ${login.stackName}`,
    ]);
    expect(h.workspace.stacks.get("previews-aws")?.config).toEqual({
      "aws:region": plain("eu-west-1"),
      "activity-api:allowedCidrs[0]": plain("203.0.113.0/24"),
      "activity-api:target": plain("ec2"),
      "activity-api:previewHost": plain("true"),
      "activity-api:namePrefix": plain("previews"),
      "activity-api:instanceType": plain("t3.small"),
      "activity-api:deletionProtection": plain("false"),
      "activity-api:forceDeleteImages": plain("true"),
    });
    expect(h.workspace.stacks.get(login.stackName)?.config).toEqual({
      "aws:region": plain("eu-west-1"),
      "activity-api:allowedCidrs[0]": plain("203.0.113.0/24"),
      "activity-api:target": plain("ec2"),
      "activity-api:previewHostStack": plain("previews-aws"),
      "activity-api:namePrefix": plain(login.resourcePrefix),
      "activity-api:previewBranch": plain("feature/Add-Login"),
      "activity-api:previewPullRequest": plain("42"),
      "activity-api:previewCreatedAt": plain("2030-06-01T12:00:00.000Z"),
      "activity-api:previewExpiresAt": plain("2030-06-04T12:00:00.000Z"),
      "activity-api:previewKeep": plain("false"),
      "activity-api:deletionProtection": plain("false"),
      "activity-api:forceDeleteImages": plain("true"),
    });
    expect(h.workspace.stacks.get(login.stackName)?.tags).toEqual({
      "preview:branch": "feature/Add-Login",
      "preview:pull-request": "42",
      "preview:created-at": "2030-06-01T12:00:00.000Z",
      "preview:expires-at": "2030-06-04T12:00:00.000Z",
      "preview:keep": "false",
    });

    const url = `http://${login.resourcePrefix}.198.51.100.7.sslip.io:10080`;
    expect(h.probes).toEqual([`${url}/ready`]);
    expect(h.out).toEqual([
      "Deploying the ec2 preview host previews-aws, which every preview joins",
      `Creating ${login.stackName} for branch feature/Add-Login on previews-aws`,
      "Health:  ready (200 in 35 ms)",
      "Cost:    $0.75/day (host t3.small $0.73/day ÷ 1 preview + $0.02 of its own)",
      "Expires: 2030-06-04T12:00:00.000Z (in 72h; each up renews it, prune destroys it after)",
      `Preview of feature/Add-Login is up: ${url}`,
    ]);
    expect(h.err).toEqual([]);

    const outputs = h.stepOutputs();
    expect(outputs.stack).toBe(login.stackName);
    expect(outputs.url).toBe(url);
    expect(outputs.image).toMatch(/@sha256:(ab){32}$/);
    const comment = outputs["comment-body"] ?? "";
    expect(comment.split("\n")[0]).toBe(`<!-- activity-api-preview: ${login.stackName} -->`);
    expect(comment).toContain("| Commit | `3f2a9c1d` |");
    expect(comment).toContain("| Health at deploy | ready (200 in 35 ms) |");
    expect(comment).toContain(
      "| Estimated cost | $0.75/day (host t3.small $0.73/day ÷ 1 preview + $0.02 of its own) |",
    );
  });

  it("reuses the deployed host for the next branch, untouched, and splits its cost", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/one");
    h.clearOutput();
    expect(await h.run("up", "--branch", "feature/two")).toBe(0);
    expect(h.workspace.calls.filter((call) => call.endsWith(" previews-aws"))).toEqual([]);
    expect(h.out).toContain("Cost:    $0.39/day (host t3.small $0.73/day ÷ 2 previews + $0.02 of its own)");
  });

  it("updates an existing preview: no new stack, created-at kept, expiry renewed", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    await h.run("up", "--branch", "feature/other");
    h.advance(50);
    h.clearOutput();
    h.workspace.calls.length = 0;
    h.workspace.reads.length = 0;
    h.workspace.tagWrites.length = 0;
    expect(await h.run("up", "--branch", "feature/Add-Login", "--ttl-hours", "24")).toBe(0);
    expect(h.workspace.calls).toEqual([
      `writeConfig ${login.stackName}`,
      `up ${login.stackName}`,
      // Once the preview is deployed: the config holds the metadata, the tags show it.
      `setTags ${login.stackName}`,
    ]);
    // Its own config only (each read is a pulumi command): not the other preview's, not its own history.
    expect(h.workspace.reads).toEqual([`getConfig ${login.stackName}`]);
    // Of its tags, only the expiry changed.
    expect(h.workspace.tagWrites).toEqual([{ "preview:expires-at": "2030-06-04T14:00:00.000Z" }]);
    expect(h.workspace.stacks.get(login.stackName)?.config).toMatchObject({
      [configKey("previewCreatedAt")]: { value: "2030-06-01T12:00:00.000Z" },
      [configKey("previewExpiresAt")]: { value: "2030-06-04T14:00:00.000Z" },
    });
    expect(h.out[0]).toBe(`Updating ${login.stackName} for branch feature/Add-Login on previews-aws`);
  });

  it("keeps created-at on a fresh CI checkout by reading the last update's config", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login", "--keep");
    h.workspace.forgetLocalConfig();
    h.advance(5);
    await h.run("up", "--branch", "feature/Add-Login");
    const config = h.workspace.stacks.get(login.stackName)?.config;
    expect(config?.[configKey("previewCreatedAt")]?.value).toBe("2030-06-01T12:00:00.000Z");
    expect(config?.[configKey("previewKeep")]?.value).toBe("true");
  });

  it("pins with --keep, unpins with --no-keep, and leaves the pin alone with neither", async () => {
    const h = harness();
    const keep = () => h.workspace.stacks.get(login.stackName)?.config[configKey("previewKeep")]?.value;
    await h.run("up", "--branch", "feature/Add-Login", "--keep");
    expect(keep()).toBe("true");
    expect(h.out).toContain(
      "Expires: kept (pinned with --keep: prune leaves it; its TTL would end 2030-06-04T12:00:00.000Z)",
    );
    expect(h.stepOutputs()["comment-body"]).toContain(
      "| Expires | kept: pinned with `--keep`, prune leaves it",
    );
    await h.run("up", "--branch", "feature/Add-Login");
    expect(keep()).toBe("true");
    await h.run("up", "--branch", "feature/Add-Login", "--no-keep");
    expect(keep()).toBe("false");
    await h.run("up", "--branch", "feature/Add-Login");
    expect(keep()).toBe("false");
  });

  it("keeps a secret set on the preview by hand, and drops list elements the test stack no longer has", async () => {
    const h = harness();
    await h.run("up", "--branch", "x");
    const stack = h.workspace.stacks.get(previewNames("x").stackName);
    if (stack === undefined) throw new Error("no stack");
    stack.config["activity-api:apiKey"] = { value: "by hand", secret: true };
    stack.config["activity-api:allowedCidrs[1]"] = { value: "198.51.100.0/24" };
    await h.run("up", "--branch", "x");
    expect(stack.config["activity-api:apiKey"]).toEqual({ value: "by hand", secret: true });
    expect(Object.keys(stack.config).filter((key) => key.startsWith("activity-api:allowedCidrs"))).toEqual([
      "activity-api:allowedCidrs[0]",
    ]);
  });

  it("names each secret of Pulumi.test.yaml it did not copy", async () => {
    const h = harness();
    h.files.set(
      `${fixtures}Pulumi.test.yaml`,
      "config:\n  aws:region: eu-west-1\n  activity-api:apiKey:\n    secure: v1:abc:def\n",
    );
    expect(await h.run("up", "--branch", "x")).toBe(0);
    expect(h.err).toEqual([
      "warning: activity-api:apiKey of Pulumi.test.yaml is not copied to the previews: secret (set it on the preview stack by hand)",
    ]);
  });

  it("fails clearly, creating nothing, when Pulumi.test.yaml cannot be used", async () => {
    const h = harness();
    h.files.set(`${fixtures}Pulumi.test.yaml`, "config: [\n");
    expect(await h.run("up", "--branch", "x")).toBe(1);
    expect(h.err).toEqual([expect.stringMatching(/^preview up: Pulumi.test.yaml is not valid YAML/)]);
    expect(h.workspace.calls).toEqual([]);
  });

  it("sets the host's domain from --preview-domain, else PREVIEW_DOMAIN", async () => {
    const fromFlag = harness({ PREVIEW_DOMAIN: "env.example.com" });
    await fromFlag.run("up", "--branch", "x", "--preview-domain", "previews.example.com");
    expect(fromFlag.workspace.stacks.get("previews-aws")?.config[configKey("previewDomain")]?.value).toBe(
      "previews.example.com",
    );
    expect(fromFlag.out.at(-1)).toMatch(/is up: http:\/\/pv-x-[0-9a-f]{8}\.previews\.example\.com:10080$/);
    const fromEnv = harness({ PREVIEW_DOMAIN: "env.example.com" });
    await fromEnv.run("up", "--branch", "x");
    expect(fromEnv.workspace.stacks.get("previews-aws")?.config[configKey("previewDomain")]?.value).toBe(
      "env.example.com",
    );
  });

  it("creates the host with the preview pipeline's key and boundary from PREVIEW_SSH_PUBLIC_KEY and PREVIEW_PERMISSIONS_BOUNDARY", async () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPreviewKeyOnly preview@ci";
    const boundary = "arn:aws:iam::123456789012:policy/ci-identity/activity-previews-boundary";
    const h = harness({ PREVIEW_SSH_PUBLIC_KEY: key, PREVIEW_PERMISSIONS_BOUNDARY: boundary });
    await h.run("up", "--branch", "x");
    const config = h.workspace.stacks.get("previews-aws")?.config ?? {};
    expect(config[configKey("sshPublicKey")]?.value).toBe(key);
    expect(config[configKey("permissionsBoundary")]?.value).toBe(boundary);
    // The branch's own stack gets neither: it creates no host and no role.
    const preview = [...h.workspace.stacks.entries()].find(([name]) => name.startsWith("preview-"))?.[1];
    expect(preview?.config[configKey("namePrefix")]?.value).toMatch(/^pv-x-/);
    expect(preview?.config[configKey("permissionsBoundary")]).toBeUndefined();
  });

  it("uses a deployed host as it is, saying so when its type or domain differ from what was asked", async () => {
    const h = harness();
    await h.run("up", "--branch", "one", "--instance-type", "t3a.micro");
    h.clearOutput();
    expect(
      await h.run(
        "up",
        "--branch",
        "two",
        "--instance-type",
        "t3.small",
        "--preview-domain",
        "p.example.com",
      ),
    ).toBe(0);
    expect(h.workspace.calls.filter((call) => call.endsWith(" previews-aws"))).toEqual([]);
    expect(h.err).toEqual([
      "warning: previews-aws is deployed and used as it is: it runs t3a.micro, not t3.small; it serves " +
        "198.51.100.7.sslip.io, not p.example.com. Such settings apply when up creates the host (host destroy " +
        "removes it once no preview is left)",
    ]);
    // The estimate is the host's real type's.
    expect(h.out).toContain("Cost:    $0.24/day (host t3a.micro $0.42/day ÷ 2 previews + $0.02 of its own)");
  });

  it("reports a locked preview stack instead of cancelling another run", async () => {
    const h = harness();
    await h.run("up", "--branch", "x");
    h.workspace.killDuringUp(previewNames("x").stackName);
    expect(await h.run("up", "--branch", "x")).toBe(1);
    expect(h.err).toEqual([
      expect.stringMatching(/is locked by another update; if that run was killed, `pulumi cancel --stack/),
    ]);
    expect(h.workspace.calls.filter((call) => call.startsWith("cancel"))).toEqual([]);
  });

  it("fails with the engine's one line when the host cannot be deployed, and creates no preview", async () => {
    const h = harness();
    h.workspace.failNextUp.set(
      "previews-aws",
      new PulumiCommandError("pulumi failed on stack previews-aws: Could not automatically download", "raw"),
    );
    expect(await h.run("up", "--branch", "x")).toBe(1);
    expect(h.err).toEqual([
      "preview up: pulumi failed on stack previews-aws: Could not automatically download",
    ]);
    expect(h.workspace.stacks.has(previewNames("x").stackName)).toBe(false);
    // The next up deploys the host it left undeployed.
    expect(await h.run("up", "--branch", "x")).toBe(0);
    expect(h.workspace.calls.filter((call) => call === "up previews-aws")).toHaveLength(2);
  });

  it("refuses, creating nothing, a host deployed before previews were sealed off from each other", async () => {
    const h = harness();
    await h.run("up", "--branch", "one");
    const host = h.workspace.stacks.get("previews-aws");
    delete host?.outputs.previewBoundaryArn;
    h.clearOutput();
    expect(await h.run("up", "--branch", "two")).toBe(1);
    expect(h.err).toEqual([
      "preview up: previews-aws was deployed before previews were sealed off from each other (it exports no " +
        "previewBoundaryArn); update it first with pulumi up --stack previews-aws, which replaces its " +
        "instance (each preview on it comes back with its next up)",
    ]);
    expect(h.workspace.stacks.has(previewNames("two").stackName)).toBe(false);
  });
});

describe("preview up --target local", () => {
  it("creates the local host with only the program's defaults, then the preview, reading no Pulumi.test.yaml", async () => {
    const h = harness();
    h.files.set(`${fixtures}Pulumi.test.yaml`, "config: [\n");
    expect(await h.run("up", "--target", "local", "--branch", "feature/Add-Login")).toBe(0);
    expect(h.workspace.stacks.get("previews-local")?.config).toEqual({
      "activity-api:target": plain("local"),
      "activity-api:previewHost": plain("true"),
      "activity-api:namePrefix": plain("previews"),
    });
    expect(h.workspace.stacks.get(localLogin.stackName)?.config).toEqual({
      "activity-api:target": plain("local"),
      "activity-api:previewHostStack": plain("previews-local"),
      "activity-api:namePrefix": plain(localLogin.resourcePrefix),
      "activity-api:previewBranch": plain("feature/Add-Login"),
      "activity-api:previewCreatedAt": plain("2030-06-01T12:00:00.000Z"),
      "activity-api:previewExpiresAt": plain("2030-06-04T12:00:00.000Z"),
      "activity-api:previewKeep": plain("false"),
    });
    const url = `http://${localLogin.resourcePrefix}.localhost:10080`;
    expect(h.probes).toEqual([`${url}/ready`]);
    expect(h.out.slice(-4)).toEqual([
      "Health:  ready (200 in 35 ms)",
      "Cost:    $0/day (local engine: no cloud cost)",
      "Expires: 2030-06-04T12:00:00.000Z (in 72h; each up renews it, prune destroys it after)",
      `Preview of feature/Add-Login is up: ${url}`,
    ]);
  });

  it("keeps the two targets apart: a branch may have both previews, each counted on its own host", async () => {
    const h = harness({ PREVIEW_MAX_LIVE: "1" });
    expect(await h.run("up", "--branch", "feature/Add-Login")).toBe(0);
    expect(await h.run("up", "--branch", "feature/Add-Login", "--target", "local")).toBe(0);
    expect([...h.workspace.stacks.keys()].sort()).toEqual(
      [PREVIEW_HOST_STACKS.ec2, PREVIEW_HOST_STACKS.local, login.stackName, localLogin.stackName].sort(),
    );
  });

  it.each([
    [["--instance-type", "t3.small"], "preview up: --instance-type applies to --target ec2 only"],
    [["--preview-domain", "x.example.com"], "preview up: --preview-domain applies to --target ec2 only"],
  ])("refuses the aws-only option %j", async (option, message) => {
    const h = harness();
    expect(await h.run("up", "--target", "local", "--branch", "x", ...option)).toBe(2);
    expect(h.err[0]).toBe(message);
  });
});

describe("a host another run is creating", () => {
  it("is waited for, polling, then used as that run deployed it", async () => {
    const h = harness();
    // The other run's config, as it would set it.
    await h.run("up", "--target", "local", "--branch", "first");
    const hostConfig = h.workspace.stacks.get("previews-local")?.config;
    h.workspace.stacks.clear();
    h.workspace.holdByConcurrentRun("previews-local", new Date(h.now().getTime() + 95_000), {
      config: hostConfig,
    });
    h.clearOutput();

    expect(await h.run("up", "--target", "local", "--branch", "second")).toBe(0);
    expect(h.err).toEqual([
      "previews-local is held by another run (creating or updating it); waiting up to 15 min",
    ]);
    // Ten-second polls until the other run let go at 95 s; its deployment was used as it was, and the config
    // it was reading never rewritten under it.
    expect(h.workspace.calls.filter((call) => call === "up previews-local")).toHaveLength(10);
    expect(h.workspace.calls).not.toContain("writeConfig previews-local");
    expect(h.workspace.stacks.get("previews-local")?.history).toHaveLength(1);
    expect(h.out.at(-1)).toMatch(
      /^Preview of second is up: http:\/\/pv-second-[0-9a-f]{8}\.localhost:10080$/,
    );
  });

  it("is deployed by this run when the other one failed", async () => {
    const h = harness();
    h.workspace.holdByConcurrentRun("previews-local", new Date(h.now().getTime() + 30_000), {
      finish: () => {},
    });
    expect(await h.run("up", "--target", "local", "--branch", "x")).toBe(0);
    expect(h.workspace.stacks.get("previews-local")?.outputs.previewDomain).toBe("localhost");
  });

  it("is waited for at most 15 minutes, then up fails naming the way out and creates no preview", async () => {
    const h = harness();
    h.workspace.holdByConcurrentRun("previews-aws", new Date(h.now().getTime() + 60 * 60_000));
    expect(await h.run("up", "--branch", "x")).toBe(1);
    expect(h.err.at(-1)).toBe(
      "preview up: previews-aws is still held by another run after 15 min; if no run is active on it, " +
        "release its lock (pulumi cancel --stack previews-aws) and run up again",
    );
    expect(h.workspace.stacks.has(previewNames("x").stackName)).toBe(false);
    expect(h.workspace.calls.filter((call) => call.startsWith("cancel"))).toEqual([]);
  });

  it("is waited for when it created the host's stack between this run's listing and creation", async () => {
    const h = harness();
    const create = h.workspace.createStack.bind(h.workspace);
    h.workspace.createStack = async (stackName) => {
      if (stackName === "previews-aws" && !h.workspace.stacks.has(stackName)) {
        h.workspace.holdByConcurrentRun(stackName, new Date(h.now().getTime() + 20_000), {
          config: { "activity-api:previewHost": { value: "true" }, "activity-api:target": { value: "aws" } },
        });
        throw new StackExistsError(stackName);
      }
      return create(stackName);
    };
    expect(await h.run("up", "--branch", "x")).toBe(0);
    expect(h.workspace.stacks.get("previews-aws")?.history).toHaveLength(1);
  });
});

describe("the health probe", () => {
  it("retries /ready for a few seconds and reports the first answer that is ready", async () => {
    const h = harness();
    let calls = 0;
    h.setHttp(async () => {
      calls += 1;
      if (calls < 3) throw new Error("connect ECONNREFUSED 127.0.0.1:10080");
      return { status: 200, latencyMs: 12.4 };
    });
    expect(await h.run("up", "--target", "local", "--branch", "x")).toBe(0);
    expect(h.out).toContain("Health:  ready (200 in 12 ms)");
  });

  it("never fails up, but says so on stderr, in the output and in the comment", async () => {
    const h = harness();
    h.setHttp(async () => ({ status: 503, latencyMs: 4 }));
    const started = h.now().getTime();
    expect(await h.run("up", "--branch", "x")).toBe(0);
    expect(h.probes).toHaveLength(10);
    expect(h.now().getTime() - started).toBe(9_000);
    const verdict = "not ready: 503 from /ready, 10 attempts over 9 s";
    expect(h.err).toEqual([
      `warning: ${previewNames("x").stackName} is deployed, but ${verdict}; see its container's logs`,
    ]);
    expect(h.out).toContain(`Health:  ${verdict}`);
    expect(h.stepOutputs()["comment-body"]).toContain(`| Health at deploy | ${verdict} |`);
  });
});

describe("the guards, before anything is created", () => {
  it("refuses a new preview beyond the maximum of its target, naming the oldest", async () => {
    const h = harness();
    const seeded = seedPreviews(h, 5);
    seedPreviews(h, 5, "local");
    h.workspace.seed("dev");
    h.workspace.seed("test");
    expect(await h.run("up", "--branch", "feature/Add-Login")).toBe(1);
    expect(h.err).toEqual([
      expect.stringMatching(
        new RegExp(
          `^preview up: 5 ec2 previews are live and the maximum is 5, so ${login.stackName} was not created\\. ` +
            `Oldest: ${seeded[0]} \\(branch feature/seeded-0, created 2030-06-01T07:00:00.000Z\\), ${seeded[1]} `,
        ),
      ),
    ]);
    expect(h.workspace.calls).toEqual([]);
    expect(h.stepOutputs()).toEqual({});
  });

  it("counts the live previews from the stack list, reading none of them while a new one fits", async () => {
    const h = harness();
    const seeded = seedPreviews(h, 4);
    expect(await h.run("up", "--branch", "feature/Add-Login")).toBe(0);
    // Each read is a pulumi command: the guard needs the previews' metadata only to name the oldest in a refusal.
    for (const stackName of seeded) {
      expect(h.workspace.reads.filter((read) => read.endsWith(` ${stackName}`))).toEqual([]);
    }
  });

  it("refuses a new preview that would overcommit its host's memory, in one line, before anything is created", async () => {
    const h = harness();
    const measured: string[] = [];
    h.setMeasureHost(async (target, host, instanceType) => {
      measured.push(`${target} ${host.stackName} ${instanceType}`);
      return { host: `${host.stackName} (t3.small)`, memoryMib: 2048, disk: undefined };
    });
    seedPreviews(h, 2);
    expect(await h.run("up", "--branch", "feature/Add-Login")).toBe(1);
    expect(h.err).toEqual([
      `preview up: ${login.stackName} was not created: 3 previews on previews-aws (t3.small) would commit 2176 MiB ` +
        "(the containers' memory limits, with one release rolling out) and it has 1664 MiB for containers " +
        "(2048 MiB less 384 for the system). Destroy a preview, run prune, or use a larger --instance-type " +
        "(host destroy, then up).",
    ]);
    expect(measured).toEqual(["ec2 previews-aws t3.small"]);
    expect(h.workspace.calls).toEqual([]);
    expect(h.stepOutputs()).toEqual({});
  });

  it("refuses a new preview that would leave less than a fifth of Docker's disk free", async () => {
    const h = harness();
    h.setMeasureHost(async (_target, host) => ({
      host: `${host.stackName} (this machine's Docker engine)`,
      memoryMib: 16_384,
      disk: { totalBytes: 20e9, freeBytes: 4.4e9 },
    }));
    expect(await h.run("up", "--target", "local", "--branch", "feature/Add-Login")).toBe(1);
    expect(h.err).toEqual([
      `preview up: ${localLogin.stackName} was not created: previews-local (this machine's Docker engine) has ` +
        "4.4 GB of 20.0 GB free on Docker's disk, and a new preview (up to 0.5 GB) would leave 19% free, below " +
        "the 20% kept free. Destroy a preview, run prune, or remove unused images on the host (docker image prune).",
    ]);
    expect(h.workspace.calls).toEqual([]);
  });

  it("measures no host to update a preview that exists: it is already counted", async () => {
    const h = harness();
    expect(await h.run("up", "--branch", "feature/Add-Login")).toBe(0);
    h.setMeasureHost(async () => {
      throw new Error("measured for an update");
    });
    expect(await h.run("up", "--branch", "feature/Add-Login")).toBe(0);
  });

  it("still updates a preview that exists when the maximum is reached", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/seeded-0");
    seedPreviews(h, 5);
    expect(await h.run("up", "--branch", "feature/seeded-0")).toBe(0);
  });

  it("takes the maximum from --max-live before PREVIEW_MAX_LIVE", async () => {
    const h = harness({ PREVIEW_MAX_LIVE: "2" });
    seedPreviews(h, 2);
    expect(await h.run("up", "--branch", "x")).toBe(1);
    expect(await h.run("up", "--branch", "x", "--max-live", "3")).toBe(0);
  });

  it("refuses an instance type outside the allowed list, from PREVIEW_ALLOWED_INSTANCE_TYPES", async () => {
    const h = harness({ PREVIEW_ALLOWED_INSTANCE_TYPES: "t3.micro, t3.nano" });
    expect(await h.run("up", "--branch", "x", "--instance-type", "t3.small")).toBe(1);
    expect(h.err[0]).toBe(
      'preview up: instance type "t3.small" is not allowed for previews; allowed: t3.micro, t3.nano ' +
        "(PREVIEW_ALLOWED_INSTANCE_TYPES)",
    );
    expect(h.opened()).toBe(0);
    expect(await h.run("up", "--branch", "x", "--instance-type", "t3.micro")).toBe(0);
    expect(h.workspace.stacks.get("previews-aws")?.config[configKey("instanceType")]?.value).toBe("t3.micro");
  });

  it("refuses an up that would take the target over PREVIEW_BUDGET_PER_DAY, counting the host from the first preview", async () => {
    const h = harness({ PREVIEW_BUDGET_PER_DAY: "0.50" });
    expect(await h.run("up", "--branch", "x")).toBe(1);
    expect(h.err).toEqual([
      `preview up: with ${previewNames("x").stackName} the ec2 previews would cost an estimated $0.75/day ` +
        "(host $0.73 + 1 × $0.02), over PREVIEW_BUDGET_PER_DAY $0.50, so it was not created. Destroy a preview " +
        "(npm run preview -- destroy --target ec2 --branch NAME), run prune, or raise PREVIEW_BUDGET_PER_DAY.",
    ]);
    expect(h.workspace.calls).toEqual([]);
    // A cheaper host fits.
    expect(await h.run("up", "--branch", "x", "--instance-type", "t3a.micro")).toBe(0);
  });

  it("counts every preview of the target with the host, and lets an existing preview update", async () => {
    const h = harness({ PREVIEW_BUDGET_PER_DAY: "$0.78" });
    expect(await h.run("up", "--branch", "one")).toBe(0);
    expect(await h.run("up", "--branch", "two")).toBe(0);
    expect(await h.run("up", "--branch", "three")).toBe(1);
    expect(h.err.at(-1)).toMatch(/would cost an estimated \$0\.80\/day \(host \$0\.73 \+ 3 × \$0\.02\)/);
    expect(await h.run("up", "--branch", "two")).toBe(0);
  });

  it("compares as displayed, so a cap equal to the shown estimate passes", async () => {
    expect(await harness({ PREVIEW_BUDGET_PER_DAY: "0.75" }).run("up", "--branch", "x")).toBe(0);
    expect(await harness({ PREVIEW_BUDGET_PER_DAY: "0.74" }).run("up", "--branch", "x")).toBe(1);
  });

  it("never refuses a local preview for the budget: the local engine costs nothing", async () => {
    const h = harness({ PREVIEW_BUDGET_PER_DAY: "0" });
    expect(await h.run("up", "--target", "local", "--branch", "x")).toBe(0);
  });

  it("cannot check the budget for a type without a price, and says what to do", async () => {
    const h = harness({ PREVIEW_BUDGET_PER_DAY: "5", PREVIEW_ALLOWED_INSTANCE_TYPES: "t3.nano" });
    expect(await h.run("up", "--branch", "x", "--instance-type", "t3.nano")).toBe(1);
    expect(h.err[0]).toMatch(
      /^preview up: no price is known for instance type t3\.nano, so PREVIEW_BUDGET_PER_DAY \$5\.00 cannot be checked .* or unset PREVIEW_BUDGET_PER_DAY\.$/,
    );
    expect(h.workspace.calls).toEqual([]);
    const unbounded = harness({ PREVIEW_ALLOWED_INSTANCE_TYPES: "t3.nano" });
    expect(await unbounded.run("up", "--branch", "x", "--instance-type", "t3.nano")).toBe(0);
    expect(unbounded.out).toContain(
      "Cost:    unknown (no price for instance type t3.nano in cli/preview/cost.ts)",
    );
  });
});

describe("where up takes its input", () => {
  it("takes the branch from GITHUB_HEAD_REF before GITHUB_REF_NAME, and the PR from the event", async () => {
    const h = harness({
      GITHUB_HEAD_REF: "feature/Add-Login",
      GITHUB_REF_NAME: "42/merge",
      GITHUB_EVENT_PATH: "/virtual/event.json",
    });
    h.files.set(
      "/virtual/event.json",
      JSON.stringify({ action: "synchronize", pull_request: { number: 42 } }),
    );
    expect(await h.run("up")).toBe(0);
    expect(h.workspace.stacks.get(login.stackName)?.config[configKey("previewPullRequest")]?.value).toBe(
      "42",
    );
  });

  it("warns and carries on where the backend keeps no stack tags", async () => {
    const h = harness();
    h.workspace.tagsSupported = false;
    expect(await h.run("up", "--branch", "x")).toBe(0);
    expect(h.err).toEqual([
      "warning: stack tags not set (stack tags not supported in diy mode); the metadata is kept in the stack's config",
    ]);
  });

  it("treats empty variables, as workflows pass unset ones, like unset ones", async () => {
    const h = harness({
      PREVIEW_MAX_LIVE: "",
      PREVIEW_ALLOWED_INSTANCE_TYPES: "",
      PREVIEW_BUDGET_PER_DAY: "",
      PREVIEW_DOMAIN: "",
      PR_NUMBER: "",
      GITHUB_SHA: "",
    });
    expect(await h.run("up", "--branch", "b")).toBe(0);
    expect(h.workspace.stacks.get("previews-aws")?.config[configKey("previewDomain")]).toBeUndefined();
  });

  it.each([
    [{ PR_NUMBER: "x" }, 'preview up: PR_NUMBER must be a pull request number, got "x"'],
    [
      { PREVIEW_MAX_LIVE: "many" },
      'preview up: PREVIEW_MAX_LIVE must be a whole number of previews, got "many"',
    ],
    [
      { PREVIEW_ALLOWED_INSTANCE_TYPES: " , " },
      "preview up: PREVIEW_ALLOWED_INSTANCE_TYPES is set but names no instance type",
    ],
    [
      { PREVIEW_BUDGET_PER_DAY: "cheap" },
      'preview up: PREVIEW_BUDGET_PER_DAY must be an amount of US dollars a day such as 2 or 1.50, got "cheap"',
    ],
    [
      { PREVIEW_DOMAIN: "Previews.Example.com" },
      'preview up: PREVIEW_DOMAIN must be a lowercase DNS name of two labels or more such as previews.example.com (at most 220 characters), got "Previews.Example.com"',
    ],
    // The program refuses a one-label previewDomain; refused here, no host stack is left half-created.
    [
      { PREVIEW_DOMAIN: "previews" },
      'preview up: PREVIEW_DOMAIN must be a lowercase DNS name of two labels or more such as previews.example.com (at most 220 characters), got "previews"',
    ],
  ])("reads %j strictly", async (env, message) => {
    const h = harness(env);
    expect(await h.run("up", "--branch", "b")).toBe(2);
    expect(h.err[0]).toBe(message);
    expect(h.opened()).toBe(0);
  });
});

describe("preview up, timing", () => {
  it("renews the TTL from each up, not from the first", async () => {
    const h = harness();
    await h.run("up", "--branch", "x", "--ttl-hours", "2");
    h.advance(1.5);
    await h.run("up", "--branch", "x", "--ttl-hours", "2");
    const expires = h.workspace.stacks.get(previewNames("x").stackName)?.config[
      configKey("previewExpiresAt")
    ];
    expect(expires?.value).toBe(new Date(h.now().getTime() + 2 * HOUR).toISOString());
  });
});
