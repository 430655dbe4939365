/**
 * The real program under mocks for the ci-identity stack (Pulumi.ci-identity.yaml and the values
 * docs/github-actions.md asks for): who each role trusts, read from the trust policies the mocks see; and what
 * each role may do, by evaluating the policy documents the mocks see (each role's own policy within its
 * permissions boundary) with @cloud-copilot/iam-simulate, which implements IAM's evaluation logic and knows
 * AWS's actions, so that a misspelt action fails too. Then the policy pack over the same resources.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { beforeAll, describe, expect, it } from "vitest";
import { appDataPolicy } from "../../aws/iam-policies.js";
import { previewNames } from "../../cli/preview/naming.js";
import { CI_IAM_PATH } from "../../components/ci-identity.js";
import { iamGithubTrustPinned, policies } from "../../policy/policies.js";
import { analyze, check } from "../helpers/policy.js";
import { AWS_HOST, hostConfig, previewConfig } from "../helpers/preview-stacks.js";
import { CI_IDENTITY_USER_VALUES, type ProgramRun, runProgram, USER_VALUES } from "../helpers/pulumi.js";

const ACCOUNT = "123456789012";
const REPOSITORY = "octo-org/activity-stack";
const BUCKET = "octo-pulumi-state";
const OIDC_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const TYPES = {
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  oidcProvider: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
} as const;

/** What the test stack and a preview own, as the program names them (defaults: namePrefix activity). */
const TEST_TABLE = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/activity-table-4f2a9c1`;
const PREVIEW_TABLE = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/pv-feature-x-1a2b3c4d-table-4f2a9c1`;
const TEST_REPOSITORY = `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/activity-repo-7d3e0b2`;
const PREVIEW_REPOSITORY = `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/pv-feature-x-1a2b3c4d-repo-7d3e0b2`;
const TEST_HOST_ROLE = `arn:aws:iam::${ACCOUNT}:role/activity-host-role-5e6f7a8`;
const PREVIEW_HOST_ROLE = `arn:aws:iam::${ACCOUNT}:role/previews-host-role-5e6f7a8`;
/** A preview's own identity (TableIdentity: a user named the preview's prefix). */
const PREVIEW_USER = `arn:aws:iam::${ACCOUNT}:user/pv-x`;
const INSTANCE = `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0abc`;
const stateObject = (prefix: string, stack: string) =>
  `arn:aws:s3:::${BUCKET}/${prefix}/.pulumi/stacks/activity-api/${stack}.json`;

interface Document {
  Statement: object[];
}
interface RoleUnderTest {
  arn: string;
  trust: Document;
  policy: Document;
  boundary: Document;
}

let run: ProgramRun;
let roles: Record<"preview" | "test-deploy" | "prune", RoleUnderTest>;
let boundaryArns: Record<"previews" | "test", string>;

const parse = (value: unknown) => JSON.parse(String(value)) as Document;

beforeAll(async () => {
  run = await runProgram("ci-identity", CI_IDENTITY_USER_VALUES);
  const boundaries = Object.fromEntries(
    run.ofType(TYPES.policy).map((policy) => [`${policy.name}-id`, policy]),
  );
  const roleOf = (name: "preview" | "test-deploy" | "prune"): RoleUnderTest => {
    const role = run.named(TYPES.role, `activity-${name}`);
    const boundaryName = String(role.inputs.permissionsBoundary).split("/").pop() ?? "";
    const boundary = run.named(TYPES.policy, boundaryName);
    return {
      arn: `arn:aws:iam::${ACCOUNT}:role${CI_IAM_PATH}activity-${name}-5e6f7a8`,
      trust: parse(role.inputs.assumeRolePolicy),
      policy: parse(run.named(TYPES.rolePolicy, `activity-${name}-policy`).inputs.policy),
      boundary: parse(boundary.inputs.policy),
    };
  };
  expect(Object.keys(boundaries)).toHaveLength(2);
  roles = { preview: roleOf("preview"), "test-deploy": roleOf("test-deploy"), prune: roleOf("prune") };
  boundaryArns = {
    previews: `arn:aws:iam::${ACCOUNT}:policy${CI_IAM_PATH}activity-previews-boundary`,
    test: `arn:aws:iam::${ACCOUNT}:policy${CI_IAM_PATH}activity-test-boundary`,
  };
});

