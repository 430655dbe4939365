/**
 * The product's security rules as Pulumi policies, each exported on its own so that tests can run it, and
 * `policies`, the list the pack serves.
 */
import * as aws from "@pulumi/aws";
import {
  type Policies,
  type PolicyResource,
  type ReportViolation,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  // What the props proxy throws; typed `any` (its declaration is stripped as internal), exported at run time.
  UnknownValueError,
  validateResourceOfType,
} from "@pulumi/policy";

/**
 * The app's host port. app/src/contract.ts owns the value (HOST_PORT); the pack cannot import it, because the
 * engine loads the pack as CommonJS, where that `.js` specifier finds no file, so a test keeps the two equal.
 */
export const APP_HOST_PORT = 10001;

/** Stands for a value the engine does not know yet: an output of a resource that does not exist yet. */
const UNKNOWN = Symbol("unknown during preview");
type Known<T> = T | typeof UNKNOWN;

/**
 * Reads through the props proxy of @pulumi/policy, which throws UnknownValueError on a value that is unknown
 * during preview. Checks skip such values rather than report them: `pulumi up` analyses each resource again,
 * with its inputs known, before creating it.
 */
function known<T>(read: () => T): Known<T> {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnknownValueError) return UNKNOWN;
    throw error;
  }
}

/**
 * A copy of a props value in plain data, with UNKNOWN in place of each unknown part, for rules that walk a
 * whole structure (a policy document) rather than read a few paths.
 */
function settle(read: () => unknown): unknown {
  const value = known(read);
  if (Array.isArray(value)) return indexesOf(value).map((index) => settle(() => value[index]));
  if (typeof value === "object" && value !== null) {
    const object = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(object).map((key) => [key, settle(() => object[key])]));
  }
  return value;
}

/** The indexes of a proxied list: iterating its elements would read, and so throw on, an unknown one. */
function indexesOf(list: readonly unknown[]): number[] {
  return Array.from({ length: list.length }, (_, index) => index);
}

