/** The preview command end to end against the in-memory workspace: every command, and bad input. */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type CliDeps, runCli } from "../../scripts/preview/cli.js";
import { CONFIG_KEYS } from "../../scripts/preview/config.js";
import { previewNames } from "../../scripts/preview/naming.js";
import { PulumiCommandError } from "../../scripts/preview/workspace.js";
import { MemoryWorkspace } from "./memory-workspace.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const start = new Date("2030-06-01T12:00:00.000Z");
const HOUR = 3_600_000;

/** A CLI wired to a MemoryWorkspace, a settable clock, virtual files and captured output. */
function harness(env: Record<string, string> = {}) {
  let clock = start;
  const workspace = new MemoryWorkspace(() => clock);
  const files = new Map<string, string>();
  const out: string[] = [];
  const err: string[] = [];
  let opened = 0;
  let gitBranch: () => Promise<string> = async () => "feature/from-git";
  const deps: CliDeps = {
    projectDir: fixtures,
    env: { GITHUB_OUTPUT: "/virtual/github-output", ...env },
    now: () => clock,
    openWorkspace: async () => {
      opened += 1;
      return workspace;
    },
    readFile: async (path) => files.get(path) ?? (await readFile(path, "utf8")),
    appendFile: async (path, text) => {
      files.set(path, (files.get(path) ?? "") + text);
    },
    gitBranch: () => gitBranch(),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    progress: () => {},
  };
  return {
    workspace,
    files,
    out,
    err,
    run: (...argv: string[]) => runCli(argv, deps),
    advance: (hours: number) => {
      clock = new Date(clock.getTime() + hours * HOUR);
    },
    opened: () => opened,
    setGitBranch: (branch: () => Promise<string>) => {
      gitBranch = branch;
    },
    /** The GitHub step outputs written so far (the last value of each name), heredoc values included. */
    stepOutputs: () => {
      const outputs: Record<string, string> = {};
      const lines = (files.get("/virtual/github-output") ?? "").split("\n");
      for (let index = 0; index < lines.length; index += 1) {
        const line = lines[index] ?? "";
        const heredoc = /^([\w-]+)<<(\S+)$/.exec(line);
        if (heredoc?.[1] && heredoc[2]) {
          const end = lines.indexOf(heredoc[2], index + 1);
          outputs[heredoc[1]] = lines.slice(index + 1, end).join("\n");
          index = end;
        } else if (line.includes("=")) {
          outputs[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
        }
      }
      return outputs;
    },
  };
}

const login = previewNames("feature/Add-Login");

/** Seeds `count` previews created an hour apart, the first the oldest. */
function seedPreviews(h: ReturnType<typeof harness>, count: number): string[] {
  const names: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const branch = `feature/seeded-${index}`;
    const created = new Date(start.getTime() - (count - index) * HOUR);
    const stack = h.workspace.seed(previewNames(branch).stackName, { resourceCount: 12 });
    stack.config = {
      [CONFIG_KEYS.previewBranch]: { value: branch },
      [CONFIG_KEYS.previewCreatedAt]: { value: created.toISOString() },
      [CONFIG_KEYS.previewExpiresAt]: { value: new Date(created.getTime() + 72 * HOUR).toISOString() },
    };
    names.push(previewNames(branch).stackName);
  }
  return names;
}