/** IAM's decision on one request by `role` (its policy within its boundary), or the simulator's errors. */
async function decide(
  role: RoleUnderTest,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: role.arn,
        action,
        resource: { resource, accountId: ACCOUNT },
        contextVariables: context,
      },
      identityPolicies: [{ name: "own", policy: role.policy }],
      permissionBoundaryPolicies: [{ name: "boundary", policy: role.boundary }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  return result.resultType === "error" ? `error: ${JSON.stringify(result.errors)}` : result.overallResult;
}

describe("the ci-identity stack: who each role trusts", () => {
  it("creates GitHub's OIDC provider for sts.amazonaws.com, with no thumbprint to go stale", () => {
    expect(run.named(TYPES.oidcProvider, "activity-github-oidc").inputs).toMatchObject({
      url: "https://token.actions.githubusercontent.com",
      clientIdLists: ["sts.amazonaws.com"],
    });
  });

  it.each([
    ["preview", `repo:${REPOSITORY}:pull_request`],
    ["test-deploy", `repo:${REPOSITORY}:environment:test`],
    ["prune", `repo:${REPOSITORY}:ref:refs/heads/main`],
  ] as const)("the %s role trusts only %s, with StringEquals on sub and aud", (name, subject) => {
    expect(roles[name].trust.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Federated: OIDC_PROVIDER },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": subject,
          },
        },
      },
    ]);
  });

  it("exports each role's ARN, for the workflows' variables, and the boundaries, for the stacks' config", () => {
    expect(run.outputs).toEqual({
      previewRoleArn: roles.preview.arn,
      testDeployRoleArn: roles["test-deploy"].arn,
      pruneRoleArn: roles.prune.arn,
      previewBoundaryArn: boundaryArns.previews,
      testBoundaryArn: boundaryArns.test,
      oidcProviderArn: OIDC_PROVIDER,
    });
  });

  it("gives each role its pipeline's boundary, and keeps roles and boundaries under their own IAM path", () => {
    const boundaryOf = (name: string) => run.named(TYPES.role, `activity-${name}`).inputs.permissionsBoundary;
    expect(boundaryOf("preview")).toBe(boundaryArns.previews);
    expect(boundaryOf("prune")).toBe(boundaryArns.previews);
    expect(boundaryOf("test-deploy")).toBe(boundaryArns.test);
    for (const resource of [...run.ofType(TYPES.role), ...run.ofType(TYPES.policy)]) {
      expect(resource.inputs.path).toBe(CI_IAM_PATH);
    }
  });

  it("takes an existing OIDC provider instead of creating a second one", async () => {
    const existing = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
    const withProvider = await runProgram("ci-identity", {
      ...CI_IDENTITY_USER_VALUES,
      "activity-api:oidcProviderArn": existing,
    });
    expect(withProvider.ofType(TYPES.oidcProvider)).toEqual([]);
    expect(withProvider.outputs.oidcProviderArn).toBe(existing);
  });

  it("keeps each document within IAM's quotas (managed policy 6,144 characters, inline 10,240), with the longest names", async () => {
    const longest = await runProgram("ci-identity", {
      ...CI_IDENTITY_USER_VALUES,
      "activity-api:namePrefix": `a${"b".repeat(30)}c`,
      "activity-api:stateBucket": `s${"3".repeat(61)}b`,
      "aws:region": "ap-southeast-3",
    });
    const size = (value: unknown) => String(value).replace(/\s/g, "").length;
    const boundaries = longest.ofType(TYPES.policy).map((policy) => size(policy.inputs.policy));
    const inline = longest.ofType(TYPES.rolePolicy).map((policy) => size(policy.inputs.policy));
    expect(boundaries).toHaveLength(2);
    expect(Math.max(...boundaries)).toBeLessThanOrEqual(6144);
    expect(Math.max(...inline)).toBeLessThanOrEqual(10240);
  });
});

