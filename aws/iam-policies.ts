/**
 * The IAM policy documents the program grants, written once for every target: the app's access to its table,
 * pulling its image, writing its logs, and the trust that lets an AWS service assume a role.
 */

interface Statement {
  Effect: "Allow";
  Action: string | string[];
  Resource?: string | string[];
  Principal?: { Service: string };
}
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

/** The app's DynamoDB item actions, on its table and the table's indexes only. */
export function appDataPolicy(tableArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: [
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:Query",
        ],
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