/** A setting as a message shows it: `"gp2"`, `1`, or `unset`. */
function show(value: unknown): string {
  return value === undefined ? "unset" : JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------------------
// Security group ingress (rules 1 and 2). @pulumi/awsguard has no rule on security groups.
// ---------------------------------------------------------------------------------------------------------

/** What an ingress rule lets in, when that is known: every protocol, or a TCP or UDP port range. */
type Opening = { kind: "all" } | { kind: "ports"; protocol: "tcp" | "udp"; from: number; to: number };

/** A rule that admits the whole Internet: the property naming the CIDR, and the CIDR. */
interface PublicIngress {
  property: string;
  cidr: string;
  opening: Opening;
}

/** Any prefix length of 0 is a whole address family: 0.0.0.0/0, ::/0 and their other spellings. */
function isWholeInternet(cidr: string): boolean {
  return cidr.trim().endsWith("/0");
}

/** The protocols with ports, by AWS's names and numbers for them. */
const TRANSPORTS = new Map<string, "tcp" | "udp">([
  ["tcp", "tcp"],
  ["6", "tcp"],
  ["udp", "udp"],
  ["17", "udp"],
]);

/**
 * The opening of a rule from its protocol and ports; undefined when one is unknown, or for protocols without
 * ports (ICMP and the like), which no rule here is about. All protocols are "-1" or "all".
 */
function openingOf(protocol: Known<unknown>, from: Known<unknown>, to: Known<unknown>): Opening | undefined {
  if (protocol === UNKNOWN) return undefined;
  const name = String(protocol).toLowerCase();
  if (name === "-1" || name === "all") return { kind: "all" };
  const transport = TRANSPORTS.get(name);
  if (transport === undefined || typeof from !== "number" || typeof to !== "number") return undefined;
  return { kind: "ports", protocol: transport, from, to };
}

/** The known whole-Internet CIDRs of a CIDR list property (one unknown entry leaves the others to judge). */
function publicCidrs(property: string, read: () => unknown): { property: string; cidr: string }[] {
  const list = known(read);
  if (!Array.isArray(list)) return [];
  return indexesOf(list)
    .map((index) => known(() => list[index]))
    .filter((cidr): cidr is string => typeof cidr === "string" && isWholeInternet(cidr))
    .map((cidr) => ({ property, cidr }));
}

function publicIngress(
  opening: Opening | undefined,
  sources: { property: string; cidr: string }[],
): PublicIngress[] {
  return opening === undefined ? [] : sources.map((source) => ({ ...source, opening }));
}

/**
 * Runs `check` on every ingress rule open to the whole Internet, whichever of the three ways it is declared:
 * inline in a security group, as a VPC ingress rule, or as a security group rule of type ingress.
 */
function validateIngress(check: (ingress: PublicIngress, report: ReportViolation) => void) {
  return [
    validateResourceOfType(aws.ec2.SecurityGroup, (group, _args, report) => {
      const rules = known(() => group.ingress);
      if (!Array.isArray(rules)) return;
      for (const index of indexesOf(rules)) {
        const rule = (path: string) => `ingress[${index}].${path}`;
        const opening = openingOf(
          known(() => rules[index]?.protocol),
          known(() => rules[index]?.fromPort),
          known(() => rules[index]?.toPort),
        );
        const sources = [
          ...publicCidrs(rule("cidrBlocks"), () => rules[index]?.cidrBlocks),
          ...publicCidrs(rule("ipv6CidrBlocks"), () => rules[index]?.ipv6CidrBlocks),
        ];
        for (const ingress of publicIngress(opening, sources)) check(ingress, report);
      }
    }),
    validateResourceOfType(aws.vpc.SecurityGroupIngressRule, (rule, _args, report) => {
      const opening = openingOf(
        known(() => rule.ipProtocol),
        known(() => rule.fromPort),
        known(() => rule.toPort),
      );
      const sources = [
        { property: "cidrIpv4", cidr: known(() => rule.cidrIpv4) },
        { property: "cidrIpv6", cidr: known(() => rule.cidrIpv6) },
      ].filter((source): source is { property: string; cidr: string } => {
        return typeof source.cidr === "string" && isWholeInternet(source.cidr);
      });
      for (const ingress of publicIngress(opening, sources)) check(ingress, report);
    }),
    validateResourceOfType(aws.ec2.SecurityGroupRule, (rule, _args, report) => {
      if (known(() => rule.type) !== "ingress") return;
      const opening = openingOf(
        known(() => rule.protocol),
        known(() => rule.fromPort),
        known(() => rule.toPort),
      );
      const sources = [
        ...publicCidrs("cidrBlocks", () => rule.cidrBlocks),
        ...publicCidrs("ipv6CidrBlocks", () => rule.ipv6CidrBlocks),
      ];
      for (const ingress of publicIngress(opening, sources)) check(ingress, report);
    }),
  ];
}

function covers(opening: Opening, port: number, protocol: "tcp" | "udp"): boolean {
  return (
    opening.kind === "all" || (opening.protocol === protocol && opening.from <= port && port <= opening.to)
  );
}

/** Every port: all protocols, or a TCP or UDP range from 0 or 1 (port 0 is not usable) to 65535. */
function opensAllPorts(opening: Opening): boolean {
  return opening.kind === "all" || (opening.from <= 1 && opening.to >= 65535);
}

function describeOpening(opening: Opening): string {
  if (opening.kind === "all") return "all protocols and ports";
  const protocol = opening.protocol.toUpperCase();
  return opening.from === opening.to
    ? `${protocol} port ${opening.from}`
    : `${protocol} ports ${opening.from}-${opening.to}`;
}

export const noPublicSsh: ResourceValidationPolicy = {
  name: "no-public-ssh",
  description: "No ingress rule lets the whole Internet (0.0.0.0/0 or ::/0) reach SSH on port 22.",
  enforcementLevel: "mandatory",
  validateResource: validateIngress(({ property, cidr, opening }, report) => {
    if (!covers(opening, 22, "tcp")) return;
    report(
      `${property} opens SSH (${describeOpening(opening)}) to ${cidr}; allow port 22 only from known ` +
        "CIDRs, or reach the host through SSM Session Manager with no port 22 open at all.",
    );
  }),
};

export const noPublicAllPorts: ResourceValidationPolicy = {
  name: "no-public-all-ports",
  description: "No ingress rule opens every port or protocol to the whole Internet (0.0.0.0/0 or ::/0).",
  enforcementLevel: "mandatory",
  validateResource: validateIngress(({ property, cidr, opening }, report) => {
    if (!opensAllPorts(opening)) return;
    report(
      `${property} opens ${describeOpening(opening)} to ${cidr}; open only the ports the host serves, ` +
        "and only to the CIDRs that need them.",
    );
  }),
};

export const noPublicAppPort: ResourceValidationPolicy = {
  name: "no-public-app-port",
  description: `The app's host port ${APP_HOST_PORT} is not open to the whole Internet (0.0.0.0/0 or ::/0).`,
  // Advisory: a team may publish the API to everyone on purpose.
  enforcementLevel: "advisory",
  validateResource: validateIngress(({ property, cidr, opening }, report) => {
    // A rule that opens every port is no-public-all-ports' (mandatory) finding, not a choice to weigh here.
    if (!covers(opening, APP_HOST_PORT, "tcp") || opensAllPorts(opening)) return;
    report(
      `${property} opens the app's host port ${APP_HOST_PORT} (${describeOpening(opening)}) to ${cidr}; ` +
        "list the clients' CIDRs instead (allowedCidrs), or disable this advisory policy if a public API " +
        "is deliberate.",
    );
  }),
};

/** The only ports that may face the whole Internet: the front proxy's (HTTP, HTTPS, and the app's host port). */
const WEB_PORTS: readonly number[] = [80, 443, APP_HOST_PORT];

export const noPublicPortsButWeb: ResourceValidationPolicy = {
  name: "no-public-ports-but-web",
  description: `Only the front proxy's ports (${WEB_PORTS.join(", ")}) may be open to the whole Internet.`,
  enforcementLevel: "mandatory",
  validateResource: validateIngress(({ property, cidr, opening }, report) => {
    // Every port at once is no-public-all-ports' finding, and port 22 no-public-ssh's.
    if (opensAllPorts(opening) || covers(opening, 22, "tcp")) return;
    const webPort = opening.kind === "ports" && opening.protocol === "tcp" && opening.from === opening.to;
    if (webPort && WEB_PORTS.includes(opening.from)) return;
    report(
      `${property} opens ${describeOpening(opening)} to ${cidr}; only the front proxy's TCP ports ` +
        `${WEB_PORTS.join(", ")} may face the Internet (80 and 443 for a domain's certificate), each on its own.`,
    );
  }),
};

// ---------------------------------------------------------------------------------------------------------
// EC2 instances (rule 3).
// ---------------------------------------------------------------------------------------------------------

/**
 * The stack of the EC2 preview host. stack/contract.ts owns the name (PREVIEW_HOST_STACKS.ec2); like
 * APP_HOST_PORT, a test keeps the two equal. Previews run on that stack's host only (a preview's host stack
 * must be one of PREVIEW_HOST_STACKS), so an instance tagged with it is one whose containers are previews.
 */
export const EC2_PREVIEW_HOST_STACK = "previews-aws";

/**
 * Whether an instance runs previews, from its `stack` tag (required-tags makes every instance carry one);
 * UNKNOWN while its tags are.
 */
function runsPreviews(instance: { tags?: unknown; tagsAll?: unknown }): Known<boolean> {
  const stacks = [known(() => instance.tagsAll), known(() => instance.tags)].map((tags) =>
    tags === UNKNOWN ? UNKNOWN : (tags as Record<string, unknown> | undefined)?.stack,
  );
  if (stacks.includes(EC2_PREVIEW_HOST_STACK)) return true;
  return stacks.includes(UNKNOWN) ? UNKNOWN : false;
}

export const ec2InstanceMetadataV2: ResourceValidationPolicy = {
  name: "ec2-instance-metadata-v2",
  description:
    "EC2 instances serve metadata through IMDSv2 only; a single-tenant host leaves room for one hop from " +
    "its app's container.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.ec2.Instance, (instance, _args, report) => {
    const tokens = known(() => instance.metadataOptions?.httpTokens);
    if (tokens !== UNKNOWN && tokens !== "required") {
      report(
        `metadataOptions.httpTokens is ${show(tokens)}; set it to "required" so that the instance role's ` +
          "credentials need an IMDSv2 session token, which a request forged through the app cannot get.",
      );
    }
    // A preview host must give containers no credentials at all: preview-host-sealed-metadata's rule.
    if (runsPreviews(instance) !== false) return;
    const hopLimit = known(() => instance.metadataOptions?.httpPutResponseHopLimit);
    if (hopLimit !== UNKNOWN && (hopLimit === undefined || hopLimit < 2)) {
      report(
        `metadataOptions.httpPutResponseHopLimit is ${show(hopLimit)}; set it to 2 or more, because a ` +
          "container on Docker's bridge network is one hop further from IMDS: with a limit of 1 it gets no " +
          "IMDSv2 token, so no role credentials.",
      );
    }
  }),
};