describe("the preview role: only what previews own", () => {
  const allowed = (action: string, resource: string, context?: Record<string, string | string[]>) =>
    decide(roles.preview, action, resource, context);

  it("deploys a preview: its table, its repository, the host's role with the boundary, its tagged host", async () => {
    expect(await allowed("dynamodb:CreateTable", PREVIEW_TABLE)).toBe("Allowed");
    expect(await allowed("ecr:PutImage", PREVIEW_REPOSITORY)).toBe("Allowed");
    expect(
      await allowed("iam:CreateRole", PREVIEW_HOST_ROLE, {
        "iam:PermissionsBoundary": boundaryArns.previews,
      }),
    ).toBe("Allowed");
    expect(
      await allowed("iam:PassRole", PREVIEW_HOST_ROLE, { "iam:PassedToService": "ec2.amazonaws.com" }),
    ).toBe("Allowed");
    expect(await allowed("ec2:RunInstances", INSTANCE, { "aws:RequestTag/stack": "previews-aws" })).toBe(
      "Allowed",
    );
    expect(
      await allowed("ec2:TerminateInstances", INSTANCE, { "aws:ResourceTag/stack": "preview-feature-x" }),
    ).toBe("Allowed");
    // The host key the preview host's instance printed at first boot, which its Docker provider pins.
    expect(await allowed("ec2:GetConsoleOutput", INSTANCE, { "aws:ResourceTag/stack": "previews-aws" })).toBe(
      "Allowed",
    );
  });

  it("reads and writes the previews' state, and none of the test stack's", async () => {
    expect(await allowed("s3:PutObject", stateObject("previews", "preview-feature-x"))).toBe("Allowed");
    expect(
      await allowed("s3:ListBucket", `arn:aws:s3:::${BUCKET}`, { "s3:prefix": "previews/.pulumi/" }),
    ).toBe("Allowed");
    for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]) {
      expect(await allowed(action, stateObject("test", "test"))).toBe("ImplicitlyDenied");
    }
    expect(await allowed("s3:ListBucket", `arn:aws:s3:::${BUCKET}`, { "s3:prefix": "test/.pulumi/" })).toBe(
      "ImplicitlyDenied",
    );
  });

  it("cannot touch the test stack's table, image repository, host role or instance", async () => {
    for (const action of [
      "dynamodb:DeleteTable",
      "dynamodb:GetItem",
      "dynamodb:Scan",
      "dynamodb:UpdateTable",
    ]) {
      expect(await allowed(action, TEST_TABLE)).toBe("ImplicitlyDenied");
    }
    for (const action of ["ecr:BatchGetImage", "ecr:PutImage", "ecr:DeleteRepository"]) {
      expect(await allowed(action, TEST_REPOSITORY)).toBe("ImplicitlyDenied");
    }
    for (const action of ["iam:PutRolePolicy", "iam:DeleteRole", "iam:PassRole"]) {
      expect(
        await allowed(action, TEST_HOST_ROLE, {
          "iam:PermissionsBoundary": boundaryArns.previews,
          "iam:PassedToService": "ec2.amazonaws.com",
        }),
      ).not.toBe("Allowed");
    }
    for (const action of ["ec2:TerminateInstances", "ec2:ModifyInstanceAttribute", "ec2:CreateTags"]) {
      expect(await allowed(action, INSTANCE, { "aws:ResourceTag/stack": "test" })).toBe("ImplicitlyDenied");
    }
    expect(await allowed("ssm:StartSession", INSTANCE, { "ssm:resourceTag/stack": "test" })).toBe(
      "ImplicitlyDenied",
    );
    // Nor launch its own host into the test host's security group or with the test host's key.
    for (const resource of [
      `arn:aws:ec2:eu-west-1:${ACCOUNT}:security-group/sg-0test`,
      `arn:aws:ec2:eu-west-1:${ACCOUNT}:key-pair/key-0test`,
    ]) {
      expect(
        await allowed("ec2:RunInstances", resource, {
          "aws:RequestTag/stack": "previews-aws",
          "aws:ResourceTag/stack": "test",
        }),
      ).toBe("ImplicitlyDenied");
    }
  });

  it("cannot create or change a role without the boundary, nor any IAM beyond its prefix", async () => {
    const withoutBoundary = { "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess" };
    expect(await allowed("iam:CreateRole", PREVIEW_HOST_ROLE)).toBe("ExplicitlyDenied");
    expect(await allowed("iam:CreateRole", PREVIEW_HOST_ROLE, withoutBoundary)).toBe("ExplicitlyDenied");
    expect(await allowed("iam:PutRolePolicy", PREVIEW_HOST_ROLE, withoutBoundary)).toBe("ExplicitlyDenied");
    expect(
      await allowed("iam:AttachRolePolicy", PREVIEW_HOST_ROLE, {
        "iam:PermissionsBoundary": boundaryArns.previews,
        "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess",
      }),
    ).toBe("ImplicitlyDenied");
    expect(await allowed("iam:DeleteRolePermissionsBoundary", PREVIEW_HOST_ROLE)).toBe("ExplicitlyDenied");
    // Its own role, the other pipelines' roles, the boundaries, other users: all outside its prefix.
    for (const [action, resource] of [
      ["iam:UpdateAssumeRolePolicy", roles.preview.arn],
      ["iam:PutRolePolicy", roles["test-deploy"].arn],
      ["iam:CreatePolicyVersion", boundaryArns.previews],
      ["iam:CreateUser", `arn:aws:iam::${ACCOUNT}:user/other-user`],
      ["iam:CreateAccessKey", `arn:aws:iam::${ACCOUNT}:user/admin`],
    ] as const) {
      expect(await allowed(action, resource, { "iam:PermissionsBoundary": boundaryArns.previews })).toBe(
        "ExplicitlyDenied",
      );
    }
  });

  it("bounds the roles it creates: a host role reads no SSM parameter of the account, whatever it attaches", async () => {
    const hostRole: RoleUnderTest = {
      ...roles.preview,
      arn: PREVIEW_HOST_ROLE,
      // AmazonSSMManagedInstanceCore's grant that issue 17 found: ssm:GetParameter* on every parameter.
      policy: {
        Statement: [{ Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters"], Resource: "*" }],
      },
    };
    const parameter = `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/prod/database-password`;
    expect(await decide(hostRole, "ssm:GetParameter", parameter)).toBe("ImplicitlyDenied");
    // What its SSM agent needs still passes the boundary (its actions are named there by pattern).
    const agent: RoleUnderTest = {
      ...hostRole,
      policy: { Statement: [{ Effect: "Allow", Action: ["ssmmessages:*", "ec2messages:*"], Resource: "*" }] },
    };
    for (const action of [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:OpenDataChannel",
      "ec2messages:AcknowledgeMessage",
      "ec2messages:GetMessages",
      "ec2messages:GetEndpoint",
      "ec2messages:SendReply",
    ]) {
      expect(await decide(agent, action, "*")).toBe("Allowed");
    }
  });
});