describe("preview up", () => {
  it("creates the branch's stack with the test config and preview overrides, deploys it and prints the URL", async () => {
    const h = harness();
    expect(await h.run("up", "--branch", "feature/Add-Login", "--pr", "42", "--sha", "3f2a9c1d")).toBe(0);

    const stack = h.workspace.stacks.get(login.stackName);
    expect(stack?.config).toMatchObject({
      "aws:region": { value: "eu-west-1" },
      "activity-api:allowedCidrs[0]": { value: "203.0.113.0/24" },
      "activity-api:namePrefix": { value: login.resourcePrefix },
      "activity-api:instanceType": { value: "t3.micro" },
      "activity-api:deletionProtection": { value: "false" },
      "activity-api:forceDeleteImages": { value: "true" },
      "activity-api:previewBranch": { value: "feature/Add-Login" },
      "activity-api:previewPullRequest": { value: "42" },
      "activity-api:previewCreatedAt": { value: "2030-06-01T12:00:00.000Z" },
      "activity-api:previewExpiresAt": { value: "2030-06-04T12:00:00.000Z" },
    });
    expect(stack?.tags).toEqual({
      "preview:branch": "feature/Add-Login",
      "preview:pull-request": "42",
      "preview:created-at": "2030-06-01T12:00:00.000Z",
      "preview:expires-at": "2030-06-04T12:00:00.000Z",
    });
    expect(h.out.at(-1)).toBe("Preview of feature/Add-Login is up: http://198.51.100.7:10001");

    const outputs = h.stepOutputs();
    expect(outputs.stack).toBe(login.stackName);
    expect(outputs.url).toBe("http://198.51.100.7:10001");
    expect(outputs.image).toMatch(/@sha256:(ab){32}$/);
    expect(outputs["comment-body"]?.split("\n")[0]).toBe(`<!-- activity-api-preview: ${login.stackName} -->`);
    expect(outputs["comment-body"]).toContain("| Commit | `3f2a9c1d` |");
  });

  it("updates an existing preview: no new stack, created-at kept, expiry extended", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    h.advance(50);
    expect(await h.run("up", "--branch", "feature/Add-Login", "--ttl-hours", "24")).toBe(0);
    expect(h.workspace.calls.filter((call) => call.startsWith("createStack"))).toHaveLength(1);
    expect(h.workspace.stacks.get(login.stackName)?.config).toMatchObject({
      [CONFIG_KEYS.previewCreatedAt]: { value: "2030-06-01T12:00:00.000Z" },
      [CONFIG_KEYS.previewExpiresAt]: { value: "2030-06-04T14:00:00.000Z" },
    });
    expect(h.out).toContain(
      `Updating ${login.stackName} for branch feature/Add-Login, expires 2030-06-04T14:00:00.000Z`,
    );
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

  it("keeps created-at on a fresh CI checkout by reading the last update's config", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    h.workspace.forgetLocalConfig();
    h.advance(5);
    await h.run("up", "--branch", "feature/Add-Login");
    expect(h.workspace.stacks.get(login.stackName)?.config[CONFIG_KEYS.previewCreatedAt]?.value).toBe(
      "2030-06-01T12:00:00.000Z",
    );
  });

  it("refuses a new preview beyond the maximum, naming the oldest, and creates nothing", async () => {
    const h = harness();
    const seeded = seedPreviews(h, 5);
    h.workspace.seed("dev");
    h.workspace.seed("test");
    expect(await h.run("up", "--branch", "feature/Add-Login")).toBe(1);
    expect(h.err[0]).toMatch(
      new RegExp(
        `^preview up: 5 previews are live and the maximum is 5, so ${login.stackName} was not created\\. ` +
          `Oldest: ${seeded[0]} \\(branch feature/seeded-0, created 2030-06-01T07:00:00.000Z\\), ${seeded[1]} `,
      ),
    );
    expect(h.workspace.calls).toEqual([]);
    expect(h.workspace.stacks.has(login.stackName)).toBe(false);
    expect(h.stepOutputs()).toEqual({});
  });

  it("still updates a preview that exists when the maximum is reached", async () => {
    const h = harness();
    const [first] = seedPreviews(h, 5);
    expect(await h.run("up", "--branch", "feature/seeded-0")).toBe(0);
    expect(h.workspace.calls).toEqual([`setConfig ${first}`, `setTags ${first}`, `up ${first}`]);
  });

  it("takes the maximum from --max-live before PREVIEW_MAX_LIVE", async () => {
    const h = harness({ PREVIEW_MAX_LIVE: "2" });
    seedPreviews(h, 2);
    expect(await h.run("up", "--branch", "a")).toBe(1);
    expect(h.err[0]).toMatch(/maximum is 2/);
    expect(await h.run("up", "--branch", "a", "--max-live", "3")).toBe(0);
  });

  it("refuses an instance type outside the allowed list before touching any stack", async () => {
    const h = harness({ PREVIEW_ALLOWED_INSTANCE_TYPES: "t3.micro, t3.nano" });
    expect(await h.run("up", "--branch", "x", "--instance-type", "t3.small")).toBe(1);
    expect(h.err[0]).toBe(
      'preview up: instance type "t3.small" is not allowed for previews; allowed: t3.micro, t3.nano ' +
        "(PREVIEW_ALLOWED_INSTANCE_TYPES)",
    );
    expect(h.opened()).toBe(0);
    expect(await h.run("up", "--branch", "x", "--instance-type", "t3.nano")).toBe(0);
    expect(h.workspace.stacks.get(previewNames("x").stackName)?.config[CONFIG_KEYS.instanceType]?.value).toBe(
      "t3.nano",
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
    expect(h.workspace.stacks.get(login.stackName)?.config[CONFIG_KEYS.previewPullRequest]?.value).toBe("42");
  });

  it("falls back to the checked-out branch, and explains a detached HEAD", async () => {
    const h = harness();
    expect(await h.run("url")).toBe(1);
    expect(h.err[0]).toMatch(/branch feature\/from-git has no preview/);
    h.setGitBranch(async () => "HEAD\n");
    expect(await h.run("up")).toBe(2);
    expect(h.err.at(-2)).toBe("preview up: cannot tell the branch: HEAD is detached; pass --branch NAME");
    h.setGitBranch(async () => {
      throw new Error("fatal: not a git repository");
    });
    expect(await h.run("destroy")).toBe(2);
    expect(h.err.at(-2)).toBe(
      "preview destroy: cannot tell the branch (git: fatal: not a git repository); pass --branch NAME",
    );
  });

  it("names each secret of Pulumi.test.yaml it did not copy", async () => {
    const h = harness();
    h.files.set(
      `${fixtures}Pulumi.test.yaml`,
      "config:\n  aws:region: eu-west-1\n  activity-api:apiKey:\n    secure: v1:abc:def\n",
    );
    expect(await h.run("up", "--branch", "x")).toBe(0);
    expect(h.err).toContain(
      "warning: activity-api:apiKey of Pulumi.test.yaml is not copied to the preview: secret (set it on the preview stack by hand)",
    );
  });

  it("fails clearly, creating nothing, when Pulumi.test.yaml is missing", async () => {
    const h = harness();
    h.files.set(`${fixtures}Pulumi.test.yaml`, "config: [\n");
    expect(await h.run("up", "--branch", "x")).toBe(1);
    expect(h.err[0]).toMatch(/^preview up: Pulumi.test.yaml is not valid YAML/);
    expect(h.workspace.calls).toEqual([]);
  });

  it("reports a locked stack instead of cancelling another run", async () => {
    const h = harness();
    await h.run("up", "--branch", "x");
    h.workspace.killDuringUp(previewNames("x").stackName);
    expect(await h.run("up", "--branch", "x")).toBe(1);
    expect(h.err[0]).toMatch(/is locked by another update; if that run was killed, `pulumi cancel --stack/);
    expect(h.workspace.calls.filter((call) => call.startsWith("cancel"))).toEqual([]);
  });
});

describe("preview destroy", () => {
  it("destroys the resources and removes the stack, and a second run is still success", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    expect(await h.run("destroy", "--branch", "feature/Add-Login")).toBe(0);
    expect(h.workspace.stacks.has(login.stackName)).toBe(false);
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

  it("succeeds for a branch that never had a preview", async () => {
    const h = harness();
    h.workspace.seed("test", { resourceCount: 20 });
    expect(await h.run("destroy", "--branch", "never-deployed")).toBe(0);
    expect(h.workspace.calls).toEqual([]);
  });

  it("recovers a stack a killed run left locked with a pending create", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    h.workspace.killDuringUp(login.stackName);
    h.workspace.calls.length = 0;

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
      "  a pending create may have made a resource the state does not know; check AWS for it",
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

describe("preview list", () => {
  it("lists previews only, with branch, age, expiry, URL and last update", async () => {
    const h = harness();
    h.workspace.seed("dev");
    h.workspace.seed("test");
    await h.run("up", "--branch", "feature/Add-Login");
    h.advance(26);
    h.out.length = 0;
    expect(await h.run("list")).toBe(0);
    expect(h.out).toEqual([
      "STACK                                   BRANCH             AGE  EXPIRES  URL                        LAST UPDATE",
      `${login.stackName}  feature/Add-Login  26h  in 46h   http://198.51.100.7:10001  update succeeded 2030-06-01T12:00:00.000Z`,
    ]);
  });

  it("says so when there are none", async () => {
    const h = harness();
    h.workspace.seed("test");
    expect(await h.run("list")).toBe(0);
    expect(h.out).toEqual(["No preview stacks."]);
  });
});

