/**
 * A stack's settings: its config read through `pulumi.Config`'s typed getters, each default applied here (and
 * only here), every value checked (validation.ts), before any resource is declared. The settings say what the
 * stack is (`kind`), so that the program composes each kind without casts.
 */
import * as pulumi from "@pulumi/pulumi";
import { AUTH_USER_CLAIM, RATE_LIMIT } from "../app/src/contract.js";
import { type ApiAccess, READINESS_TIMEOUT_SECONDS } from "../components/app-container.js";
import type { PublishTo, TlsIssuer } from "../components/front-proxy.js";
import {
  type ConfigName,
  configKey,
  currentTargetName,
  PREVIEW_HOST_STACKS,
  PREVIEW_RESOURCE_PREFIX,
  PROJECT,
  parseReleasePin,
  type ReleasePin,
  TARGETS,
  type Target,
} from "./contract.js";
import {
  ECS_NAME_PREFIX_MAX,
  isDocumentationRange,
  isEveryInterface,
  isPublicRange,
  isWorldOpen,
  MAX_TASKS,
  MIN_TASKS,
  StackConfigError,
  validateAuthAudience,
  validateAuthIssuer,
  validateAuthUserClaim,
  validateBaseImage,
  validateCertificateArn,
  validateCidr,
  validateDomain,
  validateGithubRepository,
  validateImageTag,
  validateInstanceType,
  validateLogRetentionDays,
  validateNamePrefix,
  validateNotPreviewPrefix,
  validateOidcProviderArn,
  validatePermissionsBoundary,
  validatePreviewDomain,
  validatePublishAddress,
  validateRegion,
  validateRegistryServer,
  validateSshHost,
  validateSshKnownHosts,
  validateSshPublicKey,
  validateStateBucket,
  validateTaskSize,
} from "./validation.js";

/** The value a key takes when the stack does not set it. */
export const DEFAULTS = {
  namePrefix: "activity",
  tlsIssuer: "acme",
  instanceType: "t3.small",
  hostAccess: "ssm",
  deletionProtection: true,
  forceDeleteImages: false,
  keepImages: 5,
  minTasks: 2,
  maxTasks: 4,
  taskCpu: 256,
  taskMemory: 512,
  logRetentionDays: 30,
  previewHost: false,
  previewPort: 10080,
  previewKeep: false,
  readinessTimeoutSeconds: READINESS_TIMEOUT_SECONDS.default,
  publishTo: "loopback",
  authUserClaim: AUTH_USER_CLAIM.default,
  rateLimitMax: RATE_LIMIT.max.default,
  rateLimitWindowSeconds: RATE_LIMIT.windowSeconds.default,
  sshPort: 22,
  publishAddress: "127.0.0.1",
  keepDataOnDestroy: true,
} as const satisfies Partial<Record<ConfigName, string | number | boolean>>;

/** How the deployer's Docker client reaches an EC2 host's engine over SSH. */
export type HostAccess =
  /** SSH tunnelled through SSM Session Manager: no inbound port 22 at all. Needs the AWS CLI and its session-manager-plugin. */
  | { mode: "ssm" }
  /** Plain SSH to the host's public IP, port 22 open only to `sshCidrs`. */
  | { mode: "ssh"; sshCidrs: string[] };

/** HTTPS through the FrontProxy: `domain` on 443, with 80 redirecting to it. */
export interface HttpsSettings {
  domain: string;
  tlsIssuer: TlsIssuer;
  acmeEmail: string | undefined;
}

/** A branch preview's metadata, which npm run preview sets, list and prune read, and tags carry. */
export interface PreviewMetadata {
  branch: string;
  pullRequest: number | undefined;
  createdAt: string;
  expiresAt: string;
  /** Pinned: prune leaves it, expired or not. */
  keep: boolean;
}

/** What every stack has. */
interface StackBase {
  stack: string;
  /** Prefix of every resource's name (and so of every physical name Pulumi derives from it). */
  namePrefix: string;
  /** Image tag; the content hash of the build context when unset (see AppImage). */
  imageTag: string | undefined;
  /** The Dockerfile's BASE_IMAGE; its pinned official image when unset. */
  baseImage: string | undefined;
}

/** A stack on AWS: its region. */
interface OnAws {
  region: string;
}

/** Who may reach the API (or a preview host's proxy). */
interface Reachable {
  allowedCidrs: string[];
}

/** The regional table and the ECR repository of a stack that builds the app. */
interface AppData {
  deletionProtection: boolean;
  forceDeleteImages: boolean;
}

/** A stack that serves the app: the releases it keeps, and the one it is pinned to. */
interface ServesReleases {
  /** Config `release`: deploy this kept release's image, without building; undefined: build the working tree. */
  release: ReleasePin | undefined;
  /** The releases whose images the stack keeps (the serving one always among them). */
  keepImages: number;
}

/** An EC2 Docker host the stack creates. */
interface Ec2Host extends OnAws, Reachable {
  instanceType: string;
  hostAccess: HostAccess;
  sshPublicKey: string;
  sshPrivateKeyPath: string | undefined;
  /** The host key the stack pins itself, `<type> <base64>`; undefined: read from the instance's console. */
  sshKnownHosts: string | undefined;
  /** The permissions boundary of the host's instance role (the ci-identity stack's); undefined: none. */
  permissionsBoundary: string | undefined;
}