describe("the preview role and the previews' identities: users pv-* under its own boundary only", () => {
  const allowed = (action: string, resource: string, context?: Record<string, string | string[]>) =>
    decide(roles.preview, action, resource, context);
  const bounded = () => ({ "iam:PermissionsBoundary": boundaryArns.previews });

  it("creates and manages a preview's user with its boundary: the inline policy, a key, tags, reads, delete", async () => {
    expect(await allowed("iam:CreateUser", PREVIEW_USER, bounded())).toBe("Allowed");
    expect(await allowed("iam:PutUserPolicy", PREVIEW_USER, bounded())).toBe("Allowed");
    expect(await allowed("iam:DeleteUserPolicy", PREVIEW_USER, bounded())).toBe("Allowed");
    expect(await allowed("iam:PutUserPermissionsBoundary", PREVIEW_USER, bounded())).toBe("Allowed");
    for (const action of [
      "iam:GetUser",
      "iam:TagUser",
      "iam:CreateAccessKey",
      "iam:ListAccessKeys",
      "iam:DeleteAccessKey",
      "iam:ListGroupsForUser",
      "iam:DeleteUser",
    ]) {
      expect(await allowed(action, PREVIEW_USER)).toBe("Allowed");
    }
  });

  it("creates no user without its boundary, or with another, and no user outside pv-*", async () => {
    expect(await allowed("iam:CreateUser", PREVIEW_USER)).toBe("ExplicitlyDenied");
    for (const other of ["arn:aws:iam::aws:policy/AdministratorAccess", boundaryArns.test]) {
      const context = { "iam:PermissionsBoundary": other };
      expect(await allowed("iam:CreateUser", PREVIEW_USER, context)).toBe("ExplicitlyDenied");
      expect(await allowed("iam:PutUserPolicy", PREVIEW_USER, context)).toBe("ExplicitlyDenied");
      expect(await allowed("iam:PutUserPermissionsBoundary", PREVIEW_USER, context)).toBe("ExplicitlyDenied");
    }
    const otherUser = `arn:aws:iam::${ACCOUNT}:user/other-user`;
    for (const action of ["iam:CreateUser", "iam:PutUserPolicy", "iam:CreateAccessKey", "iam:DeleteUser"]) {
      expect(await allowed(action, otherUser, bounded())).toBe("ExplicitlyDenied");
    }
  });

  it("cannot take a user's boundary away, attach it a managed policy, or change or delete its own boundary", async () => {
    expect(await allowed("iam:DeleteUserPermissionsBoundary", PREVIEW_USER, bounded())).toBe(
      "ExplicitlyDenied",
    );
    expect(
      await allowed("iam:AttachUserPolicy", PREVIEW_USER, {
        ...bounded(),
        "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess",
      }),
    ).not.toBe("Allowed");
    for (const action of [
      "iam:CreatePolicyVersion",
      "iam:SetDefaultPolicyVersion",
      "iam:DeletePolicyVersion",
      "iam:DeletePolicy",
    ]) {
      expect(await allowed(action, boundaryArns.previews)).toBe("ExplicitlyDenied");
    }
    for (const action of ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"]) {
      expect(await allowed(action, roles.preview.arn, bounded())).toBe("ExplicitlyDenied");
    }
  });

  it("caps a preview's user by the boundary: a widened inline policy still reaches no test table and no SSM parameter", async () => {
    const previewUser = (policy: Document): RoleUnderTest => ({
      ...roles.preview,
      arn: PREVIEW_USER,
      policy,
    });
    // What TableIdentity grants: its own table's items, which the boundary allows.
    const own = previewUser(appDataPolicy(PREVIEW_TABLE));
    expect(await decide(own, "dynamodb:GetItem", PREVIEW_TABLE)).toBe("Allowed");
    expect(await decide(own, "dynamodb:PutItem", `${PREVIEW_TABLE}/index/byUser`)).toBe("Allowed");
    // An inline policy widened to the test stack's table and every SSM parameter gets neither.
    const widened = previewUser({
      Statement: [
        { Effect: "Allow", Action: ["dynamodb:*"], Resource: [TEST_TABLE, `${TEST_TABLE}/index/*`] },
        { Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters"], Resource: "*" },
      ],
    });
    for (const action of ["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:DeleteTable"]) {
      expect(await decide(widened, action, TEST_TABLE)).toBe("ImplicitlyDenied");
    }
    const parameter = `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/prod/database-password`;
    expect(await decide(widened, "ssm:GetParameter", parameter)).toBe("ImplicitlyDenied");
  });
});

describe("the prune role: list and destroy previews only", () => {
  const allowed = (action: string, resource: string, context?: Record<string, string | string[]>) =>
    decide(roles.prune, action, resource, context);

  it("destroys a preview's table, repository and tagged host, and its state", async () => {
    expect(await allowed("dynamodb:DeleteTable", PREVIEW_TABLE)).toBe("Allowed");
    expect(await allowed("ecr:DeleteRepository", PREVIEW_REPOSITORY)).toBe("Allowed");
    expect(
      await allowed("ec2:TerminateInstances", INSTANCE, { "aws:ResourceTag/stack": "previews-aws" }),
    ).toBe("Allowed");
    expect(await allowed("s3:DeleteObject", stateObject("previews", "preview-feature-x"))).toBe("Allowed");
    for (const action of ["iam:DeleteAccessKey", "iam:DeleteUser"]) {
      expect(await allowed(action, PREVIEW_USER)).toBe("Allowed");
    }
    expect(
      await allowed("iam:DeleteUserPolicy", PREVIEW_USER, {
        "iam:PermissionsBoundary": boundaryArns.previews,
      }),
    ).toBe("Allowed");
  });

  it("creates nothing, and touches nothing of the test stack", async () => {
    expect(await allowed("dynamodb:CreateTable", PREVIEW_TABLE)).toBe("ImplicitlyDenied");
    expect(await allowed("ecr:PutImage", PREVIEW_REPOSITORY)).toBe("ImplicitlyDenied");
    expect(
      await allowed("iam:CreateRole", PREVIEW_HOST_ROLE, {
        "iam:PermissionsBoundary": boundaryArns.previews,
      }),
    ).toBe("ImplicitlyDenied");
    expect(await allowed("ec2:RunInstances", INSTANCE, { "aws:RequestTag/stack": "previews-aws" })).toBe(
      "ImplicitlyDenied",
    );
    expect(await allowed("dynamodb:DeleteTable", TEST_TABLE)).toBe("ImplicitlyDenied");
    expect(await allowed("s3:GetObject", stateObject("test", "test"))).toBe("ImplicitlyDenied");
    for (const action of ["iam:CreateUser", "iam:PutUserPolicy", "iam:CreateAccessKey"]) {
      expect(await allowed(action, PREVIEW_USER, { "iam:PermissionsBoundary": boundaryArns.previews })).toBe(
        "ImplicitlyDenied",
      );
    }
  });
});

describe("the test-deploy role: the test stack only", () => {
  const allowed = (action: string, resource: string, context?: Record<string, string | string[]>) =>
    decide(roles["test-deploy"], action, resource, context);

  it("deploys the test stack and writes its state", async () => {
    expect(await allowed("dynamodb:UpdateTable", TEST_TABLE)).toBe("Allowed");
    expect(await allowed("ecr:PutImage", TEST_REPOSITORY)).toBe("Allowed");
    expect(
      await allowed("iam:CreateRole", TEST_HOST_ROLE, { "iam:PermissionsBoundary": boundaryArns.test }),
    ).toBe("Allowed");
    expect(await allowed("s3:PutObject", stateObject("test", "test"))).toBe("Allowed");
    expect(await allowed("ec2:GetConsoleOutput", INSTANCE, { "aws:ResourceTag/stack": "test" })).toBe(
      "Allowed",
    );
    // Another pipeline's host's console is not the test stack's to read.
    expect(await allowed("ec2:GetConsoleOutput", INSTANCE, { "aws:ResourceTag/stack": "previews-aws" })).toBe(
      "ImplicitlyDenied",
    );
  });

  it("touches no preview, no preview's state, and creates no user", async () => {
    expect(await allowed("dynamodb:DeleteTable", PREVIEW_TABLE)).toBe("ImplicitlyDenied");
    for (const user of [PREVIEW_USER, `arn:aws:iam::${ACCOUNT}:user/activity-user`]) {
      expect(await allowed("iam:CreateUser", user, { "iam:PermissionsBoundary": boundaryArns.test })).toBe(
        "ExplicitlyDenied",
      );
    }
    expect(await allowed("s3:GetObject", stateObject("previews", "previews-aws"))).toBe("ImplicitlyDenied");
    expect(
      await allowed("ec2:TerminateInstances", INSTANCE, { "aws:ResourceTag/stack": "previews-aws" }),
    ).toBe("ImplicitlyDenied");
  });
});

describe("the stacks the pipelines deploy, under the roles that deploy them", () => {
  /** IAM's decision on creating the host role `stack` declares, by `role`, with the boundary it declares. */
  async function createHostRole(role: RoleUnderTest, stack: ProgramRun, hostRole: string) {
    const declared = stack.named(
      TYPES.role,
      hostRole
        .split("/")
        .pop()
        ?.replace(/-5e6f7a8$/, "") ?? "",
    );
    const boundary = declared.inputs.permissionsBoundary;
    return decide(
      role,
      "iam:CreateRole",
      hostRole,
      boundary === undefined ? {} : { "iam:PermissionsBoundary": String(boundary) },
    );
  }

  it("the test-deploy role creates the test host's role once Pulumi.test.yaml names its boundary", async () => {
    const bounded = await runProgram("test", {
      ...USER_VALUES,
      "activity-api:permissionsBoundary": boundaryArns.test,
    });
    expect(await createHostRole(roles["test-deploy"], bounded, TEST_HOST_ROLE)).toBe("Allowed");
    const unbounded = await runProgram("test", USER_VALUES);
    expect(await createHostRole(roles["test-deploy"], unbounded, TEST_HOST_ROLE)).toBe("ExplicitlyDenied");
  });

  it("the preview role creates the preview host's role with the boundary npm run preview sets, never another", async () => {
    const bounded = await runProgram("previews-aws", hostConfig("ec2"));
    expect(bounded.named(TYPES.role, "previews-host-role").inputs.permissionsBoundary).toBe(
      boundaryArns.previews,
    );
    expect(await createHostRole(roles.preview, bounded, PREVIEW_HOST_ROLE)).toBe("Allowed");
    // Not with the test pipeline's boundary; and without one the host stack is refused before any resource.
    const withTestBoundary = await runProgram("previews-aws", {
      ...hostConfig("ec2"),
      "activity-api:permissionsBoundary": boundaryArns.test,
    });
    expect(await createHostRole(roles.preview, withTestBoundary, PREVIEW_HOST_ROLE)).toBe("ExplicitlyDenied");
  });

  it("the preview role creates each preview's identity as the preview stack declares it, under the host's boundary", async () => {
    const preview = await runProgram(
      previewNames("feature/x").stackName,
      previewConfig("feature/x", "ec2"),
      AWS_HOST,
    );
    const [user] = preview.ofType("aws:iam/user:User");
    const [policy] = preview.ofType("aws:iam/userPolicy:UserPolicy");
    const userArn = `arn:aws:iam::${ACCOUNT}:user/${String(user?.inputs.name)}`;
    const declaredBoundary = { "iam:PermissionsBoundary": String(user?.inputs.permissionsBoundary) };
    expect(declaredBoundary["iam:PermissionsBoundary"]).toBe(boundaryArns.previews);
    expect(await decide(roles.preview, "iam:CreateUser", userArn, declaredBoundary)).toBe("Allowed");
    expect(await decide(roles.preview, "iam:PutUserPolicy", userArn, declaredBoundary)).toBe("Allowed");
    expect(await decide(roles.preview, "iam:CreateAccessKey", userArn)).toBe("Allowed");
    // The identity, under that boundary, reaches its own table only.
    const identity: RoleUnderTest = { ...roles.preview, arn: userArn, policy: parse(policy?.inputs.policy) };
    const ownTable = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/${String(user?.inputs.name)}-table-4f2a9c1`;
    expect(await decide(identity, "dynamodb:PutItem", ownTable)).toBe("Allowed");
    expect(await decide(identity, "dynamodb:GetItem", PREVIEW_TABLE)).toBe("ImplicitlyDenied");
    expect(await decide(identity, "dynamodb:GetItem", TEST_TABLE)).toBe("ImplicitlyDenied");
  });
});

describe("the policy pack over the ci-identity stack", () => {
  it("finds no violation, mandatory or advisory", async () => {
    expect(await analyze(policies, run.registrations)).toEqual([]);
  });

  it("iam-github-trust-pinned fails a role that trusts GitHub without a sub, or with a wildcard one", async () => {
    const trust = (condition: Record<string, unknown>) => ({
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: OIDC_PROVIDER },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: condition,
          },
        ],
      }),
    });
    const aud = { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" };
    const noSub = await check(iamGithubTrustPinned, TYPES.role, trust({ StringEquals: aud }));
    expect(noSub).toEqual([
      expect.stringContaining("without a StringEquals token.actions.githubusercontent.com:sub"),
    ]);
    const like = await check(
      iamGithubTrustPinned,
      TYPES.role,
      trust({
        StringEquals: aud,
        StringLike: { "token.actions.githubusercontent.com:sub": "repo:octo-org/*" },
      }),
    );
    expect(like).toHaveLength(1);
    const wildcard = await check(
      iamGithubTrustPinned,
      TYPES.role,
      trust({ StringEquals: { ...aud, "token.actions.githubusercontent.com:sub": "repo:octo-org/x:*" } }),
    );
    expect(wildcard).toEqual([expect.stringContaining('"repo:octo-org/x:*"')]);
    const noAud = await check(
      iamGithubTrustPinned,
      TYPES.role,
      trust({
        StringEquals: { "token.actions.githubusercontent.com:sub": `repo:${REPOSITORY}:pull_request` },
      }),
    );
    expect(noAud).toEqual([expect.stringContaining(':aud "sts.amazonaws.com"')]);
    expect(
      await check(iamGithubTrustPinned, TYPES.role, {
        assumeRolePolicy: run.named(TYPES.role, "activity-preview").inputs.assumeRolePolicy,
      }),
    ).toEqual([]);
  });
});

describe("the ci-identity stack's config", () => {
  it.each([
    [{ "activity-api:githubRepository": undefined }, "activity-api:githubRepository is required"],
    [
      { "activity-api:githubRepository": "octo-org" },
      'activity-api:githubRepository "octo-org" is not a GitHub repository',
    ],
    [{ "activity-api:githubRepository": "octo-org/*" }, "is not a GitHub repository"],
    [
      { "activity-api:stateBucket": "s3://octo" },
      'activity-api:stateBucket "s3://octo" is not an S3 bucket name',
    ],
    [
      { "activity-api:oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/example.com" },
      "is not the ARN of a GitHub Actions OIDC provider",
    ],
    [{ "activity-api:testNamePrefix": "pv-test" }, "is a preview's"],
    [{ "activity-api:testNamePrefix": "Test_1" }, 'activity-api:testNamePrefix "Test_1" is not allowed'],
  ])("refuses %j in one line", async (overrides, message) => {
    await expect(runProgram("ci-identity", { ...CI_IDENTITY_USER_VALUES, ...overrides })).rejects.toThrow(
      message,
    );
  });
});
