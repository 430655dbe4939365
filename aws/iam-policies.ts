/**
 * The IAM policy documents the program grants, written once for every target: the app's access to its table,
 * pulling its image, writing its logs, the trust that lets an AWS service assume a role, and the CI pipelines'
 * identities (who may assume each, what each may change, and the boundary every role they create carries).
 */

/** Condition operator -> condition key -> value(s). */
type Condition = Record<string, Record<string, string | string[]>>;

interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: { Service: string } | { Federated: string };
  Condition?: Condition;
}
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

/** The DynamoDB item actions the app uses. */
const APP_DATA_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
] as const;

/** The app's DynamoDB item actions, on its table and the table's indexes only. */
export function appDataPolicy(tableArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: [...APP_DATA_ACTIONS],
        Resource: [tableArn, `${tableArn}/index/*`],
      },
    ],
  };
}

/** Pulling from one repository; GetAuthorizationToken has no resource-level permissions, so AWS requires "*". */
export function imagePullPolicy(repositoryArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
      {
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Resource: repositoryArn,
      },
    ],
  };
}

/** Creating streams in one log group and writing to them: what the awslogs driver of an ECS task needs. */
export function logWritePolicy(logGroupArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        // The group's streams: `<log group ARN>:log-stream:<name>`.
        Resource: `${logGroupArn}:*`,
      },
    ],
  };
}

/** Lets `service` (e.g. ec2.amazonaws.com) assume the role. */
export function serviceTrustPolicy(service: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  };
}

/** GitHub Actions' OIDC issuer, and the audience aws-actions/configure-aws-credentials asks its tokens for. */
export const GITHUB_OIDC = {
  url: "https://token.actions.githubusercontent.com",
  /** The prefix of the condition keys IAM derives from the token's claims (`<host>:sub`, `<host>:aud`). */
  host: "token.actions.githubusercontent.com",
  audience: "sts.amazonaws.com",
} as const;

/**
 * Lets the GitHub Actions jobs whose OIDC token says exactly `subject` (e.g. `repo:owner/name:pull_request`)
 * assume the role. StringEquals, not StringLike: one value fits, so no pattern can widen it.
 */
export function githubOidcTrustPolicy(providerArn: string, subject: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${GITHUB_OIDC.host}:aud`]: GITHUB_OIDC.audience,
            [`${GITHUB_OIDC.host}:sub`]: subject,
          },
        },
      },
    ],
  };
}

/** What one CI pipeline owns in one account and region, and so all its role may change. */
export interface PipelineScope {
  partition: string;
  account: string;
  region: string;
  /** How the physical names of its resources start (`pv-`, `previews-`): IAM, DynamoDB and ECR are scoped by name. */
  namePrefixes: string[];
  /** The values (patterns allowed) of the `stack` tag its EC2 resources carry: EC2 is scoped by tag. */
  stackTags: string[];
  /** Its Pulumi backend, `s3://<bucket>/<prefix>`: the only state it may read or write. */
  state: { bucket: string; prefix: string };
  /** The boundary every role and user it creates must carry; the pipeline's own role carries it too. */
  boundaryArn: string;
  /** How the names of the IAM users it creates start (`pv-`: each preview's identity); undefined: none. */
  userNamePrefix: string | undefined;
}

/** `deploy`: create, update and destroy (preview, test deploy); `destroy`: read and destroy only (prune). */
export type PipelineAccess = "deploy" | "destroy";

/** The role the hosts' instance roles attach for SSM Session Manager (DockerHost). */
const SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore";

/** The IAM changes that must name a role carrying the pipeline's boundary. */
const BOUNDED_ROLE_WRITES = {
  deploy: ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"],
  destroy: ["iam:DeleteRolePolicy", "iam:DetachRolePolicy"],
} as const;

/** The IAM user writes that must name a user carrying the pipeline's boundary. */
const BOUNDED_USER_WRITES = {
  deploy: ["iam:CreateUser", "iam:PutUserPermissionsBoundary", "iam:PutUserPolicy", "iam:DeleteUserPolicy"],
  destroy: ["iam:DeleteUserPolicy"],
} as const;