/** A stack that runs the app's container on a Docker host, and so rolls releases out there. */
interface RunsReleases {
  /** Seconds a new release that runs may take to answer /ready before the update refuses it. */
  readinessTimeoutSeconds: number;
}

/** A stack that runs the app: who may call it (authIssuer, ...), and how often (rateLimit*). */
interface ServesApi {
  access: ApiAccess;
}

/** A stack on this machine's Docker engine that publishes ports: who may reach them. */
interface PublishesLocally {
  /** loopback: this machine only; lan: every interface, on purpose (see FrontProxy's PUBLISH_ADDRESSES). */
  publishTo: PublishTo;
}

/** `dev`: the app on the local Docker engine, DynamoDB Local beside it; no AWS at all. */
export interface LocalAppSettings
  extends StackBase,
    PublishesLocally,
    RunsReleases,
    ServesApi,
    ServesReleases {
  kind: "localApp";
  /** HTTPS for a domain; undefined: HTTP on 10001 only. */
  https: HttpsSettings | undefined;
}

/** `test`: the image in ECR, the app on an EC2 Docker host, the regional table. */
export interface Ec2AppSettings extends StackBase, Ec2Host, AppData, RunsReleases, ServesApi, ServesReleases {
  kind: "ec2App";
  https: HttpsSettings | undefined;
  /** Who may reach 80 and 443 when `https` is set (empty otherwise). */
  httpsCidrs: string[];
}

/** `prod`: the image on ECS Fargate behind an Application Load Balancer, autoscaled; the regional table. */
export interface EcsAppSettings extends StackBase, OnAws, Reachable, AppData, ServesApi, ServesReleases {
  kind: "ecsApp";
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

/** What every preview host has: a proxy routing `<label>.<previewDomain>` on `previewPort`. */
interface PreviewHostBase extends StackBase {
  /** undefined: localhost locally, `<public IP>.sslip.io` on EC2. */
  previewDomain: string | undefined;
  previewPort: number;
}

/** The local preview host: the proxy on this machine's engine (each preview brings its own database). */
export interface LocalPreviewHostSettings extends PreviewHostBase, PublishesLocally {
  kind: "localPreviewHost";
}

/** The EC2 preview host: an EC2 Docker host and its proxy; each preview brings its own identity. */
export interface Ec2PreviewHostSettings extends PreviewHostBase, Ec2Host {
  kind: "ec2PreviewHost";
  /** Required: the preview pipeline's boundary, carried by its instance role and every preview's identity. */
  permissionsBoundary: string;
}

/** What every preview has: the host stack it runs on, and its metadata. */
interface PreviewBase extends StackBase {
  /** The host stack's name, e.g. previews-local. */
  hostStack: string;
  metadata: PreviewMetadata;
}

/** A branch preview on the local preview host: its container and a DynamoDB Local of its own, sealed. */
export interface LocalPreviewSettings extends PreviewBase, RunsReleases, ServesApi, ServesReleases {
  kind: "localPreview";
}

/** A branch preview on the EC2 preview host: its container, its own table and repository. */
export interface Ec2PreviewSettings
  extends PreviewBase,
    OnAws,
    AppData,
    RunsReleases,
    ServesApi,
    ServesReleases {
  kind: "ec2Preview";
}

/** How the program reaches a server with Docker over SSH: who, where, and the host key it must present. */
export interface SshAccess {
  /** `user@address`. */
  sshHost: string;
  sshUser: string;
  sshAddress: string;
  sshPort: number;
  /** Private key file for ssh `-i`; undefined: ssh-agent and ssh's default identities. */
  sshPrivateKeyPath: string | undefined;
  /** The only host key accepted: `<type> <base64>`. */
  sshKnownHosts: string;
}

/** A registry the image is pushed to and the host pulls from; the password is a Pulumi secret in the stack. */
export interface RegistrySettings {
  /** `host[:port][/namespace]`, the prefix of the image's name. */
  server: string;
  username: string;
  password: string;
}

/**
 * `target: ssh`: the proxy, the app and DynamoDB Local on a server with Docker that the stack does not create,
 * the image pushed to any registry and pulled there by digest.
 */
export interface SshAppSettings extends StackBase, RunsReleases, ServesApi, ServesReleases, SshAccess {
  kind: "sshApp";
  registry: RegistrySettings;
  /** The host address the proxy's port is bound to: 127.0.0.1 (the host only) unless the stack says another. */
  publishAddress: string;
  /** Config `database`: where the app's data lives. */
  database: SshDatabase;
}

/**
 * An ssh stack's database: DynamoDB Local on a volume of the server (`local`, the default; AWS supports it for
 * development and testing only), or a regional table (`dynamodb`) that the app reaches with a key of its own.
 */
export type SshDatabase =
  | {
      kind: "dynamoDbLocal";
      /** `pulumi destroy` leaves the volume (the stack's data) on the server. */
      keepDataOnDestroy: boolean;
    }
  | {
      kind: "regionalTable";
      region: string;
      deletionProtection: boolean;
      /** The permissions boundary of the app's IAM user; undefined: none. */
      permissionsBoundary: string | undefined;
    };

/** `ci-identity`: the CI pipelines' roles in AWS IAM, trusted through GitHub's OIDC provider; no app. */
export interface CiIdentitySettings extends StackBase, OnAws {
  kind: "ciIdentity";
  /** `owner/name`: the only repository whose workflows may assume the roles. */
  githubRepository: string;
  /** The S3 bucket of the pipelines' Pulumi backends. */
  stateBucket: string;
  /** The account's existing GitHub OIDC provider; undefined: the stack creates it. */
  oidcProviderArn: string | undefined;
  /** The test stack's namePrefix, which bounds what the test-deploy role may change. */
  testNamePrefix: string;
}

export type StackSettings =
  | SshAppSettings
  | LocalAppSettings
  | Ec2AppSettings
  | EcsAppSettings
  | LocalPreviewHostSettings
  | Ec2PreviewHostSettings
  | LocalPreviewSettings
  | Ec2PreviewSettings
  | CiIdentitySettings;

/** The part of `pulumi.Config` the settings are read through; tests may pass their own. */
export interface ConfigReader {
  get(key: string): string | undefined;
  getBoolean(key: string): boolean | undefined;
  getNumber(key: string): number | undefined;
  getObject<T>(key: string): T | undefined;
}

/** Where a stack's settings come from. */
export interface SettingsSource {
  stack: string;
  /** The project's keys (`activity-api:*`). */
  project: ConfigReader;
  /** The AWS provider's keys (`aws:region`). */
  aws: ConfigReader;
  /** Whether a project key (`activity-api:<name>`) was set as a secret. @default none was */
  isSecret?: (key: string) => boolean;
}

/** Typed reads of the project's keys, each failure a StackConfigError naming the key and the value. */
class ProjectConfig {
  constructor(private readonly config: ConfigReader) {}

