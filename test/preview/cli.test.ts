/** The entry point: finding the command, usage errors (exit 2), help, and one line per failure (exit 1). */
import { describe, expect, it } from "vitest";
import { PulumiCommandError } from "../../cli/preview/workspace.js";
import { harness } from "./harness.js";

const COMMANDS = "up, url, list, destroy, prune, host destroy";

describe("bad input", () => {
  it.each([
    [[], `preview: no command given; expected one of ${COMMANDS}`],
    [["deploy"], `preview: unknown command "deploy"; expected one of ${COMMANDS}`],
    [["host"], `preview: unknown command "host"; expected one of ${COMMANDS}`],
    [["host", "up"], `preview: unknown command "host up"; expected one of ${COMMANDS}`],
    [
      ["--branch", "x", "up"],
      'preview: the command comes first (npm run preview -- <command> [options]), got "--branch"',
    ],
    [["up", "extra"], 'preview up: unexpected argument "extra"'],
    [["up", "--bogus"], "preview up: Unknown option '--bogus'"],
    [["list", "--branch", "x"], "preview list: Unknown option '--branch'"],
    [["prune", "--keep"], "preview prune: Unknown option '--keep'"],
    [["up", "--branch"], "preview up: Option '--branch <value>' argument missing"],
    [["up", "--target", "gcp"], 'preview up: --target must be one of ec2, local, got "gcp"'],
    [
      ["host", "destroy", "--target", "Local"],
      'preview host destroy: --target must be one of ec2, local, got "Local"',
    ],
    [
      ["up", "--branch", "x", "--keep", "--no-keep"],
      "preview up: --keep and --no-keep contradict each other; give one",
    ],
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
      "preview up: Option '--max-live' argument is ambiguous. Did you forget to specify the option argument for " +
        "'--max-live'? To specify an option argument starting with a dash use '--max-live=-XYZ'.",
    ],
    [["up", "--branch", "x", "--pr", "#12"], 'preview up: --pr must be a pull request number, got "#12"'],
    [
      ["up", "--branch", "x", "--sha", "main"],
      'preview up: --sha must be a hexadecimal commit id, got "main"',
    ],
    [
      ["up", "--branch", "x", "--preview-domain", "bad_name.example.com"],
      'preview up: --preview-domain must be a lowercase DNS name of two labels or more such as previews.example.com (at most 220 characters), got "bad_name.example.com"',
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

  it("explains a branch it cannot tell", async () => {
    const h = harness();
    h.setGitBranch(async () => "HEAD\n");
    expect(await h.run("up")).toBe(2);
    expect(h.err[0]).toBe("preview up: cannot tell the branch: HEAD is detached; pass --branch NAME");
    h.setGitBranch(async () => {
      throw new Error("fatal: not a git repository");
    });
    expect(await h.run("destroy")).toBe(2);
    expect(h.err.at(-2)).toBe(
      "preview destroy: cannot tell the branch (git: fatal: not a git repository); pass --branch NAME",
    );
  });
});

describe("the target's former name, aws", () => {
  it("is read as ec2, with a one-line notice, and sees the same stacks", async () => {
    const current = harness();
    expect(await current.run("list", "--target", "ec2")).toBe(0);
    const former = harness();
    expect(await former.run("list", "--target", "aws")).toBe(0);
    expect(former.out).toEqual(current.out);
    expect(former.err).toEqual(['warning: --target "aws" is deprecated: say "ec2" (same target)']);
    expect(current.err).toEqual([]);
  });
});

describe("help", () => {
  it("lists the commands and the common options", async () => {
    const h = harness();
    expect(await h.run("--help")).toBe(0);
    expect(h.out[0]).toMatch(/^Usage: npm run preview -- <command> \[options\]/);
    for (const command of ["up", "url", "list", "destroy", "prune", "host destroy"]) {
      expect(h.out[0]).toMatch(new RegExp(`\\n  ${command} +\\S`));
    }
    expect(h.out[0]).toContain("--target local|ec2");
  });

  it.each([
    ["up", "--keep, --no-keep"],
    ["url", "--branch NAME"],
    ["list", "cost a day"],
    ["destroy", "DynamoDB Local"],
    ["prune", "--live-branches FILE"],
    ["host destroy", "--if-idle"],
  ])("gives %s its own options", async (command, option) => {
    const h = harness();
    expect(await h.run(...command.split(" "), "--help")).toBe(0);
    expect(h.out[0]).toMatch(new RegExp(`^Usage: npm run preview -- ${command} \\[options\\]`));
    expect(h.out[0]).toContain(option);
    expect(h.opened()).toBe(0);
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
