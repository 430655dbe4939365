/**
 * The rules a stack's config values must meet, each as a check that returns the value or throws a StackConfigError
 * whose one-line message names the key and the way out. settings.ts reads the values and applies these.
 */
import ipaddr from "ipaddr.js";
import { AUTH_AUDIENCE, AUTH_ISSUER, AUTH_USER_CLAIM, isLoopback } from "../app/src/contract.js";
import {
  type ConfigName,
  configKey,
  isDomainName,
  isNamePrefix,
  isPreviewDomain,
  isPreviewNamePrefix,
  PREVIEW_DOMAIN_MAX,
} from "./contract.js";

/** A config value the program cannot use; the program stops with its message before declaring anything. */
export class StackConfigError extends Error {
  override name = "StackConfigError";
}

/** The original workflow's EC2 host runs the amd64 image; Graviton (arm64) types cannot run it. */
export const IMAGE_PLATFORM = "linux/amd64";

/** Documentation ranges (RFC 5737): valid CIDRs that nobody can come from, kept as placeholders. */
const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];

export function validateNamePrefix(value: string, name: ConfigName = "namePrefix"): string {
  if (!isNamePrefix(value)) {
    throw new StackConfigError(
      `${configKey(name)} "${value}" is not allowed: use 2 to 32 of a-z, 0-9 and single dashes, starting with a letter and not ending with a dash`,
    );
  }
  return value;
}
export function validateRegion(value: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/.test(value)) {
    throw new StackConfigError(`aws:region "${value}" is not an AWS region code such as eu-west-1`);
  }
  return value;
}

export function validateInstanceType(value: string): string {
  const match = /^([a-z][a-z0-9-]*)\.([a-z0-9]+)$/.exec(value);
  if (!match?.[1]) {
    throw new StackConfigError(
      `${configKey("instanceType")} "${value}" is not an EC2 instance type such as t3.small`,
    );
  }
  const family = match[1];
  if (family === "a1" || /^[a-z]+[0-9]+[a-z]*g[a-z]*$/.test(family)) {
    throw new StackConfigError(
      `${configKey("instanceType")} "${value}" is an arm64 (Graviton) type, but the image is built for ${IMAGE_PLATFORM}; choose an x86_64 type such as t3.small`,
    );
  }
  return value;
}

/** A canonical IPv4 or IPv6 CIDR (no host bits set), as EC2 security group rules expect. */

/** A canonical IPv4 or IPv6 CIDR (no host bits set), as EC2 security group rules expect. */
export function validateCidr(name: ConfigName, value: string): string {
  if (!ipaddr.isValidCIDR(value)) {
    throw new StackConfigError(
      `${configKey(name)} entry "${value}" is not a CIDR block such as 198.51.100.7/32`,
    );
  }
  const [address, bits] = ipaddr.parseCIDR(value);
  const network =
    address.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(value).toString()
      : ipaddr.IPv6.networkAddressFromCIDR(value).toString();
  if (network !== address.toString()) {
    throw new StackConfigError(
      `${configKey(name)} entry "${value}" has host bits set; did you mean ${network}/${bits}?`,
    );
  }
  return value;
}

/**
 * Ranges no client on the Internet comes from: private (RFC 1918, IPv6 unique local), loopback, link-local,
 * and the documentation ranges (RFC 5737, RFC 3849), which the stack files hold as placeholders.
 */
const NON_PUBLIC_RANGES = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "127.0.0.0/8",
  "169.254.0.0/16",
  ...DOCUMENTATION_RANGES,
  "fc00::/7",
  "::1/128",
  "fe80::/10",
  "2001:db8::/32",
].map((range) => ipaddr.parseCIDR(range));

/** Whether a CIDR holds any address a client on the Internet could come from. */
export function isPublicRange(cidr: string): boolean {
  const [address, bits] = ipaddr.parseCIDR(cidr);
  return !NON_PUBLIC_RANGES.some(
    ([network, networkBits]) =>
      address.kind() === network.kind() && bits >= networkBits && address.match(network, networkBits),
  );
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

/**
 * `authIssuer`: a URL as the issuer's tokens give it in `iss`, whose keys the app fetches over HTTPS; plain
 * HTTP only for an issuer on loopback, and only for the local target, where loopback can mean this machine.
 */
export function validateAuthIssuer(value: string, local: boolean): string {
  const url = URL.parse(value);
  if (url === null || !new RegExp(AUTH_ISSUER.pattern).test(value) || value.length > AUTH_ISSUER.maxLength) {
    throw new StackConfigError(
      `${configKey("authIssuer")} "${value}" is not an issuer URL such as https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123 (no query or fragment, at most ${AUTH_ISSUER.maxLength} characters)`,
    );
  }
  if (url.protocol === "https:") return value;
  if (!local || !isLoopback(url.hostname)) {
    throw new StackConfigError(
      `${configKey("authIssuer")} "${value}" must be an https:// URL: the app fetches the issuer's signing keys from it (http:// only for a loopback issuer on target local)`,
    );
  }
  return value;
}

export function validateAuthAudience(value: string): string {
  if (!new RegExp(AUTH_AUDIENCE.pattern).test(value)) {
    throw new StackConfigError(
      `${configKey("authAudience")} "${value}" is not allowed: use 1 to 512 visible ASCII characters (the API's audience, or its Cognito app client id)`,
    );
  }
  return value;
}

export function validateAuthUserClaim(value: string): string {
  if (!new RegExp(AUTH_USER_CLAIM.pattern).test(value)) {
    throw new StackConfigError(
      `${configKey("authUserClaim")} "${value}" is not a claim name such as sub or username (1 to 64 of A-Z a-z 0-9 _ : . -)`,
    );
  }
  return value;
}

export function validateSshPublicKey(value: string): string {
  if (
    !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/.test(value.trim())
  ) {
    throw new StackConfigError(
      `${configKey("sshPublicKey")} is not an OpenSSH public key; set it with: pulumi config set sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"`,
    );
  }
  return value.trim();
}

export function validateImageTag(value: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(value) || value === "latest") {
    throw new StackConfigError(
      `${configKey("imageTag")} "${value}" is not allowed: use a Docker tag of up to 128 of A-Z a-z 0-9 _ . - (a version or commit id, never "latest")`,
    );
  }
  return value;
}

