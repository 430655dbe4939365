/**
 * Maps a git branch name to the names its preview environment uses on a target: the Pulumi stack name, the
 * prefix of every resource name (also the host name the preview host routes to it), and a label that is safe
 * as a tag value; and names the stack of each target's shared preview host.
 */
import { createHash } from "node:crypto";
import {
  NAME_PREFIX,
  PREVIEW_RESOURCE_PREFIX,
  PREVIEW_STACK_PREFIX,
  type PreviewTarget,
} from "../../stack/contract.js";

/** Where a command's previews run when it names no target: an EC2 Docker host on AWS. */
export const DEFAULT_TARGET: PreviewTarget = "ec2";

/**
 * Local previews' stacks start with this. An EC2 preview's slug holds only [a-z0-9-], never ".", so no branch
 * name can give an EC2 preview's stack a local one's name (a branch "local/x" gives `preview-local-x-<hash>`): both
 * targets may share one backend, and each command sees only its target's stacks.
 */
const LOCAL_STACK_PREFIX = `${PREVIEW_STACK_PREFIX}local.`;

/** Pulumi's stack-name rule (pulumi/pulumi `validateStackName`: `^[a-zA-Z0-9-_.]{1,100}$`). */
export const PULUMI_STACK_NAME = { max: 100, pattern: /^[A-Za-z0-9_.-]+$/ } as const;

/**
 * Pulumi's stack-tag rules (pulumi/pulumi `ValidateStackTags`): names `^[a-zA-Z0-9-_.:]{1,40}$`, values at
 * most 256 bytes (Go's `len`, so UTF-8 bytes, not characters).
 */
export const PULUMI_STACK_TAG = {
  nameMax: 40,
  namePattern: /^[A-Za-z0-9_.:-]+$/,
  valueMaxBytes: 256,
} as const;

/** The longest child-name suffix the program appends to the prefix (`${prefix}-host-role`, an IAM role). */
export const LONGEST_CHILD_SUFFIX = "-host-role";

/** A sample of what Pulumi auto-naming appends to a logical name: "-" and 7 random lowercase hex digits. */
export const AUTONAME_SUFFIX = "-0123abc";

export interface NameLimit {
  readonly resource: string;
  readonly min: number;
  readonly max: number;
  readonly pattern: RegExp;
  /** Names AWS reserves, e.g. security groups may not start with "sg-". */
  readonly reserved?: RegExp;
}

/**
 * AWS limits on the names the preview stacks create; a resource name is the prefix, a child suffix and
 * Pulumi's auto-name suffix, so the prefix budget below is derived from this table.
 */
export const AWS_NAME_LIMITS: readonly NameLimit[] = [
  // IAM CreateRole: RoleName 1..64 of [\w+=,.@-]
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
  { resource: "IAM role name", min: 1, max: 64, pattern: /^[\w+=,.@-]+$/ },
  // IAM CreateUser: UserName 1..64 of [\w+=,.@-]; a preview's user is named exactly its prefix
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
  { resource: "IAM user name", min: 1, max: 64, pattern: /^[\w+=,.@-]+$/ },
  // IAM CreateInstanceProfile: InstanceProfileName 1..128 of [\w+=,.@-]
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateInstanceProfile.html
  { resource: "IAM instance profile name", min: 1, max: 128, pattern: /^[\w+=,.@-]+$/ },
  // EC2 CreateSecurityGroup (VPC): GroupName up to 255 of a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*,
  // and not "sg-*"
  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html
  {
    resource: "EC2 security group name",
    min: 1,
    max: 255,
    pattern: /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/,
    reserved: /^sg-/i,
  },
  // ECR CreateRepository: repositoryName 2..256, lowercase, separators never adjacent
  // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
  {
    resource: "ECR repository name",
    min: 2,
    max: 256,
    pattern: /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
  },
  // DynamoDB CreateTable: TableName 3..255 of [a-zA-Z0-9_.-]
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
  { resource: "DynamoDB table name", min: 3, max: 255, pattern: /^[A-Za-z0-9_.-]+$/ },
];

/**
 * AWS tag limits where they are strictest (IAM, DynamoDB and the Resource Groups Tagging API): keys
 * 1..128 and values 0..256 Unicode characters of [\p{L}\p{Z}\p{N}_.:/=+\-@], and "aws:" is a reserved prefix.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html
 * https://docs.aws.amazon.com/tag-editor/latest/userguide/best-practices-and-strats.html
 */
export const AWS_TAG = {
  keyMax: 128,
  valueMax: 256,
  pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u,
  reserved: /^aws:/i,
} as const;

// Hex digits of sha256(branch). 48 bits in the stack name; the 32-character prefix only has room for 32 bits,
// which still makes a clash between two live previews (a handful at a time) a one-in-a-billion event.
const STACK_HASH_LENGTH = 12;
const PREFIX_HASH_LENGTH = 8;
// The stack name may be 100 characters; 48 of slug keeps `pulumi stack ls` and the PR comment readable.
const STACK_SLUG_MAX = 48;

/** The prefix must leave room for the longest child name and the auto-name suffix under every AWS limit. */
const PREFIX_MAX = Math.min(
  NAME_PREFIX.max,
  ...AWS_NAME_LIMITS.map((limit) => limit.max - LONGEST_CHILD_SUFFIX.length - AUTONAME_SUFFIX.length),
);
const PREFIX_SLUG_MAX = PREFIX_MAX - PREVIEW_RESOURCE_PREFIX.length - 1 - PREFIX_HASH_LENGTH;

