/**
 * PreviewIdentity: the one AWS identity a preview's container holds: an IAM user named exactly the preview's
 * prefix, under the preview pipeline's permissions boundary, allowed the app's item actions on the preview's
 * own table (and its indexes) and nothing else, with one access key that lives and dies with the preview. A
 * user's key rather than a role: the container reaches no metadata service on a shared host, and a preview
 * lives for days, longer than any session a role can hand out to it (see
 * docs/decisions/0002-sealed-ec2-previews.md).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { appDataPolicy } from "../aws/iam-policies.js";

export interface PreviewIdentityArgs {
  /** The preview's table: its ARN (and its indexes') is all the identity may read and write. */
  tableArn: pulumi.Input<string>;
  /** The ARN of the managed policy that caps the identity (the preview pipeline's boundary, via the host). */
  permissionsBoundary: pulumi.Input<string>;
}

/** An access key as a container's environment carries it; the secret is a Pulumi secret. */
export interface AccessKeyCredentials {
  accessKeyId: pulumi.Output<string>;
  secretAccessKey: pulumi.Output<string>;
}

export class PreviewIdentity extends pulumi.ComponentResource {
  /** The user's name: the preview's prefix. */
  public readonly userName: pulumi.Output<string>;
  /** The user's access key, for the preview's container only. */
  public readonly credentials: AccessKeyCredentials;

  /** `name` is the preview's prefix, which the user is named exactly, so that policies can tell its own. */
  constructor(name: string, args: PreviewIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:iam:PreviewIdentity", name, {}, opts);
    const user = new aws.iam.User(
      `${name}-user`,
      { name, permissionsBoundary: args.permissionsBoundary },
      { parent: this },
    );
    new aws.iam.UserPolicy(
      `${name}-data-policy`,
      {
        user: user.name,
        policy: pulumi.output(args.tableArn).apply((arn) => JSON.stringify(appDataPolicy(arn))),
      },
      { parent: this },
    );
    const key = new aws.iam.AccessKey(`${name}-key`, { user: user.name }, { parent: this });
    this.userName = user.name;
    // The provider marks `secret` secret already; said again here so that no caller depends on that.
    this.credentials = { accessKeyId: key.id, secretAccessKey: pulumi.secret(key.secret) };
    this.registerOutputs({ userName: this.userName });
  }
}