describe("preview prune", () => {
  /** dev, test and look-alikes, all carrying expired preview metadata, and four previews. */
  async function pruneFixture() {
    const h = harness();
    const expired = {
      [CONFIG_KEYS.previewBranch]: { value: "old" },
      [CONFIG_KEYS.previewCreatedAt]: { value: "2030-01-01T00:00:00.000Z" },
      [CONFIG_KEYS.previewExpiresAt]: { value: "2030-01-04T00:00:00.000Z" },
    };
    for (const name of ["dev", "test", "preview", "Preview-x", "xpreview-y"]) {
      h.workspace.seed(name, { resourceCount: 5, config: { ...expired } });
    }
    for (const branch of ["feature/old", "feature/gone", "feature/alive"])
      await h.run("up", "--branch", branch);
    h.advance(10);
    await h.run("up", "--branch", "feature/alive");
    h.advance(70);
    h.files.set("/virtual/live", "main\nfeature/old\nfeature/alive\n\n");
    h.out.length = 0;
    h.workspace.calls.length = 0;
    return h;
  }

  it("is a dry run unless --yes", async () => {
    const h = await pruneFixture();
    expect(await h.run("prune", "--live-branches", "/virtual/live")).toBe(0);
    expect(h.workspace.calls).toEqual([]);
    expect(h.out).toEqual([
      "Not previews, never touched: dev, test, preview, Preview-x, xpreview-y",
      `keep     ${previewNames("feature/alive").stackName}: expires 2030-06-04T22:00:00.000Z`,
      `destroy  ${previewNames("feature/gone").stackName}: expired, branch deleted`,
      `destroy  ${previewNames("feature/old").stackName}: expired`,
      "Dry run: nothing destroyed. Run again with --yes to destroy 2 preview(s).",
    ]);
  });

  it("with --yes destroys expired and orphaned previews and never anything else", async () => {
    const h = await pruneFixture();
    expect(await h.run("prune", "--live-branches", "/virtual/live", "--yes")).toBe(0);
    expect([...h.workspace.stacks.keys()].sort()).toEqual(
      ["Preview-x", "dev", "preview", "test", "xpreview-y", previewNames("feature/alive").stackName].sort(),
    );
    expect(h.workspace.calls.every((call) => / preview-/.test(call))).toBe(true);
  });

  it("without --live-branches judges by expiry only", async () => {
    const h = harness();
    await h.run("up", "--branch", "gone-but-fresh");
    h.out.length = 0;
    expect(await h.run("prune", "--yes")).toBe(0);
    expect(h.out).toEqual([
      "No --live-branches given: only expiry is checked.",
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
    expect(h.err.some((line) => line.startsWith(`could not destroy ${old}: stack ${old} is locked`))).toBe(
      true,
    );
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

describe("preview url", () => {
  it("prints the URL of the branch's preview", async () => {
    const h = harness();
    await h.run("up", "--branch", "feature/Add-Login");
    h.out.length = 0;
    expect(await h.run("url", "--branch", "feature/Add-Login")).toBe(0);
    expect(h.out).toEqual(["http://198.51.100.7:10001"]);
  });
});

describe("bad input", () => {
  it.each([
    [[], "preview: no command given; expected one of up, destroy, list, prune, url"],
    [["deploy"], 'preview: unknown command "deploy"; expected one of up, destroy, list, prune, url'],
    [["up", "extra"], 'preview up: unexpected argument "extra"'],
    [["up", "--bogus"], "preview: Unknown option '--bogus'"],
    [["up", "--branch"], "preview: Option '--branch <value>' argument missing"],
    [
      ["up", "--branch", "x", "--ttl-hours", "0"],
      'preview up: --ttl-hours must be a number of hours above 0 and at most 720, got "0"',
    ],
    [
      ["up", "--branch", "x", "--ttl-hours", "soon"],
      'preview up: --ttl-hours must be a number of hours above 0 and at most 720, got "soon"',
    ],
    [
      ["up", "--branch", "x", "--max-live=-1"],
      'preview up: --max-live must be a whole number of previews, got "-1"',
    ],
    [
      ["up", "--max-live", "-1"],
      "preview: Option '--max-live' argument is ambiguous. Did you forget to specify the option argument for " +
        "'--max-live'? To specify an option argument starting with a dash use '--max-live=-XYZ'.",
    ],
    [["up", "--branch", "x", "--pr", "#12"], 'preview up: --pr must be a pull request number, got "#12"'],
    [
      ["up", "--branch", "x", "--sha", "main"],
      'preview up: --sha must be a hexadecimal commit id, got "main"',
    ],
    [
      ["up", "--branch", ""],
      'preview up: cannot make a preview of branch "": the name is empty; pass --branch NAME',
    ],
    [
      ["destroy", "--branch", "a\tb"],
      'preview destroy: cannot make a preview of branch "a\\tb": it contains the control character U+0009',
    ],
  ])("%j exits 2 with one clear line", async (argv, message) => {
    const h = harness();
    expect(await h.run(...argv)).toBe(2);
    expect(h.err).toEqual([message, "Run with --help for usage."]);
    expect(h.opened()).toBe(0);
  });

  it("treats empty variables, as workflows pass unset ones, like unset ones", async () => {
    const h = harness({
      PREVIEW_MAX_LIVE: "",
      PREVIEW_ALLOWED_INSTANCE_TYPES: "",
      PR_NUMBER: "",
      GITHUB_SHA: "",
    });
    expect(await h.run("up", "--branch", "b")).toBe(0);
  });

  it("reads PR_NUMBER and PREVIEW_MAX_LIVE strictly", async () => {
    expect(await harness({ PR_NUMBER: "x" }).run("up", "--branch", "b")).toBe(2);
    expect(await harness({ PREVIEW_MAX_LIVE: "many" }).run("up", "--branch", "b")).toBe(2);
    expect(await harness({ PREVIEW_ALLOWED_INSTANCE_TYPES: " , " }).run("up", "--branch", "b")).toBe(2);
  });

  it("prints the usage for --help", async () => {
    const h = harness();
    expect(await h.run("--help")).toBe(0);
    expect(h.out[0]).toMatch(/^Usage: npm run preview -- <command> \[options\]/);
    expect(h.out[0]).toContain("--live-branches FILE");
  });
});

describe("a failed Pulumi command", () => {
  const raw = new Error("code: -2\n stdout: \n stderr: Updating (x)\n    error: plugin missing");
  function failingUp(h: ReturnType<typeof harness>) {
    h.workspace.up = async () => {
      throw new PulumiCommandError("pulumi failed on stack x: plugin missing", raw);
    };
  }

  it("is one line on stderr, the CLI's own diagnosis, never the library's raw error", async () => {
    const h = harness();
    failingUp(h);
    expect(await h.run("up", "--branch", "feature/x")).toBe(1);
    expect(h.err).toEqual(["preview up: pulumi failed on stack x: plugin missing"]);
  });

  it("adds the raw error with --debug", async () => {
    const h = harness();
    failingUp(h);
    expect(await h.run("up", "--branch", "feature/x", "--debug")).toBe(1);
    expect(h.err).toEqual(["preview up: pulumi failed on stack x: plugin missing", String(raw)]);
  });
});
