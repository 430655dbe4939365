/**
 * ActivityTable: the regional DynamoDB table the API uses in AWS stacks, with the key schema and user index
 * that app/src/contract.ts defines (the app creates the same table itself only in development).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ACTIVITY_TABLE } from "../app/src/contract.js";

export interface ActivityTableArgs {
  /** Refuse deletion at the AWS level (test stacks); previews turn it off so that destroy can finish. @default true */
  deletionProtection?: boolean;
  /** Continuous backups with 35 days of point-in-time recovery. @default true */
  pointInTimeRecovery?: boolean;
}

export class ActivityTable extends pulumi.ComponentResource {
  public readonly name: pulumi.Output<string>;
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: ActivityTableArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("activity:data:ActivityTable", name, {}, opts);
    const { deletionProtection = true, pointInTimeRecovery = true } = args;
    const { partitionKey, userIndex } = ACTIVITY_TABLE;

    const table = new aws.dynamodb.Table(
      `${name}-table`,
      {
        billingMode: "PAY_PER_REQUEST",
        hashKey: partitionKey,
        attributes: [
          { name: partitionKey, type: "S" },
          { name: userIndex.partitionKey, type: "S" },
          { name: userIndex.sortKey, type: "S" },
        ],
        globalSecondaryIndexes: [
          {
            name: userIndex.name,
            keySchemas: [
              { attributeName: userIndex.partitionKey, keyType: "HASH" },
              { attributeName: userIndex.sortKey, keyType: "RANGE" },
            ],
            projectionType: "ALL",
          },
        ],
        serverSideEncryption: { enabled: true },
        pointInTimeRecovery: { enabled: pointInTimeRecovery },
        deletionProtectionEnabled: deletionProtection,
      },
      { parent: this },
    );

    this.name = table.name;
    this.arn = table.arn;
    this.registerOutputs({ name: this.name, arn: this.arn });
  }
}