  /** A string, or undefined when unset or empty. */
  text(name: ConfigName): string | undefined {
    const value = this.config.get(name);
    return value === "" ? undefined : value;
  }

  required(name: ConfigName, why: string): string {
    const value = this.text(name);
    if (value === undefined) throw new StackConfigError(`${configKey(name)} is required ${why}`);
    return value;
  }

  boolean(name: ConfigName & keyof typeof DEFAULTS): boolean {
    const value = this.typed(name, "must be true or false", () => this.config.getBoolean(name));
    return value ?? (DEFAULTS[name] as boolean);
  }

  integer(name: ConfigName, min: number, max: number): number | undefined {
    const expected = `must be an integer from ${min} to ${max}`;
    const value = this.typed(name, expected, () => this.config.getNumber(name));
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
      throw new StackConfigError(`${configKey(name)} "${this.config.get(name)}" ${expected}`);
    }
    return value;
  }

  /** A list of strings; undefined when unset. */
  list(name: ConfigName): string[] | undefined {
    const expected = `must be a list of strings, e.g. ["198.51.100.7/32"]`;
    const list = this.typed(name, expected, () => this.config.getObject<unknown>(name));
    if (list !== undefined && !(Array.isArray(list) && list.every((item) => typeof item === "string"))) {
      throw new StackConfigError(`${configKey(name)} ${expected}`);
    }
    return list;
  }

  timestamp(name: ConfigName, why: string): string {
    const value = this.required(name, why);
    if (Number.isNaN(Date.parse(value))) {
      throw new StackConfigError(`${configKey(name)} "${value}" is not an ISO 8601 date-time`);
    }
    return value;
  }

  /** Runs a typed getter, whose own error (a value of another type) becomes one line naming key and value. */
  private typed<T>(name: ConfigName, expected: string, read: () => T): T {
    try {
      return read();
    } catch {
      throw new StackConfigError(`${configKey(name)} "${this.config.get(name)}" ${expected}`);
    }
  }
}

/**
 * Reads and validates a stack's settings. Pure, so that tests run it on any config; `warn` receives values that
 * are valid but probably not what the user wants.
 */
export function readSettings(
  source: SettingsSource,
  warn: (message: string) => void = () => {},
): StackSettings {
  const settings = readStackSettings(source, warn);
  refusePublicExposure(settings);
  return settings;
}

