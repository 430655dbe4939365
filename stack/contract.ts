/**
 * The contract between the program (index.ts) and the preview CLI (cli/preview/): the config keys the CLI
 * sets, the names of the stacks it manages, the rules a name prefix and a domain must meet, and what each kind
 * of stack exports. Both sides import it, so that nothing here is written twice.
 */

/** The Pulumi project, and so the namespace of every config key of the program. */
export const PROJECT = "activity-api";

/**
 * Where a stack runs: the local Docker engine, an EC2 Docker host, ECS Fargate, or a server with Docker that the
 * stack reaches over SSH and does not create; or `ci-identity`, the one stack that runs no app but creates the CI
 * pipelines' identities in AWS IAM (components/ci-identity.ts).
 */
export type Target = "local" | "ec2" | "ecs" | "ssh" | "ci-identity";
export const TARGETS: readonly Target[] = ["local", "ec2", "ecs", "ssh", "ci-identity"];

/** The targets with a Docker host, where previews run: one shared host per target. */
export type PreviewTarget = Extract<Target, "local" | "ec2">;
export const PREVIEW_TARGETS: readonly PreviewTarget[] = ["ec2", "local"];

/**
 * `aws` is what `ec2` was called before `ecs` (also on AWS) existed. Stacks and commands that say `aws` keep
 * working; whoever reads it says, in one line, that it is deprecated.
 */
const DEPRECATED_TARGET_NAMES: Readonly<Record<string, PreviewTarget>> = { aws: "ec2" };

/**
 * The current name of the target `name` says (`where` is the key or flag it came from): a deprecated name
 * is read as its current one, and `warn` receives one line saying so. Any other name is returned as it is,
 * for the caller to check against the targets it accepts.
 */
export function currentTargetName(name: string, where: string, warn: (message: string) => void): string {
  const current = DEPRECATED_TARGET_NAMES[name];
  if (current === undefined) return name;
  warn(`${where} "${name}" is deprecated: say "${current}" (same target)`);
  return current;
}

/** The config keys of the program, by their name in the project's namespace. */
export const CONFIG_NAMES = [
  "target",
  "namePrefix",
  "imageTag",
  "baseImage",
  "domain",
  "tlsIssuer",
  "acmeEmail",
  "httpsCidrs",
  "allowedCidrs",
  "instanceType",
  "hostAccess",
  "sshCidrs",
  "sshPublicKey",
  "sshPrivateKeyPath",
  "deletionProtection",
  "forceDeleteImages",
  "keepImages",
  "minTasks",
  "maxTasks",
  "taskCpu",
  "taskMemory",
  "logRetentionDays",
  "certificateArn",
  "previewHost",
  "previewDomain",
  "previewPort",
  "previewHostStack",
  "previewBranch",
  "previewPullRequest",
  "previewCreatedAt",
  "previewExpiresAt",
  "previewKeep",
  "readinessTimeoutSeconds",
  "publishTo",
  "sshHost",
  "sshPort",
  "sshKnownHosts",
  "publishAddress",
  "keepDataOnDestroy",
  "database",
  "registryServer",
  "registryUsername",
  "registryPassword",
  "permissionsBoundary",
  "githubRepository",
  "stateBucket",
  "oidcProviderArn",
  "testNamePrefix",
  "authIssuer",
  "authAudience",
  "authUserClaim",
  "rateLimitMax",
  "rateLimitWindowSeconds",
  "release",
] as const;
export type ConfigName = (typeof CONFIG_NAMES)[number];

/** A config key as the CLI and Pulumi write it: `activity-api:<name>`. */
export type ConfigKey = `${typeof PROJECT}:${ConfigName}`;
export const configKey = (name: ConfigName): ConfigKey => `${PROJECT}:${name}`;

/**
 * The long-lived stack of each preview target's host (its Docker host and front proxy). `previews-aws` keeps
 * the name it had before the target was renamed ec2, so that hosts deployed then are still found. Neither starts
 * with "preview-", so nothing that handles previews (prune, destroy) can mistake a host for a preview.
 */
export const PREVIEW_HOST_STACKS: Readonly<Record<PreviewTarget, string>> = {
  local: "previews-local",
  ec2: "previews-aws",
};

/** Preview stacks are exactly the stacks whose name starts with this; no other stack is ever destroyed. */
export const PREVIEW_STACK_PREFIX = "preview-";

/** The `namePrefix` of every preview host: one host per target, so a fixed one. */
export const PREVIEW_HOST_NAME_PREFIX = "previews";

/**
 * Whether a `namePrefix` is one the previews own: the CI preview role may change every resource whose name
 * starts like this, so no other stack may take such a prefix.
 */
