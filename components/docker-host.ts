/**
 * DockerHost: an EC2 instance with Docker installed by its user data (the original workflow's approach), a
 * least-privilege instance role, a security group that opens only the app's host port, and a docker.Provider
 * bound to the host's engine over SSH, usable only once Docker on the host answers.
 *
 * Access modes (`access`):
 * - `ssm` (default): SSH tunnelled through SSM Session Manager (`ssh://ec2-user@<instance id>`): no inbound
 *   port 22 at all. The deployer needs the AWS CLI with its session-manager-plugin.
 * - `ssh`: plain SSH to the public IP, port 22 open only to `sshCidrs` (never to the world).
 * Both authenticate with the deployer's key pair: `sshPublicKey` is installed for ec2-user; the private key
 * comes from ssh-agent or ssh's defaults, or `sshPrivateKeyPath`.
 */
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HOST_PORT } from "../app/src/contract.js";
import { serviceTrustPolicy } from "../aws/iam-policies.js";
import type { HostAccess } from "../stack/settings.js";
import type { RegistryAuth } from "./app-image.js";
import { RoleGrant, type RoleGrantArgs } from "./role-grant.js";

/** Amazon Linux 2023's current x86_64 AMI, published by AWS as a public SSM parameter. */
export const AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
const SSH_USER = "ec2-user";

/** The instance metadata service's address, where the instance role's credentials are served. */
export const INSTANCE_METADATA_ADDRESS = "169.254.169.254";

/**
 * The rule that drops what containers send to the metadata service. DOCKER-USER is the chain of the FORWARD
 * path that Docker creates and never flushes, where containers' traffic passes before Docker's own rules; the
 * host's own processes (the SSM agent) do not pass there.
 */
export const DROP_CONTAINER_METADATA_RULE = `DOCKER-USER -d ${INSTANCE_METADATA_ADDRESS}/32 -j DROP`;

/**
 * Installs the rule above as a drop-in of docker.service, so that it is back after every restart of Docker and
 * every reboot (iptables rules live in memory only), and in place before the first container starts. Checked
 * first (-C) so that a restart adds no second copy.
 */
const DROP_CONTAINER_METADATA_UNIT = `mkdir -p /etc/systemd/system/docker.service.d
cat > /etc/systemd/system/docker.service.d/no-container-metadata.conf <<'UNIT'
[Service]
ExecStartPost=/bin/sh -c 'iptables -C ${DROP_CONTAINER_METADATA_RULE} 2>/dev/null || iptables -I ${DROP_CONTAINER_METADATA_RULE}'
UNIT
systemctl daemon-reload
`;

/**
 * Installs and starts Docker at first boot; ec2-user joins the docker group so that SSH sessions can use it.
 * A shared host also drops its containers' traffic to the metadata service.
 */
function userData(shared: boolean): string {
  return `#!/bin/bash
set -euxo pipefail
dnf install -y docker
${shared ? DROP_CONTAINER_METADATA_UNIT : ""}systemctl enable --now docker
usermod -aG docker ${SSH_USER}
`;
}

/**
 * Polls the host over the same SSH transport the Docker provider uses until cloud-init has finished and the
 * engine answers, or fails after READY_TIMEOUT_SECONDS. SSH_OPTS holds one ssh argument per line.
 */
const WAIT_FOR_DOCKER = `set -u
mapfile -t ssh_opts <<< "$SSH_OPTS"
deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
until ssh "\${ssh_opts[@]}" -o BatchMode=yes -o ConnectTimeout=10 "$SSH_DESTINATION" \\
    'cloud-init status --wait >/dev/null 2>&1; docker info --format "Docker {{.ServerVersion}} is ready"'; do
  if (( SECONDS >= deadline )); then
    echo "Docker on $SSH_DESTINATION did not answer within $READY_TIMEOUT_SECONDS s" >&2
    exit 1
  fi
  sleep 5
done
`;

