/**
 * Derives the configuration of a target's preview host and of a branch's preview (on AWS from the test
 * stack's Pulumi.test.yaml plus the previews' overrides), and reads a preview's metadata (branch, pull
 * request, created and expiry times, pin) back from a stack's config.
 */
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { parse } from "yaml";
import {
  type ConfigName,
  configKey,
  PREVIEW_HOST_NAME_PREFIX,
  PREVIEW_HOST_STACKS,
  type PreviewTarget,
} from "../../stack/contract.js";

/** The program's config keys this tool sets on a preview host or a branch preview; never copied from the test stack. */
const KEYS_THE_CLI_SETS: readonly ConfigName[] = [
  "target",
  "namePrefix",
  "instanceType",
  "deletionProtection",
  "forceDeleteImages",
  "previewHost",
  "previewDomain",
  "previewHostStack",
  "previewBranch",
  "previewPullRequest",
  "previewCreatedAt",
  "previewExpiresAt",
  "previewKeep",
  // The test host's boundary is the test pipeline's; the preview host gets the previews' (or none).
  "permissionsBoundary",
];

/**
 * Stack tags that mirror the metadata where the backend keeps tags (Pulumi Cloud; the DIY backends refuse
 * them). Names follow Pulumi's stack-tag rule, values are at most 256 bytes (see naming.ts).
 */
export const PREVIEW_TAG_KEYS = {
  branch: "preview:branch",
  pullRequest: "preview:pull-request",
  createdAt: "preview:created-at",
  expiresAt: "preview:expires-at",
  keep: "preview:keep",
} as const;

/** What a preview records about itself, so that list and prune work on any backend. */
export interface PreviewMetadata {
  /** The tag-safe label of the branch (see naming.ts), not necessarily the raw name. */
  readonly branchLabel: string;
  readonly pullRequest: number | undefined;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** Pinned with `up --keep`: prune leaves it, whatever its expiry or branch. */
  readonly keep: boolean;
}

export interface SkippedKey {
  readonly key: string;
  readonly reason: string;
}

export interface DerivedConfig {
  /**
   * Keys are Pulumi config *paths* (`activity-api:allowedCidrs[0]`), to be set with `path: true` so that
   * lists and maps stay lists and maps rather than JSON strings (a program may declare their types in
   * Pulumi.yaml).
   */
  readonly config: ConfigMap;
  /** Keys of Pulumi.test.yaml that were not copied, and why; the CLI prints them. */
  readonly skipped: readonly SkippedKey[];
}

/** Pulumi.test.yaml cannot be turned into a preview's config. */
export class TestStackConfigError extends Error {
  override name = "TestStackConfigError";
}

type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

export interface HostStackOptions {
  /** ec2: the test stack's Pulumi.test.yaml, whose account settings (region, CIDRs, host access) the host takes. */
  readonly testStackYaml: string | undefined;
  /** ec2: the host's EC2 instance type. */
  readonly instanceType: string;
  /** ec2: the domain previews are served under; unset lets the program choose (`<publicIp>.sslip.io`). */
  readonly previewDomain: string | undefined;
  /** ec2: the host's own deploy key (the preview pipeline's); unset: the test stack's sshPublicKey. */
  readonly sshPublicKey?: string | undefined;
  /** ec2: the permissions boundary of the host's instance role (the ci-identity stack's previewBoundaryArn). */
  readonly permissionsBoundary?: string | undefined;
}

/**
 * The config of a target's preview host. Locally it is only what makes the program build a host: the rest
 * are the program's defaults (proxy port 10080, `localhost` as the domain). On ec2 the host is an EC2 Docker
 * host like the test stack's, so it takes Pulumi.test.yaml's settings, with the previews' disposable
 * overrides (no deletion protection, images deleted with the stack).
 */
