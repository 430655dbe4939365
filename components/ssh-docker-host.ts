/**
 * SshDockerHost: a server with Docker that the stack does not create (a VM elsewhere, a bare-metal box, an
 * instance of another stack), reached over SSH. It pins the server's host key from the stack's own config, checks
 * that key and that Docker answers before anything on the server is touched, and gives a docker.Provider bound
 * to that engine with the credentials its pulls need.
 *
 * The pin travels in the ssh options themselves (KnownHostsCommand prints the one accepted key; the user's and
 * the system's known_hosts files are not read), and the Docker provider keeps its options in the stack's state:
 * so `pulumi destroy` from a fresh checkout on another machine trusts the same key and nothing else, without a
 * file of the machine that ran `up`.
 *
 * The EC2 host (components/docker-host.ts) reaches its instance through the same `pinnedDockerEngine`, with the
 * key the instance printed to its console at first boot.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { RegistryAuth } from "./app-image.js";

/** The ssh options that trust exactly one host key: `<type> <base64>`, for any name the host is reached by. */
export function pinnedHostKeyOptions(hostKey: string): string[] {
  return [
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    // Run without a shell (ssh splits the words itself); `*` is a known_hosts host pattern, not a glob here.
    "-o",
    `KnownHostsCommand=/bin/echo * ${hostKey}`,
  ];
}

/** The first line of what the host check prints when it refuses the host; the rest of that line says why. */
export const HOST_REFUSED_MARKER = "ssh host refused:";

/**
 * Checks a Docker host over SSH, the transport the Docker provider then uses, until the engine answers or
 * READY_TIMEOUT_SECONDS pass. SSH_OPTS holds one ssh argument per line; REMOTE_PREPARE runs on the host first
 * (an EC2 host waits for cloud-init there). A host key other than the pinned one cannot get better by waiting: it
 * fails at once, with one line that says so. A refused login is waited out (a new EC2 host installs the key at
 * boot), and the last answer is in the timeout's line.
 */
export const WAIT_FOR_DOCKER = `set -u
mapfile -t ssh_opts <<< "$SSH_OPTS"
deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
refuse() { echo "${HOST_REFUSED_MARKER} $*" >&2; exit 1; }
while :; do
  if output=$(ssh "\${ssh_opts[@]}" -o BatchMode=yes -o ConnectTimeout=10 "$SSH_DESTINATION" \\
      "\${REMOTE_PREPARE:-}"'docker info --format "Docker {{.ServerVersion}} is ready"' 2>&1); then
    echo "$output"
    exit 0
  fi
  case "$output" in
    *"Host key verification failed"*)
      refuse "$SSH_DESTINATION answered with a host key other than the pinned one; nothing on it was changed. If its key really changed, pin the new one (ssh-keyscan, and compare the fingerprint with the server's own)." ;;
  esac
  if (( SECONDS >= deadline )); then
    refuse "Docker on $SSH_DESTINATION did not answer within $READY_TIMEOUT_SECONDS s; the last answer: $(tail -n 1 <<< "$output")"
  fi
  sleep 5
done
`;

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

/** A Docker engine over SSH behind a pinned host key: what SshDockerHost and the EC2 DockerHost both declare. */
export interface PinnedDockerEngineArgs {
  /** The login on the server. */
  user: string;
  /** Its address or DNS name (an EC2 host's instance id behind the SSM tunnel). */
  address: pulumi.Input<string>;
  /** @default unset: ssh's own (22) */
  port?: number;
  /** The only host key accepted, `<type> <base64>`. */
  hostKey: pulumi.Input<string>;
  /** Private key file for ssh `-i`. @default unset: ssh-agent and ssh's default identities */
  privateKeyPath?: string;
  /** ssh options of the way there, such as an SSM tunnel's ProxyCommand. @default [] */
  routeOptions?: string[];
  /** A shell prefix the host check runs on the host before asking Docker (REMOTE_PREPARE). @default "" */
  remotePrepare?: string;
  /** Credentials the server's engine pulls images with. @default none (public images only) */
  registryAuth?: pulumi.Input<RegistryAuth>;
  /** How long Docker on the server may take to answer. */
  readyTimeoutSeconds: number;
}