export const previewHostSealedMetadata: ResourceValidationPolicy = {
  name: "preview-host-sealed-metadata",
  description:
    `An instance of the preview host stack (${EC2_PREVIEW_HOST_STACK}) gives its containers no way to the ` +
    "instance's credentials: IMDSv2 tokens required, and a hop limit of 1.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.ec2.Instance, (instance, _args, report) => {
    if (runsPreviews(instance) !== true) return;
    const why =
      "so that no preview's container can take the instance role's credentials (each preview holds an " +
      "identity of its own).";
    const tokens = known(() => instance.metadataOptions?.httpTokens);
    if (tokens !== UNKNOWN && tokens !== "required") {
      report(
        `metadataOptions.httpTokens is ${show(tokens)} on a host that runs previews; set it to "required", ` +
          `since IMDSv1 answers any process that reaches the address, ${why}`,
      );
    }
    const hopLimit = known(() => instance.metadataOptions?.httpPutResponseHopLimit);
    if (hopLimit !== UNKNOWN && hopLimit !== 1) {
      report(
        `metadataOptions.httpPutResponseHopLimit is ${show(hopLimit)} on a host that runs previews; set it ` +
          `to 1 (unset takes the account's or the AMI's default, which may be 2), so that the IMDSv2 token ` +
          `never reaches a container on Docker's bridge network, one hop further, ${why}`,
      );
    }
  }),
};

/** @pulumi/awsguard's encryptedVolumes checks ebsBlockDevices only; this one checks the root volume too. */
export const ec2EncryptedVolumes: ResourceValidationPolicy = {
  name: "ec2-encrypted-volumes",
  description: "The root volume and every EBS volume of an EC2 instance are encrypted.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.ec2.Instance, (instance, _args, report) => {
    const fix = "set it to true (the account's default EBS encryption is not visible to this check)";
    const root = known(() => instance.rootBlockDevice?.encrypted);
    if (root !== UNKNOWN && root !== true) report(`rootBlockDevice.encrypted is ${show(root)}; ${fix}.`);
    const devices = known(() => instance.ebsBlockDevices);
    if (!Array.isArray(devices)) return;
    for (const index of indexesOf(devices)) {
      const encrypted = known(() => devices[index]?.encrypted);
      if (encrypted !== UNKNOWN && encrypted !== true) {
        report(`ebsBlockDevices[${index}].encrypted is ${show(encrypted)}; ${fix}.`);
      }
    }
  }),
};

export const ec2RootVolumeGp3: ResourceValidationPolicy = {
  name: "ec2-root-volume-gp3",
  description: "EC2 root volumes are gp3.",
  enforcementLevel: "advisory",
  validateResource: validateResourceOfType(aws.ec2.Instance, (instance, _args, report) => {
    const volumeType = known(() => instance.rootBlockDevice?.volumeType);
    if (volumeType !== UNKNOWN && volumeType !== "gp3") {
      report(
        `rootBlockDevice.volumeType is ${show(volumeType)}; set it to "gp3", which costs up to 20% less ` +
          "per GiB than gp2 and has a 3,000 IOPS baseline at any size.",
      );
    }
  }),
};

// ---------------------------------------------------------------------------------------------------------
// IAM policy documents (rule 4). @pulumi/awsguard has no rule on policy documents.
// ---------------------------------------------------------------------------------------------------------

/**
 * A table, or an index of a named table (`index/*` included). A table's name is literal, or a literal name
 * prefix then one `*` (`table/pv-*`: every preview's table, as the previews' permissions boundary caps them).
 */
const DYNAMODB_TABLE_OR_INDEX_ARN = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/[^/*?]+\*?(\/index\/[^/]+)?$/;

/** The known strings of an IAM field that takes a string or a list of strings. */
function stringsOf(field: unknown): string[] {
  return (Array.isArray(field) ? field : [field]).filter((item): item is string => typeof item === "string");
}

/** `*`, or a whole service (`iam:*`, `dynamodb:*`); IAM action names are case-insensitive. */
function isWildcardAction(action: string): boolean {
  return action === "*" || /^[^:]+:\*$/.test(action);
}

function serviceOf(action: string): string {
  return action.split(":", 1)[0]?.toLowerCase() ?? "";
}

/** The findings on one statement of a policy document, each a sentence. */
function statementFindings(statement: Record<string, unknown>, label: string): string[] {
  if (statement.Effect !== "Allow") return [];
  const findings: string[] = [];
  if (statement.NotAction !== undefined) {
    findings.push(
      `${label} allows NotAction, which grants every action it does not list; name the allowed actions in ` +
        "Action instead.",
    );
  }
  const actions = stringsOf(statement.Action);
  const resources = stringsOf(statement.Resource);
  for (const action of actions.filter(isWildcardAction)) {
    findings.push(
      `${label} allows Action ${JSON.stringify(action)}; name only the actions the role needs ` +
        '(for example "dynamodb:GetItem") instead of a wildcard.',
    );
  }
  const dynamodb = actions.filter((action) => serviceOf(action) === "dynamodb");
  if (dynamodb.length > 0) {
    const notTables = [
      ...resources
        .filter((resource) => !DYNAMODB_TABLE_OR_INDEX_ARN.test(resource))
        .map((resource) => `Resource ${JSON.stringify(resource)}`),
      ...(statement.NotResource === undefined ? [] : ["NotResource"]),
    ];
    for (const where of notTables) {
      findings.push(
        `${label} allows ${dynamodb.join(", ")} on ${where}; grant DynamoDB actions on table and index ` +
          "ARNs only (arn:aws:dynamodb:<region>:<account>:table/<name> or table/<name prefix>*, and " +
          "<table ARN>/index/<name>).",
      );
    }
  }
  if (resources.includes("*")) {
    // AWS supports no resource-level permission for GetAuthorizationToken, so it alone may have "*".
    const ecr = actions.filter(
      (action) => serviceOf(action) === "ecr" && action.toLowerCase() !== "ecr:getauthorizationtoken",
    );
    if (ecr.length > 0) {
      findings.push(
        `${label} allows ${ecr.join(", ")} on Resource "*"; grant them on the repository's ARN, since only ` +
          'ecr:GetAuthorizationToken needs "*".',
      );
    }
  }
  return findings;
}

/**
 * A policy document as a resource holds it (a JSON string, or an object Pulumi serialises), read with `settle`:
 * the document object, "not JSON" for a string that does not parse, or undefined when it is no object.
 */
function policyDocument(read: () => unknown): Record<string, unknown> | "not JSON" | undefined {
  const policy = settle(read);
  let document: unknown = policy;
  if (typeof policy === "string") {
    try {
      document = JSON.parse(policy);
    } catch {
      return "not JSON";
    }
  }
  return typeof document === "object" && document !== null
    ? (document as Record<string, unknown>)
    : undefined;
}

/** Checks the `policy` of a role policy or a managed policy: a JSON string, or a document object. */
function checkPolicyDocument(read: () => unknown, report: ReportViolation): void {
  // A string is wholly known or wholly unknown; an object may hold unknowns, which settle marks.
  const document = policyDocument(read);
  if (document === "not JSON") {
    report("policy is not valid JSON; give a JSON policy document, or an object that Pulumi serialises.");
    return;
  }
  if (document === undefined) return;
  const statement = document.Statement;
  const statements = Array.isArray(statement) ? statement : [statement];
  statements.forEach((item, index) => {
    if (typeof item !== "object" || item === null) return;
    const { Sid } = item as Record<string, unknown>;
    const label =
      typeof Sid === "string" && Sid !== ""
        ? `policy statement ${JSON.stringify(Sid)}`
        : `policy Statement${Array.isArray(statement) ? `[${index}]` : ""}`;
    for (const finding of statementFindings(item as Record<string, unknown>, label)) report(finding);
  });
}

export const iamLeastPrivilege: ResourceValidationPolicy = {
  name: "iam-least-privilege",
  description:
    "IAM policies grant no wildcard actions, DynamoDB actions on table and index ARNs only, and ECR " +
    'actions on "*" for ecr:GetAuthorizationToken only.',
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(aws.iam.RolePolicy, (props, _args, report) =>
      checkPolicyDocument(() => props.policy, report),
    ),
    validateResourceOfType(aws.iam.Policy, (props, _args, report) =>
      checkPolicyDocument(() => props.policy, report),
    ),
  ],
};

