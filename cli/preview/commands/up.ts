/**
 * `up`: creates or updates this branch's preview on its target's shared host (creating the host on first
 * use), probes its health, and prints its URL, estimated cost and expiry; in CI it also writes the PR
 * comment's body. Every limit (previews alive, instance type, budget, the host's memory and disk) is checked
 * before anything is created.
 */
import { join } from "node:path";
import { isDomainName, PREVIEW_DOMAIN_MAX, type PreviewTarget } from "../../../stack/contract.js";
import { renderDeployedComment } from "../comment.js";
import { checkBudget, describePreviewCost, estimateCost } from "../cost.js";
import type { CliDeps } from "../deps.js";
import { type Health, probeReady } from "../health.js";
import { checkHostSealed, ensureHost, type HostState, readHost } from "../host.js";
import { firstLine, nonEmpty, requireOutput, writeStepOutputs } from "../output.js";
import {
  checkCapacity,
  checkCostGuard,
  checkInstanceType,
  DEFAULT_ALLOWED_INSTANCE_TYPES,
  DEFAULT_INSTANCE_TYPE,
  DEFAULT_MAX_LIVE,
  DEFAULT_TTL_HOURS,
  expiryFrom,
} from "../plan.js";
import { hostStackConfig, type PreviewMetadata, previewStackConfig, previewTags } from "../stack-config.js";
import { inspectAll, previewsOf, readMetadata } from "../stacks.js";
import { type PreviewWorkspace, StackExistsError, StackMissingError } from "../workspace.js";
import {
  BRANCH_HELP,
  BRANCH_OPTION,
  branchPreview,
  COMMON_HELP,
  COMMON_OPTIONS,
  defineCommand,
  UsageError,
} from "./common.js";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...BRANCH_OPTION,
  pr: { type: "string" },
  sha: { type: "string" },
  "ttl-hours": { type: "string" },
  keep: { type: "boolean" },
  "no-keep": { type: "boolean" },
  "max-live": { type: "string" },
  "instance-type": { type: "string" },
  "preview-domain": { type: "string" },
} as const;

const HELP = `Usage: npm run preview -- up [options]

Creates or updates this branch's preview on the target's shared preview host, creating the host on first use
(or waiting, up to 15 minutes, while another run creates it), then probes GET /ready and prints the health,
the estimated cost a day, the expiry and, on the last line, the URL. Every up moves the expiry to now + TTL.

Options:
${BRANCH_HELP}
  --pr N                  pull request number; default $PR_NUMBER, else the GitHub event
  --sha SHA               commit shown in the PR comment; default $GITHUB_SHA
  --ttl-hours N           hours until the preview expires, counted from this up (default ${DEFAULT_TTL_HOURS})
  --keep, --no-keep       pin the preview, so that prune leaves it, or unpin it; without either the pin
                          stays as it is (a new preview is not pinned)
  --max-live N            most previews of the target alive at once; default $PREVIEW_MAX_LIVE, else ${DEFAULT_MAX_LIVE}
  --instance-type TYPE    ec2: the host's EC2 instance type, when up creates the host (default ${DEFAULT_INSTANCE_TYPE});
                          one of the comma-separated $PREVIEW_ALLOWED_INSTANCE_TYPES, else of
                          ${DEFAULT_ALLOWED_INSTANCE_TYPES.join(",")}
  --preview-domain NAME   ec2: the domain previews are served under (<label>.NAME), when up creates the
                          host; default $PREVIEW_DOMAIN, else <the host's public IP>.sslip.io
${COMMON_HELP}

On ec2, when up creates the host: $PREVIEW_SSH_PUBLIC_KEY is its deploy key (else the test stack's
sshPublicKey), and $PREVIEW_PERMISSIONS_BOUNDARY (required) the permissions boundary of its instance role
and of every preview's identity: the ci-identity stack's previewBoundaryArn
(pulumi stack output --stack ci-identity previewBoundaryArn).

Cost: on ec2 a preview is estimated at the host's cost a day split over the target's live previews, plus
its own table and image; locally at nothing. $PREVIEW_BUDGET_PER_DAY (US dollars) caps the target's total,
host and previews, after this up: an up that would add a preview beyond it is refused, as one beyond
--max-live is, before anything is created. So is one whose host would be overcommitted: the containers'
memory limits (proxy, 512 MiB per preview and locally 384 more for its own DynamoDB Local, and 512 for a
release rolling out) beyond the host's memory less 384 MiB for the system, or less than 20% of Docker's disk left free after a
new preview's images and logs (about 0.5 GB). Updating an existing preview is always allowed.
When $GITHUB_OUTPUT is set, up writes the step outputs stack, url, image and comment-body.`;