/** The label must fit a Pulumi stack tag (bytes) and an AWS tag value (characters); bytes are stricter. */
const LABEL_MAX_BYTES = Math.min(PULUMI_STACK_TAG.valueMaxBytes, AWS_TAG.valueMax);
// Characters AWS allows in tag values, less the line and paragraph separators of \p{Z}, which would split a
// one-line log or table row.
const LABEL_FORBIDDEN = /[^\p{L}\p{Zs}\p{N}_.:/=+\-@]/gu;

/** A branch name no preview can be made from, with the reason. */
export class BranchNameError extends Error {
  constructor(branch: string, reason: string) {
    super(`cannot make a preview of branch ${JSON.stringify(branch)}: ${reason}`);
    this.name = "BranchNameError";
  }
}

export interface PreviewNames {
  /** The branch exactly as given; the hash is taken of this, so names differing only in case stay apart. */
  readonly branch: string;
  readonly target: PreviewTarget;
  /**
   * ec2: `preview-<slug>-<hash12>`, or `preview-<hash12>` when nothing of the name survives as ASCII;
   * local: `preview-local.<slug>-<hash12>` (or `preview-local.<hash12>`).
   */
  readonly stackName: string;
  /**
   * `pv-<slug>-<hash8>` (or `pv-<hash8>`), the same on both targets: the `activity-api:namePrefix` of every
   * resource, and the DNS label the preview host routes (`<prefix>.<previewDomain>`). Both targets may use it
   * at once: they are different hosts.
   */
  readonly resourcePrefix: string;
  /** The branch with characters tags refuse replaced by "_", cut to 256 bytes with the hash kept. */
  readonly branchLabel: string;
}

/**
 * Derives the names of a branch's preview on `target` (ec2 unless given); throws {@link BranchNameError} for
 * a name that cannot be used.
 */
export function previewNames(branch: string, target: PreviewTarget = DEFAULT_TARGET): PreviewNames {
  checkBranch(branch);
  const hash = createHash("sha256").update(branch, "utf8").digest("hex");
  const stackSlug = slugify(branch, STACK_SLUG_MAX);
  const prefixSlug = slugify(branch, PREFIX_SLUG_MAX);
  const stackLead = target === "local" ? LOCAL_STACK_PREFIX : PREVIEW_STACK_PREFIX;
  return {
    branch,
    target,
    stackName: joinName(stackLead, stackSlug, hash.slice(0, STACK_HASH_LENGTH)),
    resourcePrefix: joinName(PREVIEW_RESOURCE_PREFIX, prefixSlug, hash.slice(0, PREFIX_HASH_LENGTH)),
    branchLabel: labelOf(branch, hash),
  };
}

/** True only for names starting with exactly "preview-": "preview", "Preview-x", "previews-aws" are not. */
export function isPreviewStackName(stackName: string): boolean {
  return stackName.startsWith(PREVIEW_STACK_PREFIX);
}

/** The target a preview stack belongs to, from its name alone; undefined for a stack that is no preview. */
export function previewTargetOf(stackName: string): PreviewTarget | undefined {
  if (!isPreviewStackName(stackName)) return undefined;
  return stackName.startsWith(LOCAL_STACK_PREFIX) ? "local" : "ec2";
}

/**
 * Git itself refuses far more ("..", a leading "-"), but the issue asks for those to work, so only what no
 * ref name can hold and what would corrupt config, tags and logs is refused.
 */
function checkBranch(branch: string): void {
  if (branch.length === 0) throw new BranchNameError(branch, "the name is empty; pass --branch NAME");
  if (branch.trim().length === 0) throw new BranchNameError(branch, "the name is only whitespace");
  const control = /\p{Cc}/u.exec(branch);
  if (control) {
    const code = control[0].codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0");
    throw new BranchNameError(branch, `it contains the control character U+${code}`);
  }
  // A lone surrogate would be encoded as U+FFFD, so two different names could hash alike.
  if (/\p{Cs}/u.test(branch)) throw new BranchNameError(branch, "it contains an unpaired UTF-16 surrogate");
}

/** Lowercase ASCII: decompose, drop combining marks, turn every other run into one "-", trim, cut. */
function slugify(branch: string, max: number): string {
  const ascii = branch.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  const slug = ascii.replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return slug.slice(0, max).replace(/-+$/, "");
}

function joinName(lead: string, slug: string, hash: string): string {
  return slug ? `${lead}${slug}-${hash}` : `${lead}${hash}`;
}

function labelOf(branch: string, hash: string): string {
  let label = branch.normalize("NFC").replace(LABEL_FORBIDDEN, "_");
  if (AWS_TAG.reserved.test(label)) label = `_${label}`;
  if (Buffer.byteLength(label, "utf8") <= LABEL_MAX_BYTES) return label;
  const suffix = `-${hash.slice(0, PREFIX_HASH_LENGTH)}`;
  let budget = LABEL_MAX_BYTES - suffix.length;
  let kept = "";
  for (const char of label) {
    budget -= Buffer.byteLength(char, "utf8");
    if (budget < 0) break;
    kept += char;
  }
  return `${kept}${suffix}`;
}