function readStackSettings(source: SettingsSource, warn: (message: string) => void): StackSettings {
  const config = new ProjectConfig(source.project);
  const target = readTarget(config, warn);
  const base: StackBase = {
    stack: source.stack,
    namePrefix: validateNamePrefix(config.text("namePrefix") ?? DEFAULTS.namePrefix),
    imageTag: optional(config.text("imageTag"), validateImageTag),
    baseImage: optional(config.text("baseImage"), validateBaseImage),
  };
  if (target === "ci-identity") return readCiIdentity(config, base, readRegion(source.aws, target));
  const isHost = config.boolean("previewHost");
  const hostStack = config.text("previewHostStack");
  if (isHost && hostStack !== undefined) {
    throw new StackConfigError(
      `${configKey("previewHost")} and ${configKey("previewHostStack")} cannot both be set: a stack is a host or a preview`,
    );
  }
  if (!isHost && hostStack === undefined && config.text("previewBranch") !== undefined) {
    throw new StackConfigError(
      `${configKey("previewBranch")} is set but ${configKey("previewHostStack")} is not: a preview runs on a preview host (npm run preview sets both)`,
    );
  }
  if (!isHost && hostStack === undefined) validateNotPreviewPrefix("namePrefix", base.namePrefix);
  const https = readHttps(config);
  if ((isHost || hostStack !== undefined) && https !== undefined) {
    throw new StackConfigError(
      `${configKey("domain")} serves the app itself; previews answer at <label>.<previewDomain> over HTTP`,
    );
  }
  const aws = () => readRegion(source.aws, target);
  const served = readServed(config, isHost);
  const publishTo = readPublishTo(config, target === "local" && hostStack === undefined, hostStack);

  if (target === "ecs") {
    if (isHost || hostStack !== undefined) {
      throw new StackConfigError(
        `previews run on the Docker targets: ${configKey("target")} must be local or ec2 for a preview stack`,
      );
    }
    if (https !== undefined) {
      throw new StackConfigError(
        `${configKey("domain")} is for the Docker hosts' proxy (targets local and ec2); on ecs the load balancer serves ` +
          `HTTPS with an ACM certificate: set ${configKey("certificateArn")}`,
      );
    }
    const region = aws();
    return {
      kind: "ecsApp",
      ...base,
      region,
      allowedCidrs: readAllowedCidrs(config, target, warn),
      ...readAppData(config),
      ...served,
      ...readEcs(config, base.namePrefix, region),
      access: readAccess(config, target, warn),
    };
  }
  if (isHost) {
    const host = { ...base, ...readPreviewHost(config) };
    if (target === "local") return { kind: "localPreviewHost", ...host, publishTo };
    const ec2 = readEc2Host(config, aws(), warn);
    if (ec2.permissionsBoundary === undefined) {
      throw new StackConfigError(
        `${configKey("permissionsBoundary")} is required on an EC2 preview host: it caps every preview's identity. Take the ci-identity stack's (pulumi stack output --stack ci-identity previewBoundaryArn) into PREVIEW_PERMISSIONS_BOUNDARY before npm run preview -- up`,
      );
    }
    return { kind: "ec2PreviewHost", ...host, ...ec2, permissionsBoundary: ec2.permissionsBoundary };
  }
  // The stacks below run the app's container: its releases, and who may call it.
  const runsApp = { ...readReleases(config), access: readAccess(config, target, warn) };
  if (target === "ssh") {
    if (isHost || hostStack !== undefined) {
      throw new StackConfigError(
        `previews run on the preview hosts: ${configKey("target")} must be local or ec2 for a preview stack`,
      );
    }
    if (https !== undefined) {
      throw new StackConfigError(
        `${configKey("domain")} is not supported on target ssh yet: the proxy serves HTTP on ${configKey("publishAddress")}`,
      );
    }
    return {
      kind: "sshApp",
      ...base,
      ...runsApp,
      ...served,
      ...readSshAccess(config),
      registry: readRegistry(config, source.isSecret ?? (() => false)),
      publishAddress: readPublishAddress(config),
      database: readSshDatabase(config, aws),
    };
  }
  if (hostStack !== undefined) {
    const preview = {
      ...base,
      ...runsApp,
      ...served,
      hostStack: readHostStack(hostStack),
      metadata: readMetadata(config),
    };
    if (target === "local") return { kind: "localPreview", ...preview };
    // A preview's identity may touch only names under the previews' prefix (the preview pipeline's boundary).
    if (!base.namePrefix.startsWith(PREVIEW_RESOURCE_PREFIX)) {
      throw new StackConfigError(
        `${configKey("namePrefix")} "${base.namePrefix}" must start with "${PREVIEW_RESOURCE_PREFIX}" on a preview: its identity may touch nothing else (npm run preview sets it)`,
      );
    }
    // A preview runs on the host stack's host: no host, so no key or instance of its own.
    return { kind: "ec2Preview", ...preview, region: aws(), ...readAppData(config) };
  }
  if (target === "local") return { kind: "localApp", ...base, ...runsApp, ...served, https, publishTo };
  const host = readEc2Host(config, aws(), warn);
  return {
    kind: "ec2App",
    ...base,
    ...runsApp,
    ...served,
    ...host,
    ...readAppData(config),
    https,
    httpsCidrs: readHttpsCidrs(config, https, host.allowedCidrs),
  };
}

function optional(value: string | undefined, validate: (value: string) => string): string | undefined {
  return value === undefined ? undefined : validate(value);
}

/** `target`; the deprecated name `aws` is read as `ec2`, with a notice. */
function readTarget(config: ProjectConfig, warn: (message: string) => void): Target {
  const name = config.required("target", "(local for the dev stack, ec2 for test, ecs for prod)");
  const target = currentTargetName(name, configKey("target"), warn);
  if (!(TARGETS as readonly string[]).includes(target)) {
    throw new StackConfigError(`${configKey("target")} "${name}" is not allowed: use ${TARGETS.join(", ")}`);
  }
  return target as Target;
}

/**
 * `publishTo`, for the stacks that publish ports on this machine (dev, the local preview host). Elsewhere it
 * is refused rather than ignored: on ec2 and ecs the security groups decide who reaches the API, and a local
 * preview publishes nothing (its host's proxy does).
 */
function readPublishTo(
  config: ProjectConfig,
  publishesLocally: boolean,
  hostStack: string | undefined,
): PublishTo {
  const value = config.text("publishTo");
  if (value === undefined) return DEFAULTS.publishTo;
  if (!publishesLocally) {
    throw new StackConfigError(
      hostStack === undefined
        ? `${configKey("publishTo")} is for target local; on ec2 and ecs ${configKey("allowedCidrs")} decides who reaches the API`
        : `${configKey("publishTo")} is set on a preview, which publishes no port: set it on the preview host stack ${hostStack}`,
    );
  }
  if (value !== "loopback" && value !== "lan") {
    throw new StackConfigError(
      `${configKey("publishTo")} "${value}" is not allowed: use loopback (default: this machine only) or lan (every network this machine is on)`,
    );
  }
  return value;
}