/**
 * What every preview's prefix, and so its identity's name, starts with. stack/contract.ts owns the value
 * (PREVIEW_RESOURCE_PREFIX); a test keeps the two equal.
 */
export const PREVIEW_PREFIX = "pv-";

/**
 * The identity a policy document is attached to, when it is a preview's: named exactly its preview's prefix
 * (TableIdentity). Undefined for any other identity, UNKNOWN while the name is.
 */
function previewIdentity(read: () => unknown): Known<string | undefined> {
  const name = known(read);
  if (name === UNKNOWN) return UNKNOWN;
  return typeof name === "string" && name.startsWith(PREVIEW_PREFIX) ? name : undefined;
}

/**
 * The names an ARN may give its resource: the whole resource part (an S3 bucket's `<bucket>/<key>`), and what
 * follows its type (`table/<name>/index/x` gives `<name>/index/x`); none for what is no ARN (`*`).
 */
function resourceNamesOf(arn: string): string[] {
  const resource = arn.split(":").slice(5).join(":");
  if (!arn.startsWith("arn:") || resource === "") return [];
  const separator = resource.search(/[/:]/);
  return separator === -1 ? [resource] : [resource, resource.slice(separator + 1)];
}

/** The resources of a document's Allow statements that are not the preview `prefix`'s own. */
function foreignResources(document: unknown, prefix: string): string[] {
  const statement = (document as Record<string, unknown> | null)?.Statement;
  const statements = (Array.isArray(statement) ? statement : [statement]).filter(
    (item): item is Record<string, unknown> => typeof item === "object" && item !== null,
  );
  return statements
    .filter((item) => item.Effect === "Allow")
    .flatMap((item) => [
      ...stringsOf(item.Resource).filter(
        (resource) =>
          !resourceNamesOf(resource).some((name) => name === prefix || name.startsWith(`${prefix}-`)),
      ),
      ...(item.NotResource === undefined ? [] : ["NotResource"]),
    ]);
}

/** Checks the inline policy of a preview's identity: every resource it allows is the preview's own. */
function checkPreviewPolicy(identity: () => unknown, policy: () => unknown, report: ReportViolation): void {
  const prefix = previewIdentity(identity);
  if (prefix === UNKNOWN || prefix === undefined) return;
  // A JSON string, or a document object that Pulumi serialises; unknown parts of it are left unjudged.
  const document = policyDocument(policy);
  // iam-least-privilege reports a policy that is not JSON.
  if (document === undefined || document === "not JSON") return;
  for (const resource of foreignResources(document, prefix)) {
    report(
      `the policy of preview identity "${prefix}" allows ${resource === "NotResource" ? "NotResource" : `Resource ${JSON.stringify(resource)}`}, ` +
        `which is not the preview's own; a preview's identity may name only resources whose name starts with ` +
        `"${prefix}-", so that no preview's container reaches another's data.`,
    );
  }
}

export const previewIdentityOwnResources: ResourceValidationPolicy = {
  name: "preview-identity-own-resources",
  description:
    `A preview's identity (an IAM user or role named with the previews' prefix "${PREVIEW_PREFIX}") has a ` +
    "permissions boundary, no attached managed policy, and inline policies that name only its own resources.",
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(aws.iam.User, (user, _args, report) => {
      const prefix = previewIdentity(() => user.name);
      const boundary = known(() => user.permissionsBoundary);
      if (
        typeof prefix !== "string" ||
        boundary === UNKNOWN ||
        (typeof boundary === "string" && boundary !== "")
      ) {
        return;
      }
      report(
        `preview identity "${prefix}" has no permissionsBoundary; create it under the previews' boundary ` +
          "(the ci-identity stack's previewBoundaryArn), which caps whatever its own policy says.",
      );
    }),
    validateResourceOfType(aws.iam.UserPolicy, (props, _args, report) =>
      checkPreviewPolicy(
        () => props.user,
        () => props.policy,
        report,
      ),
    ),
    validateResourceOfType(aws.iam.RolePolicy, (props, _args, report) =>
      checkPreviewPolicy(
        () => props.role,
        () => props.policy,
        report,
      ),
    ),
    validateResourceOfType(aws.iam.UserPolicyAttachment, (props, _args, report) => {
      const prefix = previewIdentity(() => props.user);
      if (typeof prefix !== "string") return;
      report(
        `preview identity "${prefix}" has managed policy ${show(known(() => props.policyArn))} attached; ` +
          "give it only an inline policy that names its own resources.",
      );
    }),
    validateResourceOfType(aws.iam.RolePolicyAttachment, (props, _args, report) => {
      const prefix = previewIdentity(() => props.role);
      if (typeof prefix !== "string") return;
      report(
        `preview identity "${prefix}" has managed policy ${show(known(() => props.policyArn))} attached; ` +
          "give it only an inline policy that names its own resources.",
      );
    }),
  ],
};

