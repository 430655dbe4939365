/**
 * The image with auth on against an issuer served over HTTPS, as in production: a CA made here signs the
 * issuer's certificate, the app trusts that CA through NODE_EXTRA_CA_CERTS and nothing else (no plain-HTTP
 * exception beyond loopback), and a container without it refuses the issuer.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from "jose";
import {
  GenericContainer,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_PORT, ENV } from "../../app/src/contract.js";
import { CADDY_IMAGE } from "../../components/front-proxy.js";
import {
  buildAppImage,
  buildDynaliteImage,
  DYNALITE_PORT,
  startDynaliteContainer,
} from "../helpers/images.js";
import { run } from "../helpers/run.js";

const ISSUER_HOST = "issuer";
const ISSUER_PORT = 8443;
const ISSUER = `https://${ISSUER_HOST}:${ISSUER_PORT}`;
const AUDIENCE = "activity-api";
const CA_PATH = "/etc/activity-api/issuer-ca.pem";

let directory: string;
let network: StartedNetwork;
let dynamo: StartedTestContainer;
let issuer: StartedTestContainer;
const apps: StartedTestContainer[] = [];
let signingKey: CryptoKey;
let ca: string;

/** A throwaway CA and a certificate it signs for the issuer's name on the test network. */
async function makeCertificates(dir: string) {
  const openssl = async (...args: string[]) => {
    const result = await run("openssl", args, { cwd: dir });
    if (result.code !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=test CA",
  );
  await openssl("req", ...ec, "-keyout", "issuer.key", "-out", "issuer.csr", "-subj", `/CN=${ISSUER_HOST}`);
  await writeFile(join(dir, "issuer.ext"), `subjectAltName=DNS:${ISSUER_HOST}\n`);
  await openssl(
    "x509",
    "-req",
    "-in",
    "issuer.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "issuer.pem",
    "-days",
    "1",
    "-extfile",
    "issuer.ext",
  );
  return {
    ca: await readFile(join(dir, "ca.pem"), "utf8"),
    cert: await readFile(join(dir, "issuer.pem"), "utf8"),
    key: await readFile(join(dir, "issuer.key"), "utf8"),
  };
}

/** The issuer's documents, served by Caddy over HTTPS with the CA's certificate: all a verifier ever fetches. */
async function startIssuer(certificates: { cert: string; key: string }, jwks: object) {
  const caddyfile = `{
  admin off
  auto_https disable_redirects
}
${ISSUER} {
  tls /etc/issuer/cert.pem /etc/issuer/key.pem
  header Content-Type application/json
  root * /srv/issuer
  file_server
}
`;
  return new GenericContainer(CADDY_IMAGE)
    .withNetwork(network)
    .withNetworkAliases(ISSUER_HOST)
    .withCopyContentToContainer([
      { content: caddyfile, target: "/etc/caddy/Caddyfile" },
      { content: certificates.cert, target: "/etc/issuer/cert.pem" },
      { content: certificates.key, target: "/etc/issuer/key.pem" },
      {
        content: JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks.json` }),
        target: "/srv/issuer/.well-known/openid-configuration",
      },
      { content: JSON.stringify(jwks), target: "/srv/issuer/jwks.json" },
    ])
    .withExposedPorts(ISSUER_PORT)
    .withWaitStrategy(Wait.forListeningPorts())
    .start();
}

async function startApp(image: string, trustCa: boolean): Promise<string> {
  const container = new GenericContainer(image)
    .withNetwork(network)
    .withEnvironment({
      [ENV.appEnv]: "development",
      [ENV.dynamodbEndpoint]: `http://dynamodb:${DYNALITE_PORT}`,
      [ENV.authIssuer]: ISSUER,
      [ENV.authAudience]: AUDIENCE,
      ...(trustCa && { NODE_EXTRA_CA_CERTS: CA_PATH }),
    })
    .withCopyContentToContainer(trustCa ? [{ content: ca, target: CA_PATH, mode: 0o444 }] : [])
    .withExposedPorts(APP_PORT)
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(30_000);
  const started = await container.start();
  apps.push(started);
  return `http://${started.getHost()}:${started.getMappedPort(APP_PORT)}`;
}

async function token(userId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: userId, aud: AUDIENCE, iss: ISSUER, iat: now, exp: now + 600 })
    .setProtectedHeader({ alg: "ES256", kid: "container-test" })
    .sign(signingKey);
}

let image: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "auth-container-"));
  const [built, dynalite, certificates, keys] = await Promise.all([
    buildAppImage("activity-api:auth-container-test"),
    buildDynaliteImage(),
    makeCertificates(directory),
    generateKeyPair("ES256"),
  ]);
  image = built;
  ca = certificates.ca;
  signingKey = keys.privateKey;
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: "container-test", alg: "ES256", use: "sig" };
  network = await new Network().start();
  dynamo = await startDynaliteContainer(dynalite, network, "dynamodb");
  issuer = await startIssuer(certificates, { keys: [jwk] });
});

afterAll(async () => {
  for (const app of apps) await app.stop().catch(() => undefined);
  await issuer?.stop().catch(() => undefined);
  await dynamo?.stop().catch(() => undefined);
  await network?.stop().catch(() => undefined);
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe("the image with auth on", () => {
  it("verifies tokens against an HTTPS issuer whose CA it is given, and needs one on every activity route", async () => {
    const base = await startApp(image, true);
    const anonymous = await fetch(`${base}/activity/1`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
    const demo = { authorization: `Bearer ${await token("demo-user")}` };
    const seeded = await fetch(`${base}/activity/1`, { headers: demo });
    expect(seeded.status).toBe(200);
    const other = { authorization: `Bearer ${await token("someone-else")}` };
    expect((await fetch(`${base}/activity/1`, { headers: other })).status).toBe(404);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    expect((await fetch(`${base}/openapi.json`)).status).toBe(200);
  });

  it("refuses an issuer whose certificate it cannot verify: 503, and /ready stays 200", async () => {
    const base = await startApp(image, false);
    const response = await fetch(`${base}/activity/1`, {
      headers: { authorization: `Bearer ${await token("demo-user")}` },
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: "issuer_unavailable" });
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });
});
