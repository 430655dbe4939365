/**
 * The `npm run preview -- <up|destroy|list|prune|url>` command: one Pulumi stack per branch, driven through
 * the PreviewWorkspace interface so that every command runs the same against the Automation API and in tests.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs, promisify } from "node:util";
import { renderDeployedComment, renderDestroyedComment } from "./comment.js";
import { derivePreviewConfig, type PreviewMetadata, previewTags, readPreviewMetadata } from "./config.js";
import { BranchNameError, isPreviewStackName, previewNames } from "./naming.js";
import {
  checkCostGuard,
  checkInstanceType,
  DEFAULT_ALLOWED_INSTANCE_TYPES,
  DEFAULT_INSTANCE_TYPE,
  DEFAULT_MAX_LIVE,
  DEFAULT_TTL_HOURS,
  expiryFrom,
  planPrune,
  type StackRecord,
} from "./plan.js";
import {
  type LastUpdate,
  type OnOutput,
  openAutomationWorkspace,
  type PreviewWorkspace,
  StackLockedError,
  StackMissingError,
} from "./workspace.js";

const USAGE = `Usage: npm run preview -- <command> [options]

Commands:
  up        create or update this branch's preview stack, deploy it and print its URL
  destroy   destroy this branch's preview and remove its stack (success if there is none)
  list      list the preview stacks: branch, age, expiry, URL, last update
  prune     destroy previews that expired or whose branch is gone (a dry run unless --yes)
  url       print the URL of this branch's preview

Options:
  --branch NAME         the branch; default $GITHUB_HEAD_REF, else $GITHUB_REF_NAME, else the
                        checked-out branch
  --pr N                up: pull request number; default $PR_NUMBER, else the GitHub event
  --sha SHA             up: commit shown in the PR comment; default $GITHUB_SHA
  --ttl-hours N         up: hours until the preview expires, counted from this up (default ${DEFAULT_TTL_HOURS})
  --max-live N          up: most previews alive at once; default $PREVIEW_MAX_LIVE, else ${DEFAULT_MAX_LIVE}
  --instance-type TYPE  up: EC2 instance type (default ${DEFAULT_INSTANCE_TYPE}), one of the comma-separated
                        $PREVIEW_ALLOWED_INSTANCE_TYPES, else of ${DEFAULT_ALLOWED_INSTANCE_TYPES.join(",")}
  --live-branches FILE  prune: file naming the branches that still exist, one per line;
                        without it only expiry counts
  --yes                 prune: destroy for real (otherwise only print the plan)
  --debug               on failure, also print the raw error of the library that failed
  -h, --help            show this help

Only stacks named preview-* are ever destroyed. When $GITHUB_OUTPUT is set, up and destroy
also write the step outputs stack, url, image and comment-body.
Exit status: 0 done, 1 refused or failed, 2 bad usage.`;

const COMMANDS = ["up", "destroy", "list", "prune", "url"] as const;
type Command = (typeof COMMANDS)[number];

const OPTIONS = {
  branch: { type: "string" },
  pr: { type: "string" },
  sha: { type: "string" },
  "ttl-hours": { type: "string" },
  "max-live": { type: "string" },
  "instance-type": { type: "string" },
  "live-branches": { type: "string" },
  yes: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Options = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** Everything the commands take from the outside world, so that tests can supply all of it. */
export interface CliDeps {
  /** The directory holding Pulumi.yaml and Pulumi.test.yaml. */
  readonly projectDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  now(): Date;
  openWorkspace(): Promise<PreviewWorkspace>;
  readFile(path: string): Promise<string>;
  appendFile(path: string, text: string): Promise<void>;
  /** The checked-out branch (`git rev-parse --abbrev-ref HEAD`). */
  gitBranch(): Promise<string>;
  /** One line of the command's own output. */
  out(line: string): void;
  /** One line of warning or error. */
  err(line: string): void;
  /** Engine progress, streamed as it comes. */
  progress: OnOutput;
}