/** GitHub Actions' OIDC issuer, whose tokens any repository's workflows can get. */
const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
const GITHUB_SUBJECT = /^repo:[A-Za-z0-9-]+\/[A-Za-z0-9._-]+:[^*?]+$/;

/** The findings on one statement of a role's trust policy that trusts GitHub's OIDC provider. */
function githubTrustFindings(statement: Record<string, unknown>, label: string): string[] {
  const principal = statement.Principal as Record<string, unknown> | undefined;
  const federated = stringsOf(principal?.Federated);
  if (statement.Effect !== "Allow" || !federated.some((arn) => arn.endsWith(`/${GITHUB_OIDC_HOST}`)))
    return [];
  const condition = (statement.Condition ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const equals = condition.StringEquals ?? {};
  const findings: string[] = [];
  if (stringsOf(equals[`${GITHUB_OIDC_HOST}:aud`]).join() !== "sts.amazonaws.com") {
    findings.push(
      `${label} trusts GitHub Actions without StringEquals ${GITHUB_OIDC_HOST}:aud "sts.amazonaws.com".`,
    );
  }
  const subjects = stringsOf(equals[`${GITHUB_OIDC_HOST}:sub`]);
  const bad = subjects.filter((subject) => !GITHUB_SUBJECT.test(subject));
  if (subjects.length === 0 || bad.length > 0) {
    findings.push(
      `${label} trusts GitHub Actions ${subjects.length === 0 ? "without" : `with ${bad.map((subject) => JSON.stringify(subject)).join(", ")} as`} ` +
        `a StringEquals ${GITHUB_OIDC_HOST}:sub: any repository's workflows could assume the role; name the ` +
        "exact subject, e.g. repo:owner/name:environment:test.",
    );
  }
  return findings;
}

export const iamGithubTrustPinned: ResourceValidationPolicy = {
  name: "iam-github-trust-pinned",
  description:
    "A role that trusts GitHub Actions' OIDC provider names, with StringEquals, the audience sts.amazonaws.com " +
    "and the exact subject (repo:owner/name:...) it trusts, without wildcards.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.iam.Role, (props, _args, report) => {
    const document = policyDocument(() => props.assumeRolePolicy);
    if (document === undefined || document === "not JSON") return;
    const statement = document.Statement;
    const statements = Array.isArray(statement) ? statement : [statement];
    statements.forEach((item, index) => {
      if (typeof item !== "object" || item === null) return;
      const label = `assumeRolePolicy Statement${Array.isArray(statement) ? `[${index}]` : ""}`;
      for (const finding of githubTrustFindings(item as Record<string, unknown>, label)) report(finding);
    });
  }),
};

// ---------------------------------------------------------------------------------------------------------
// ECR repositories (rule 5). @pulumi/awsguard has no rule on ECR.
// ---------------------------------------------------------------------------------------------------------

export const ecrRepositorySettings: ResourceValidationPolicy = {
  name: "ecr-repository-settings",
  description: "ECR repositories scan images on push and keep their tags immutable.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.ecr.Repository, (repository, _args, report) => {
    const scanOnPush = known(() => repository.imageScanningConfiguration?.scanOnPush);
    if (scanOnPush !== UNKNOWN && scanOnPush !== true) {
      report(
        `imageScanningConfiguration.scanOnPush is ${show(scanOnPush)}; set it to true so that every pushed ` +
          "image is scanned for known vulnerabilities.",
      );
    }
    const mutability = known(() => repository.imageTagMutability);
    if (mutability !== UNKNOWN && mutability !== "IMMUTABLE") {
      report(
        `imageTagMutability is ${show(mutability)} (unset means "MUTABLE"); set it to "IMMUTABLE" so ` +
          "that a tag always names the image that was tested.",
      );
    }
  }),
};

/**
 * Whether a lifecycle policy applies to a repository: true, false, or UNKNOWN when its `repository` or the
 * repository's name is not known yet. A dependency of `repository` on repositories settles it even then.
 */
function appliesTo(lifecyclePolicy: PolicyResource, repository: PolicyResource): Known<boolean> {
  const sources = (lifecyclePolicy.propertyDependencies.repository ?? []).filter((source) =>
    source.isType(aws.ecr.Repository),
  );
  if (sources.length > 0) return sources.some((source) => source.urn === repository.urn);
  const target = known(() => lifecyclePolicy.props.repository);
  const name = known(() => repository.props.name);
  if (target === UNKNOWN || name === UNKNOWN) return UNKNOWN;
  return typeof name === "string" && target === name;
}

export const ecrRepositoryLifecyclePolicy: StackValidationPolicy = {
  name: "ecr-repository-lifecycle-policy",
  description: "Every ECR repository has a lifecycle policy, so that old images expire.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const lifecyclePolicies = args.resources.filter((resource) => resource.isType(aws.ecr.LifecyclePolicy));
    for (const repository of args.resources.filter((resource) => resource.isType(aws.ecr.Repository))) {
      const applies = lifecyclePolicies.map((lifecyclePolicy) => appliesTo(lifecyclePolicy, repository));
      if (applies.includes(true) || applies.includes(UNKNOWN)) continue;
      report(
        `ECR repository "${repository.name}" has no aws.ecr.LifecyclePolicy whose repository is its name; ` +
          "add one (awsx.ecr.Repository makes it from its lifecyclePolicy argument) so that old images " +
          "expire.",
        repository.urn,
      );
    }
  },
};

// ---------------------------------------------------------------------------------------------------------
// DynamoDB tables (rule 6).
// ---------------------------------------------------------------------------------------------------------

/**
 * Stricter than @pulumi/awsguard's dynamodbTableEncryptionEnabled, which flags only an explicit
 * `serverSideEncryption.enabled: false`: unset means an AWS-owned key here too.
 */
export const dynamodbTableProtection: ResourceValidationPolicy = {
  name: "dynamodb-table-protection",
  description: "DynamoDB tables have point-in-time recovery and KMS server-side encryption.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.dynamodb.Table, (table, _args, report) => {
    const recovery = known(() => table.pointInTimeRecovery?.enabled);
    if (recovery !== UNKNOWN && recovery !== true) {
      report(
        `pointInTimeRecovery.enabled is ${show(recovery)}; set it to true so that the table can be ` +
          "restored to any second of the recovery period (35 days unless recoveryPeriodInDays says less).",
      );
    }
    const encryption = known(() => table.serverSideEncryption?.enabled);
    if (encryption !== UNKNOWN && encryption !== true) {
      report(
        `serverSideEncryption.enabled is ${show(encryption)}; set it to true so that the table is ` +
          "encrypted with a KMS key (aws/dynamodb, or yours in kmsKeyArn) that CloudTrail logs the use of.",
      );
    }
  }),
};

