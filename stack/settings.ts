/**
 * All stack configuration, read and validated in one place before any resource is declared. A bad value is a
 * ConfigError whose one-line message names the key and the way out; index.ts turns it into a clean CLI error.
 * Defaults live in Pulumi.yaml's `config:` block (the CLI merges them in), so this module only checks values.
 */
import * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import type { TlsIssuer } from "../components/front-proxy.js";

export const PROJECT = "activity-api";

/** The original workflow's EC2 host runs the amd64 image; Graviton (arm64) types cannot run it. */
export const IMAGE_PLATFORM = "linux/amd64";

/** Documentation ranges (RFC 5737): valid CIDRs that nobody can come from, kept as placeholders. */
const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** How the deployer's Docker client reaches the host's engine over SSH. */
export type HostAccess =
  /** SSH tunnelled through SSM Session Manager: no inbound port 22 at all. Needs the AWS CLI and its session-manager-plugin. */
  | { mode: "ssm" }
  /** Plain SSH to the host's public IP, port 22 open only to `sshCidrs`. */
  | { mode: "ssh"; sshCidrs: string[] };

/** A branch preview's metadata, which npm run preview sets, list and prune read, and tags carry. */
export interface PreviewSettings {
  branch: string;
  pullRequest: number | undefined;
  createdAt: string;
  expiresAt: string;
  /** Pinned: prune leaves it, expired or not. */
  keep: boolean;
}

/** The stack that serves the app itself (dev, test, prod). */
export interface AppRole {
  kind: "app";
}
/** The long-lived host of every preview of a target: a Docker host and a proxy routing by host name. */
export interface PreviewHostRole {
  kind: "previewHost";
  /** Previews answer at `<label>.<domain>`; undefined: localhost locally, `<public IP>.sslip.io` on AWS. */
  domain: string | undefined;
  /** The proxy's port on the host. */
  port: number;
}
/** One branch's preview: an app container and its own table, on the preview host `hostStack`. */
export interface PreviewRole {
  kind: "preview";
  /** The host stack's name, e.g. previews-local. */
  hostStack: string;
  metadata: PreviewSettings;
}
export type StackRole = AppRole | PreviewHostRole | PreviewRole;

/** HTTPS through the FrontProxy: `domain` on 443, with 80 redirecting to it. */
export interface HttpsSettings {
  domain: string;
  tlsIssuer: TlsIssuer;
  acmeEmail: string | undefined;
}

interface CommonSettings {
  stack: string;
  /** Prefix of every resource's name (and so of every physical name Pulumi derives from it). */
  namePrefix: string;
  /** Image tag; the content hash of the build context when unset (see AppImage). */
  imageTag: string | undefined;
  /** The Dockerfile's BASE_IMAGE; its pinned official image when unset. */
  baseImage: string | undefined;
  /** HTTPS for a domain; undefined: HTTP on 10001 only. */
  https: HttpsSettings | undefined;
  role: StackRole;
}

/** `dev`: everything on the local Docker engine, DynamoDB Local beside the app; no AWS at all. */
export interface LocalSettings extends CommonSettings {
  target: "local";
}

/** What every stack on AWS has: its region, who may reach the API, the regional table and the ECR repository. */
interface AwsBaseSettings extends CommonSettings {
  region: string;
  allowedCidrs: string[];
  deletionProtection: boolean;
  forceDeleteImages: boolean;
  keepImages: number;
}

/** `test` and the AWS preview host: ECR, an EC2 host with Docker, regional DynamoDB. */
export interface AwsSettings extends AwsBaseSettings {
  target: "aws";
  role: AppRole | PreviewHostRole;
  instanceType: string;
  /** Who may reach 80 and 443 when `https` is set (empty otherwise). */
  httpsCidrs: string[];
  hostAccess: HostAccess;
  sshPublicKey: string;
  sshPrivateKeyPath: string | undefined;
}

/** A branch preview on the AWS preview host: its own table and repository; the host is the host stack's. */
export interface AwsPreviewSettings extends AwsBaseSettings {
  target: "aws";
  role: PreviewRole;
}

/** `prod`: the same image on ECS Fargate behind an Application Load Balancer, autoscaled; regional DynamoDB. */
export interface EcsSettings extends AwsBaseSettings {
  target: "ecs";
  role: AppRole;
  /** Tasks that always run, spread over the region's availability zones; at least 2. */
  minTasks: number;
  /** The most tasks autoscaling may run. */
  maxTasks: number;
  /** A task's CPU units (1024 = one vCPU) and memory in MiB: one of Fargate's combinations. */
  taskCpu: number;
  taskMemory: number;
  /** Days CloudWatch keeps the tasks' logs. */
  logRetentionDays: number;
  /** An ACM certificate in the stack's region: the load balancer then also serves HTTPS on 443. */
  certificateArn: string | undefined;
}

