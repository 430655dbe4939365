/**
 * CiIdentity: the identities GitHub Actions assumes through OIDC, one per pipeline, each trusted by exactly one
 * kind of job of one repository and allowed only what its pipeline owns: the preview role (pull requests;
 * preview stacks and their host, their own state), the test-deploy role (the protected Environment `test`;
 * the test stack, its own state) and the prune role (main; reads and destroys previews only). Each pipeline
 * has a permissions boundary that its role carries and that every role and user it creates must carry: the
 * preview pipeline's also caps each preview's identity, and no preview pipeline can change it (this stack is
 * an administrator's).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  GITHUB_OIDC,
  githubOidcTrustPolicy,
  type PipelineAccess,
  type PipelineScope,
  pipelineBoundaryPolicy,
  pipelinePolicy,
} from "../aws/iam-policies.js";
import {
  PREVIEW_HOST_NAME_PREFIX,
  PREVIEW_HOST_STACKS,
  PREVIEW_RESOURCE_PREFIX,
  PREVIEW_STACK_PREFIX,
  STATE_PREFIXES,
} from "../stack/contract.js";

/**
 * The IAM path of every role and boundary made here: their ARNs (`role/ci-identity/...`) then match no name
 * prefix a pipeline owns (`role/pv-*`), so no pipeline can change another's identity, or its own.
 */
export const CI_IAM_PATH = "/ci-identity/";

/** The GitHub Environment whose jobs may deploy the test stack (protected: main only, reviewers if wanted). */
export const TEST_ENVIRONMENT = "test";

/** The `sub` claim of each pipeline's jobs (GitHub's default subject format). */
export function githubSubjects(repository: string) {
  return {
    preview: `repo:${repository}:pull_request`,
    testDeploy: `repo:${repository}:environment:${TEST_ENVIRONMENT}`,
    prune: `repo:${repository}:ref:refs/heads/main`,
  } as const;
}

export interface CiIdentityArgs {
  /** The GitHub repository, `owner/name`, whose workflows may assume the roles. */
  repository: string;
  /** The AWS region the pipelines deploy to: their EC2, DynamoDB and ECR permissions hold there only. */
  region: string;
  /** The S3 bucket of the pipelines' Pulumi backends, `s3://<bucket>/previews` and `s3://<bucket>/test`. */
  stateBucket: string;
  /**
   * The account's IAM OIDC provider for token.actions.githubusercontent.com (an account has at most one per
   * URL). @default unset: created here
   */
  oidcProviderArn?: pulumi.Input<string>;
  /** The test stack's `namePrefix`: the test-deploy role may change resources named `<prefix>-*` only. */
  testNamePrefix: string;
}

interface Pipeline {
  scope: Omit<PipelineScope, "partition" | "account" | "region" | "boundaryArn">;
  /** The boundary's name (and so its ARN, which its own document names). */
  boundaryName: string;
}

export class CiIdentity extends pulumi.ComponentResource {
  public readonly oidcProviderArn: pulumi.Output<string>;
  public readonly previewRoleArn: pulumi.Output<string>;
  public readonly testDeployRoleArn: pulumi.Output<string>;
  public readonly pruneRoleArn: pulumi.Output<string>;
  /**
   * The boundaries: `permissionsBoundary` of the preview host (npm run preview), which also caps every
   * preview's identity, and of the test stack.
   */
  public readonly previewBoundaryArn: pulumi.Output<string>;
  public readonly testBoundaryArn: pulumi.Output<string>;