function readRegion(config: ConfigReader, target: Target): string {
  const region = config.get("region");
  if (region === undefined || region === "") {
    throw new StackConfigError(
      `aws:region is required when target is ${target} (pulumi config set aws:region eu-west-1)`,
    );
  }
  return validateRegion(region);
}

function readAllowedCidrs(config: ProjectConfig, target: Target, warn: (message: string) => void): string[] {
  const cidrs = config.list("allowedCidrs");
  if (cidrs === undefined) {
    throw new StackConfigError(
      `${configKey("allowedCidrs")} is required when target is ${target}: the CIDRs that may reach the API on its host port`,
    );
  }
  if (cidrs.length === 0)
    throw new StackConfigError(`${configKey("allowedCidrs")} must list at least one CIDR`);
  const allowed = cidrs.map((cidr) => validateCidr("allowedCidrs", cidr));
  for (const cidr of allowed.filter(isDocumentationRange)) {
    warn(
      `${configKey("allowedCidrs")} holds the documentation range ${cidr}, which nobody can come from: set your own ranges`,
    );
  }
  return allowed;
}

function readReleases(config: ProjectConfig): RunsReleases {
  const { min, max } = READINESS_TIMEOUT_SECONDS;
  return {
    readinessTimeoutSeconds:
      config.integer("readinessTimeoutSeconds", min, max) ?? DEFAULTS.readinessTimeoutSeconds,
  };
}

/**
 * Who may call the app, and how often. authIssuer turns bearer tokens on; its audience is required with it,
 * and the other auth keys mean nothing without it, so they are refused rather than ignored.
 */
function readAccess(config: ProjectConfig, target: Target, warn: (message: string) => void): ApiAccess {
  const { max, windowSeconds } = RATE_LIMIT;
  const rateLimit = {
    max: config.integer("rateLimitMax", max.min, max.max) ?? DEFAULTS.rateLimitMax,
    windowSeconds:
      config.integer("rateLimitWindowSeconds", windowSeconds.min, windowSeconds.max) ??
      DEFAULTS.rateLimitWindowSeconds,
  };
  const issuer = config.text("authIssuer");
  const audience = config.text("authAudience");
  const userClaim = config.text("authUserClaim");
  if (issuer === undefined) {
    const orphan =
      audience !== undefined ? "authAudience" : userClaim !== undefined ? "authUserClaim" : undefined;
    if (orphan !== undefined) {
      throw new StackConfigError(
        `${configKey(orphan)} is set but ${configKey("authIssuer")} is not: set authIssuer to require tokens, or unset ${orphan}`,
      );
    }
    return { auth: undefined, rateLimit };
  }
  if (audience === undefined) {
    throw new StackConfigError(
      `${configKey("authAudience")} is required when authIssuer is set: the API's audience at the issuer (with Amazon Cognito, the app client id)`,
    );
  }
  const auth = {
    issuer: validateAuthIssuer(issuer, target === "local"),
    audience: validateAuthAudience(audience),
    userClaim: validateAuthUserClaim(userClaim ?? DEFAULTS.authUserClaim),
  };
  // Valid (the app accepts a loopback issuer over http), but a container's loopback is its own.
  if (auth.issuer.startsWith("http:")) {
    warn(
      `${configKey("authIssuer")} ${issuer} is on loopback, which inside the app's container is the container itself: token routes will answer 503 (issuer_unavailable); a local issuer serves npm start (docs/api.md), a stack needs one it can reach over https://`,
    );
  }
  return {
    auth,
    rateLimit,
  };
}

/**
 * Refuses a stack that lets a public address reach the API without auth, or over plain HTTP, where a bearer
 * token would cross the Internet in clear text. Local stacks publish on loopback or a LAN, never to the
 * Internet. On ec2 the proxy serves plain HTTP on 10001 to allowedCidrs, and with a domain HTTPS on 443 (80
 * only redirects) to httpsCidrs. On ecs the load balancer forwards plain HTTP, unless it has a certificate:
 * then its HTTP listener only redirects to HTTPS. A preview host serves plain HTTP only.
 */