/** Bad command line: exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Runs one command and returns the exit status; errors become one line on stderr. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  let command = "preview";
  const debug = argv.includes("--debug");
  try {
    const { values, positionals } = parseCommandLine(argv);
    if (values.help) {
      deps.out(USAGE);
      return 0;
    }
    const [name, ...extra] = positionals;
    if (name === undefined) throw new UsageError(`no command given; expected one of ${COMMANDS.join(", ")}`);
    if (!isCommand(name))
      throw new UsageError(`unknown command "${name}"; expected one of ${COMMANDS.join(", ")}`);
    command = `preview ${name}`;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    return await COMMAND_RUNNERS[name](values, deps);
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof BranchNameError;
    deps.err(`${command}: ${error instanceof Error ? error.message : String(error)}`);
    if (usage) deps.err("Run with --help for usage.");
    else if (debug && error instanceof Error && error.cause !== undefined) deps.err(String(error.cause));
    return usage ? 2 : 1;
  }
}

const COMMAND_RUNNERS: Record<Command, (options: Options, deps: CliDeps) => Promise<number>> = {
  up: runUp,
  destroy: runDestroy,
  list: runList,
  prune: runPrune,
  url: runUrl,
};

async function runUp(options: Options, deps: CliDeps): Promise<number> {
  const names = previewNames(await resolveBranch(options, deps));
  const pullRequest = await resolvePullRequest(options, deps);
  const commitSha = resolveCommit(options, deps);
  const ttlHours = parseTtlHours(options["ttl-hours"]);
  const maxLive = parseMaxLive(options["max-live"], deps.env.PREVIEW_MAX_LIVE);
  const instanceType = options["instance-type"] ?? DEFAULT_INSTANCE_TYPE;
  checkInstanceType(instanceType, parseAllowedTypes(deps.env.PREVIEW_ALLOWED_INSTANCE_TYPES));
  const testStackYaml = await readTestStack(deps);

  const workspace = await deps.openWorkspace();
  const stacks = await workspace.listStacks();
  const now = deps.now();
  const existing = stacks.includes(names.stackName);
  let createdAt = now;
  if (existing) {
    createdAt = (await inspect(workspace, names.stackName)).record.metadata?.createdAt ?? now;
  } else {
    const previews = await inspectAll(workspace, stacks.filter(isPreviewStackName));
    checkCostGuard(
      names.stackName,
      previews.map((preview) => preview.record),
      maxLive,
    );
  }
  const metadata: PreviewMetadata = {
    branchLabel: names.branchLabel,
    pullRequest,
    createdAt,
    expiresAt: expiryFrom(now, ttlHours),
  };
  // Derived before the stack exists, so that a config error also leaves nothing behind.
  const derived = derivePreviewConfig(testStackYaml, {
    resourcePrefix: names.resourcePrefix,
    instanceType,
    metadata,
  });
  for (const { key, reason } of derived.skipped) {
    deps.err(`warning: ${key} of Pulumi.test.yaml is not copied to the preview: ${reason}`);
  }

  if (!existing) await workspace.createStack(names.stackName);
  await workspace.setConfig(names.stackName, derived.config);
  try {
    await workspace.setTags(names.stackName, previewTags(metadata));
  } catch (error) {
    deps.err(`warning: stack tags not set (${firstLine(error)}); the metadata is kept in the stack's config`);
  }
  deps.out(
    `${existing ? "Updating" : "Creating"} ${names.stackName} for branch ${names.branch}, ` +
      `expires ${metadata.expiresAt.toISOString()}`,
  );
  const outputs = await workspace.up(names.stackName, deps.progress);
  const url = requireOutput(outputs, "apiUrl");
  const imageRef = requireOutput(outputs, "imageRef");
  deps.out(`Preview of ${names.branch} is up: ${url}`);
  await writeStepOutputs(deps, {
    stack: names.stackName,
    url,
    image: imageRef,
    "comment-body": renderDeployedComment({
      stackName: names.stackName,
      branchLabel: names.branchLabel,
      url,
      imageRef,
      expiresAt: metadata.expiresAt,
      commitSha,
    }),
  });
  return 0;
}

async function runDestroy(options: Options, deps: CliDeps): Promise<number> {
  const names = previewNames(await resolveBranch(options, deps));
  const workspace = await deps.openWorkspace();
  const outcome = await destroyPreview(workspace, names.stackName, deps, { recoverLock: true });
  if (outcome === "absent") {
    deps.out(`No preview stack ${names.stackName} for branch ${names.branch}; nothing to destroy.`);
    await writeStepOutputs(deps, { stack: names.stackName });
  } else {
    deps.out(`Destroyed ${names.stackName} and removed the stack.`);
    await writeStepOutputs(deps, {
      stack: names.stackName,
      "comment-body": renderDestroyedComment(names.stackName, deps.now()),
    });
  }
  return 0;
}

async function runList(_options: Options, deps: CliDeps): Promise<number> {
  const workspace = await deps.openWorkspace();
  const previews = await inspectAll(workspace, (await workspace.listStacks()).filter(isPreviewStackName));
  if (previews.length === 0) {
    deps.out("No preview stacks.");
    return 0;
  }
  const now = deps.now();
  const rows = [["STACK", "BRANCH", "AGE", "EXPIRES", "URL", "LAST UPDATE"]];
  for (const preview of previews) {
    const { metadata } = preview.record;
    const url = await workspace.outputs(preview.record.stackName).then(
      (outputs) => (typeof outputs.apiUrl === "string" ? outputs.apiUrl : "-"),
      () => "?",
    );
    rows.push([
      preview.record.stackName,
      metadata?.branchLabel ?? "?",
      metadata ? duration(now.getTime() - metadata.createdAt.getTime()) : "?",
      metadata ? expiry(now, metadata.expiresAt) : "?",
      url,
      preview.problem ?? describeUpdate(preview.lastUpdate),
    ]);
  }
  for (const line of table(rows)) deps.out(line);
  return 0;
}

async function runPrune(options: Options, deps: CliDeps): Promise<number> {
  const liveBranches = options["live-branches"]
    ? await readLiveBranches(options["live-branches"], deps)
    : undefined;
  const workspace = await deps.openWorkspace();
  const stacks = await workspace.listStacks();
  const records: StackRecord[] = [];
  for (const stackName of stacks) {
    // Only previews are inspected: the others are never touched, so their config is none of prune's business.
    records.push(
      isPreviewStackName(stackName)
        ? (await inspect(workspace, stackName)).record
        : { stackName, metadata: undefined },
    );
  }
  const plan = planPrune(records, deps.now(), liveBranches);
  if (liveBranches === undefined) deps.out("No --live-branches given: only expiry is checked.");
  if (plan.protected.length > 0) deps.out(`Not previews, never touched: ${plan.protected.join(", ")}`);
  for (const { stack, why } of plan.keep) deps.out(`keep     ${stack.stackName}: ${why}`);
  for (const { stack, reasons } of plan.destroy)
    deps.out(`destroy  ${stack.stackName}: ${reasons.join(", ")}`);
  if (plan.destroy.length === 0) {
    deps.out("Nothing to prune.");
    return 0;
  }
  if (!options.yes) {
    deps.out(
      `Dry run: nothing destroyed. Run again with --yes to destroy ${plan.destroy.length} preview(s).`,
    );
    return 0;
  }
  let failures = 0;
  for (const { stack } of plan.destroy) {
    try {
      // Unattended and across many stacks, prune never cancels a lock: it may belong to a live run.
      await destroyPreview(workspace, stack.stackName, deps, { recoverLock: false });
      deps.out(`Destroyed ${stack.stackName}.`);
    } catch (error) {
      failures += 1;
      deps.err(`could not destroy ${stack.stackName}: ${firstLine(error)}`);
      if (error instanceof StackLockedError) {
        deps.err(
          `  if no run is active on it, destroy it by hand: npm run preview -- destroy --branch <its branch>`,
        );
      }
    }
  }
  return failures > 0 ? 1 : 0;
}

async function runUrl(options: Options, deps: CliDeps): Promise<number> {
  const names = previewNames(await resolveBranch(options, deps));
  const workspace = await deps.openWorkspace();
  if (!(await workspace.listStacks()).includes(names.stackName)) {
    throw new Error(`branch ${names.branch} has no preview (no stack ${names.stackName}); run up first`);
  }
  deps.out(requireOutput(await workspace.outputs(names.stackName), "apiUrl"));
  return 0;
}

/**
 * Destroys a preview's resources and removes its stack. Idempotent: a stack that does not exist, or
 * disappears meanwhile, is success.
 *
 * Recovering a stack left mid-operation by a killed run is two documented steps
 * (https://www.pulumi.com/docs/iac/troubleshooting/common-issues/interrupted-updates/):
 * 1. The lock. A killed run leaves the stack locked (Pulumi Cloud: the update stays "in progress"; DIY
 *    backends: a lock file), and every later operation fails with ConcurrentUpdateError. `Stack.cancel()`
 *    (`pulumi cancel`) releases it on both; the DIY backends support it since pulumi/pulumi#9100. It is used
 *    only after an operation was actually refused, and only once.
 * 2. Pending operations. Operations the run had started stay in the state's `pending_operations`; `pulumi
 *    refresh --clear-pending-creates` (RefreshOptions.clearPendingCreates) reads the real resources and drops
 *    them, where hand-editing the state through exportStack/importStack would be the error-prone alternative.
 *    A pending *create* may have made a resource that the state never recorded; it cannot be destroyed from
 *    here, so its URN is printed for a look in the AWS console.
 */
