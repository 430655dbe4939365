/**
 * RoleGrant: lets a single-tenant EC2 host's instance role serve its one app: item actions on its table (and
 * the table's indexes) and pulls from its image repository, nothing more. A shared host's role grants no app:
 * each of its tenants holds an identity of its own (TableIdentity).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { appDataPolicy, imagePullPolicy } from "../aws/iam-policies.js";

export interface RoleGrantArgs {
  /** The role's name. */
  role: pulumi.Input<string>;
  /** The app's table: its ARN (and its indexes') is all the role may read and write. */
  tableArn: pulumi.Input<string>;
  /** The app's image repository: all the role may pull from. */
  repositoryArn: pulumi.Input<string>;
}

export class RoleGrant extends pulumi.ComponentResource {
  constructor(name: string, args: RoleGrantArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:iam:RoleGrant", name, {}, opts);
    new aws.iam.RolePolicy(
      `${name}-data-policy`,
      {
        role: args.role,
        policy: pulumi.output(args.tableArn).apply((arn) => JSON.stringify(appDataPolicy(arn))),
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-pull-policy`,
      {
        role: args.role,
        policy: pulumi.output(args.repositoryArn).apply((arn) => JSON.stringify(imagePullPolicy(arn))),
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