const ACTIONS = {
  dynamodb: {
    deploy: [
      "dynamodb:CreateTable",
      "dynamodb:UpdateTable",
      "dynamodb:DeleteTable",
      "dynamodb:Describe*",
      "dynamodb:List*",
      "dynamodb:UpdateContinuousBackups",
      "dynamodb:UpdateTimeToLive",
      "dynamodb:TagResource",
      "dynamodb:UntagResource",
    ],
    destroy: ["dynamodb:DeleteTable", "dynamodb:Describe*", "dynamodb:List*"],
  },
  ecr: {
    deploy: [
      "ecr:CreateRepository",
      "ecr:DeleteRepository",
      "ecr:Describe*",
      "ecr:List*",
      "ecr:Get*",
      "ecr:TagResource",
      "ecr:UntagResource",
      "ecr:PutLifecyclePolicy",
      "ecr:DeleteLifecyclePolicy",
      "ecr:PutImageScanningConfiguration",
      "ecr:PutImageTagMutability",
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:BatchDeleteImage",
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
    ],
    destroy: [
      "ecr:DeleteRepository",
      "ecr:DeleteLifecyclePolicy",
      "ecr:BatchDeleteImage",
      "ecr:Describe*",
      "ecr:List*",
      "ecr:Get*",
    ],
  },
  iam: {
    deploy: [
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListRolePolicies",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
      "iam:DeleteRole",
      "iam:CreateInstanceProfile",
      "iam:GetInstanceProfile",
      "iam:TagInstanceProfile",
      "iam:UntagInstanceProfile",
      "iam:AddRoleToInstanceProfile",
      "iam:RemoveRoleFromInstanceProfile",
      "iam:DeleteInstanceProfile",
    ],
    destroy: [
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListRolePolicies",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:DeleteRole",
      "iam:GetInstanceProfile",
      "iam:RemoveRoleFromInstanceProfile",
      "iam:DeleteInstanceProfile",
    ],
  },
  /** What Pulumi's User, UserPolicy and AccessKey call beyond the bounded writes (a delete lists groups). */
  iamUser: {
    deploy: [
      "iam:GetUser",
      "iam:ListGroupsForUser",
      "iam:ListUserTags",
      "iam:TagUser",
      "iam:UntagUser",
      "iam:GetUserPolicy",
      "iam:ListUserPolicies",
      "iam:ListAttachedUserPolicies",
      "iam:CreateAccessKey",
      "iam:ListAccessKeys",
      "iam:UpdateAccessKey",
      "iam:DeleteAccessKey",
      "iam:DeleteUser",
    ],
    destroy: [
      "iam:GetUser",
      "iam:ListGroupsForUser",
      "iam:GetUserPolicy",
      "iam:ListUserPolicies",
      "iam:ListAccessKeys",
      "iam:DeleteAccessKey",
      "iam:DeleteUser",
    ],
  },
  /** On EC2 resources already tagged as the pipeline's. */
  ec2Tagged: {
    deploy: [
      "ec2:TerminateInstances",
      "ec2:StopInstances",
      "ec2:StartInstances",
      "ec2:RebootInstances",
      "ec2:ModifyInstanceAttribute",
      "ec2:ModifyInstanceMetadataOptions",
      // The host key a new instance prints to its console at first boot, which its Docker host pins.
      "ec2:GetConsoleOutput",
      // Delete, Authorize*, Revoke*, ModifySecurityGroupRules, UpdateSecurityGroupRuleDescriptions*: one
      // pattern, as IAM's 6,144 characters for the boundary leave no room for the eight names.
      "ec2:*SecurityGroup*",
      "ec2:DeleteKeyPair",
      "ec2:CreateTags",
      "ec2:DeleteTags",
    ],
    destroy: [
      "ec2:TerminateInstances",
      "ec2:DeleteSecurityGroup",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:DeleteKeyPair",
    ],
  },
} as const;