export const dynamodbOnDemand: ResourceValidationPolicy = {
  name: "dynamodb-on-demand",
  description: "DynamoDB tables bill per request.",
  enforcementLevel: "advisory",
  validateResource: validateResourceOfType(aws.dynamodb.Table, (table, _args, report) => {
    const billingMode = known(() => table.billingMode);
    if (billingMode !== UNKNOWN && billingMode !== "PAY_PER_REQUEST") {
      report(
        `billingMode is ${show(billingMode)} (unset means "PROVISIONED"); set it to "PAY_PER_REQUEST" so ` +
          "that a table with light, bursty traffic pays for the requests it serves, not for idle capacity.",
      );
    }
  }),
};

// ---------------------------------------------------------------------------------------------------------
// Tags (rule 7).
// ---------------------------------------------------------------------------------------------------------

const REQUIRED_TAGS = ["project", "stack"] as const;

/**
 * Tags come from the resource's `tags` or the aws provider's `defaultTags`; the provider merges both into
 * `tagsAll` when it checks the inputs, which is unknown while either is unknown.
 */
function checkTags(props: { tags?: unknown; tagsAll?: unknown }, report: ReportViolation): void {
  const sources = [known(() => props.tags), known(() => props.tagsAll)];
  const missingFrom = (tags: unknown) =>
    typeof tags === "object" && tags !== null ? REQUIRED_TAGS.filter((key) => !(key in tags)) : undefined;
  const missing = sources.map(missingFrom);
  if (missing.some((keys) => keys?.length === 0)) return;
  // Either may still bring the tags: an unknown, or neither set at all (no provider has checked the inputs).
  if (sources.includes(UNKNOWN) || sources.every((tags) => tags === undefined)) return;
  // tagsAll, the merge, names what is missing once defaultTags are counted.
  const lacking = missing[1] ?? missing[0] ?? [];
  report(
    `tags and tagsAll lack ${lacking.map((key) => JSON.stringify(key)).join(" and ")}; add ` +
      `${lacking.length > 1 ? "them" : "it"} to the resource's tags, or to the aws provider's defaultTags.`,
  );
}

export const requiredTags: ResourceValidationPolicy = {
  name: "required-tags",
  description:
    "Instances, security groups, roles, repositories and tables are tagged " +
    `${REQUIRED_TAGS.join(" and ")}.`,
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(aws.ec2.Instance, (props, _args, report) => checkTags(props, report)),
    validateResourceOfType(aws.ec2.SecurityGroup, (props, _args, report) => checkTags(props, report)),
    validateResourceOfType(aws.iam.Role, (props, _args, report) => checkTags(props, report)),
    validateResourceOfType(aws.ecr.Repository, (props, _args, report) => checkTags(props, report)),
    validateResourceOfType(aws.dynamodb.Table, (props, _args, report) => checkTags(props, report)),
  ],
};

// ---------------------------------------------------------------------------------------------------------
// ECS services and their load balancer (rule 8, the prod stack). @pulumi/awsguard has no rule on ECS, and its
// load balancer rules match only the aws v4 `elasticloadbalancingv2` and `applicationloadbalancing` tokens.
// ---------------------------------------------------------------------------------------------------------

/**
 * The app's readiness path. app/src/contract.ts owns the value (READY_PATH); like APP_HOST_PORT, a test keeps
 * the two equal, as the pack cannot import it.
 */
export const APP_READY_PATH = "/ready";

export const ecsDeploymentCircuitBreaker: ResourceValidationPolicy = {
  name: "ecs-deployment-circuit-breaker",
  description: "ECS services stop a failing rollout and roll it back (the deployment circuit breaker).",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.ecs.Service, (service, _args, report) => {
    // The breaker belongs to ECS's own rolling deployments; CodeDeploy and external controllers have theirs.
    const controller = known(() => service.deploymentController?.type);
    if (controller === UNKNOWN || (controller !== undefined && controller !== "ECS")) return;
    const enable = known(() => service.deploymentCircuitBreaker?.enable);
    const rollback = known(() => service.deploymentCircuitBreaker?.rollback);
    if (enable === UNKNOWN || rollback === UNKNOWN || (enable === true && rollback === true)) return;
    report(
      `deploymentCircuitBreaker is ${show(enable === undefined ? undefined : { enable, rollback })}; set ` +
        "{ enable: true, rollback: true } so that a rollout whose tasks keep failing stops and the service " +
        "returns to its last working deployment.",
    );
  }),
};

export const ecsServiceRedundancy: ResourceValidationPolicy = {
  name: "ecs-service-redundancy",
  description: "ECS services run at least 2 tasks, in subnets of at least 2 availability zones.",
  // Advisory: a scratch service may run one task on purpose.
  enforcementLevel: "advisory",
  validateResource: validateResourceOfType(aws.ecs.Service, (service, _args, report) => {
    const desired = known(() => service.desiredCount);
    if (desired !== UNKNOWN && (desired ?? 1) < 2) {
      report(
        `desiredCount is ${show(desired)}; run at least 2 tasks, so that losing one task or one ` +
          "availability zone leaves the API up.",
      );
    }
    const subnets = known(() => service.networkConfiguration?.subnets);
    if (Array.isArray(subnets) && subnets.length < 2) {
      report(
        `networkConfiguration.subnets lists ${subnets.length} subnet; give subnets in at least 2 ` +
          "availability zones, so that ECS can spread the tasks over them.",
      );
    }
  }),
};

/** The CIDR sources of an ingress rule, each with the property that names it. */
function cidrSources(entries: [string, () => unknown][]): { property: string; cidr: string }[] {
  return entries.flatMap(([property, read]) => {
    const value = known(read);
    const list = Array.isArray(value) ? indexesOf(value).map((index) => known(() => value[index])) : [value];
    return list
      .filter((cidr): cidr is string => typeof cidr === "string" && cidr !== "")
      .map((cidr) => ({ property, cidr }));
  });
}