  constructor(name: string, args: CiIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:ci:CiIdentity", name, {}, opts);
    const { repository, region, stateBucket, testNamePrefix } = args;
    const child = { parent: this };
    const partition = aws.getPartitionOutput({}, child).partition;
    const account = aws.getCallerIdentityOutput({}, child).accountId;

    this.oidcProviderArn =
      args.oidcProviderArn === undefined
        ? new aws.iam.OpenIdConnectProvider(
            `${name}-github-oidc`,
            // No thumbprint: IAM validates GitHub's certificate against its own trusted CAs.
            { url: GITHUB_OIDC.url, clientIdLists: [GITHUB_OIDC.audience] },
            child,
          ).arn
        : pulumi.output(args.oidcProviderArn);

    const previews: Pipeline = {
      scope: {
        namePrefixes: [`${PREVIEW_HOST_NAME_PREFIX}-`, PREVIEW_RESOURCE_PREFIX],
        stackTags: [`${PREVIEW_STACK_PREFIX}*`, PREVIEW_HOST_STACKS.ec2],
        state: { bucket: stateBucket, prefix: STATE_PREFIXES.previews },
        // Each preview's own identity (TableIdentity), under this same boundary.
        userNamePrefix: PREVIEW_RESOURCE_PREFIX,
      },
      boundaryName: `${name}-previews-boundary`,
    };
    const test: Pipeline = {
      scope: {
        namePrefixes: [`${testNamePrefix}-`],
        stackTags: ["test"],
        state: { bucket: stateBucket, prefix: STATE_PREFIXES.test },
        userNamePrefix: undefined,
      },
      boundaryName: `${name}-test-boundary`,
    };

    const scopeOf = (pipeline: Pipeline) =>
      pulumi.all([partition, account]).apply(
        ([partition, account]): PipelineScope => ({
          ...pipeline.scope,
          partition,
          account,
          region,
          boundaryArn: `arn:${partition}:iam::${account}:policy${CI_IAM_PATH}${pipeline.boundaryName}`,
        }),
      );
    const boundary = (pipeline: Pipeline) =>
      new aws.iam.Policy(
        pipeline.boundaryName,
        {
          // Named, not auto-named: the document names its own ARN.
          name: pipeline.boundaryName,
          path: CI_IAM_PATH,
          description: "Permissions boundary of a CI pipeline and of every role it creates",
          policy: scopeOf(pipeline).apply((scope) => JSON.stringify(pipelineBoundaryPolicy(scope))),
        },
        child,
      );
    const previewBoundary = boundary(previews);
    const testBoundary = boundary(test);

    const subjects = githubSubjects(repository);
    const role = (
      roleName: string,
      subject: string,
      pipeline: Pipeline,
      access: PipelineAccess,
      boundaryPolicy: aws.iam.Policy,
    ) => {
      const created = new aws.iam.Role(
        `${name}-${roleName}`,
        {
          path: CI_IAM_PATH,
          description: `GitHub Actions of ${repository}: ${subject}`,
          assumeRolePolicy: this.oidcProviderArn.apply((arn) =>
            JSON.stringify(githubOidcTrustPolicy(arn, subject)),
          ),
          permissionsBoundary: boundaryPolicy.arn,
        },
        child,
      );
      new aws.iam.RolePolicy(
        `${name}-${roleName}-policy`,
        {
          role: created.id,
          policy: scopeOf(pipeline).apply((scope) => JSON.stringify(pipelinePolicy(scope, access))),
        },
        child,
      );
      return created.arn;
    };
    this.previewRoleArn = role("preview", subjects.preview, previews, "deploy", previewBoundary);
    this.testDeployRoleArn = role("test-deploy", subjects.testDeploy, test, "deploy", testBoundary);
    this.pruneRoleArn = role("prune", subjects.prune, previews, "destroy", previewBoundary);
    this.previewBoundaryArn = previewBoundary.arn;
    this.testBoundaryArn = testBoundary.arn;

    this.registerOutputs({
      oidcProviderArn: this.oidcProviderArn,
      previewRoleArn: this.previewRoleArn,
      testDeployRoleArn: this.testDeployRoleArn,
      pruneRoleArn: this.pruneRoleArn,
      previewBoundaryArn: this.previewBoundaryArn,
      testBoundaryArn: this.testBoundaryArn,
    });
  }
}