/**
 * Declares, under `parent`, the host check (`<name>-host-ready`: the pinned key, then Docker, before anything on
 * the server is touched) and the Docker provider (`<name>-host-docker`) that waits for it. Returns the provider,
 * `ssh://user@address` and the ssh options every connection to the server passes.
 */
export function pinnedDockerEngine(
  name: string,
  args: PinnedDockerEngineArgs,
  parent: pulumi.Resource,
): { provider: docker.Provider; dockerHost: pulumi.Output<string>; sshOpts: pulumi.Output<string[]> } {
  const { user, port, hostKey, privateKeyPath, routeOptions = [], remotePrepare = "" } = args;
  const destination = pulumi
    .output(args.address)
    .apply((address) => `${user}@${address.includes(":") ? `[${address}]` : address}`);
  const sshOpts = pulumi
    .output(hostKey)
    .apply((key) => [
      ...pinnedHostKeyOptions(key),
      ...(port === undefined ? [] : ["-o", `Port=${port}`]),
      ...routeOptions,
      ...(privateKeyPath === undefined ? [] : ["-o", "IdentitiesOnly=yes", "-i", privateKeyPath]),
    ]);

  // Run again whenever the server, the pin or the login changes; between those, the Docker provider's own
  // connections carry the same pin, so a key that changed later still fails before any change.
  const check = new command.local.Command(
    `${name}-host-ready`,
    {
      create: WAIT_FOR_DOCKER,
      interpreter: ["/bin/bash", "-c"],
      environment: {
        SSH_DESTINATION: destination,
        SSH_OPTS: sshOpts.apply((options) => options.join("\n")),
        READY_TIMEOUT_SECONDS: String(args.readyTimeoutSeconds),
        ...(remotePrepare === "" ? {} : { REMOTE_PREPARE: remotePrepare }),
      },
      triggers: [destination, String(port ?? ""), hostKey, privateKeyPath ?? ""],
    },
    // The ssh target's check had its own name before the EC2 host shared it.
    { parent, aliases: [{ name: `${name}-host-check` }] },
  );
  const dockerHost = pulumi.interpolate`ssh://${destination}`;
  const provider = hostDockerProvider(
    `${name}-host-docker`,
    { dockerHost, sshOpts, registryAuth: args.registryAuth },
    { parent, dependsOn: [check] },
  );
  return { provider, dockerHost, sshOpts };
}

export interface SshDockerHostArgs {
  /** The login on the server. */
  user: string;
  /** Its address or DNS name. */
  address: string;
  /** @default 22 */
  port?: number;
  /** The only host key accepted, `<type> <base64>` (validateSshKnownHosts). */
  hostKey: string;
  /** Private key file for ssh `-i`. @default unset: ssh-agent and ssh's default identities */
  privateKeyPath?: string;
  /** Credentials the server's engine pulls images with. @default none (public images only) */
  registryAuth?: pulumi.Input<RegistryAuth>;
  /** How long Docker on the server may take to answer. @default 60 */
  readyTimeoutSeconds?: number;
}

export class SshDockerHost extends pulumi.ComponentResource {
  /** A Docker provider bound to the server's engine; resources on it wait for the host check. */
  public readonly provider: docker.Provider;
  /** `ssh://user@address`, and the ssh options (the pin, the port, the key) every connection passes. */
  public readonly dockerHost: pulumi.Output<string>;
  public readonly sshOpts: pulumi.Output<string[]>;

  constructor(name: string, args: SshDockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:host:SshDockerHost", name, {}, opts);
    const { port = 22, readyTimeoutSeconds = 60, ...engine } = args;
    ({
      provider: this.provider,
      dockerHost: this.dockerHost,
      sshOpts: this.sshOpts,
    } = pinnedDockerEngine(name, { ...engine, port, readyTimeoutSeconds }, this));
    this.registerOutputs({ dockerHost: this.dockerHost });
  }
}