/** CIDRs and prefix lists that an ingress rule, of any of the three kinds, admits. */
function ingressCidrs(resource: PolicyResource): { property: string; cidr: string }[] {
  const props = resource.props as Record<string, unknown>;
  if (resource.isType(aws.ec2.SecurityGroup)) {
    const rules = known(() => props.ingress);
    if (!Array.isArray(rules)) return [];
    return indexesOf(rules).flatMap((index) => {
      const rule = (path: string) => () => (rules[index] as Record<string, unknown> | undefined)?.[path];
      return cidrSources([
        [`ingress[${index}].cidrBlocks`, rule("cidrBlocks")],
        [`ingress[${index}].ipv6CidrBlocks`, rule("ipv6CidrBlocks")],
        [`ingress[${index}].prefixListIds`, rule("prefixListIds")],
      ]);
    });
  }
  if (resource.isType(aws.vpc.SecurityGroupIngressRule)) {
    return cidrSources([
      ["cidrIpv4", () => props.cidrIpv4],
      ["cidrIpv6", () => props.cidrIpv6],
      ["prefixListId", () => props.prefixListId],
    ]);
  }
  if (resource.isType(aws.ec2.SecurityGroupRule) && known(() => props.type) === "ingress") {
    return cidrSources([
      ["cidrBlocks", () => props.cidrBlocks],
      ["ipv6CidrBlocks", () => props.ipv6CidrBlocks],
      ["prefixListIds", () => props.prefixListIds],
    ]);
  }
  return [];
}

const dependsOn = (resource: PolicyResource, property: string, target: PolicyResource) =>
  (resource.propertyDependencies[property] ?? []).some((source) => source.urn === target.urn);

export const ecsTasksBehindLoadBalancer: StackValidationPolicy = {
  name: "ecs-tasks-behind-load-balancer",
  description:
    "The security groups of ECS services admit no CIDR or prefix list: only other security groups, such as " +
    "the load balancer's.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const rules = args.resources.filter(
      (resource) =>
        resource.isType(aws.vpc.SecurityGroupIngressRule) || resource.isType(aws.ec2.SecurityGroupRule),
    );
    for (const service of args.resources.filter((resource) => resource.isType(aws.ecs.Service))) {
      // The groups the service's networkConfiguration names; groups made elsewhere are not in view.
      const groups = (service.propertyDependencies.networkConfiguration ?? []).filter((source) =>
        source.isType(aws.ec2.SecurityGroup),
      );
      for (const group of groups) {
        const admitted = [
          ...ingressCidrs(group).map((source) => ({ ...source, where: "" })),
          ...rules
            .filter((rule) => dependsOn(rule, "securityGroupId", group))
            .flatMap((rule) =>
              ingressCidrs(rule).map((source) => ({ ...source, where: ` (rule "${rule.name}")` })),
            ),
        ];
        for (const { property, cidr, where } of admitted) {
          report(
            `ECS service "${service.name}" runs its tasks in security group "${group.name}", whose ` +
              `${property}${where} admits ${cidr}; admit only the load balancer's security group ` +
              "(referencedSecurityGroupId), so that nothing reaches the tasks but through it.",
            service.urn,
          );
        }
      }
    }
  },
};

/** A task definition's container definitions (a JSON string), or undefined while unknown or malformed. */
function containersOf(read: () => unknown): Record<string, unknown>[] | undefined {
  const text = known(read);
  if (typeof text !== "string") return undefined;
  try {
    const containers: unknown = JSON.parse(text);
    return Array.isArray(containers) ? (containers as Record<string, unknown>[]) : undefined;
  } catch {
    return undefined;
  }
}

const containerLabel = (container: Record<string, unknown>, index: number) =>
  typeof container.name === "string" ? `container "${container.name}"` : `containerDefinitions[${index}]`;

export const ecsNoRegistryCredentials: ResourceValidationPolicy = {
  name: "ecs-no-registry-credentials",
  description: "ECS containers pull with the execution role: no repositoryCredentials (a registry secret).",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.ecs.TaskDefinition, (task, _args, report) => {
    (containersOf(() => task.containerDefinitions) ?? []).forEach((container, index) => {
      if (container.repositoryCredentials === undefined) return;
      report(
        `${containerLabel(container, index)} has repositoryCredentials; pull from ECR with the task's ` +
          "execution role instead, so that no registry password is stored anywhere.",
      );
    });
  }),
};

export const ecsImagePinned: ResourceValidationPolicy = {
  name: "ecs-image-pinned",
  description: "ECS containers name their image by digest (`repository@sha256:...`), never by a tag alone.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.ecs.TaskDefinition, (task, _args, report) => {
    (containersOf(() => task.containerDefinitions) ?? []).forEach((container, index) => {
      const image = container.image;
      if (typeof image !== "string" || /@sha256:[0-9a-f]{64}$/.test(image)) return;
      report(
        `${containerLabel(container, index)} runs image ${JSON.stringify(image)}; name it by digest ` +
          "(AppImage.imageRef), so that every task runs exactly the image that was built and tested.",
      );
    });
  }),
};

export const lbTargetGroupReadiness: ResourceValidationPolicy = {
  name: "lb-target-group-readiness",
  description: `HTTP target groups health-check the app's readiness path ${APP_READY_PATH}.`,
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.lb.TargetGroup, (group, _args, report) => {
    const protocol = known(() => group.protocol);
    if (protocol !== "HTTP" && protocol !== "HTTPS") return;
    const enabled = known(() => group.healthCheck?.enabled);
    const path = known(() => group.healthCheck?.path);
    if (enabled === UNKNOWN || path === UNKNOWN || (enabled !== false && path === APP_READY_PATH)) return;
    report(
      `healthCheck is ${enabled === false ? "disabled" : `on path ${show(path)}`}; check ${APP_READY_PATH}, ` +
        "which answers 200 only while the task reaches its table, so that the load balancer sends nothing " +
        "to a task that would answer 503.",
    );
  }),
};

/** AWS's TLS policies that refuse TLS 1.0 and 1.1. */
const TLS12_POLICY = /^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)/;

export const lbHttpsTls12: ResourceValidationPolicy = {
  name: "lb-https-tls12",
  description: "HTTPS listeners use a TLS policy that refuses TLS 1.0 and 1.1.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.lb.Listener, (listener, _args, report) => {
    if (known(() => listener.protocol) !== "HTTPS") return;
    const policy = known(() => listener.sslPolicy);
    if (policy === UNKNOWN || (typeof policy === "string" && TLS12_POLICY.test(policy))) return;
    report(
      `sslPolicy is ${show(policy)} (unset means "ELBSecurityPolicy-2016-08", which accepts TLS 1.0); use ` +
        '"ELBSecurityPolicy-TLS13-1-2-2021-06" or another TLS 1.2+ policy.',
    );
  }),
};

export const logGroupRetention: ResourceValidationPolicy = {
  name: "log-group-retention",
  description: "CloudWatch log groups expire their events (retentionInDays is set).",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (group, _args, report) => {
    const days = known(() => group.retentionInDays);
    if (days === UNKNOWN || (typeof days === "number" && days > 0)) return;
    report(
      `retentionInDays is ${show(days)} (unset or 0 keeps every event forever, billed monthly); set a ` +
        "retention such as 30.",
    );
  }),
};