export const upCommand = defineCommand({
  name: "up",
  summary: "create or update this branch's preview (and the target's host on first use), print its URL",
  options: OPTIONS,
  help: HELP,
  async run(options, target, deps) {
    const names = await branchPreview(options.branch, target, deps);
    const pullRequest = await resolvePullRequest(options.pr, deps);
    const commitSha = resolveCommit(options.sha, deps);
    const ttlHours = parseTtlHours(options["ttl-hours"]);
    const maxLive = parseMaxLive(options["max-live"], deps.env.PREVIEW_MAX_LIVE);
    const pin = parsePin(options.keep, options["no-keep"]);
    const budget = parseBudget(deps.env.PREVIEW_BUDGET_PER_DAY);
    const hostSettings = parseHostSettings(target, options["instance-type"], options["preview-domain"], deps);
    const testStackYaml = target === "ec2" ? await readTestStack(deps) : undefined;

    const workspace = deps.openWorkspace();
    // The stacks, the host and the preview's own config are read at once: each is a pulumi command, and
    // none depends on another (a preview that does not exist yet has no config).
    const [stacks, host, ownConfig] = await Promise.all([
      workspace.listStacks(),
      readHost(workspace, target),
      workspace.getConfig(names.stackName).catch((error: unknown) => {
        if (error instanceof StackMissingError) return undefined;
        throw error;
      }),
    ]);
    const now = deps.now();
    const targetPreviews = previewsOf(target, stacks);
    const exists = targetPreviews.includes(names.stackName);
    const currentConfig = exists ? (ownConfig ?? {}) : {};
    // An update, always allowed, reads its own metadata only. A new preview is counted against --max-live;
    // every preview's metadata is read only when the guard refuses it, for its message naming the oldest.
    const previous = exists
      ? { metadata: await readMetadata(workspace, names.stackName, currentConfig) }
      : undefined;
    if (previous === undefined) {
      const records =
        targetPreviews.length < maxLive
          ? targetPreviews.map((stackName) => ({ stackName, metadata: undefined }))
          : (await inspectAll(workspace, targetPreviews)).map((preview) => preview.record);
      checkCostGuard(names.stackName, records, maxLive);
    }
    checkHostSealed(host, target);
    warnOfIgnoredHostSettings(host, hostSettings, deps);
    const livePreviews = targetPreviews.length + (exists ? 0 : 1);
    const cost = estimateCost(target, host.outputs?.instanceType ?? hostSettings.instanceType, livePreviews);
    if (previous === undefined) {
      checkBudget(cost, budget, names.stackName);
      const instanceType = host.outputs?.instanceType ?? hostSettings.instanceType;
      checkCapacity(
        names.stackName,
        target,
        livePreviews,
        await deps.measureHost(target, host, instanceType),
      );
    }
    const metadata: PreviewMetadata = {
      branchLabel: names.branchLabel,
      pullRequest,
      createdAt: previous?.metadata?.createdAt ?? now,
      expiresAt: expiryFrom(now, ttlHours),
      keep: pin ?? previous?.metadata?.keep ?? false,
    };
    // Both configs are derived before anything exists, so that a config error also leaves nothing behind.
    const hostConfig = hostStackConfig(target, { testStackYaml, ...hostSettings });
    const previewConfig = previewStackConfig(target, {
      testStackYaml,
      resourcePrefix: names.resourcePrefix,
      metadata,
    });
    for (const { key, reason } of previewConfig.skipped) {
      deps.err(`warning: ${key} of Pulumi.test.yaml is not copied to the previews: ${reason}`);
    }

    // A deployed host is used as it is: ensureHost would only read it again.
    if (host.outputs === undefined) await ensureHost(workspace, target, hostConfig.config, deps);
    if (previous === undefined) await createStack(names.stackName, workspace);
    deps.out(
      `${previous === undefined ? "Creating" : "Updating"} ${names.stackName} for branch ${names.branch} ` +
        `on ${host.stackName}`,
    );
    // The config (the preview's metadata with it) is saved as the update starts, even if the update then fails.
    await workspace.up(names.stackName, deps.progress, { set: previewConfig.config, current: currentConfig });
    // The tags show the metadata in the backend's console; the config holds it, so they are written once the
    // preview is deployed, while its outputs are read and its health is probed (a DIY backend keeps them in a
    // file of their own, beside the state those reads open).
    const [{ url, imageRef, health }] = await Promise.all([
      readDeployed(workspace, names.stackName, deps),
      setChangedTags(workspace, names.stackName, changedTags(metadata, previous?.metadata), deps),
    ]);
    if (!health.ready) {
      deps.err(`warning: ${names.stackName} is deployed, but ${health.summary}; see its container's logs`);
    }
    const costLine = describePreviewCost(cost);
    deps.out(`Health:  ${health.summary}`);
    deps.out(`Cost:    ${costLine}`);
    deps.out(`Expires: ${describeExpiry(metadata, now)}`);
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
        commitSha,
        health: health.summary,
        expiresAt: metadata.expiresAt,
        keep: metadata.keep,
        cost: costLine,
      }),
    });
    return 0;
  },
});