export function hostStackConfig(target: PreviewTarget, options: HostStackOptions): DerivedConfig {
  const values: Record<string, string> = {
    [configKey("target")]: target,
    [configKey("previewHost")]: "true",
    [configKey("namePrefix")]: PREVIEW_HOST_NAME_PREFIX,
  };
  if (target === "local") return withValues({ config: {}, skipped: [] }, values);
  values[configKey("instanceType")] = options.instanceType;
  values[configKey("deletionProtection")] = "false";
  values[configKey("forceDeleteImages")] = "true";
  if (options.previewDomain !== undefined) values[configKey("previewDomain")] = options.previewDomain;
  if (options.sshPublicKey !== undefined) values[configKey("sshPublicKey")] = options.sshPublicKey;
  if (options.permissionsBoundary !== undefined) {
    values[configKey("permissionsBoundary")] = options.permissionsBoundary;
  }
  return withValues(copyTestConfig(options.testStackYaml ?? ""), values);
}

export interface PreviewStackOptions {
  /** ec2: the test stack's Pulumi.test.yaml, whose settings (region, CIDRs, ...) the preview takes. */
  readonly testStackYaml: string | undefined;
  readonly resourcePrefix: string;
  readonly metadata: PreviewMetadata;
}

/** Keys only a host has: a branch preview runs on its target's host and never gets them. */
const HOST_ONLY_KEYS: readonly string[] = [
  configKey("instanceType"),
  configKey("previewDomain"),
  configKey("previewHost"),
];

/**
 * The config of one branch's preview: its names, the host stack it joins (the program reads the host's
 * outputs through a StackReference), its metadata; on AWS also the test stack's settings, without the
 * host-only keys, with the disposable overrides.
 */
export function previewStackConfig(target: PreviewTarget, options: PreviewStackOptions): DerivedConfig {
  const values: Record<string, string> = {
    [configKey("target")]: target,
    [configKey("previewHostStack")]: PREVIEW_HOST_STACKS[target],
    [configKey("namePrefix")]: options.resourcePrefix,
    ...metadataValues(options.metadata),
    [configKey("previewKeep")]: String(options.metadata.keep),
  };
  if (target === "local") return withValues({ config: {}, skipped: [] }, values);
  values[configKey("deletionProtection")] = "false";
  values[configKey("forceDeleteImages")] = "true";
  return withValues(copyTestConfig(options.testStackYaml ?? "", HOST_ONLY_KEYS), values);
}

export function previewTags(metadata: PreviewMetadata): Record<string, string> {
  const tags: Record<string, string> = {
    [PREVIEW_TAG_KEYS.branch]: metadata.branchLabel,
    [PREVIEW_TAG_KEYS.createdAt]: metadata.createdAt.toISOString(),
    [PREVIEW_TAG_KEYS.expiresAt]: metadata.expiresAt.toISOString(),
    [PREVIEW_TAG_KEYS.keep]: String(metadata.keep),
  };
  if (metadata.pullRequest !== undefined) tags[PREVIEW_TAG_KEYS.pullRequest] = String(metadata.pullRequest);
  return tags;
}

/**
 * Reads preview metadata from a stack's config (or from the config of its last update); undefined when the
 * stack carries none, as a preview created by hand or killed before its first `up` may not.
 */
export function readPreviewMetadata(config: ConfigMap): PreviewMetadata | undefined {
  const text = (key: string): string | undefined => {
    const value = config[key]?.value;
    return typeof value === "string" && value.length > 0 ? value : undefined;
  };
  const branchLabel = text(configKey("previewBranch"));
  const createdAt = parseDate(text(configKey("previewCreatedAt")));
  const expiresAt = parseDate(text(configKey("previewExpiresAt")));
  if (branchLabel === undefined || createdAt === undefined || expiresAt === undefined) return undefined;
  const pullRequestText = text(configKey("previewPullRequest"));
  const pullRequest =
    pullRequestText !== undefined && /^\d+$/.test(pullRequestText) ? Number(pullRequestText) : undefined;
  return { branchLabel, pullRequest, createdAt, expiresAt, keep: text(configKey("previewKeep")) === "true" };
}

