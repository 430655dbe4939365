/**
 * FrontProxy: Caddy in a container of its own, owning the public ports of a Docker host (10001, and 80/443 with
 * a domain) on a network it shares with the app. It finds the app by a Docker DNS alias on every request, so a
 * release is switched by starting a new app container under the alias and stopping the old one: the proxy's own
 * configuration never changes with a release, and the proxy is replaced only when its image or settings change.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { APP_PORT, HOST_PORT } from "../app/src/contract.js";
import { CONTAINER_MEMORY_MIB } from "../stack/contract.js";

/** The official Caddy image, pinned; scripts/offline-images.sh builds a stand-in of the same release. */
export const CADDY_IMAGE = "caddy:2.11.9-alpine";

/** The environment variable the proxy container receives its Caddyfile in. */
const CADDYFILE_ENV = "CADDYFILE";

/** The alias the app answers under on the proxy's network (AppContainer's default). */
export const APP_ALIAS = "api";

/** Aliases of preview apps: `preview-<label>`, reached as `<label>.<previewDomain>`. */
export const PREVIEW_ALIAS_PREFIX = "preview-";

/** Where the proxy sends requests. */
export type ProxyUpstream =
  /** Every request to the app under one alias (dev, test). */
  | { kind: "app"; alias: string }
  /** `<label>.<domain>` to the app aliased `preview-<label>` (the preview host). */
  | { kind: "previews"; domain: string };

/** HTTPS for `domain`: certificates from Let's Encrypt (ACME), or from Caddy's own local CA. */
export type TlsIssuer = "acme" | "internal";

export interface CaddyfileOptions {
  upstream: ProxyUpstream;
  /** Serve https://<domain> on 443 and redirect http://<domain> on 80. @default unset: HTTP on 10001 only */
  domain?: string;
  /** @default "acme" */
  tlsIssuer?: TlsIssuer;
  /** The ACME account's contact address. @default unset: Let's Encrypt without an email */
  acmeEmail?: string;
}

/**
 * The proxy's whole configuration. The app is looked up by Docker DNS (`dynamic a`, refreshed every second)
 * on each request, so a new app container takes traffic once it listens (the app listens only once it is
 * ready) and a stopped one leaves; a request that cannot connect (a container starting or gone) is retried on
 * the next address for up to 10 s, so neither a rollout nor a release that never starts fails a request.
 *
 * A container that has just died can stay in the DNS answer for up to a second, and a dial to its address gets
 * no answer at all: with Caddy's default 3 s dial timeout, and the dead address picked again on retry, a
 * request could wait past a client's 3 s while a crash-looping release restarted. Dials give up after 250 ms
 * (the app is on the same Docker network), and one failure takes the address out of the choice for 1 s
 * (decision 3).
 */
export function caddyfile(options: CaddyfileOptions): string {
  const { upstream, domain, tlsIssuer = "acme", acmeEmail } = options;
  const globals = [
    // Configuration comes from this file only, and nothing on the host needs to trust Caddy's local CA.
    "admin off",
    "skip_install_trust",
    ...(acmeEmail === undefined ? [] : [`email ${acmeEmail}`]),
  ];
  const proxy = (name: string) => [
    "reverse_proxy {",
    "\tdynamic a {",
    `\t\tname ${name}`,
    `\t\tport ${APP_PORT}`,
    "\t\trefresh 1s",
    "\t\tversions ipv4",
    "\t}",
    "\tlb_policy round_robin",
    "\tlb_try_duration 10s",
    "\tlb_try_interval 100ms",
    // One failed attempt takes an address out of the choice for 1 s, so a retry goes to another one.
    "\tfail_duration 1s",
    "\tmax_fails 1",
    "\ttransport http {",
    // The app is on the same Docker network: a live address answers a dial in well under a millisecond.
    "\t\tdial_timeout 250ms",
    "\t}",
    "}",
  ];
  const routes =
    upstream.kind === "app"
      ? proxy(upstream.alias)
      : [
          `@preview header_regexp label Host ^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\\.${escapeRegExp(upstream.domain)}(?::[0-9]+)?$`,
          "handle @preview {",
          ...proxy(`${PREVIEW_ALIAS_PREFIX}{re.label.1}`).map(indent),
          "}",
          "handle {",
          `\trespond "No preview at this address: use http://<preview-label>.${upstream.domain}:<port>/" 404`,
          "}",
        ];
  // When no container answers within the retries (the app not running, or no preview by that name), an
  // answer in the API's own error shape rather than Caddy's empty 502.
  const unreachable =
    upstream.kind === "app"
      ? "the API is not answering; retry shortly"
      : "no preview answers at this address: none by that name, or it is not running";
  const routesWithErrors = [
    ...routes,
    "handle_errors 502 503 504 {",
    "\theader Content-Type application/json",
    "\theader Retry-After 2",
    `\trespond \`{"statusCode":503,"error":"Service Unavailable","message":"${unreachable}"}\` 503`,
    "}",
  ];
  const block = (lines: string[]) => [...lines.map(indent), "}"];
  const site = (address: string, lines: string[]) => [`${address} {`, ...block(lines)];
  const sites = [
    site(`http://:${HOST_PORT}`, routesWithErrors),
    ...(domain === undefined
      ? []
      : [site(domain, [...(tlsIssuer === "internal" ? ["tls internal"] : []), ...routesWithErrors])]),
  ];
  return `${[["{", ...block(globals)], ...sites].map((lines) => lines.join("\n")).join("\n\n")}\n`;
}