export type StackSettings = LocalSettings | AwsSettings | AwsPreviewSettings | EcsSettings;

/** Reads one raw config value by its full key (`namespace:name`); undefined when unset. */
export type ConfigSource = (key: string) => string | undefined;

const key = (name: string) => `${PROJECT}:${name}`;
/** Why a key with a Pulumi.yaml default can still be missing. */
const DEFAULTED = "(Pulumi.yaml gives it a default: is this program run from its project directory?)";

/** `namePrefix`: 2 to 32 of a-z, 0-9 and single dashes, from a letter to a letter or digit (ECR forbids "--"). */
export const NAME_PREFIX = { max: 32, pattern: /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/ } as const;

export function validateNamePrefix(value: string): string {
  if (!NAME_PREFIX.pattern.test(value) || value.includes("--")) {
    throw new ConfigError(
      `${key("namePrefix")} "${value}" is not allowed: use 2 to 32 of a-z, 0-9 and single dashes, starting with a letter and not ending with a dash`,
    );
  }
  return value;
}

export function validateRegion(value: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/.test(value)) {
    throw new ConfigError(`aws:region "${value}" is not an AWS region code such as eu-west-1`);
  }
  return value;
}

export function validateInstanceType(value: string): string {
  const match = /^([a-z][a-z0-9-]*)\.([a-z0-9]+)$/.exec(value);
  if (!match?.[1]) {
    throw new ConfigError(`${key("instanceType")} "${value}" is not an EC2 instance type such as t3.small`);
  }
  const family = match[1];
  if (family === "a1" || /^[a-z]+[0-9]+[a-z]*g[a-z]*$/.test(family)) {
    throw new ConfigError(
      `${key("instanceType")} "${value}" is an arm64 (Graviton) type, but the image is built for ${IMAGE_PLATFORM}; choose an x86_64 type such as t3.small`,
    );
  }
  return value;
}

/** A canonical IPv4 or IPv6 CIDR (no host bits set), as EC2 security group rules expect. */
export function validateCidr(name: string, value: string): string {
  if (!ipaddr.isValidCIDR(value)) {
    throw new ConfigError(`${key(name)} entry "${value}" is not a CIDR block such as 198.51.100.7/32`);
  }
  const [address, bits] = ipaddr.parseCIDR(value);
  const network =
    address.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(value).toString()
      : ipaddr.IPv6.networkAddressFromCIDR(value).toString();
  if (network !== address.toString()) {
    throw new ConfigError(
      `${key(name)} entry "${value}" has host bits set; did you mean ${network}/${bits}?`,
    );
  }
  return value;
}

export function isWorldOpen(cidr: string): boolean {
  return ipaddr.parseCIDR(cidr)[1] === 0;
}

export function isDocumentationRange(cidr: string): boolean {
  const [address] = ipaddr.parseCIDR(cidr);
  return DOCUMENTATION_RANGES.some(
    (range) => address.kind() === "ipv4" && address.match(ipaddr.parseCIDR(range)),
  );
}

export function validateSshPublicKey(value: string): string {
  if (
    !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/.test(value.trim())
  ) {
    throw new ConfigError(
      `${key("sshPublicKey")} is not an OpenSSH public key; set it with: pulumi config set sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"`,
    );
  }
  return value.trim();
}

export function validateImageTag(value: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(value) || value === "latest") {
    throw new ConfigError(
      `${key("imageTag")} "${value}" is not allowed: use a Docker tag of up to 128 of A-Z a-z 0-9 _ . - (a version or commit id, never "latest")`,
    );
  }
  return value;
}