// ---------------------------------------------------------------------------------------------------------
// The app's environment, on a Docker host or in an ECS task.
// ---------------------------------------------------------------------------------------------------------

/** The variable that names the app's token issuer (ENV.authIssuer in app/src/contract.ts; a test keeps them equal). */
export const AUTH_ISSUER_ENV = "AUTH_ISSUER";

/** Whether an issuer URL is fetched over plain HTTP from a host other than loopback. */
function isPlainRemoteIssuer(issuer: string): boolean {
  const url = URL.parse(issuer);
  if (url === null || url.protocol !== "http:") return false;
  return !(
    url.hostname === "localhost" ||
    url.hostname === "[::1]" ||
    /^127(\.[0-9]{1,3}){3}$/.test(url.hostname)
  );
}

const plainIssuerMessage = (where: string, issuer: string) =>
  `${where} sets ${AUTH_ISSUER_ENV}=${issuer}: the app would fetch the keys that prove every token over plain ` +
  "HTTP, where anyone on the path can replace them; use the issuer's https:// URL.";

export const authIssuerHttps: ResourceValidationPolicy = {
  name: "auth-issuer-https",
  description: `The app's ${AUTH_ISSUER_ENV} is an https:// URL (http:// only for an issuer on loopback).`,
  enforcementLevel: "mandatory",
  validateResource: [
    (args, report) => {
      if (args.type !== "docker:index/container:Container") return;
      const envs = known(() => args.props.envs as unknown);
      if (!Array.isArray(envs)) return;
      for (const index of indexesOf(envs)) {
        const pair = known(() => envs[index] as unknown);
        if (typeof pair !== "string" || !pair.startsWith(`${AUTH_ISSUER_ENV}=`)) continue;
        const issuer = pair.slice(AUTH_ISSUER_ENV.length + 1);
        if (isPlainRemoteIssuer(issuer)) report(plainIssuerMessage(`envs[${index}]`, issuer));
      }
    },
    validateResourceOfType(aws.ecs.TaskDefinition, (task, _args, report) => {
      (containersOf(() => task.containerDefinitions) ?? []).forEach((container, index) => {
        const environment = Array.isArray(container.environment) ? container.environment : [];
        for (const variable of environment as { name?: unknown; value?: unknown }[]) {
          if (variable.name !== AUTH_ISSUER_ENV || typeof variable.value !== "string") continue;
          if (isPlainRemoteIssuer(variable.value)) {
            report(plainIssuerMessage(containerLabel(container, index), variable.value));
          }
        }
      });
    }),
  ],
};

/** Every policy of the pack, in the order of the rules above. */
// ---------------------------------------------------------------------------------------------------------
// Docker hosts the stack does not put behind a security group (target ssh).
// ---------------------------------------------------------------------------------------------------------

const DOCKER_CONTAINER = "docker:index/container:Container";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";

/** A published port's host address that means every interface: Docker's default when none is given. */
function isEveryInterface(ip: unknown): boolean {
  return ip === undefined || ip === "" || ip === "0.0.0.0" || ip === "::" || ip === "[::]";
}

export const noWorldOpenDockerPort: StackValidationPolicy = {
  name: "no-world-open-docker-port",
  description:
    "A container publishes a port on every interface only behind a security group of the stack; elsewhere it " +
    "binds one address (target ssh: publishAddress). A stack that means it says so: this rule advisory in the pack's config.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    if (args.resources.some((resource) => resource.type === SECURITY_GROUP)) return;
    for (const container of args.resources.filter((resource) => resource.type === DOCKER_CONTAINER)) {
      const ports = known(() => container.props.ports as unknown[] | undefined);
      if (ports === UNKNOWN || ports === undefined) continue;
      for (const index of indexesOf(ports)) {
        const port = known(() => (ports[index] as { ip?: unknown; external?: unknown }) ?? {});
        if (port === UNKNOWN) continue;
        const ip = known(() => port.ip);
        if (ip === UNKNOWN || !isEveryInterface(ip)) continue;
        report(
          `container "${container.name}" publishes port ${show(known(() => port.external))} on every interface ` +
            `(ip ${show(ip)}), and no security group of the stack is in front of it: bind it to one address ` +
            "(publishAddress), or set this rule advisory in the pack's config if the server's own firewall is the gate.",
          container.urn,
        );
      }
    }
  },
};

const DOCKER_PROVIDER = "pulumi:providers:docker";

/** A provider's list input: the engine hands provider inputs that are not strings over as JSON text. */
function listInput(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export const dockerSshHostKeyPinned: ResourceValidationPolicy = {
  name: "docker-ssh-host-key-pinned",
  description:
    "A Docker provider that reaches its engine over SSH trusts exactly one host key that the stack holds " +
    "(StrictHostKeyChecking=yes and KnownHostsCommand), never a key first seen on the way.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== DOCKER_PROVIDER) return;
    const host = known(() => args.props.host);
    if (host === UNKNOWN || typeof host !== "string" || !host.startsWith("ssh://")) return;
    const raw = known(() => args.props.sshOpts);
    if (raw === UNKNOWN) return;
    const options = (listInput(raw) ?? []).map(String);
    const checking = options.filter((option) => option.startsWith("StrictHostKeyChecking="));
    const pinned = options.some((option) => option.startsWith("KnownHostsCommand="));
    if (checking.join() !== "StrictHostKeyChecking=yes" || !pinned) {
      report(
        `the Docker provider reaches ${host} with ssh options ${show(options)}: pin the host's key ` +
          "(StrictHostKeyChecking=yes and a KnownHostsCommand that prints it, as pinnedHostKeyOptions does), " +
          "so that a machine answering in the host's place is refused before Docker runs anything there.",
      );
    }
  },
};

export const policies: Policies = [
  noPublicSsh,
  noPublicAllPorts,
  noPublicAppPort,
  noPublicPortsButWeb,
  ec2InstanceMetadataV2,
  previewHostSealedMetadata,
  ec2EncryptedVolumes,
  ec2RootVolumeGp3,
  iamLeastPrivilege,
  previewIdentityOwnResources,
  iamGithubTrustPinned,
  ecrRepositorySettings,
  ecrRepositoryLifecyclePolicy,
  dynamodbTableProtection,
  dynamodbOnDemand,
  requiredTags,
  ecsDeploymentCircuitBreaker,
  ecsServiceRedundancy,
  ecsTasksBehindLoadBalancer,
  ecsNoRegistryCredentials,
  ecsImagePinned,
  lbTargetGroupReadiness,
  lbHttpsTls12,
  logGroupRetention,
  authIssuerHttps,
  noWorldOpenDockerPort,
  dockerSshHostKeyPinned,
];
