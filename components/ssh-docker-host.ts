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
 */
import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { RegistryAuth } from "./app-image.js";
import { hostDockerProvider, WAIT_FOR_DOCKER } from "./docker-host.js";

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
  public readonly dockerHost: string;
  public readonly sshOpts: string[];

  constructor(name: string, args: SshDockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:host:SshDockerHost", name, {}, opts);
    const {
      user,
      address,
      port = 22,
      hostKey,
      privateKeyPath,
      registryAuth,
      readyTimeoutSeconds = 60,
    } = args;
    const destination = `${user}@${address.includes(":") ? `[${address}]` : address}`;
    this.sshOpts = [
      ...pinnedHostKeyOptions(hostKey),
      "-o",
      `Port=${port}`,
      ...(privateKeyPath === undefined ? [] : ["-o", "IdentitiesOnly=yes", "-i", privateKeyPath]),
    ];
    this.dockerHost = `ssh://${destination}`;

    // Runs before any resource on the server: a wrong key or a missing Docker stops the update here. Run again
    // whenever the server, the pin or the login changes; between those, the Docker provider's own connections
    // carry the same pin, so a key that changed later still fails before any change.
    const check = new command.local.Command(
      `${name}-host-check`,
      {
        create: WAIT_FOR_DOCKER,
        interpreter: ["/bin/bash", "-c"],
        environment: {
          SSH_DESTINATION: destination,
          SSH_OPTS: this.sshOpts.join("\n"),
          READY_TIMEOUT_SECONDS: String(readyTimeoutSeconds),
        },
        triggers: [destination, String(port), hostKey, privateKeyPath ?? ""],
      },
      { parent: this },
    );
    this.provider = hostDockerProvider(
      `${name}-host-docker`,
      { dockerHost: this.dockerHost, sshOpts: this.sshOpts, registryAuth },
      { parent: this, dependsOn: [check] },
    );
    this.registerOutputs({ dockerHost: this.dockerHost });
  }
}