export interface DockerHostArgs {
  /** The AWS region, for the SSM tunnel's `aws ssm start-session`. */
  region: string;
  /** An x86_64 EC2 instance type (the image is linux/amd64). @default "t3.small" */
  instanceType?: string;
  /** CIDRs allowed to reach `appPort`; nothing else is opened but 80/443 to `httpsCidrs` and SSH in `ssh` mode. */
  allowedCidrs: string[];
  /** CIDRs allowed to reach the proxy's 80 and 443 (a domain served over HTTPS). @default [] (both closed) */
  httpsCidrs?: string[];
  /** The host port the app is published on. @default 10001 (HOST_PORT) */
  appPort?: number;
  /** How Docker on the deployer's side reaches the host. @default { mode: "ssm" } */
  access?: HostAccess;
  /** OpenSSH public key installed for ec2-user. */
  sshPublicKey: string;
  /** Private key file for ssh `-i`. @default unset: ssh-agent and ssh's default identities */
  sshPrivateKeyPath?: string;
  /**
   * The permissions boundary of the instance role: the CI pipeline that deploys the host may create only
   * roles that carry its own (components/ci-identity.ts). @default unset: no boundary
   */
  permissionsBoundary?: pulumi.Input<string>;
  /**
   * The one app the host serves: its role may use that app's table and pull from its repository (RoleGrant),
   * and its container reaches the role's credentials through the metadata service (IMDSv2, hop limit 2).
   * @default unset: a host shared by tenants that must not reach each other (previews): the role grants no
   * app, and no container reaches the metadata service (hop limit 1, and a DOCKER-USER rule dropping
   * container traffic to it); each tenant brings its own credentials.
   */
  app?: Omit<RoleGrantArgs, "role">;
  /** Credentials the host's engine pulls images with. @default none (public images only) */
  registryAuth?: pulumi.Input<RegistryAuth>;
  /** A subnet with a route to the Internet. @default a default subnet of the region's default VPC */
  subnetId?: pulumi.Input<string>;
  /** Root volume size in GiB (gp3, encrypted). @default 20 */
  rootVolumeGb?: number;
  /** How long a new host may take to answer with Docker ready. @default 600 */
  readyTimeoutSeconds?: number;
}

/**
 * One ingress rule per CIDR and port: the app port from `allowedCidrs`, 80 and 443 from `httpsCidrs`, and port
 * 22 from `sshCidrs` in ssh mode.
 */
export function ingressRules(
  allowedCidrs: string[],
  appPort: number,
  access: HostAccess,
  httpsCidrs: string[] = [],
) {
  const rule = (cidr: string, port: number, description: string) => ({
    protocol: "tcp",
    fromPort: port,
    toPort: port,
    description,
    ...(cidr.includes(":") ? { ipv6CidrBlocks: [cidr] } : { cidrBlocks: [cidr] }),
  });
  return [
    ...allowedCidrs.map((cidr) => rule(cidr, appPort, "activity API")),
    ...httpsCidrs.flatMap((cidr) => [
      rule(cidr, 80, "HTTP, redirected to HTTPS (and ACME validation)"),
      rule(cidr, 443, "activity API over HTTPS"),
    ]),
    ...(access.mode === "ssh"
      ? access.sshCidrs.map((cidr) => rule(cidr, 22, "SSH for the Docker provider"))
      : []),
  ];
}

/** The ssh arguments the Docker provider and the readiness check share. */
function sshOptions(access: HostAccess, region: string, privateKeyPath: string | undefined): string[] {
  return [
    "-o",
    "StrictHostKeyChecking=accept-new",
    ...(access.mode === "ssm"
      ? [
          "-o",
          `ProxyCommand=aws ssm start-session --region ${region} --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p`,
        ]
      : []),
    ...(privateKeyPath === undefined ? [] : ["-i", privateKeyPath]),
  ];
}

/**
 * A Docker provider bound to a host's engine over SSH: the host's own, and a preview's (from the preview host's
 * outputs), with the credentials its pulls need.
 */
export function hostDockerProvider(
  name: string,
  args: {
    dockerHost: pulumi.Input<string>;
    sshOpts: pulumi.Input<string[]>;
    registryAuth?: pulumi.Input<RegistryAuth>;
  },
  opts?: pulumi.CustomResourceOptions,
): docker.Provider {
  return new docker.Provider(
    name,
    {
      host: args.dockerHost,
      sshOpts: args.sshOpts,
      ...(args.registryAuth === undefined ? {} : { registryAuth: [args.registryAuth] }),
    },
    opts,
  );
}

export class DockerHost extends pulumi.ComponentResource {
  public readonly instanceId: pulumi.Output<string>;
  public readonly publicIp: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  /** A Docker provider bound to the host's engine; resources on it wait for Docker to be ready. */
  public readonly provider: docker.Provider;
  /** Where Docker answers over SSH, `ssh://ec2-user@<instance id or IP>`, and the ssh options it needs. */
  public readonly dockerHost: pulumi.Output<string>;
  public readonly sshOpts: string[];

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:host:DockerHost", name, {}, opts);
    const {
      region,
      instanceType = "t3.small",
      allowedCidrs,
      httpsCidrs = [],
      appPort = HOST_PORT,
      access = { mode: "ssm" },
      sshPublicKey,
      sshPrivateKeyPath,
      permissionsBoundary,
      app,
      registryAuth,
      rootVolumeGb = 20,
      readyTimeoutSeconds = 600,
    } = args;
    if (allowedCidrs.length === 0) {
      throw new pulumi.ResourceError("DockerHost: allowedCidrs must list at least one CIDR", this);
    }
    const invoke = { parent: this };