export function validateBaseImage(value: string): string {
  // name[:tag][@digest], with an optional registry host; Docker's reference grammar, simplified.
  if (
    !/^[a-z0-9]+([._/:-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/.test(value)
  ) {
    throw new ConfigError(
      `${key("baseImage")} "${value}" is not an image reference such as node:24.21.0-bookworm-slim`,
    );
  }
  return value;
}

/** A DNS name the proxy can serve: lowercase labels of a-z, 0-9 and inner dashes, at most 253 characters. */
export function validateDomain(value: string): string {
  const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
  const labels = value.split(".");
  if (value.length > 253 || labels.length < 2 || !labels.every((part) => label.test(part))) {
    throw new ConfigError(
      `${key("domain")} "${value}" is not a domain name such as api.example.com (lowercase, at least two labels)`,
    );
  }
  return value;
}

function readHttps(read: ConfigSource): HttpsSettings | undefined {
  const domain = read(key("domain"));
  if (domain === undefined || domain === "") return undefined;
  const tlsIssuer = required(read, key("tlsIssuer"), DEFAULTED);
  if (tlsIssuer !== "acme" && tlsIssuer !== "internal") {
    throw new ConfigError(
      `${key("tlsIssuer")} "${tlsIssuer}" is not allowed: use acme (default) or internal`,
    );
  }
  const acmeEmail = read(key("acmeEmail"));
  if (acmeEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(acmeEmail)) {
    throw new ConfigError(`${key("acmeEmail")} "${acmeEmail}" is not an email address`);
  }
  return { domain: validateDomain(domain), tlsIssuer, acmeEmail: acmeEmail || undefined };
}

/**
 * Who may reach 80 and 443. Let's Encrypt validates a domain from addresses it does not publish, so an ACME
 * certificate needs both ports open to the whole Internet: that is never a default, and must be said in
 * httpsCidrs. Caddy's internal CA needs no inbound validation; its ports default to allowedCidrs.
 */
function readHttpsCidrs(
  read: ConfigSource,
  https: HttpsSettings | undefined,
  allowedCidrs: string[],
): string[] {
  const raw = read(key("httpsCidrs"));
  if (https === undefined) {
    if (raw !== undefined) throw new ConfigError(`${key("httpsCidrs")} is set but ${key("domain")} is not`);
    return [];
  }
  if (raw === undefined) {
    if (https.tlsIssuer === "internal") return allowedCidrs;
    throw new ConfigError(
      `${key("domain")} with tlsIssuer acme needs ports 80 and 443 open to the whole Internet, from where ` +
        `Let's Encrypt validates the domain: say so with ${key("httpsCidrs")} ["0.0.0.0/0", "::/0"], or use ` +
        `tlsIssuer internal (Caddy's own CA, which your clients must trust)`,
    );
  }
  const cidrs = parseList(key("httpsCidrs"), raw).map((cidr) => validateCidr("httpsCidrs", cidr));
  if (cidrs.length === 0) throw new ConfigError(`${key("httpsCidrs")} must list at least one CIDR`);
  if (https.tlsIssuer === "acme" && !cidrs.some(isWorldOpen)) {
    throw new ConfigError(
      `${key("httpsCidrs")} must contain 0.0.0.0/0 (or ::/0) for tlsIssuer acme: Let's Encrypt cannot ` +
        "validate the domain from anywhere else; use tlsIssuer internal to keep 80 and 443 private",
    );
  }
  return cidrs;
}

function required(read: ConfigSource, fullKey: string, why: string): string {
  const value = read(fullKey);
  if (value === undefined || value === "") throw new ConfigError(`${fullKey} is required ${why}`);
  return value;
}

function parseBoolean(fullKey: string, value: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(`${fullKey} "${value}" must be true or false`);
}

function parseInteger(fullKey: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^[0-9]+$/.test(value) || number < min || number > max) {
    throw new ConfigError(`${fullKey} "${value}" must be an integer from ${min} to ${max}`);
  }
  return number;
}

function parseList(fullKey: string, value: string): string[] {
  let list: unknown;
  try {
    list = JSON.parse(value);
  } catch {
    list = undefined;
  }
  if (!Array.isArray(list) || !list.every((item) => typeof item === "string")) {
    throw new ConfigError(`${fullKey} must be a list of strings, e.g. ["198.51.100.7/32"]`);
  }
  return list;
}

function parseTimestamp(fullKey: string, value: string): string {
  if (Number.isNaN(Date.parse(value)))
    throw new ConfigError(`${fullKey} "${value}" is not an ISO 8601 date-time`);
  return value;
}

/** A name npm run preview gives: the host stack of a target, previews-local or previews-aws. */
const HOST_STACK = /^previews-(local|aws)$/;

/** What the stack is, from the keys npm run preview sets: previewHost on a host, previewHostStack on a preview. */
function readRole(read: ConfigSource): StackRole {
  const isHost = parseBoolean(key("previewHost"), required(read, key("previewHost"), DEFAULTED));
  const hostStack = read(key("previewHostStack"));
  const branch = read(key("previewBranch"));
  if (isHost) {
    if (hostStack !== undefined) {
      throw new ConfigError(
        `${key("previewHost")} and ${key("previewHostStack")} cannot both be set: a stack is a host or a preview`,
      );
    }
    const domain = read(key("previewDomain"));
    return {
      kind: "previewHost",
      domain: domain === undefined || domain === "" ? undefined : validatePreviewDomain(domain),
      port: parseInteger(key("previewPort"), required(read, key("previewPort"), DEFAULTED), 1024, 65535),
    };
  }
  if (hostStack === undefined) {
    if (branch !== undefined) {
      throw new ConfigError(
        `${key("previewBranch")} is set but ${key("previewHostStack")} is not: a preview runs on a preview host (npm run preview sets both)`,
      );
    }
    return { kind: "app" };
  }
  if (!HOST_STACK.test(hostStack)) {
    throw new ConfigError(
      `${key("previewHostStack")} "${hostStack}" is not a preview host: use previews-local or previews-aws`,
    );
  }
  const why = `when ${key("previewHostStack")} is set (npm run preview sets them together)`;
  const pullRequest = read(key("previewPullRequest"));
  return {
    kind: "preview",
    hostStack,
    metadata: {
      branch: required(read, key("previewBranch"), why),
      pullRequest:
        pullRequest === undefined
          ? undefined
          : parseInteger(key("previewPullRequest"), pullRequest, 1, 2 ** 31),
      createdAt: parseTimestamp(key("previewCreatedAt"), required(read, key("previewCreatedAt"), why)),
      expiresAt: parseTimestamp(key("previewExpiresAt"), required(read, key("previewExpiresAt"), why)),
      keep: parseBoolean(key("previewKeep"), required(read, key("previewKeep"), DEFAULTED)),
    },
  };
}

/** `localhost`, or a domain name: the suffix of every preview's host name. */
function validatePreviewDomain(value: string): string {
  if (value === "localhost") return value;
  try {
    return validateDomain(value);
  } catch {
    throw new ConfigError(
      `${key("previewDomain")} "${value}" is not a domain name such as previews.example.com (or localhost)`,
    );
  }
}

function readHostAccess(read: ConfigSource): HostAccess {
  const mode = required(read, key("hostAccess"), DEFAULTED);
  if (mode === "ssm") return { mode };
  if (mode === "ssh") {
    const raw = required(read, key("sshCidrs"), "when hostAccess is ssh: the CIDRs allowed to reach port 22");
    const sshCidrs = parseList(key("sshCidrs"), raw).map((cidr) => validateCidr("sshCidrs", cidr));
    const open = sshCidrs.find(isWorldOpen);
    if (open !== undefined) {
      throw new ConfigError(
        `${key("sshCidrs")} must not contain ${open}: SSH is never opened to the world; use hostAccess ssm, or your own address as x.x.x.x/32`,
      );
    }
    if (sshCidrs.length === 0) throw new ConfigError(`${key("sshCidrs")} must list at least one CIDR`);
    return { mode, sshCidrs };
  }
  throw new ConfigError(`${key("hostAccess")} "${mode}" is not allowed: use ssm (default) or ssh`);
}

/**
 * Reads and validates a stack's settings from `read`. Pure, so that tests run it on any config; `warn` receives
 * values that are valid but probably not what the user wants.
 */
export function readSettings(
  read: ConfigSource,
  stack: string,
  warn: (message: string) => void = () => {},
): StackSettings {
  const target = required(
    read,
    key("target"),
    "(local for the dev stack, aws for test and previews, ecs for prod)",
  );
  const namePrefix = validateNamePrefix(required(read, key("namePrefix"), DEFAULTED));
  const tag = read(key("imageTag"));
  const baseImage = read(key("baseImage"));
  const common = {
    stack,
    namePrefix,
    imageTag: tag === undefined || tag === "" ? undefined : validateImageTag(tag),
    baseImage: baseImage === undefined || baseImage === "" ? undefined : validateBaseImage(baseImage),
    https: readHttps(read),
    role: readRole(read),
  };
  if (common.role.kind !== "app" && common.https !== undefined) {
    throw new ConfigError(
      `${key("domain")} serves the app itself; previews answer at <label>.<previewDomain> over HTTP`,
    );
  }
  if (target === "local") return { target, ...common };
  if (target !== "aws" && target !== "ecs")
    throw new ConfigError(`${key("target")} "${target}" is not allowed: use local, aws or ecs`);
  const base = { ...common, ...readAwsBase(read, target, warn) };
  const { role } = common;
  if (target === "ecs") {
    if (role.kind !== "app") {
      throw new ConfigError(
        `previews run on the Docker targets: ${key("target")} must be local or aws for a preview stack`,
      );
    }
    if (common.https !== undefined) {
      throw new ConfigError(
        `${key("domain")} is for the Docker hosts' proxy (targets local and aws); on ecs the load balancer serves ` +
          `HTTPS with an ACM certificate: set ${key("certificateArn")}`,
      );
    }
    return { target, ...base, role, ...readEcs(read, base) };
  }
  // A preview runs on the host stack's host: no host, so no key or instance of its own.
  if (role.kind === "preview") return { target, ...base, role };

  const forAws = "when target is aws";
  const sshPrivateKeyPath = read(key("sshPrivateKeyPath"));
  return {
    target,
    ...base,
    instanceType: validateInstanceType(required(read, key("instanceType"), DEFAULTED)),
    httpsCidrs: readHttpsCidrs(read, common.https, base.allowedCidrs),
    hostAccess: readHostAccess(read),
    sshPublicKey: validateSshPublicKey(
      required(
        read,
        key("sshPublicKey"),
        `${forAws}, so that Docker can reach the host over SSH: pulumi config set sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"`,
      ),
    ),
    sshPrivateKeyPath: sshPrivateKeyPath === "" ? undefined : sshPrivateKeyPath,
    role,
  };
}

/** The settings every AWS target reads: the region, allowedCidrs, and the table's and repository's options. */
function readAwsBase(
  read: ConfigSource,
  target: "aws" | "ecs",
  warn: (message: string) => void,
): Omit<AwsBaseSettings, keyof CommonSettings> {
  const forTarget = `when target is ${target}`;
  const allowedCidrs = parseList(
    key("allowedCidrs"),
    required(read, key("allowedCidrs"), `${forTarget}: the CIDRs that may reach the API on its host port`),
  ).map((cidr) => validateCidr("allowedCidrs", cidr));
  if (allowedCidrs.length === 0) throw new ConfigError(`${key("allowedCidrs")} must list at least one CIDR`);
  for (const cidr of allowedCidrs.filter(isDocumentationRange)) {
    warn(
      `${key("allowedCidrs")} holds the documentation range ${cidr}, which nobody can come from: set your own ranges`,
    );
  }
  return {
    region: validateRegion(
      required(read, "aws:region", `${forTarget} (pulumi config set aws:region eu-west-1)`),
    ),
    allowedCidrs,
    deletionProtection: parseBoolean(
      key("deletionProtection"),
      required(read, key("deletionProtection"), DEFAULTED),
    ),
    forceDeleteImages: parseBoolean(
      key("forceDeleteImages"),
      required(read, key("forceDeleteImages"), DEFAULTED),
    ),
    keepImages: parseInteger(key("keepImages"), required(read, key("keepImages"), DEFAULTED), 1, 1000),
  };
}

/** The fewest tasks `minTasks` allows: one in each of two availability zones, so that losing one leaves one. */
export const MIN_TASKS = 2;
/** The most tasks `maxTasks` allows: a guard against a typo that would run (and bill) hundreds of tasks. */
export const MAX_TASKS = 50;

/** `min` to `max` in steps of `step`. */
const steps = (min: number, max: number, step: number) =>
  Array.from({ length: (max - min) / step + 1 }, (_, index) => min + index * step);

/** Fargate's CPU units (1024 = one vCPU) and the memory sizes in MiB that each allows on Linux. */
const FARGATE_MEMORY: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: steps(1024, 4096, 1024),
  1024: steps(2048, 8192, 1024),
  2048: steps(4096, 16384, 1024),
  4096: steps(8192, 30720, 1024),
  8192: steps(16384, 61440, 4096),
  16384: steps(32768, 122880, 8192),
};