/** The pipeline's Pulumi state: its key prefix of the state bucket, and nothing else of it. */
function stateStatements({ partition, state }: PipelineScope): Statement[] {
  const bucket = `arn:${partition}:s3:::${state.bucket}`;
  return [
    {
      Sid: "ListOwnState",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucket,
      Condition: { StringLike: { "s3:prefix": [`${state.prefix}/*`] } },
    },
    {
      Sid: "ReadWriteOwnState",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      Resource: `${bucket}/${state.prefix}/*`,
    },
  ];
}

/** ARNs of the pipeline's resources of one type, by name prefix (`arn:...:table/pv-*`). */
function named(scope: PipelineScope, service: string, type: string, regional = true): string[] {
  const { partition, account, region } = scope;
  return scope.namePrefixes.map(
    (prefix) => `arn:${partition}:${service}:${regional ? region : ""}:${account}:${type}/${prefix}*`,
  );
}

/** EC2 resources tagged as the pipeline's, on creation (`aws:RequestTag`) or since (`aws:ResourceTag`). */
function taggedAs(
  scope: PipelineScope,
  key: "aws:RequestTag" | "aws:ResourceTag" | "ssm:resourceTag",
): Condition {
  return { StringLike: { [`${key}/stack`]: scope.stackTags } };
}

/** Opening an SSH tunnel through SSM to the pipeline's hosts: Docker reaches them that way, also to destroy. */
function sessionStatements(scope: PipelineScope): Statement[] {
  const { partition, account, region } = scope;
  return [
    {
      Sid: "SessionsToOwnHosts",
      Effect: "Allow",
      Action: "ssm:StartSession",
      Resource: `arn:${partition}:ec2:${region}:${account}:instance/*`,
      Condition: taggedAs(scope, "ssm:resourceTag"),
    },
    {
      Sid: "SshSessionDocument",
      Effect: "Allow",
      Action: "ssm:StartSession",
      Resource: `arn:${partition}:ssm:${region}::document/AWS-StartSSHSession`,
    },
    {
      Sid: "EndOwnSessions",
      Effect: "Allow",
      Action: ["ssm:TerminateSession", "ssm:ResumeSession"],
      Resource: `arn:${partition}:ssm:${region}:${account}:session/\${aws:userid}-*`,
    },
  ];
}

/** What a pipeline may create and change on EC2: only resources it tags as its own, in its region. */
function ec2Statements(scope: PipelineScope, access: PipelineAccess): Statement[] {
  const { partition, account, region } = scope;
  const ec2 = (type: string) => `arn:${partition}:ec2:${region}:${account}:${type}/*`;
  const read: Statement = { Sid: "ReadEc2", Effect: "Allow", Action: "ec2:Describe*", Resource: "*" };
  const changeOwn: Statement = {
    Sid: "ChangeOwnEc2",
    Effect: "Allow",
    Action: [...ACTIONS.ec2Tagged[access]],
    Resource: `arn:${partition}:ec2:${region}:${account}:*`,
    Condition: taggedAs(scope, "aws:ResourceTag"),
  };
  if (access === "destroy") return [read, changeOwn];
  return [
    read,
    changeOwn,
    {
      Sid: "LaunchOwnInstances",
      Effect: "Allow",
      Action: "ec2:RunInstances",
      Resource: ec2("instance"),
      Condition: taggedAs(scope, "aws:RequestTag"),
    },
    {
      // Apart from RunInstances, which the request's tags must not open to another stack's group or key.
      Sid: "CreateOwnGroupsAndKeys",
      Effect: "Allow",
      Action: ["ec2:CreateSecurityGroup", "ec2:ImportKeyPair"],
      Resource: [ec2("security-group"), ec2("key-pair")],
      Condition: taggedAs(scope, "aws:RequestTag"),
    },
    {
      Sid: "TagOnCreate",
      Effect: "Allow",
      Action: "ec2:CreateTags",
      Resource: `arn:${partition}:ec2:${region}:${account}:*`,
      Condition: {
        StringEquals: { "ec2:CreateAction": ["RunInstances", "CreateSecurityGroup", "ImportKeyPair"] },
      },
    },
    {
      // RunInstances also names the AMI, the subnet and the volume and interface it creates with the instance;
      // CreateSecurityGroup names the VPC.
      Sid: "LaunchInto",
      Effect: "Allow",
      Action: ["ec2:RunInstances", "ec2:CreateSecurityGroup"],
      Resource: [
        `arn:${partition}:ec2:${region}::image/*`,
        ec2("subnet"),
        ec2("network-interface"),
        ec2("volume"),
        ec2("vpc"),
      ],
    },
    {
      Sid: "LaunchWithOwnGroupAndKey",
      Effect: "Allow",
      Action: "ec2:RunInstances",
      Resource: [ec2("security-group"), ec2("key-pair")],
      Condition: taggedAs(scope, "aws:ResourceTag"),
    },
    {
      Sid: "ReadAmiParameter",
      Effect: "Allow",
      Action: ["ssm:GetParameter", "ssm:GetParameters"],
      Resource: `arn:${partition}:ssm:${region}::parameter/aws/service/ami-amazon-linux-latest/*`,
    },
  ];
}