    const subnetId =
      args.subnetId ??
      aws.ec2
        .getSubnetsOutput(
          {
            filters: [
              { name: "vpc-id", values: [aws.ec2.getVpcOutput({ default: true }, invoke).id] },
              { name: "default-for-az", values: ["true"] },
            ],
          },
          invoke,
        )
        .ids.apply((ids) => {
          if (!ids[0])
            throw new pulumi.ResourceError("DockerHost: no default VPC subnet; set subnetId", this);
          return ids[0];
        });
    const vpcId = aws.ec2.getSubnetOutput({ id: subnetId }, invoke).vpcId;

    const role = new aws.iam.Role(
      `${name}-host-role`,
      {
        description: "Instance role of the activity API host",
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ec2.amazonaws.com")),
        permissionsBoundary,
      },
      { parent: this },
    );
    const policies = [
      // What the SSM agent needs to open the Session Manager tunnel that ssm access goes through (its
      // ssm:GetParameter* on "*" included); with plain SSH nothing on the host uses SSM, so the role has none.
      ...(access.mode === "ssm"
        ? [
            new aws.iam.RolePolicyAttachment(
              `${name}-host-ssm`,
              { role: role.name, policyArn: aws.iam.ManagedPolicy.AmazonSSMManagedInstanceCore },
              { parent: this },
            ),
          ]
        : []),
      ...(app === undefined
        ? []
        : [new RoleGrant(`${name}-host`, { role: role.id, ...app }, { parent: this })]),
    ];
    const profile = new aws.iam.InstanceProfile(
      `${name}-host-profile`,
      { role: role.name },
      { parent: this },
    );

    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-host-sg`,
      {
        vpcId,
        description: "activity API host: the proxy's ports from allowed CIDRs only",
        ingress: ingressRules(allowedCidrs, appPort, access, httpsCidrs),
        egress: [443, 80].map((port) => ({
          protocol: "tcp",
          fromPort: port,
          toPort: port,
          cidrBlocks: ["0.0.0.0/0"],
          description: "SSM, ECR, DynamoDB and package repositories",
        })),
      },
      { parent: this },
    );
    const keyPair = new aws.ec2.KeyPair(`${name}-host-key`, { publicKey: sshPublicKey }, { parent: this });

    const instance = new aws.ec2.Instance(
      `${name}-host`,
      {
        ami: aws.ssm.getParameterOutput({ name: AL2023_AMI_PARAMETER }, invoke).value,
        instanceType,
        subnetId,
        associatePublicIpAddress: true,
        vpcSecurityGroupIds: [securityGroup.id],
        iamInstanceProfile: profile.name,
        keyName: keyPair.keyName,
        userData: userData(app === undefined),
        userDataReplaceOnChange: true,
        // IMDSv2 only. A container on Docker's bridge network is one hop further than the host: with two hops
        // the single app reaches its role's credentials; with one, the token a container asks for never
        // reaches it, so a shared host's tenants cannot take the host's role.
        metadataOptions: {
          httpEndpoint: "enabled",
          httpTokens: "required",
          httpPutResponseHopLimit: app === undefined ? 1 : 2,
        },
        rootBlockDevice: {
          volumeType: "gp3",
          volumeSize: rootVolumeGb,
          encrypted: true,
          deleteOnTermination: true,
        },
        tags: { Name: `${name}-host` },
      },
      // A newer AMI must not replace a running host on the next `up`; replace it deliberately instead.
      { parent: this, ignoreChanges: ["ami"], dependsOn: policies },
    );

    const destination =
      access.mode === "ssm"
        ? pulumi.interpolate`${SSH_USER}@${instance.id}`
        : pulumi.interpolate`${SSH_USER}@${instance.publicIp}`;
    const options = sshOptions(access, region, sshPrivateKeyPath);
    const ready = new command.local.Command(
      `${name}-host-ready`,
      {
        create: WAIT_FOR_DOCKER,
        interpreter: ["/bin/bash", "-c"],
        environment: {
          SSH_DESTINATION: destination,
          SSH_OPTS: options.join("\n"),
          READY_TIMEOUT_SECONDS: String(readyTimeoutSeconds),
        },
        triggers: [instance.id],
      },
      { parent: this },
    );

    this.dockerHost = pulumi.interpolate`ssh://${destination}`;
    this.sshOpts = options;
    this.provider = hostDockerProvider(
      `${name}-host-docker`,
      { dockerHost: this.dockerHost, sshOpts: options, registryAuth },
      { parent: this, dependsOn: [ready] },
    );
    this.instanceId = instance.id;
    this.publicIp = instance.publicIp;
    this.securityGroupId = securityGroup.id;
    this.registerOutputs({
      dockerHost: this.dockerHost,
      instanceId: this.instanceId,
      publicIp: this.publicIp,
      securityGroupId: this.securityGroupId,
    });
  }
}
