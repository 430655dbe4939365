/**
 * PreviewBoundary: the managed policy every preview's identity is created under as its permissions boundary.
 * Whatever a preview's own policy says, it can never do more than this: the app's item actions on tables whose
 * name starts with the previews' prefix, in the host's region and account. No SSM, no ECR, no IAM, no STS.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { appDataPolicy } from "../aws/iam-policies.js";
import { PREVIEW_BOUNDARY_POLICY, PREVIEW_RESOURCE_PREFIX } from "../stack/contract.js";

export interface PreviewBoundaryArgs {
  /** The region the previews' tables are in. */
  region: string;
}

export class PreviewBoundary extends pulumi.ComponentResource {
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: PreviewBoundaryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:iam:PreviewBoundary", name, {}, opts);
    const invoke = { parent: this };
    const partition = aws.getPartitionOutput({}, invoke).partition;
    const account = aws.getCallerIdentityOutput({}, invoke).accountId;
    const previewTables = pulumi.interpolate`arn:${partition}:dynamodb:${args.region}:${account}:table/${PREVIEW_RESOURCE_PREFIX}*`;
    const policy = new aws.iam.Policy(
      `${name}-preview-boundary`,
      {
        // A fixed name (see PREVIEW_BOUNDARY_POLICY): one preview host per account and target.
        name: PREVIEW_BOUNDARY_POLICY.name,
        path: PREVIEW_BOUNDARY_POLICY.path,
        description: "The most any preview's identity may be granted: item actions on preview tables",
        policy: previewTables.apply((arn) => JSON.stringify(appDataPolicy(arn))),
      },
      { parent: this },
    );
    this.arn = policy.arn;
    this.registerOutputs({ arn: this.arn });
  }
}
