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
 * comes from ssh-agent or ssh's defaults, or `sshPrivateKeyPath`. Both trust only the host key the instance
 * printed to its console at first boot, read through the EC2 API before the first connection, and reach Docker
 * through the same pinned engine as a server the stack does not create (components/ssh-docker-host.ts).
 */
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HOST_PORT } from "../app/src/contract.js";
import { serviceTrustPolicy } from "../aws/iam-policies.js";
import type { HostAccess } from "../stack/settings.js";
import type { RegistryAuth } from "./app-image.js";
import { RoleGrant, type RoleGrantArgs } from "./role-grant.js";
import { pinnedDockerEngine } from "./ssh-docker-host.js";

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

/** The first line of what reading the host key prints when it gives up; the rest of that line says why. */
export const HOST_KEY_UNREAD_MARKER = "ec2 host key unread:";

/**
 * Reads the new instance's ed25519 host key from its console, where cloud-init prints the host's public keys
 * between `-----BEGIN/END SSH HOST KEY KEYS-----` at first boot, before anyone could log in. The console comes
 * through the EC2 API with the deployer's own AWS credentials, so the key is the instance's and not that of
 * whoever answers on its address (AWS's own advice for checking a new instance's fingerprint).
 *
 * Polls every POLL_SECONDS (10 by default) until the keys are printed or READY_TIMEOUT_SECONDS pass; `--latest`
 * (Nitro instances) sees them as soon as they are printed, and an instance type without it falls back to the
 * console EC2 keeps. Prints `ssh-ed25519 <base64>` and nothing else. The `/` in the awk pattern is escaped:
 * some awks end a pattern at a bare one, even inside brackets.
 */
export const READ_HOST_KEY = `set -u
deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
refuse() { echo "${HOST_KEY_UNREAD_MARKER} $*" >&2; exit 1; }
latest=(--latest)
while :; do
  if console=$(aws ec2 get-console-output --region "$REGION" --instance-id "$INSTANCE_ID" "\${latest[@]}" \\
      --output text --query Output 2>&1); then
    key=$(tr -d '\\r' <<< "$console" | awk '
      /-----BEGIN SSH HOST KEY KEYS-----/ { inside = 1; next }
      /-----END SSH HOST KEY KEYS-----/ { inside = 0 }
      inside && match($0, /ssh-ed25519 [A-Za-z0-9+\\/]+=*/) { print substr($0, RSTART, RLENGTH); exit }')
    if [[ -n "$key" ]]; then
      echo "$key"
      exit 0
    fi
    last="the console shows no ssh-ed25519 host key yet"
  else
    case "$console" in
      *AccessDenied*|*UnauthorizedOperation*|*"command not found"*)
        refuse "aws ec2 get-console-output for $INSTANCE_ID failed: $(tail -n 1 <<< "$console")" ;;
      *UnsupportedOperation*|*[Ll]atest*)
        if (( \${#latest[@]} )); then latest=(); continue; fi ;;
    esac
    last=$(tail -n 1 <<< "$console")
  fi
  if (( SECONDS >= deadline )); then
    refuse "no host key of $INSTANCE_ID within $READY_TIMEOUT_SECONDS s, so nothing on it was reached; the last answer: $last. An instance that booted before its stack read host keys may have lost them from its console: pin its key with sshKnownHosts (docs/deploying.md)"
  fi
  sleep "\${POLL_SECONDS:-10}"
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
  /** How long a new host may take to print its host key, and then to answer with Docker ready. @default 600 */
  readyTimeoutSeconds?: number;
  /**
   * The host's key, `<type> <base64>`, when the stack pins it itself. @default unset: read from the instance's
   * console at first boot (READ_HOST_KEY)
   */
  hostKey?: string;
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

/** The SSM tunnel's ssh option: the Docker provider reaches `ec2-user@<instance id>` through Session Manager. */
function ssmRoute(region: string): string[] {
  return [
    "-o",
    `ProxyCommand=aws ssm start-session --region ${region} --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p`,
  ];
}

export class DockerHost extends pulumi.ComponentResource {
  public readonly instanceId: pulumi.Output<string>;
  public readonly publicIp: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  /** A Docker provider bound to the host's engine; resources on it wait for Docker to be ready. */
  public readonly provider: docker.Provider;
  /** Where Docker answers over SSH, `ssh://ec2-user@<instance id or IP>`, and the ssh options it needs. */
  public readonly dockerHost: pulumi.Output<string>;
  public readonly sshOpts: pulumi.Output<string[]>;

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
      hostKey,
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

    // The key is read once per instance, before the first connection, so that no connection ever trusts a key
    // on first use; a key the stack gives instead (an instance whose first boot has left its console) is used as
    // it is.
    const instanceHostKey =
      hostKey ??
      new command.local.Command(
        `${name}-host-key-from-console`,
        {
          create: READ_HOST_KEY,
          interpreter: ["/bin/bash", "-c"],
          environment: {
            REGION: region,
            INSTANCE_ID: instance.id,
            READY_TIMEOUT_SECONDS: String(readyTimeoutSeconds),
          },
          triggers: [instance.id],
        },
        { parent: this },
        // Unset only under a unit test's mocks, which run no command: an empty pin then, which trusts no key.
      ).stdout.apply((stdout) => stdout?.trim() ?? "");
    const engine = pinnedDockerEngine(
      name,
      {
        user: SSH_USER,
        address: access.mode === "ssm" ? instance.id : instance.publicIp,
        hostKey: instanceHostKey,
        privateKeyPath: sshPrivateKeyPath,
        routeOptions: access.mode === "ssm" ? ssmRoute(region) : [],
        remotePrepare: "cloud-init status --wait >/dev/null 2>&1; ",
        registryAuth,
        readyTimeoutSeconds,
      },
      this,
    );
    this.provider = engine.provider;
    this.dockerHost = engine.dockerHost;
    this.sshOpts = engine.sshOpts;
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