export function validateBaseImage(value: string): string {
  // name[:tag][@digest], with an optional registry host; Docker's reference grammar, simplified.
  if (
    !/^[a-z0-9]+([._/:-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/.test(value)
  ) {
    throw new StackConfigError(
      `${configKey("baseImage")} "${value}" is not an image reference such as node:24.21.0-bookworm-slim`,
    );
  }
  return value;
}

/** A DNS name the proxy can serve: lowercase labels of a-z, 0-9 and inner dashes, at most 253 characters. */
export function validateDomain(value: string): string {
  if (!isDomainName(value)) {
    throw new StackConfigError(
      `${configKey("domain")} "${value}" is not a domain name such as api.example.com (lowercase, at least two labels)`,
    );
  }
  return value;
}

/** `localhost`, or a domain name: the suffix of every preview's host name. */
export function validatePreviewDomain(value: string): string {
  if (!isPreviewDomain(value)) {
    throw new StackConfigError(
      `${configKey("previewDomain")} "${value}" is not a domain name such as previews.example.com (or localhost) of at most ${PREVIEW_DOMAIN_MAX} characters`,
    );
  }
  return value;
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
    throw new StackConfigError(
      `${configKey("taskCpu")} ${cpu} is not a Fargate CPU size; use one of ${Object.keys(FARGATE_MEMORY).join(", ")} (1024 = 1 vCPU)`,
    );
  }
  if (!sizes.includes(memory)) {
    throw new StackConfigError(
      `${configKey("taskMemory")} ${memory} does not fit taskCpu ${cpu}; with it Fargate allows ${describeSizes(sizes)} MiB`,
    );
  }
  return { cpu, memory };
}

/** The retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export function validateLogRetentionDays(days: number): number {
  if (!LOG_RETENTION_DAYS.includes(days)) {
    throw new StackConfigError(
      `${configKey("logRetentionDays")} ${days} is not a retention CloudWatch Logs offers; use one of ${LOG_RETENTION_DAYS.join(", ")}`,
    );
  }
  return days;
}

/** An ACM certificate's ARN, in the load balancer's region (an ALB can only use certificates of its own). */
export function validateCertificateArn(value: string, region: string): string {
  const match = /^arn:aws(-[a-z]+)*:acm:([a-z0-9-]+):[0-9]{12}:certificate\/[0-9a-f-]{36}$/.exec(value);
  if (!match) {
    throw new StackConfigError(
      `${configKey("certificateArn")} "${value}" is not an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/<id>`,
    );
  }
  if (match[2] !== region) {
    throw new StackConfigError(
      `${configKey("certificateArn")} is in ${match[2]}, but the load balancer is in ${region}; request or import the certificate in ${region}`,
    );
  }
  return value;
}

/**
 * The longest namePrefix of an ecs stack: load balancer and target group names have at most 32 characters,
 * and Pulumi names them `<prefix>-lb-<7 random characters>`.
 */
export const ECS_NAME_PREFIX_MAX = 32 - "-lb-".length - 7;

/** A GitHub repository, `owner/name`: GitHub's own character rules, so that a `sub` claim can match it. */
export function validateGithubRepository(value: string): string {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/.test(value) || /\/\.{1,2}$/.test(value)) {
    throw new StackConfigError(
      `${configKey("githubRepository")} "${value}" is not a GitHub repository: use owner/name, e.g. octo-org/activity-stack`,
    );
  }
  return value;
}

/** An S3 bucket name (general purpose buckets' rules: 3 to 63 of a-z, 0-9, dots and dashes). */
export function validateStateBucket(value: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) || value.includes("..")) {
    throw new StackConfigError(
      `${configKey("stateBucket")} "${value}" is not an S3 bucket name: 3 to 63 of a-z, 0-9, dots and dashes (the bucket of s3://<bucket>/...)`,
    );
  }
  return value;
}

/** The ARN of the account's IAM OIDC provider for GitHub Actions. */
export function validateOidcProviderArn(value: string): string {
  if (!/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/.test(value)) {
    throw new StackConfigError(
      `${configKey("oidcProviderArn")} "${value}" is not the ARN of a GitHub Actions OIDC provider ` +
        "(arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com); unset it to create one",
    );
  }
  return value;
}

/** The ARN of a customer managed IAM policy, used as the permissions boundary of a host's role. */
export function validatePermissionsBoundary(value: string): string {
  if (!/^arn:aws[a-z-]*:iam::\d{12}:policy\/[\w+=,.@/-]+$/.test(value)) {
    throw new StackConfigError(
      `${configKey("permissionsBoundary")} "${value}" is not an IAM policy ARN such as arn:aws:iam::<account>:policy/ci-identity/<name> (an output of the ci-identity stack)`,
    );
  }
  return value;
}

/** A name prefix that previews own (pv-*, previews) is refused elsewhere: the CI preview role may change it. */
export function validateNotPreviewPrefix(name: ConfigName, value: string): string {
  if (isPreviewNamePrefix(value)) {
    throw new StackConfigError(
      `${configKey(name)} "${value}" is a preview's (pv-... or previews), which the CI preview role may change: choose another`,
    );
  }
  return value;
}
