/**
 * Derives a preview stack's configuration from the test stack's Pulumi.test.yaml plus the preview overrides,
 * and reads the preview's metadata (branch, pull request, created and expiry times) back from a stack's
 * config.
 */
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { parse } from "yaml";

/** The program's config keys that a preview sets (the contract with index.ts). */
export const CONFIG_KEYS = {
  namePrefix: "activity-api:namePrefix",
  instanceType: "activity-api:instanceType",
  deletionProtection: "activity-api:deletionProtection",
  forceDeleteImages: "activity-api:forceDeleteImages",
  previewBranch: "activity-api:previewBranch",
  previewPullRequest: "activity-api:previewPullRequest",
  previewCreatedAt: "activity-api:previewCreatedAt",
  previewExpiresAt: "activity-api:previewExpiresAt",
} as const;

/**
 * Stack tags that mirror the metadata where the backend keeps tags (Pulumi Cloud; the DIY backends refuse
 * them). Names follow Pulumi's stack-tag rule, values are at most 256 bytes (see naming.ts).
 */
export const PREVIEW_TAG_KEYS = {
  branch: "preview:branch",
  pullRequest: "preview:pull-request",
  createdAt: "preview:created-at",
  expiresAt: "preview:expires-at",
} as const;

/** What a preview records about itself, so that list and prune work on any backend. */
export interface PreviewMetadata {
  /** The tag-safe label of the branch (see naming.ts), not necessarily the raw name. */
  readonly branchLabel: string;
  readonly pullRequest: number | undefined;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export interface PreviewOverrides {
  readonly resourcePrefix: string;
  readonly instanceType: string;
  readonly metadata: PreviewMetadata;
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
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

/**
 * Copies every key of the test stack's config except secrets, then applies the preview overrides. Secrets (`{
 * secure: ... }`, at any depth) are skipped rather than copied: their ciphertext is bound to the test stack's
 * secrets provider and would be unreadable, and copying the plaintext would need the test stack's key in
 * every preview job. The CLI names each skipped key so that a program which needs one fails with an
 * explanation.
 */
export function derivePreviewConfig(testStackYaml: string, overrides: PreviewOverrides): DerivedConfig {
  const testConfig = readConfigSection(testStackYaml);
  const config: ConfigMap = {};
  const skipped: SkippedKey[] = [];
  const overridden = new Set<string>(Object.values(CONFIG_KEYS));
  for (const [key, value] of Object.entries(testConfig)) {
    if (overridden.has(key)) continue;
    checkKey(key);
    if (containsSecret(value)) skipped.push({ key, reason: "secret (set it on the preview stack by hand)" });
    else if (isEmpty(value)) skipped.push({ key, reason: "empty value" });
    else flatten(key, value, config);
  }
  const { metadata } = overrides;
  const previewValues: Record<string, string> = {
    [CONFIG_KEYS.namePrefix]: overrides.resourcePrefix,
    [CONFIG_KEYS.instanceType]: overrides.instanceType,
    [CONFIG_KEYS.deletionProtection]: "false",
    [CONFIG_KEYS.forceDeleteImages]: "true",
    [CONFIG_KEYS.previewBranch]: metadata.branchLabel,
    [CONFIG_KEYS.previewCreatedAt]: metadata.createdAt.toISOString(),
    [CONFIG_KEYS.previewExpiresAt]: metadata.expiresAt.toISOString(),
  };
  if (metadata.pullRequest !== undefined) {
    previewValues[CONFIG_KEYS.previewPullRequest] = String(metadata.pullRequest);
  }
  for (const [key, value] of Object.entries(previewValues)) config[key] = { value, secret: false };
  return { config, skipped };
}

export function previewTags(metadata: PreviewMetadata): Record<string, string> {
  const tags: Record<string, string> = {
    [PREVIEW_TAG_KEYS.branch]: metadata.branchLabel,
    [PREVIEW_TAG_KEYS.createdAt]: metadata.createdAt.toISOString(),
    [PREVIEW_TAG_KEYS.expiresAt]: metadata.expiresAt.toISOString(),
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
  const branchLabel = text(CONFIG_KEYS.previewBranch);
  const createdAt = parseDate(text(CONFIG_KEYS.previewCreatedAt));
  const expiresAt = parseDate(text(CONFIG_KEYS.previewExpiresAt));
  if (branchLabel === undefined || createdAt === undefined || expiresAt === undefined) return undefined;
  const pullRequestText = text(CONFIG_KEYS.previewPullRequest);
  const pullRequest =
    pullRequestText !== undefined && /^\d+$/.test(pullRequestText) ? Number(pullRequestText) : undefined;
  return { branchLabel, pullRequest, createdAt, expiresAt };
}

function readConfigSection(testStackYaml: string): Record<string, Plain> {
  let document: unknown;
  try {
    document = parse(testStackYaml);
  } catch (error) {
    throw new ConfigError(`Pulumi.test.yaml is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  if (document === null || document === undefined) return {};
  if (!isMap(document))
    throw new ConfigError("Pulumi.test.yaml must be a YAML mapping with a `config:` section");
  const section = document.config;
  if (section === undefined || section === null) return {};
  if (!isMap(section)) throw new ConfigError("the `config:` section of Pulumi.test.yaml must be a mapping");
  return section as Record<string, Plain>;
}

function checkKey(key: string): void {
  // Keys are set as paths, where "." and "[" would start a nested property.
  if (!/^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/.test(key)) {
    throw new ConfigError(
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
