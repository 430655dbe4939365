/**
 * TableIdentity: the one AWS identity an app's container holds where no instance role can reach it: an IAM
 * user allowed the app's item actions on its own table (and its indexes) and nothing else, under the
 * permissions boundary it is given, with one access key that lives and dies with the stack.
 *
 * Used by each preview on the shared EC2 preview host, whose containers reach no metadata service (the user is
 * named exactly the preview's prefix, under the preview pipeline's boundary, so that policies can tell its own;
 * a user's key rather than a role, because a preview lives for days, longer than any session a role can hand
 * out: docs/decisions/0002-sealed-ec2-previews.md), and by a `target: ssh` stack on the regional table, whose
 * server is no AWS resource at all.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { appDataPolicy } from "../aws/iam-policies.js";

export interface TableIdentityArgs {
  /** The table: its ARN (and its indexes') is all the identity may read and write. */
  tableArn: pulumi.Input<string>;
  /** The user's exact name. @default unset: Pulumi's name for `<name>-user` (with a random suffix) */
  userName?: string;
  /** The ARN of the managed policy that caps the identity. @default unset: no boundary */
  permissionsBoundary?: pulumi.Input<string>;
}

/** An access key as a container's environment carries it; the secret is a Pulumi secret. */
export interface AccessKeyCredentials {
  accessKeyId: pulumi.Output<string>;
  secretAccessKey: pulumi.Output<string>;
}

export class TableIdentity extends pulumi.ComponentResource {
  /** The user's name. */
  public readonly userName: pulumi.Output<string>;
  /** The user's access key, for the app's container only. */
  public readonly credentials: AccessKeyCredentials;

  constructor(name: string, args: TableIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    // Previews' identities were created under the component's former type, PreviewIdentity.
    super(
      "activity:iam:TableIdentity",
      name,
      {},
      {
        ...opts,
        aliases: [...(opts?.aliases ?? []), { type: "activity:iam:PreviewIdentity" }],
      },
    );
    const user = new aws.iam.User(
      `${name}-user`,
      { name: args.userName, permissionsBoundary: args.permissionsBoundary },
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