/**
 * The stack tags to set: all of them for a new preview, or one whose metadata could not be read; for an update,
 * those whose value the metadata changed (the expiry, on every up), since each tag is one pulumi command.
 */
function changedTags(
  metadata: PreviewMetadata,
  previous: PreviewMetadata | undefined,
): Record<string, string> {
  const tags = previewTags(metadata);
  if (previous === undefined) return tags;
  const before = previewTags(previous);
  return Object.fromEntries(Object.entries(tags).filter(([key, value]) => before[key] !== value));
}

/** The deployed preview's URL and image, from its outputs, and the health of its URL. */
async function readDeployed(
  workspace: PreviewWorkspace,
  stackName: string,
  deps: CliDeps,
): Promise<{ url: string; imageRef: string; health: Health }> {
  const outputs = await workspace.outputs(stackName);
  const url = requireOutput(outputs, "apiUrl");
  const imageRef = requireOutput(outputs, "imageRef");
  return { url, imageRef, health: await probeReady(url, deps.httpGet, deps.sleep) };
}

/** Writes `tags`; a backend that refuses them is worth a warning only. */
async function setChangedTags(
  workspace: PreviewWorkspace,
  stackName: string,
  tags: Record<string, string>,
  deps: CliDeps,
): Promise<void> {
  if (Object.keys(tags).length === 0) return;
  try {
    await workspace.setTags(stackName, tags);
  } catch (error) {
    deps.err(`warning: stack tags not set (${firstLine(error)}); the metadata is kept in the stack's config`);
  }
}

/** A concurrent run of the same branch may have created it first; it is then simply updated. */
async function createStack(stackName: string, workspace: PreviewWorkspace): Promise<void> {
  try {
    await workspace.createStack(stackName);
  } catch (error) {
    if (!(error instanceof StackExistsError)) throw error;
  }
}

function describeExpiry(metadata: PreviewMetadata, now: Date): string {
  const hours = Math.round((metadata.expiresAt.getTime() - now.getTime()) / 3_600_000);
  const at = metadata.expiresAt.toISOString();
  return metadata.keep
    ? `kept (pinned with --keep: prune leaves it; its TTL would end ${at})`
    : `${at} (in ${hours}h; each up renews it, prune destroys it after)`;
}

interface HostSettings {
  /** aws: the type up creates the host with (the default unless given). */
  readonly instanceType: string;
  readonly instanceTypeGiven: boolean;
  /** aws: undefined lets the program choose. */
  readonly previewDomain: string | undefined;
  /** aws: the host's own deploy key (undefined: the test stack's) and its boundary (undefined: refused). */
  readonly sshPublicKey: string | undefined;
  readonly permissionsBoundary: string | undefined;
}