function describeSizes(sizes: number[]): string {
  const [first, second] = sizes;
  return sizes.length <= 3
    ? `${sizes.slice(0, -1).join(", ")} or ${sizes.at(-1)}`
    : `${first} to ${sizes.at(-1)} in steps of ${(second ?? 0) - (first ?? 0)}`;
}

export function validateTaskSize(cpu: number, memory: number): { cpu: number; memory: number } {
  const sizes = FARGATE_MEMORY[cpu];
  if (sizes === undefined) {
    throw new ConfigError(
      `${key("taskCpu")} ${cpu} is not a Fargate CPU size; use one of ${Object.keys(FARGATE_MEMORY).join(", ")} (1024 = 1 vCPU)`,
    );
  }
  if (!sizes.includes(memory)) {
    throw new ConfigError(
      `${key("taskMemory")} ${memory} does not fit taskCpu ${cpu}; with it Fargate allows ${describeSizes(sizes)} MiB`,
    );
  }
  return { cpu, memory };
}

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export function validateLogRetentionDays(days: number): number {
  if (!LOG_RETENTION_DAYS.includes(days)) {
    throw new ConfigError(
      `${key("logRetentionDays")} ${days} is not a retention CloudWatch Logs offers; use one of ${LOG_RETENTION_DAYS.join(", ")}`,
    );
  }
  return days;
}

