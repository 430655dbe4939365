/**
 * A minimal OpenID Connect issuer on this machine: a discovery document and a key set (JWKS) served over HTTP
 * on loopback (or HTTPS with a given certificate), keys generated in memory, rotated on demand, and access
 * tokens signed for any user. `npm run auth:dev` runs it for newcomers; the tests verify real tokens against it.
 * It is no identity provider: anyone who can reach it gets nothing but public keys, and tokens come only from
 * the process that started it.
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export const DEV_AUDIENCE = "activity-api";
const SIGNING_ALGORITHM = "RS256";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface IssuerOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** @default 0, any free port */
  port?: number;
  /** Serve HTTPS with this PEM key and certificate; the issuer URL is then https://<hostName>:<port>. */
  tls?: { key: string; cert: string; hostName: string };
}

export interface TokenOptions {
  /** Seconds until `exp`; negative for a token that has expired. @default 3600 */
  expiresInSeconds?: number;
  /** Sign with this key instead of the published current one (an unpublished key, say). */
  key?: SigningKey;
}

export interface LocalIssuer {
  /** The issuer identifier, which is also where its discovery document lives. */
  readonly url: string;
  /** How many times each document was served: the tests count the verifier's fetches. */
  readonly fetches: { discovery: number; jwks: number };
  /** The key that signs tokens now; the key set publishes it (and the previous one until `retire`). */
  readonly currentKey: SigningKey;
  /** An access token for `userId` (`sub`), with `claims` added or replaced (undefined removes one). */
  accessToken(userId: string, claims?: Record<string, unknown>, options?: TokenOptions): Promise<string>;
  /** Starts signing with a new key, published beside the current one. */
  rotate(): Promise<SigningKey>;
  /** Stops publishing every key but the current one. */
  retireOldKeys(): void;
  close(): Promise<void>;
}

export async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const kid = randomUUID();
  return {
    kid,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: "sig" },
  };
}

export async function startLocalIssuer(options: IssuerOptions = {}): Promise<LocalIssuer> {
  let published: SigningKey[] = [await newSigningKey()];
  const fetches = { discovery: 0, jwks: 0 };
  let url = "";

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(JSON.stringify(body));
    };
    if (request.method !== "GET") return send(405, { error: "GET only" });
    if (request.url === "/.well-known/openid-configuration") {
      fetches.discovery++;
      return send(200, {
        issuer: url,
        jwks_uri: `${url}/jwks.json`,
        id_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
        response_types_supported: ["token"],
        subject_types_supported: ["public"],
      });
    }
    if (request.url === "/jwks.json") {
      fetches.jwks++;
      return send(200, { keys: published.map((key) => key.publicJwk) });
    }
    return send(404, { error: "not found" });
  };

  const server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handle)
    : createHttpServer(handle);
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  url = options.tls ? `https://${options.tls.hostName}:${port}` : `http://${host}:${port}`;

  const current = () => published[published.length - 1] as SigningKey;
  return {
    url,
    fetches,
    get currentKey() {
      return current();
    },
    async accessToken(userId, claims = {}, tokenOptions = {}) {
      const key = tokenOptions.key ?? current();
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = {
        iss: url,
        aud: DEV_AUDIENCE,
        sub: userId,
        iat: now,
        exp: now + (tokenOptions.expiresInSeconds ?? 3600),
        ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return new SignJWT(payload)
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: "at+jwt" })
        .sign(key.privateKey);
    },
    async rotate() {
      const key = await newSigningKey();
      published = [...published, key];
      return key;
    },
    retireOldKeys() {
      published = [current()];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