/** `arn:...:user/pv-*`: the users the pipeline may create, or none. */
function ownUsers({ partition, account, userNamePrefix }: PipelineScope): string[] {
  return userNamePrefix === undefined ? [] : [`arn:${partition}:iam::${account}:user/${userNamePrefix}*`];
}

/**
 * The pipeline's own users (each preview's identity): created only with its boundary, which no write may take
 * away or change (the boundary denies DeleteUserPermissionsBoundary); no managed policy is ever attached.
 */
function userStatements(scope: PipelineScope, access: PipelineAccess): Statement[] {
  const users = ownUsers(scope);
  if (users.length === 0) return [];
  return [
    { Sid: "OwnUsers", Effect: "Allow", Action: [...ACTIONS.iamUser[access]], Resource: users },
    {
      Sid: "OwnUsersWithBoundary",
      Effect: "Allow",
      Action: [...BOUNDED_USER_WRITES[access]],
      Resource: users,
      Condition: { StringEquals: { "iam:PermissionsBoundary": scope.boundaryArn } },
    },
  ];
}

/** IAM on the pipeline's own roles and instance profiles; every role write names a role with its boundary. */
function iamStatements(scope: PipelineScope, access: PipelineAccess): Statement[] {
  const roles = named(scope, "iam", "role", false);
  const profiles = named(scope, "iam", "instance-profile", false);
  const withBoundary = { "iam:PermissionsBoundary": scope.boundaryArn };
  const statements: Statement[] = [
    { Sid: "OwnRoles", Effect: "Allow", Action: [...ACTIONS.iam[access]], Resource: [...roles, ...profiles] },
    {
      Sid: "OwnRolesWithBoundary",
      Effect: "Allow",
      Action: [...BOUNDED_ROLE_WRITES[access]],
      Resource: roles,
      Condition: { StringEquals: withBoundary },
    },
  ];
  if (access === "destroy") return statements;
  return [
    ...statements,
    {
      Sid: "AttachSsmCoreOnly",
      Effect: "Allow",
      Action: "iam:AttachRolePolicy",
      Resource: roles,
      Condition: {
        StringEquals: withBoundary,
        ArnEquals: { "iam:PolicyARN": `arn:${scope.partition}:iam::aws:policy/${SSM_CORE_POLICY}` },
      },
    },
    {
      Sid: "PassOwnRolesToEc2",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: roles,
      Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
    },
  ];
}