export function isPreviewNamePrefix(value: string): boolean {
  return value === PREVIEW_HOST_NAME_PREFIX || value.startsWith(PREVIEW_RESOURCE_PREFIX);
}

/**
 * The key prefixes, in the state bucket, of the Pulumi backends the CI pipelines use
 * (`s3://<stateBucket>/<prefix>`): previews (their host included) and the test stack each have their own, and
 * each pipeline's role may read and write its own only.
 */
export const STATE_PREFIXES = { previews: "previews", test: "test" } as const;

/**
 * What every preview's `namePrefix` starts with (`pv-<slug>-<hash8>`), so that a policy can name every
 * preview's resources at once by this prefix, and nothing else's.
 */
export const PREVIEW_RESOURCE_PREFIX = "pv-";

/**
 * `namePrefix`, the prefix of every resource name: 2 to 32 of a-z, 0-9 and single dashes, from a letter to a
 * letter or digit ("--" is refused because ECR's name grammar forbids adjacent separators).
 */
export const NAME_PREFIX = { max: 32, pattern: /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/ } as const;

export function isNamePrefix(value: string): boolean {
  return NAME_PREFIX.pattern.test(value) && !value.includes("--");
}

/** A DNS name: at least two lowercase labels of a-z, 0-9 and inner dashes, at most `max` characters. */
export function isDomainName(value: string, max = 253): boolean {
  const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
  const labels = value.split(".");
  return value.length <= max && labels.length >= 2 && labels.every((part) => label.test(part));
}

/**
 * The longest `previewDomain`: `<label>.<previewDomain>` must fit DNS's 253 characters with the longest label (a
 * name prefix) and its dot.
 */
export const PREVIEW_DOMAIN_MAX = 253 - NAME_PREFIX.max - 1;

/** A preview host's `previewDomain`: `localhost`, or a domain name that leaves room for every label. */
export function isPreviewDomain(value: string): boolean {
  return value === "localhost" || isDomainName(value, PREVIEW_DOMAIN_MAX);
}

/**
 * The memory limit, in MiB, of each container a Docker host runs (the components' defaults). The preview CLI
 * adds them up before an up, so that a preview host is never committed beyond its memory.
 */
export const CONTAINER_MEMORY_MIB = {
  /** The app (AppContainer); an update runs a second release beside it until the new one is healthy. */
  app: 512,
  /** The front proxy (FrontProxy). */
  proxy: 128,
  /** DynamoDB Local (DynamoDbLocal), the dev stack's. */
  dynamodbLocal: 512,
  /** Each local preview's own DynamoDB Local (DynamoDbLocal, sealed), half of it the JVM's heap. */
  previewDatabase: 384,
} as const;

/** The outputs of a stack that serves the app itself (dev, test, prod). */
export interface AppStackOutputs {
  /** `GET {apiUrl}/activity/1` */
  apiUrl: string;
  /** The image, pinned by digest. */
  imageRef: string;
  tableName: string;
  /** The EC2 instance, `local-docker-engine`, on ECS `<cluster>/<service>`, or the SSH target's `user@address`. */
  hostId: string;
  /** The release serving now: on Docker targets the tag of the container that last became healthy. */
  release?: string;
  /** Docker targets: the front proxy's container. */
  proxyContainer?: string;
  /**
   * dev and ssh: the Docker volume DynamoDB Local keeps its tables in; npm run dev:down removes dev's, and an ssh
   * stack's outlives `pulumi destroy` unless keepDataOnDestroy is false.
   */
  databaseVolume?: string;
  /** With a domain: the HTTPS address. */
  httpsUrl?: string;
  /** The releases whose images the stack keeps, newest first (see ReleaseRecord). */
  releases?: ReleaseRecord[];
  /** Set while config `release` pins the stack: the pinned release as `<tag>@<digest>`. */
  pinnedRelease?: string;
}

/** What every preview host exports: each preview answers at `http://<label>.<previewDomain>:<previewPort>`. */
interface PreviewHostBaseOutputs {
  previewDomain: string;
  previewPort: number;
  /** The Docker network the proxy finds previews on. */
  networkName: string;
}

/** A local preview host: the proxy, on this machine's Docker engine (each preview has its own database). */
export type LocalPreviewHostOutputs = PreviewHostBaseOutputs;