function indent(line: string): string {
  return `\t${line}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Who may reach the ports a stack publishes on this machine's Docker engine. */
export type PublishTo = "loopback" | "lan";

/**
 * The host address each choice binds to. On Linux, Docker before 28.0 still forwards a LAN neighbour to a port
 * published on 127.0.0.1 (its DNAT rule runs before the kernel drops a packet for 127.0.0.1 from outside) and
 * to a container's own address: scripts/lan-guard.sh closes both, in Docker's DOCKER-USER chain, which only
 * root can change (docs/configuration.md, "Who reaches a local stack").
 */
export const PUBLISH_ADDRESSES: Readonly<Record<PublishTo, string>> = {
  loopback: "127.0.0.1",
  lan: "0.0.0.0",
};

export interface FrontProxyArgs {
  /**
   * What the proxy routes to; a preview domain may be an output (the AWS preview host's public IP).
   * @default { kind: "app", alias: "api" }
   */
  upstream?: { kind: "app"; alias: string } | { kind: "previews"; domain: pulumi.Input<string> };
  /** A domain to serve over HTTPS on 443, with 80 redirecting to it. @default unset: HTTP on 10001 only */
  domain?: string;
  /** Who issues the domain's certificate. @default "acme" */
  tlsIssuer?: TlsIssuer;
  /** Contact address of the ACME account. @default unset */
  acmeEmail?: string;
  /** The Caddy image. @default CADDY_IMAGE, the official image pinned to a release */
  image?: string;
  /**
   * Host address the ports are bound to: every interface only where something else is the gate (an EC2 host's
   * security group). @default "127.0.0.1" (PUBLISH_ADDRESSES.loopback): this machine only
   */
  hostIp?: string;
  /** Host port of the plain-HTTP API. @default 10001 (HOST_PORT) */
  httpPort?: number;
  /** Memory limit in MiB. @default 128 (CONTAINER_MEMORY_MIB.proxy) */
  memoryMb?: number;
}

export class FrontProxy extends pulumi.ComponentResource {
  /** The network the apps join to be reached. */
  public readonly networkName: pulumi.Output<string>;
  public readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: FrontProxyArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("activity:proxy:FrontProxy", name, {}, opts);
    const {
      upstream = { kind: "app", alias: APP_ALIAS },
      domain,
      tlsIssuer,
      acmeEmail,
      image = CADDY_IMAGE,
      hostIp = PUBLISH_ADDRESSES.loopback,
      httpPort = HOST_PORT,
      memoryMb = CONTAINER_MEMORY_MIB.proxy,
    } = args;

    // The Caddyfile needs the preview domain's value, which may be an output (the AWS host's public IP).
    const resolvedUpstream: pulumi.Output<ProxyUpstream> =
      upstream.kind === "app"
        ? pulumi.output(upstream)
        : pulumi
            .output(upstream.domain)
            .apply((previewDomain): ProxyUpstream => ({ kind: "previews", domain: previewDomain }));
    const network = new docker.Network(`${name}-net`, { driver: "bridge" }, { parent: this });
    // Certificates and the local CA outlive a replaced proxy container (and Let's Encrypt's rate limits).
    const data = new docker.Volume(`${name}-proxy-data`, {}, { parent: this });
    const pulled = new docker.RemoteImage(
      `${name}-proxy-image`,
      { name: image, keepLocally: true },
      { parent: this },
    );
    const published = [
      { internal: HOST_PORT, external: httpPort, ip: hostIp },
      ...(domain === undefined
        ? []
        : [
            { internal: 80, external: 80, ip: hostIp },
            { internal: 443, external: 443, ip: hostIp },
          ]),
    ];
    const container = new docker.Container(
      `${name}-proxy`,
      {
        image: pulled.imageId,
        // The configuration travels in the environment and is written to the tmpfs at start: Docker refuses to
        // copy a file (the provider's `uploads`) into a container whose root file system is read-only.
        envs: [
          resolvedUpstream.apply(
            (resolved) =>
              `${CADDYFILE_ENV}=${caddyfile({ upstream: resolved, domain, tlsIssuer, acmeEmail })}`,
          ),
        ],
        command: [
          "sh",
          "-c",
          `printf '%s' "$${CADDYFILE_ENV}" > /config/Caddyfile && exec caddy run --config /config/Caddyfile --adapter caddyfile`,
        ],
        ports: published,
        networksAdvanced: [{ name: network.name }],
        volumes: [{ volumeName: data.name, containerPath: "/data" }],
        restart: "unless-stopped",
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
        readOnly: true,
        tmpfs: { "/config": "rw,noexec,nosuid,size=1m", "/tmp": "rw,noexec,nosuid,size=16m" },
        // Only what binding 80 and 443 needs (the official binary carries that file capability, which the
        // kernel refuses to exec without it in the bounding set).
        // Written as Docker reports it back (CAP_...), or every refresh finds drift.
        capabilities: { drops: ["ALL"], adds: ["CAP_NET_BIND_SERVICE"] },
        securityOpts: ["no-new-privileges:true"],
        memory: memoryMb,
        memorySwap: memoryMb,
        // Caddy finishes requests in flight on SIGTERM.
        destroyGraceSeconds: 10,
        mustRun: true,
      },
      // The host ports are fixed: the old proxy must free them before its replacement starts.
      { parent: this, deleteBeforeReplace: true },
    );

    this.networkName = network.name;
    this.containerName = container.name;
    this.registerOutputs({ networkName: this.networkName, containerName: this.containerName });
  }
}
