/**
 * FrontProxy under mocks, and the Caddyfile it runs: the host ports it owns, the network it shares, its
 * hardening, and how it finds the app (and each preview) on every request.
 */
import type * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { CADDY_IMAGE, caddyfile, FrontProxy } from "../../components/front-proxy.js";
import { runDeclarations } from "../helpers/pulumi.js";

const declare = (build: () => Record<string, pulumi.Input<unknown>>) =>
  runDeclarations("unit", {}, async () => build());

describe("caddyfile", () => {
  it("sends every request on :10001 to the app's alias, found by DNS each second, retrying what cannot connect", () => {
    const text = caddyfile({ upstream: { kind: "app", alias: "api" } });
    expect(text).toBe(`{
\tadmin off
\tskip_install_trust
}

http://:10001 {
\treverse_proxy {
\t\tdynamic a {
\t\t\tname api
\t\t\tport 4567
\t\t\trefresh 1s
\t\t\tversions ipv4
\t\t}
\t\tlb_policy round_robin
\t\tlb_try_duration 10s
\t\tlb_try_interval 100ms
\t\tfail_duration 1s
\t\tmax_fails 1
\t\ttransport http {
\t\t\tdial_timeout 250ms
\t\t}
\t}
\thandle_errors 502 503 504 {
\t\theader Content-Type application/json
\t\theader Retry-After 2
\t\trespond \`{"statusCode":503,"error":"Service Unavailable","message":"the API is not answering; retry shortly"}\` 503
\t}
}
`);
  });

  it("gives up on an address that does not answer within 250 ms, and leaves it out of the next tries for 1 s", () => {
    // Learnt on the real engine: while a release that cannot start restarted, a request dialled its dead
    // address with Caddy's default 3 s timeout, picked it again on retry, and waited past the client's 3 s.
    for (const upstream of [
      { kind: "app", alias: "api" },
      { kind: "previews", domain: "localhost" },
    ] as const) {
      const text = caddyfile({ upstream });
      expect(text).toMatch(/\n\t+dial_timeout 250ms\n/);
      expect(text).toMatch(/\n\t+fail_duration 1s\n\t+max_fails 1\n/);
    }
  });

  it("adds an HTTPS site for a domain, with Caddy's own CA when asked, and the ACME account's email", () => {
    const internal = caddyfile({
      upstream: { kind: "app", alias: "api" },
      domain: "api.example.com",
      tlsIssuer: "internal",
    });
    expect(internal).toContain("api.example.com {\n\ttls internal\n\treverse_proxy {");
    const acme = caddyfile({
      upstream: { kind: "app", alias: "api" },
      domain: "api.example.com",
      acmeEmail: "ops@example.com",
    });
    expect(acme).toContain("\temail ops@example.com\n");
    expect(acme).toContain("api.example.com {\n\treverse_proxy {");
    expect(acme).not.toContain("tls internal");
  });

  it("routes <label>.<domain> to the preview aliased preview-<label>, and answers 404 for any other host", () => {
    const text = caddyfile({ upstream: { kind: "previews", domain: "localhost" } });
    expect(text).toContain(
      "@preview header_regexp label Host ^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\\.localhost(?::[0-9]+)?$",
    );
    expect(text).toContain("\t\t\tname preview-{re.label.1}\n");
    expect(text).toMatch(/handle \{\n\t\trespond "No preview at this address: [^"]+" 404\n\t\}/);
    // The label is the only part of the host that reaches the DNS name: a dot cannot smuggle another name in.
    const domains = caddyfile({ upstream: { kind: "previews", domain: "pr.example.com" } });
    expect(domains).toContain("\\.pr\\.example\\.com(?::[0-9]+)?$");
  });
});

describe("FrontProxy", () => {
  it("owns host port 10001 on a network of its own, its Caddyfile in its environment and certificates on a volume", async () => {
    const run = await declare(() => ({ network: new FrontProxy("edge").networkName }));
    const proxy = run.named("docker:index/container:Container", "edge-proxy");
    expect(run.named("docker:index/remoteImage:RemoteImage", "edge-proxy-image").inputs).toEqual({
      name: CADDY_IMAGE,
      keepLocally: true,
    });
    expect(proxy.inputs).toMatchObject({
      // This machine only unless the caller says otherwise (index.ts: every interface on an EC2 host).
      ports: [{ internal: 10001, external: 10001, ip: "127.0.0.1" }],
      networksAdvanced: [{ name: `${run.named("docker:index/network:Network", "edge-net").name}-8b1c2d3` }],
      volumes: [{ containerPath: "/data" }],
      envs: [`CADDYFILE=${caddyfile({ upstream: { kind: "app", alias: "api" } })}`],
      command: [
        "sh",
        "-c",
        `printf '%s' "$CADDYFILE" > /config/Caddyfile && exec caddy run --config /config/Caddyfile --adapter caddyfile`,
      ],
      restart: "unless-stopped",
      readOnly: true,
      // As Docker reports it back: NET_BIND_SERVICE showed as drift on every refresh on the real engine.
      capabilities: { drops: ["ALL"], adds: ["CAP_NET_BIND_SERVICE"] },
      securityOpts: ["no-new-privileges:true"],
      memory: 128,
      memorySwap: 128,
    });
    // The real engine refused `uploads` here: Docker copies no file into a read-only root file system.
    expect(proxy.inputs.uploads).toBeUndefined();
    expect(proxy.inputs.tmpfs).toMatchObject({ "/config": expect.stringContaining("rw") });
    expect(run.ofType("docker:index/volume:Volume").map((volume) => volume.name)).toEqual([
      "edge-proxy-data",
    ]);
    expect(proxy.options.deleteBeforeReplace).toBe(true);
  });

  it("publishes 80 and 443 as well when it serves a domain, on the given address", async () => {
    const run = await declare(() => ({
      network: new FrontProxy("edge", { domain: "api.example.com", hostIp: "0.0.0.0", httpPort: 18001 })
        .networkName,
    }));
    expect(run.named("docker:index/container:Container", "edge-proxy").inputs.ports).toEqual([
      { internal: 10001, external: 18001, ip: "0.0.0.0" },
      { internal: 80, external: 80, ip: "0.0.0.0" },
      { internal: 443, external: 443, ip: "0.0.0.0" },
    ]);
  });
});