async function destroyPreview(
  workspace: PreviewWorkspace,
  stackName: string,
  deps: CliDeps,
  { recoverLock }: { recoverLock: boolean },
): Promise<"destroyed" | "absent"> {
  if (!isPreviewStackName(stackName))
    throw new Error(`refusing to destroy ${stackName}: it is not a preview stack`);
  if (!(await workspace.listStacks()).includes(stackName)) return "absent";
  let cancelled = false;
  const unlocked = async (operation: () => Promise<void>): Promise<void> => {
    try {
      await operation();
    } catch (error) {
      if (!(error instanceof StackLockedError) || !recoverLock || cancelled) throw error;
      deps.err(
        `warning: ${stackName} is locked, presumably by a killed run; releasing the lock (pulumi cancel)`,
      );
      await workspace.cancel(stackName);
      cancelled = true;
      await operation();
    }
  };
  try {
    const pending = await workspace.pendingOperations(stackName);
    if (pending.length > 0) {
      deps.err(
        `warning: ${stackName} has ${pending.length} operation(s) an interrupted run left unfinished:`,
      );
      for (const operation of pending) deps.err(`  ${operation.type} ${operation.urn}`);
      deps.err("  a pending create may have made a resource the state does not know; check AWS for it");
      await unlocked(() => workspace.clearPendingOperations(stackName, deps.progress));
    }
    await unlocked(() => workspace.destroy(stackName, deps.progress));
    await workspace.removeStack(stackName);
    return "destroyed";
  } catch (error) {
    if (error instanceof StackMissingError) return "absent";
    throw error;
  }
}