/** The pipeline's image repositories (and, to deploy, the registry login, which has no resource). */
function ecrStatements(scope: PipelineScope, access: PipelineAccess): Statement[] {
  const own: Statement = {
    Sid: "OwnRepositories",
    Effect: "Allow",
    Action: [...ACTIONS.ecr[access]],
    Resource: named(scope, "ecr", "repository"),
  };
  if (access === "destroy") return [own];
  return [{ Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" }, own];
}

/**
 * What a pipeline's role may do: its state, and on its own resources only (by name prefix or `stack` tag) the
 * tables, repositories, EC2 hosts and instance roles its stacks declare; the hosts' SSM sessions.
 */
export function pipelinePolicy(scope: PipelineScope, access: PipelineAccess): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      ...stateStatements(scope),
      {
        Sid: "OwnTables",
        Effect: "Allow",
        Action: [...ACTIONS.dynamodb[access]],
        Resource: named(scope, "dynamodb", "table"),
      },
      ...ecrStatements(scope, access),
      ...ec2Statements(scope, access),
      ...iamStatements(scope, access),
      ...userStatements(scope, access),
      ...sessionStatements(scope),
    ],
  };
}

/**
 * The permissions boundary of a pipeline: the most that its role, and every role and user it creates (a
 * host's instance role, a preview's identity), can ever do, whatever policies they carry. It allows what the
 * pipeline deploys and what runs under it needs (its apps' items, SSM's agent); it denies IAM on anything but
 * the pipeline's own roles, profiles and users (so also on the boundary itself and on the CI roles), any
 * write on a role or user without this boundary, and taking a boundary away. IAM caps a managed policy at 6,144
 * characters, hence a ceiling coarser than the role's own policy (the role's policy holds the finer
 * conditions), and no Sids.
 */
export function pipelineBoundaryPolicy(scope: PipelineScope): PolicyDocument {
  const roles = named(scope, "iam", "role", false);
  const users = ownUsers(scope);
  const rolesAndProfiles = [...roles, ...named(scope, "iam", "instance-profile", false)];
  const ownIam = [...rolesAndProfiles, ...users];
  const boundaryWrites = [...BOUNDED_ROLE_WRITES.deploy, "iam:AttachRolePolicy"];
  const userWrites = users.length === 0 ? [] : [...BOUNDED_USER_WRITES.deploy];
  // Two patterns rather than the seventeen names, for the 6,144 characters; the denials below still apply.
  const ownUsersAllowed: Statement[] =
    users.length === 0
      ? []
      : [{ Effect: "Allow", Action: ["iam:*User*", "iam:*AccessKey*"], Resource: users }];
  const statements: Statement[] = [
    ...stateStatements(scope),
    {
      Effect: "Allow",
      Action: [...ACTIONS.dynamodb.deploy, ...APP_DATA_ACTIONS],
      Resource: named(scope, "dynamodb", "table").flatMap((table) => [table, `${table}/index/*`]),
    },
    ...ecrStatements(scope, "deploy"),
    ...ec2Statements(scope, "deploy"),
    ...sessionStatements(scope),
    {
      Effect: "Allow",
      Action: [...ACTIONS.iam.deploy, ...boundaryWrites, "iam:PassRole"],
      Resource: rolesAndProfiles,
    },
    ...ownUsersAllowed,
    {
      // What the SSM agent on a host needs for Session Manager; no ssm:GetParameter* on the account's parameters.
      // `*Channel` is exactly ssmmessages' Create/Open Control/Data Channel, `*Message*` ec2messages'
      // Acknowledge/Delete/Fail Message and GetMessages: patterns for the 6,144 characters, no wider.
      Effect: "Allow",
      Action: [
        "ssm:UpdateInstanceInformation",
        "ssmmessages:*Channel",
        "ec2messages:*Message*",
        "ec2messages:GetEndpoint",
        "ec2messages:SendReply",
      ],
      Resource: "*",
    },
    { Effect: "Deny", Action: "iam:*", NotResource: ownIam },
    {
      Effect: "Deny",
      Action: [...boundaryWrites, ...userWrites],
      Resource: [...roles, ...users],
      Condition: { StringNotEquals: { "iam:PermissionsBoundary": scope.boundaryArn } },
    },
    // Of a role or a user: one pattern, for the 6,144 characters.
    { Effect: "Deny", Action: "iam:Delete*PermissionsBoundary", Resource: "*" },
  ];
  return { Version: "2012-10-17", Statement: statements.map(({ Sid: _sid, ...statement }) => statement) };
}
