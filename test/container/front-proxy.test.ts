/**
 * Every Caddyfile the FrontProxy can run, validated by the Caddy release the component pins (its image, or the
 * stand-in scripts/offline-images.sh builds of it): a configuration Caddy refuses would stop the proxy at start.
 */
import { describe, expect, it } from "vitest";
import { CADDY_IMAGE, type CaddyfileOptions, caddyfile } from "../../components/front-proxy.js";
import { run } from "../helpers/run.js";

/** `caddy validate` on `text`, inside the pinned image; resolves with its exit code and output. */
async function validate(text: string): Promise<{ code: number; output: string }> {
  const script = "cat > /tmp/Caddyfile && caddy validate --config /tmp/Caddyfile --adapter caddyfile";
  const result = await run("docker", ["run", "--rm", "-i", CADDY_IMAGE, "sh", "-c", script], { input: text });
  return { code: result.code, output: `${result.stdout}${result.stderr}` };
}

const variants: Array<[string, CaddyfileOptions]> = [
  ["the app on :10001", { upstream: { kind: "app", alias: "api" } }],
  [
    "the app with a domain and Caddy's own CA",
    { upstream: { kind: "app", alias: "api" }, domain: "api.example.com", tlsIssuer: "internal" },
  ],
  [
    "the app with a domain and ACME",
    { upstream: { kind: "app", alias: "api" }, domain: "api.example.com", acmeEmail: "ops@example.com" },
  ],
  ["previews by host name", { upstream: { kind: "previews", domain: "localhost" } }],
];

describe("the FrontProxy's Caddyfile", () => {
  it.each(variants)("is valid for %s", async (_name, options) => {
    const result = await validate(caddyfile(options));
    expect(result.output).toContain("Valid configuration");
    expect(result.code).toBe(0);
  });

  it("is refused by Caddy when broken, so that the check above means something", async () => {
    const result = await validate(
      caddyfile({ upstream: { kind: "app", alias: "api" } }).replace("refresh 1s", "refresh soon"),
    );
    expect(result.code).not.toBe(0);
  });
});