interface Inspected {
  readonly record: StackRecord;
  readonly lastUpdate: LastUpdate | undefined;
  readonly problem: string | undefined;
}

/**
 * Reads a stack's preview metadata: from its Pulumi.<stack>.yaml when this checkout has one, else from the
 * config its last update ran with (a CI job starts from a fresh checkout). A stack that cannot be read still
 * counts: it is returned without metadata and with the problem.
 */
async function inspect(workspace: PreviewWorkspace, stackName: string): Promise<Inspected> {
  try {
    const local = readPreviewMetadata(await workspace.getConfig(stackName));
    const lastUpdate = await workspace.lastUpdate(stackName);
    const metadata = local ?? (lastUpdate && readPreviewMetadata(lastUpdate.config));
    return { record: { stackName, metadata }, lastUpdate, problem: undefined };
  } catch (error) {
    return { record: { stackName, metadata: undefined }, lastUpdate: undefined, problem: firstLine(error) };
  }
}

/** One stack at a time: selecting a stack rewrites the workspace's current-stack file. */
async function inspectAll(workspace: PreviewWorkspace, stackNames: readonly string[]): Promise<Inspected[]> {
  const inspected: Inspected[] = [];
  for (const stackName of stackNames) inspected.push(await inspect(workspace, stackName));
  return inspected;
}