function metadataValues(metadata: Omit<PreviewMetadata, "keep">): Record<string, string> {
  const values: Record<string, string> = {
    [configKey("previewBranch")]: metadata.branchLabel,
    [configKey("previewCreatedAt")]: metadata.createdAt.toISOString(),
    [configKey("previewExpiresAt")]: metadata.expiresAt.toISOString(),
  };
  if (metadata.pullRequest !== undefined)
    values[configKey("previewPullRequest")] = String(metadata.pullRequest);
  return values;
}

/** The copied config with `values` set over it, each as a plain string. */
function withValues(copied: DerivedConfig, values: Readonly<Record<string, string>>): DerivedConfig {
  const config: ConfigMap = { ...copied.config };
  for (const [key, value] of Object.entries(values)) config[key] = { value, secret: false };
  return { config, skipped: copied.skipped };
}

/**
 * Copies every key of the test stack's config except secrets and the keys the tool sets itself (or, in
 * `excluded`, must not set). Secrets (`{ secure: ... }`, at any depth) are skipped rather than copied: their
 * ciphertext is bound to the test stack's secrets provider and would be unreadable, and copying the plaintext
 * would need the test stack's key in every preview job. The CLI names each skipped key so that a program
 * which needs one fails with an explanation.
 */
function copyTestConfig(testStackYaml: string, excluded: readonly string[] = []): DerivedConfig {
  const testConfig = readConfigSection(testStackYaml);
  const config: ConfigMap = {};
  const skipped: SkippedKey[] = [];
  const notCopied = new Set<string>([...KEYS_THE_CLI_SETS.map(configKey), ...excluded]);
  for (const [key, value] of Object.entries(testConfig)) {
    if (notCopied.has(key)) continue;
    checkKey(key);
    if (containsSecret(value)) skipped.push({ key, reason: "secret (set it on the preview stack by hand)" });
    else if (isEmpty(value)) skipped.push({ key, reason: "empty value" });
    else flatten(key, value, config);
  }
  return { config, skipped };
}

function readConfigSection(testStackYaml: string): Record<string, Plain> {
  let document: unknown;
  try {
    document = parse(testStackYaml);
  } catch (error) {
    throw new TestStackConfigError(
      `Pulumi.test.yaml is not valid YAML: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  if (document === null || document === undefined) return {};
  if (!isMap(document))
    throw new TestStackConfigError("Pulumi.test.yaml must be a YAML mapping with a `config:` section");
  const section = document.config;
  if (section === undefined || section === null) return {};
  if (!isMap(section))
    throw new TestStackConfigError("the `config:` section of Pulumi.test.yaml must be a mapping");
  return section as Record<string, Plain>;
}

function checkKey(key: string): void {
  // Keys are set as paths, where "." and "[" would start a nested property.
  if (!/^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/.test(key)) {
    throw new TestStackConfigError(
      `cannot copy config key "${key}" of Pulumi.test.yaml: preview config keys must look like namespace:name`,
    );
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function containsSecret(value: Plain): boolean {
  if (Array.isArray(value)) return value.some(containsSecret);
  if (isMap(value)) return "secure" in value || Object.values(value).some(containsSecret);
  return false;
}

/** A path cannot express null or an empty list or map, and such a key means "unset" to the program anyway. */
function isEmpty(value: Plain): boolean {
  if (value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isMap(value) && Object.keys(value).length === 0;
}

function flatten(path: string, value: Plain, into: ConfigMap): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      flatten(`${path}[${index}]`, item, into);
    });
  } else if (isMap(value)) {
    for (const [name, item] of Object.entries(value)) {
      const segment = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
      flatten(`${path}${segment}`, item, into);
    }
  } else {
    into[path] = { value: value === null ? "" : String(value), secret: false };
  }
}

function parseDate(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