/** An ACM certificate's ARN, in the load balancer's region (an ALB can only use certificates of its own). */
export function validateCertificateArn(value: string, region: string): string {
  const match = /^arn:aws(-[a-z]+)*:acm:([a-z0-9-]+):[0-9]{12}:certificate\/[0-9a-f-]{36}$/.exec(value);
  if (!match) {
    throw new ConfigError(
      `${key("certificateArn")} "${value}" is not an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/<id>`,
    );
  }
  if (match[2] !== region) {
    throw new ConfigError(
      `${key("certificateArn")} is in ${match[2]}, but the load balancer is in ${region}; request or import the certificate in ${region}`,
    );
  }
  return value;
}

/**
 * The longest namePrefix of an ecs stack: load balancer and target group names have at most 32 characters,
 * and Pulumi names them `<prefix>-lb-<7 random characters>`.
 */
export const ECS_NAME_PREFIX_MAX = 32 - "-lb-".length - 7;

/** The ECS target's own settings: the service's size and bounds, its logs, and HTTPS. */
function readEcs(
  read: ConfigSource,
  { namePrefix, region }: { namePrefix: string; region: string },
): Omit<EcsSettings, keyof AwsBaseSettings | "target"> {
  if (namePrefix.length > ECS_NAME_PREFIX_MAX) {
    throw new ConfigError(
      `${key("namePrefix")} "${namePrefix}" is too long for target ecs: at most ${ECS_NAME_PREFIX_MAX} characters, as load balancer names have at most 32`,
    );
  }
  const integer = (name: string, min: number, max: number) =>
    parseInteger(key(name), required(read, key(name), DEFAULTED), min, max);
  const minTasks = integer("minTasks", MIN_TASKS, MAX_TASKS);
  const maxTasks = integer("maxTasks", MIN_TASKS, MAX_TASKS);
  if (maxTasks < minTasks) {
    throw new ConfigError(
      `${key("maxTasks")} ${maxTasks} is below minTasks ${minTasks}; raise maxTasks or lower minTasks`,
    );
  }
  const { cpu, memory } = validateTaskSize(integer("taskCpu", 1, 16384), integer("taskMemory", 1, 122880));
  const certificateArn = read(key("certificateArn"));
  return {
    minTasks,
    maxTasks,
    taskCpu: cpu,
    taskMemory: memory,
    logRetentionDays: validateLogRetentionDays(integer("logRetentionDays", 1, 3653)),
    certificateArn:
      certificateArn === undefined || certificateArn === ""
        ? undefined
        : validateCertificateArn(certificateArn, region),
  };
}

/** Tags every AWS resource carries (through the provider's defaultTags). Values fit AWS's tag rules. */
export function stackTags(settings: StackSettings): Record<string, string> {
  const preview = settings.role.kind === "preview" ? settings.role.metadata : undefined;
  return {
    project: PROJECT,
    stack: settings.stack,
    "managed-by": "pulumi",
    ...(preview && {
      "preview-branch": preview.branch,
      "preview-expires-at": preview.expiresAt,
      ...(preview.pullRequest !== undefined && { "preview-pull-request": String(preview.pullRequest) }),
    }),
  };
}

/** The program's entry to configuration: the stack's values through pulumi.Config, errors as clean CLI errors. */
export function loadSettings(): StackSettings {
  const read: ConfigSource = (fullKey) => {
    const separator = fullKey.indexOf(":");
    return new pulumi.Config(fullKey.slice(0, separator)).get(fullKey.slice(separator + 1));
  };
  try {
    return readSettings(read, pulumi.getStack(), (message) => pulumi.log.warn(message));
  } catch (error) {
    // RunError prints its message without a stack trace: the message is the whole story.
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}