function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains unknown options and missing values well (on several lines, joined here into one);
    // its hint about positional arguments after "--" does not apply, as no command takes one.
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(
      message.replace(/\. To specify a positional argument.*$/s, "").replaceAll("\n", " "),
    );
  }
}

function isCommand(name: string): name is Command {
  return (COMMANDS as readonly string[]).includes(name);
}

async function resolveBranch(options: Options, deps: CliDeps): Promise<string> {
  if (options.branch !== undefined) return options.branch;
  // On pull_request events GITHUB_REF_NAME is "<n>/merge"; the branch is GITHUB_HEAD_REF.
  const fromEnv = nonEmpty(deps.env.GITHUB_HEAD_REF) ?? nonEmpty(deps.env.GITHUB_REF_NAME);
  if (fromEnv !== undefined) return fromEnv;
  let branch: string;
  try {
    branch = (await deps.gitBranch()).trim();
  } catch (error) {
    throw new UsageError(`cannot tell the branch (git: ${firstLine(error)}); pass --branch NAME`);
  }
  if (branch === "HEAD") throw new UsageError("cannot tell the branch: HEAD is detached; pass --branch NAME");
  return branch;
}

async function resolvePullRequest(options: Options, deps: CliDeps): Promise<number | undefined> {
  if (options.pr !== undefined) return parsePullRequest(options.pr, "--pr");
  const fromEnv = nonEmpty(deps.env.PR_NUMBER);
  if (fromEnv !== undefined) return parsePullRequest(fromEnv, "PR_NUMBER");
  const eventPath = nonEmpty(deps.env.GITHUB_EVENT_PATH);
  if (eventPath === undefined) return undefined;
  const event: unknown = JSON.parse(await deps.readFile(eventPath));
  const number = (event as { pull_request?: { number?: unknown } } | null)?.pull_request?.number;
  return typeof number === "number" && Number.isSafeInteger(number) && number > 0 ? number : undefined;
}

function parsePullRequest(text: string, source: string): number {
  if (!/^[1-9]\d{0,9}$/.test(text))
    throw new UsageError(`${source} must be a pull request number, got "${text}"`);
  return Number(text);
}

function resolveCommit(options: Options, deps: CliDeps): string | undefined {
  const sha = options.sha ?? nonEmpty(deps.env.GITHUB_SHA);
  if (sha !== undefined && !/^[0-9a-f]{7,64}$/i.test(sha)) {
    throw new UsageError(`--sha must be a hexadecimal commit id, got "${sha}"`);
  }
  return sha;
}

/** At most 30 days: a preview that should live longer is an environment, not a preview. */
const MAX_TTL_HOURS = 720;

function parseTtlHours(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TTL_HOURS;
  const hours = Number(text);
  if (text.trim() === "" || !Number.isFinite(hours) || hours <= 0 || hours > MAX_TTL_HOURS) {
    throw new UsageError(
      `--ttl-hours must be a number of hours above 0 and at most ${MAX_TTL_HOURS}, got "${text}"`,
    );
  }
  return hours;
}