function refusePublicExposure(settings: StackSettings): void {
  const publicRange = (cidrs: string[]) => cidrs.find(isPublicRange);
  const withoutAuth = (key: ConfigName, cidr: string) =>
    new StackConfigError(
      `${configKey(key)} holds the public range ${cidr}, but ${configKey("authIssuer")} is not set: anyone there could read and change every activity; set authIssuer and authAudience (docs/api.md#connecting-an-identity-provider), or list only private ranges`,
    );
  switch (settings.kind) {
    case "ec2App": {
      const plain = publicRange(settings.allowedCidrs);
      if (plain !== undefined) {
        throw new StackConfigError(
          `${configKey("allowedCidrs")} holds the public range ${plain}, which would reach the API over plain HTTP on port 10001: list only private ranges there, and let public clients in over HTTPS (domain and httpsCidrs, with authIssuer set)`,
        );
      }
      const overHttps = publicRange(settings.httpsCidrs);
      if (overHttps !== undefined && settings.access.auth === undefined)
        throw withoutAuth("httpsCidrs", overHttps);
      return;
    }
    case "ecsApp": {
      const open = publicRange(settings.allowedCidrs);
      if (open === undefined) return;
      if (settings.access.auth === undefined) throw withoutAuth("allowedCidrs", open);
      if (settings.certificateArn === undefined) {
        throw new StackConfigError(
          `${configKey("allowedCidrs")} holds the public range ${open}, which would send bearer tokens to the load balancer over plain HTTP: set ${configKey("certificateArn")} (HTTP then redirects to HTTPS), or list only private ranges`,
        );
      }
      return;
    }
    case "ec2PreviewHost": {
      const open = publicRange(settings.allowedCidrs);
      if (open !== undefined) {
        throw new StackConfigError(
          `${configKey("allowedCidrs")} holds the public range ${open}, but previews answer over plain HTTP only: with auth their tokens would cross the Internet in clear text, without it anyone could use them; list only private ranges (a VPN or the VPC)`,
        );
      }
      return;
    }
    case "sshApp": {
      // The proxy serves plain HTTP on the server's publishAddress; the server's firewall is not the stack's to see.
      const address = settings.publishAddress;
      if (
        isEveryInterface(address) ||
        isPublicRange(address.includes(":") ? `${address}/128` : `${address}/32`)
      ) {
        throw new StackConfigError(
          `${configKey("publishAddress")} ${address} would serve the API over plain HTTP ${isEveryInterface(address) ? "on every interface of the server, its public ones included" : "on a public address"}: tokens would cross the Internet in clear text, and without auth anyone could use it; publish on a private address of the server, or on 127.0.0.1 and reach it through an SSH tunnel`,
        );
      }
      return;
    }
    case "localApp":
    case "localPreviewHost":
      // Published on loopback, or on purpose on a LAN (publishTo): never on the Internet.
      return;
    case "localPreview":
    case "ec2Preview":
      // Reached only through its host's proxy, which its host stack checks.
      return;
    case "ciIdentity":
      // Runs no app.
      return;
    default: {
      const unchecked: never = settings;
      throw new Error(`no exposure rule for ${JSON.stringify(unchecked)}`);
    }
  }
}

function readAppData(config: ProjectConfig): AppData {
  return {
    deletionProtection: config.boolean("deletionProtection"),
    forceDeleteImages: config.boolean("forceDeleteImages"),
  };
}

/** `release` (which a preview host refuses rather than ignores: it serves no app) and `keepImages`. */
function readServed(config: ProjectConfig, isHost: boolean): ServesReleases {
  const release = config.text("release");
  if (isHost && release !== undefined) {
    throw new StackConfigError(
      `${configKey("release")} is for a stack that serves the app; a preview host serves none: set it on a preview`,
    );
  }
  const pin = release === undefined ? undefined : parseReleasePin(release);
  if (release !== undefined && pin === undefined) {
    throw new StackConfigError(
      `${configKey("release")} "${release}" is not a release: use a tag such as 0.1.0-d6c1d784addc, a digest sha256:<64 hex>, or <tag>@<digest>`,
    );
  }
  return {
    release: pin,
    keepImages: config.integer("keepImages", 1, 1000) ?? DEFAULTS.keepImages,
  };
}

/** The EC2 Docker host a stack creates: its type, who may reach it, and how Docker reaches it. */
function readEc2Host(config: ProjectConfig, region: string, warn: (message: string) => void): Ec2Host {
  return {
    region,
    allowedCidrs: readAllowedCidrs(config, "ec2", warn),
    instanceType: validateInstanceType(config.text("instanceType") ?? DEFAULTS.instanceType),
    hostAccess: readHostAccess(config),
    sshPublicKey: validateSshPublicKey(
      config.required(
        "sshPublicKey",
        `when target is ec2, so that Docker can reach the host over SSH: pulumi config set sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"`,
      ),
    ),
    sshPrivateKeyPath: config.text("sshPrivateKeyPath"),
    sshKnownHosts: optional(config.text("sshKnownHosts"), validateSshKnownHosts),
    permissionsBoundary: optional(config.text("permissionsBoundary"), validatePermissionsBoundary),
  };
}

/** The ci-identity stack: the repository the roles trust, the state bucket, and the OIDC provider if it exists. */
function readCiIdentity(config: ProjectConfig, base: StackBase, region: string): CiIdentitySettings {
  const why = "for the ci-identity stack";
  return {
    kind: "ciIdentity",
    ...base,
    region,
    githubRepository: validateGithubRepository(
      config.required(
        "githubRepository",
        `${why}: the repository whose workflows assume the roles, owner/name`,
      ),
    ),
    stateBucket: validateStateBucket(
      config.required("stateBucket", `${why}: the S3 bucket of the pipelines' Pulumi state`),
    ),
    oidcProviderArn: optional(config.text("oidcProviderArn"), validateOidcProviderArn),
    testNamePrefix: validateNotPreviewPrefix(
      "testNamePrefix",
      validateNamePrefix(config.text("testNamePrefix") ?? DEFAULTS.namePrefix, "testNamePrefix"),
    ),
  };
}