function parseHostSettings(
  target: PreviewTarget,
  instanceTypeOption: string | undefined,
  domainOption: string | undefined,
  deps: CliDeps,
): HostSettings {
  if (target === "local") {
    // A local host needs neither: it is the local engine, serving *.localhost.
    if (instanceTypeOption !== undefined)
      throw new UsageError("--instance-type applies to --target ec2 only");
    if (domainOption !== undefined) throw new UsageError("--preview-domain applies to --target ec2 only");
    return {
      instanceType: DEFAULT_INSTANCE_TYPE,
      instanceTypeGiven: false,
      previewDomain: undefined,
      sshPublicKey: undefined,
      permissionsBoundary: undefined,
    };
  }
  const instanceType = instanceTypeOption ?? DEFAULT_INSTANCE_TYPE;
  checkInstanceType(instanceType, parseAllowedTypes(deps.env.PREVIEW_ALLOWED_INSTANCE_TYPES));
  const [domain, source] =
    domainOption !== undefined
      ? [domainOption, "--preview-domain"]
      : [nonEmpty(deps.env.PREVIEW_DOMAIN), "PREVIEW_DOMAIN"];
  // The program's own rule, checked before the host's stack exists.
  if (domain !== undefined && !isDomainName(domain, PREVIEW_DOMAIN_MAX)) {
    throw new UsageError(
      `${source} must be a lowercase DNS name of two labels or more such as previews.example.com (at most ` +
        `${PREVIEW_DOMAIN_MAX} characters), ` +
        `got "${domain}"`,
    );
  }
  return {
    instanceType,
    instanceTypeGiven: instanceTypeOption !== undefined,
    previewDomain: domain,
    // The program checks both when it creates the host, before any resource exists.
    sshPublicKey: nonEmpty(deps.env.PREVIEW_SSH_PUBLIC_KEY),
    permissionsBoundary: nonEmpty(deps.env.PREVIEW_PERMISSIONS_BOUNDARY),
  };
}

/** The host is used as it is: settings given for its creation do not change a deployed one, so say so. */
function warnOfIgnoredHostSettings(host: HostState, settings: HostSettings, deps: CliDeps): void {
  if (host.outputs === undefined) return;
  const ignored: string[] = [];
  if (settings.instanceTypeGiven && host.outputs.instanceType !== settings.instanceType) {
    ignored.push(`it runs ${host.outputs.instanceType ?? "another type"}, not ${settings.instanceType}`);
  }
  if (settings.previewDomain !== undefined && host.outputs.previewDomain !== settings.previewDomain) {
    ignored.push(`it serves ${host.outputs.previewDomain}, not ${settings.previewDomain}`);
  }
  if (ignored.length === 0) return;
  deps.err(
    `warning: ${host.stackName} is deployed and used as it is: ${ignored.join("; ")}. Such settings apply ` +
      "when up creates the host (host destroy removes it once no preview is left)",
  );
}

async function resolvePullRequest(option: string | undefined, deps: CliDeps): Promise<number | undefined> {
  if (option !== undefined) return parsePullRequest(option, "--pr");
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

function resolveCommit(option: string | undefined, deps: CliDeps): string | undefined {
  const sha = option ?? nonEmpty(deps.env.GITHUB_SHA);
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

/** true: pin, false: unpin, undefined: leave the pin as it is. */
function parsePin(keep: boolean | undefined, noKeep: boolean | undefined): boolean | undefined {
  if (keep && noKeep) throw new UsageError("--keep and --no-keep contradict each other; give one");
  return keep ? true : noKeep ? false : undefined;
}

/** US dollars a day, e.g. "2" or "1.50"; unset or empty: no cap. */
function parseBudget(fromEnv: string | undefined): number | undefined {
  const text = nonEmpty(fromEnv)?.trim();
  if (text === undefined) return undefined;
  if (!/^\$?\d{1,6}(\.\d{1,4})?$/.test(text)) {
    throw new UsageError(
      `PREVIEW_BUDGET_PER_DAY must be an amount of US dollars a day such as 2 or 1.50, got "${text}"`,
    );
  }
  return Number(text.replace(/^\$/, ""));
}

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