function parseMaxLive(option: string | undefined, fromEnv: string | undefined): number {
  const [text, source] =
    option !== undefined ? [option, "--max-live"] : [nonEmpty(fromEnv), "PREVIEW_MAX_LIVE"];
  if (text === undefined) return DEFAULT_MAX_LIVE;
  if (!/^\d{1,4}$/.test(text))
    throw new UsageError(`${source} must be a whole number of previews, got "${text}"`);
  return Number(text);
}

/** Unset and empty are alike: a workflow passes an undefined repository variable as "". */
function parseAllowedTypes(fromEnv: string | undefined): readonly string[] {
  const text = nonEmpty(fromEnv);
  if (text === undefined) return DEFAULT_ALLOWED_INSTANCE_TYPES;
  const types = text
    .split(",")
    .map((type) => type.trim())
    .filter((type) => type.length > 0);
  if (types.length === 0)
    throw new UsageError("PREVIEW_ALLOWED_INSTANCE_TYPES is set but names no instance type");
  return types;
}

async function readTestStack(deps: CliDeps): Promise<string> {
  const path = join(deps.projectDir, "Pulumi.test.yaml");
  try {
    return await deps.readFile(path);
  } catch (error) {
    throw new Error(`cannot read ${path}, whose config previews copy: ${firstLine(error)}`);
  }
}

async function readLiveBranches(path: string, deps: CliDeps): Promise<string[]> {
  let text: string;
  try {
    text = await deps.readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read --live-branches file: ${firstLine(error)}`);
  }
  const branches = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  // An empty list would make every preview look orphaned; a failed `git ls-remote` must not wipe them all.
  if (branches.length === 0)
    throw new UsageError(`--live-branches file ${path} lists no branch; refusing to prune`);
  return branches;
}

function requireOutput(outputs: Readonly<Record<string, unknown>>, name: string): string {
  const value = outputs[name];
  if (typeof value !== "string" || value.length === 0) {
    throw new Error(`the stack has no "${name}" output; the program must export it (apiUrl, imageRef)`);
  }
  return value;
}

/** Appends step outputs for GitHub Actions; multi-line values use the documented heredoc form. */
async function writeStepOutputs(deps: CliDeps, outputs: Readonly<Record<string, string>>): Promise<void> {
  const file = nonEmpty(deps.env.GITHUB_OUTPUT);
  if (file === undefined) return;
  let text = "";
  for (const [name, value] of Object.entries(outputs)) {
    if (value.includes("\n")) {
      const delimiter = `ghadelimiter_${randomUUID()}`;
      text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
    } else {
      text += `${name}=${value}\n`;
    }
  }
  await deps.appendFile(file, text);
}

function describeUpdate(update: LastUpdate | undefined): string {
  if (update === undefined) return "never updated";
  return `${update.kind} ${update.result}${update.endTime ? ` ${update.endTime.toISOString()}` : ""}`;
}

function expiry(now: Date, expiresAt: Date): string {
  const left = expiresAt.getTime() - now.getTime();
  return left > 0 ? `in ${duration(left)}` : `${duration(-left)} ago`;
}

function duration(milliseconds: number): string {
  const hours = Math.floor(milliseconds / 3_600_000);
  if (hours < 1) return `${Math.max(0, Math.floor(milliseconds / 60_000))}m`;
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

function table(rows: readonly string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

function processDeps(): CliDeps {
  const projectDir = fileURLToPath(new URL("../../", import.meta.url));
  return {
    projectDir,
    env: process.env,
    now: () => new Date(),
    openWorkspace: () => openAutomationWorkspace(projectDir),
    readFile: (path) => readFile(path, "utf8"),
    appendFile: (path, text) => appendFile(path, text, "utf8"),
    gitBranch: async () =>
      (await promisify(execFile)("git", ["rev-parse", "--abbrev-ref", "HEAD"], { cwd: projectDir })).stdout,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progress: (chunk) => process.stdout.write(chunk),
  };
}

// Run only as the entry point (`tsx scripts/preview/cli.ts`), not when a test imports runCli.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2), processDeps());
}