/** The SSH target's login, port, key and pinned host key. */
function readSshAccess(config: ProjectConfig): SshAccess {
  const sshHost = config.required(
    "sshHost",
    "when target is ssh: the server's login as user@address (pulumi config set sshHost deploy@203.0.113.10)",
  );
  const { user, address } = validateSshHost(sshHost);
  return {
    sshHost,
    sshUser: user,
    sshAddress: address,
    sshPort: config.integer("sshPort", 1, 65535) ?? DEFAULTS.sshPort,
    sshPrivateKeyPath: config.text("sshPrivateKeyPath"),
    sshKnownHosts: validateSshKnownHosts(
      config.required(
        "sshKnownHosts",
        `when target is ssh, so that only that server is trusted: pulumi config set sshKnownHosts "$(ssh-keyscan -t ed25519 <address> 2>/dev/null)"`,
      ),
    ),
  };
}

/** `database` of an ssh stack, and the keys of the one it names; a key of the other is refused, not ignored. */
function readSshDatabase(config: ProjectConfig, region: () => string): SshDatabase {
  const database = config.text("database") ?? "local";
  const refuse = (key: ConfigName) => {
    if (config.text(key) !== undefined) {
      throw new StackConfigError(
        `${configKey(key)} does not apply to ${configKey("database")} ${database}; remove it (pulumi config rm ${key})`,
      );
    }
  };
  switch (database) {
    case "local":
      refuse("deletionProtection");
      refuse("permissionsBoundary");
      return { kind: "dynamoDbLocal", keepDataOnDestroy: config.boolean("keepDataOnDestroy") };
    case "dynamodb":
      refuse("keepDataOnDestroy");
      return {
        kind: "regionalTable",
        region: region(),
        deletionProtection: config.boolean("deletionProtection"),
        permissionsBoundary: optional(config.text("permissionsBoundary"), validatePermissionsBoundary),
      };
    default:
      throw new StackConfigError(
        `${configKey("database")} is "${database}"; it is local (DynamoDB Local on a volume of the server, the default) or dynamodb (a regional table, in aws:region)`,
      );
  }
}

/** The registry of an ssh stack; its password only as a secret, so that it is never in a stack file in clear. */
function readRegistry(config: ProjectConfig, isSecret: (key: string) => boolean): RegistrySettings {
  const why = "when target is ssh: the image is pushed there and the server pulls it from there";
  const server = validateRegistryServer(config.required("registryServer", why));
  const username = config.required("registryUsername", why);
  const password = config.required(
    "registryPassword",
    `${why} (pulumi config set --secret registryPassword, or pipe it in: ... | pulumi config set --secret registryPassword)`,
  );
  if (!isSecret(configKey("registryPassword"))) {
    throw new StackConfigError(
      `${configKey("registryPassword")} is set in plain text: set it again as a secret with pulumi config set --secret registryPassword (and rotate it, it was readable in the stack file)`,
    );
  }
  return { server, username, password };
}

/** Where the SSH host publishes the proxy: the host only by default; every interface only when said. */
function readPublishAddress(config: ProjectConfig): string {
  return validatePublishAddress(config.text("publishAddress") ?? DEFAULTS.publishAddress);
}

function readHostAccess(config: ProjectConfig): HostAccess {
  const mode = config.text("hostAccess") ?? DEFAULTS.hostAccess;
  if (mode === "ssm") return { mode };
  if (mode !== "ssh") {
    throw new StackConfigError(
      `${configKey("hostAccess")} "${mode}" is not allowed: use ssm (default) or ssh`,
    );
  }
  const cidrs = config.list("sshCidrs");
  if (cidrs === undefined) {
    throw new StackConfigError(
      `${configKey("sshCidrs")} is required when hostAccess is ssh: the CIDRs allowed to reach port 22`,
    );
  }
  const sshCidrs = cidrs.map((cidr) => validateCidr("sshCidrs", cidr));
  const open = sshCidrs.find(isWorldOpen);
  if (open !== undefined) {
    throw new StackConfigError(
      `${configKey("sshCidrs")} must not contain ${open}: SSH is never opened to the world; use hostAccess ssm, or your own address as x.x.x.x/32`,
    );
  }
  if (sshCidrs.length === 0)
    throw new StackConfigError(`${configKey("sshCidrs")} must list at least one CIDR`);
  return { mode, sshCidrs };
}

function readHttps(config: ProjectConfig): HttpsSettings | undefined {
  const domain = config.text("domain");
  if (domain === undefined) return undefined;
  const tlsIssuer = config.text("tlsIssuer") ?? DEFAULTS.tlsIssuer;
  if (tlsIssuer !== "acme" && tlsIssuer !== "internal") {
    throw new StackConfigError(
      `${configKey("tlsIssuer")} "${tlsIssuer}" is not allowed: use acme (default) or internal`,
    );
  }
  const acmeEmail = config.text("acmeEmail");
  if (acmeEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(acmeEmail)) {
    throw new StackConfigError(`${configKey("acmeEmail")} "${acmeEmail}" is not an email address`);
  }
  return { domain: validateDomain(domain), tlsIssuer, acmeEmail };
}

/**
 * Who may reach 80 and 443. Let's Encrypt validates a domain from addresses it does not publish, so an ACME
 * certificate needs both ports open to the whole Internet: that is never a default, and must be said in
 * httpsCidrs. Caddy's internal CA needs no inbound validation; its ports default to allowedCidrs.
 */
