/**
 * The contract between the program (index.ts) and the preview CLI (cli/preview/): the config keys the CLI
 * sets, the names of the stacks it manages, the rules a name prefix and a domain must meet, and what each kind
 * of stack exports. Both sides import it, so that nothing here is written twice.
 */

/** The Pulumi project, and so the namespace of every config key of the program. */
export const PROJECT = "activity-api";

/** Where a stack runs: the local Docker engine, an EC2 Docker host, or ECS Fargate. */
export type Target = "local" | "ec2" | "ecs";
export const TARGETS: readonly Target[] = ["local", "ec2", "ecs"];

/** The targets with a Docker host, where previews run: one shared host per target. */
export type PreviewTarget = Extract<Target, "local" | "ec2">;
export const PREVIEW_TARGETS: readonly PreviewTarget[] = ["ec2", "local"];

/**
 * `aws` is what `ec2` was called before `ecs` (also on AWS) existed. Stacks and commands that say `aws` keep
 * working; whoever reads it says, in one line, that it is deprecated.
 */
export const DEPRECATED_TARGET_NAMES: Readonly<Record<string, PreviewTarget>> = { aws: "ec2" };

/** The one-line notice for a deprecated target name, or undefined for a current one. */
export function deprecatedTargetNotice(name: string, where: string): string | undefined {
  const current = DEPRECATED_TARGET_NAMES[name];
  return current === undefined
    ? undefined
    : `${where} "${name}" is deprecated: say "${current}" (same target)`;
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
  "publishTo",
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
  /** DynamoDB Local (DynamoDbLocal), on local hosts. */
  dynamodbLocal: 512,
} as const;

/** The outputs of a stack that serves the app itself (dev, test, prod). */
export interface AppStackOutputs {
  /** `GET {apiUrl}/activity/1` */
  apiUrl: string;
  /** The image, pinned by digest. */
  imageRef: string;
  tableName: string;
  /** The EC2 instance, `local-docker-engine`, or on ECS `<cluster>/<service>`. */
  hostId: string;
  /** Docker targets: the release serving now, the tag of the container that last became healthy. */
  release?: string;
  /** Docker targets: the front proxy's container. */
  proxyContainer?: string;
  /** dev: the Docker volume DynamoDB Local keeps its tables in; npm run dev:down removes it. */
  databaseVolume?: string;
  /** With a domain: the HTTPS address. */
  httpsUrl?: string;
}

/** What every preview host exports: each preview answers at `http://<label>.<previewDomain>:<previewPort>`. */
interface PreviewHostBaseOutputs {
  previewDomain: string;
  previewPort: number;
  /** The Docker network the proxy finds previews on. */
  networkName: string;
}

/** A local preview host: the proxy and one DynamoDB Local, on this machine's Docker engine. */
export interface LocalPreviewHostOutputs extends PreviewHostBaseOutputs {
  /** The DynamoDB Local as containers on the network reach it. */
  dynamodbEndpoint: string;
  /** The same DynamoDB Local as this machine reaches it. */
  dynamodbHostEndpoint: string;
  /** The Docker volume that holds every preview's table; host destroy removes it. */
  databaseVolume: string;
}

/** An EC2 preview host: its instance, how Docker reaches it, and the role previews grant themselves on. */
export interface Ec2PreviewHostOutputs extends PreviewHostBaseOutputs {
  region: string;
  instanceType: string;
  publicIp: string;
  /** The DOCKER_HOST of the host's engine, `ssh://ec2-user@<instance>`. */
  dockerHost: string;
  /** The SSH options Docker's client must pass to reach it. */
  sshOpts: string[];
  /** The host's instance role. */
  roleName: string;
}

export type PreviewHostOutputs = LocalPreviewHostOutputs | Ec2PreviewHostOutputs;

/** The outputs of one branch's preview. */
export interface PreviewStackOutputs {
  /** `http://<label>.<previewDomain>:<previewPort>` */
  apiUrl: string;
  imageRef: string;
  release: string;
  tableName: string;
}