/** An EC2 preview host: its instance, how Docker reaches it, and the boundary of every preview's identity. */
export interface Ec2PreviewHostOutputs extends PreviewHostBaseOutputs {
  region: string;
  instanceType: string;
  publicIp: string;
  /** The DOCKER_HOST of the host's engine, `ssh://ec2-user@<instance>`. */
  dockerHost: string;
  /** The SSH options Docker's client must pass to reach it. */
  sshOpts: string[];
  /** The permissions boundary of every preview's identity: the host's permissionsBoundary, passed on. */
  previewBoundaryArn: string;
}

export type PreviewHostOutputs = LocalPreviewHostOutputs | Ec2PreviewHostOutputs;

/** The outputs of one branch's preview. */
export interface PreviewStackOutputs {
  /** `http://<label>.<previewDomain>:<previewPort>` */
  apiUrl: string;
  imageRef: string;
  release: string;
  tableName: string;
  /** Local previews: the Docker volume its own DynamoDB Local keeps its tables in; preview destroy removes it. */
  databaseVolume?: string;
  releases: ReleaseRecord[];
  pinnedRelease?: string;
}

// Releases by name: what a stack keeps and serves, recorded by the program in its outputs and read by
// `npm run release` (cli/release/).

/**
 * One release the stack has served: its tag, the digest its image had in the stack's registry (a local
 * engine's image id, or a registry's manifest digest), and when the stack first served it.
 */
export interface ReleaseRecord {
  release: string;
  digest: string;
  /** ISO 8601. */
  firstServed: string;
}

/** A digest as Docker writes it. */
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** A Docker tag, never "latest" (a tag names one release for good). */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** What config `release` names: a tag, a digest, or both (`<tag>@<digest>`, what rollback writes). */
export type ReleasePin = { tag: string; digest?: string } | { tag?: undefined; digest: string };

/** Config `release` read as a pin, or undefined when it is neither a tag, a digest, nor `<tag>@<digest>`. */
export function parseReleasePin(value: string): ReleasePin | undefined {
  const [tag, digest, ...rest] = value.split("@");
  if (rest.length > 0 || tag === undefined) return undefined;
  if (digest === undefined) {
    if (DIGEST.test(tag)) return { digest: tag };
    return TAG.test(tag) && tag !== "latest" ? { tag } : undefined;
  }
  return TAG.test(tag) && tag !== "latest" && DIGEST.test(digest) ? { tag, digest } : undefined;
}

/** A record's entry as config `release` names it exactly. */
export const pinOf = (record: Pick<ReleaseRecord, "release" | "digest">): string =>
  `${record.release}@${record.digest}`;

/** The outputs of the ci-identity stack: what docs/github-actions.md's variables and two stacks' config take. */
export interface CiIdentityOutputs {
  /** vars.AWS_PREVIEW_ROLE_ARN of preview.yml */
  previewRoleArn: string;
  /** vars.AWS_TEST_DEPLOY_ROLE_ARN of deploy-test.yml (a variable of the Environment test) */
  testDeployRoleArn: string;
  /** vars.AWS_PRUNE_ROLE_ARN of prune.yml */
  pruneRoleArn: string;
  /** vars.PREVIEW_PERMISSIONS_BOUNDARY: npm run preview sets it as the preview host's permissionsBoundary */
  previewBoundaryArn: string;
  /** The test stack's permissionsBoundary (Pulumi.test.yaml) */
  testBoundaryArn: string;
  oidcProviderArn: string;
}

// The release watch (cli/release-watch.ts): the program runs it to gate each new release, and reads what it
// printed when it refused one.

/** The environment the gate passes: what to watch, how, and for how long. */
export const WATCH_ENV = {
  /** The container's name. */
  container: "RELEASE_CONTAINER",
  /** Seconds to wait for readiness. */
  timeoutSeconds: "READINESS_TIMEOUT_SECONDS",
  /** The readiness probe's command inside the container, as a JSON array. */
  probe: "READINESS_PROBE",
  /** The docker CLI's command, as a JSON array: ["docker"], or ssh to a remote host's engine then docker. */
  docker: "DOCKER_COMMAND",
} as const;

/** The line a refusal starts with; the rest of it is a RefusalReport in JSON. */
export const REFUSAL_MARKER = "release refused:";

/** What a refusal reports. */
export interface RefusalReport {
  /** Why, in words that follow "Release X was refused: ". */
  reason: string;
  /** The container's last log lines, oldest first. */
  lastLines: string[];
}

/** The refusal line of a watch's output (or of an error that quotes it), or undefined when there is none. */
export function parseRefusal(output: string): RefusalReport | undefined {
  const line = output.split("\n").find((candidate) => candidate.startsWith(REFUSAL_MARKER));
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line.slice(REFUSAL_MARKER.length)) as RefusalReport;
  } catch {
    return undefined;
  }
}