function readHttpsCidrs(
  config: ProjectConfig,
  https: HttpsSettings | undefined,
  allowedCidrs: string[],
): string[] {
  const listed = config.list("httpsCidrs");
  if (https === undefined) {
    if (listed !== undefined) {
      throw new StackConfigError(`${configKey("httpsCidrs")} is set but ${configKey("domain")} is not`);
    }
    return [];
  }
  if (listed === undefined) {
    if (https.tlsIssuer === "internal") return allowedCidrs;
    throw new StackConfigError(
      `${configKey("domain")} with tlsIssuer acme needs ports 80 and 443 open to the whole Internet, from where ` +
        `Let's Encrypt validates the domain: say so with ${configKey("httpsCidrs")} ["0.0.0.0/0", "::/0"], or use ` +
        `tlsIssuer internal (Caddy's own CA, which your clients must trust)`,
    );
  }
  const cidrs = listed.map((cidr) => validateCidr("httpsCidrs", cidr));
  if (cidrs.length === 0)
    throw new StackConfigError(`${configKey("httpsCidrs")} must list at least one CIDR`);
  if (https.tlsIssuer === "acme" && !cidrs.some(isWorldOpen)) {
    throw new StackConfigError(
      `${configKey("httpsCidrs")} must contain 0.0.0.0/0 (or ::/0) for tlsIssuer acme: Let's Encrypt cannot ` +
        "validate the domain from anywhere else; use tlsIssuer internal to keep 80 and 443 private",
    );
  }
  return cidrs;
}

function readPreviewHost(config: ProjectConfig): Omit<PreviewHostBase, keyof StackBase> {
  return {
    previewDomain: optional(config.text("previewDomain"), validatePreviewDomain),
    previewPort: config.integer("previewPort", 1024, 65535) ?? DEFAULTS.previewPort,
  };
}

function readHostStack(hostStack: string): string {
  const hosts = Object.values(PREVIEW_HOST_STACKS);
  if (!hosts.includes(hostStack)) {
    throw new StackConfigError(
      `${configKey("previewHostStack")} "${hostStack}" is not a preview host: use ${hosts.join(" or ")}`,
    );
  }
  return hostStack;
}

function readMetadata(config: ProjectConfig): PreviewMetadata {
  const why = `when ${configKey("previewHostStack")} is set (npm run preview sets them together)`;
  return {
    branch: config.required("previewBranch", why),
    pullRequest: config.integer("previewPullRequest", 1, 2 ** 31),
    createdAt: config.timestamp("previewCreatedAt", why),
    expiresAt: config.timestamp("previewExpiresAt", why),
    keep: config.boolean("previewKeep"),
  };
}

/** The ECS target's own settings: the service's size and bounds, its logs, and HTTPS. */
function readEcs(
  config: ProjectConfig,
  namePrefix: string,
  region: string,
): Omit<
  EcsAppSettings,
  | keyof StackBase
  | keyof OnAws
  | keyof Reachable
  | keyof AppData
  | keyof ServesApi
  | keyof ServesReleases
  | "kind"
> {
  if (namePrefix.length > ECS_NAME_PREFIX_MAX) {
    throw new StackConfigError(
      `${configKey("namePrefix")} "${namePrefix}" is too long for target ecs: at most ${ECS_NAME_PREFIX_MAX} characters, as load balancer names have at most 32`,
    );
  }
  const minTasks = config.integer("minTasks", MIN_TASKS, MAX_TASKS) ?? DEFAULTS.minTasks;
  const maxTasks = config.integer("maxTasks", MIN_TASKS, MAX_TASKS) ?? DEFAULTS.maxTasks;
  if (maxTasks < minTasks) {
    throw new StackConfigError(
      `${configKey("maxTasks")} ${maxTasks} is below minTasks ${minTasks}; raise maxTasks or lower minTasks`,
    );
  }
  const { cpu, memory } = validateTaskSize(
    config.integer("taskCpu", 1, 16384) ?? DEFAULTS.taskCpu,
    config.integer("taskMemory", 1, 122880) ?? DEFAULTS.taskMemory,
  );
  const certificateArn = config.text("certificateArn");
  return {
    minTasks,
    maxTasks,
    taskCpu: cpu,
    taskMemory: memory,
    logRetentionDays: validateLogRetentionDays(
      config.integer("logRetentionDays", 1, 3653) ?? DEFAULTS.logRetentionDays,
    ),
    certificateArn: certificateArn === undefined ? undefined : validateCertificateArn(certificateArn, region),
  };
}

/** Tags every AWS resource carries (through the provider's defaultTags). Values fit AWS's tag rules. */
export function stackTags(settings: StackSettings): Record<string, string> {
  const preview =
    settings.kind === "ec2Preview" || settings.kind === "localPreview" ? settings.metadata : undefined;
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

/**
 * Whether the engine passed `key` as a secret. The SDK's own check (runtime/config.ts isConfigSecret) is
 * exported at run time but marked internal, so its declaration is not published.
 */
function configIsSecret(key: string): boolean {
  const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret?: (key: string) => boolean };
  if (runtime.isConfigSecret === undefined) throw new Error("@pulumi/pulumi no longer has isConfigSecret");
  return runtime.isConfigSecret(key);
}

/** The program's entry to configuration: the stack's config through pulumi.Config, errors as clean CLI errors. */
export function loadSettings(): StackSettings {
  const source: SettingsSource = {
    stack: pulumi.getStack(),
    project: new pulumi.Config(PROJECT),
    aws: new pulumi.Config("aws"),
    isSecret: (key) => configIsSecret(key),
  };
  try {
    return readSettings(source, (message) => pulumi.log.warn(message));
  } catch (error) {
    // RunError prints its message without a stack trace: the message is the whole story.
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}
