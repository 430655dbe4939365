/**
 * `npm run auth:dev` as a newcomer runs it: its tokens verify against the issuer it starts, with the API's own
 * verifier and the settings it prints; bad usage exits 2 with one line and the help.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { TokenVerifier } from "../../app/src/auth/verifier.js";
import { run } from "../helpers/run.js";

const MAIN = new URL("../../cli/auth-dev/main.ts", import.meta.url).pathname;
const TSX = new URL("../../node_modules/.bin/tsx", import.meta.url).pathname;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("npm run auth:dev", () => {
  it("prints a token per user that the API's verifier accepts as that user, then serves until stopped", async () => {
    const port = await freePort();
    const child = spawn(TSX, [MAIN, "--user", "alice", "--user", "bob", "--port", String(port)]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    try {
      while (!stderr.includes("npm start")) await once(child.stderr, "data");
      const tokens = stdout.trim().split("\n");
      expect(tokens).toHaveLength(2);
      const issuer = /AUTH_ISSUER=(\S+) AUTH_AUDIENCE=(\S+) npm start/.exec(stderr);
      expect(issuer?.[1]).toBe(`http://127.0.0.1:${port}`);
      const verifier = new TokenVerifier(
        { issuer: issuer?.[1] as string, audience: issuer?.[2] as string, userClaim: "sub" },
        Fastify({ logger: false }).log,
      );
      expect(await verifier.verify(tokens[0] as string)).toEqual({ userId: "alice" });
      expect(await verifier.verify(tokens[1] as string)).toEqual({ userId: "bob" });
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  });

  it.each([
    [["--user", "no spaces allowed"], '--user "no spaces allowed" is not a user id'],
    [["--port", "http"], "--port http is not a port"],
    [["--unknown"], "Unknown option '--unknown'"],
  ])("exits 2 naming the bad usage: %j", async (args, message) => {
    const result = await run(TSX, [MAIN, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toContain(`auth:dev: ${message}`);
    expect(result.stderr).toContain("Usage: npm run auth:dev");
  });
});
