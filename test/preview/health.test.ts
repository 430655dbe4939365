/** The health probe: its retries and verdicts, and its GET against a real socket, *.localhost included. */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet, probeReady } from "../../cli/preview/health.js";

const noSleep = async () => {};

describe("probeReady", () => {
  it("asks <url>/ready once when it is ready", async () => {
    const asked: string[] = [];
    const health = await probeReady(
      "http://pv-x.localhost:10080/",
      async (url) => {
        asked.push(url);
        return { status: 200, latencyMs: 35.4 };
      },
      noSleep,
    );
    expect(health).toEqual({ ready: true, summary: "ready (200 in 35 ms)" });
    expect(asked).toEqual(["http://pv-x.localhost:10080/ready"]);
  });

  it("retries, sleeping between attempts, and reports the last failure", async () => {
    const slept: number[] = [];
    const health = await probeReady(
      "http://x",
      async () => {
        throw new Error("connect ECONNREFUSED 127.0.0.1:10080\n    at stack");
      },
      async (milliseconds) => {
        slept.push(milliseconds);
      },
      { attempts: 3, intervalMs: 500, timeoutMs: 100 },
    );
    expect(health).toEqual({
      ready: false,
      summary: "not ready: connect ECONNREFUSED 127.0.0.1:10080, 3 attempts over 1 s",
    });
    expect(slept).toEqual([500, 500]);
  });
});

describe("httpGet", () => {
  let server: ReturnType<typeof createServer>;
  let port: number;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.headers);
      if (request.url === "/slow") return; // never answers
      response.writeHead(request.url === "/ready" ? 200 : 404).end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends a name under localhost to 127.0.0.1, keeping it in the Host header the proxy routes by", async () => {
    const answer = await httpGet(`http://pv-x-0123abcd.localhost:${port}/ready`, 2_000);
    expect(answer.status).toBe(200);
    expect(answer.latencyMs).toBeGreaterThan(0);
    expect(seen.at(-1)?.host).toBe(`pv-x-0123abcd.localhost:${port}`);
  });

  it("answers other statuses as they are, and fails after its timeout", async () => {
    expect((await httpGet(`http://127.0.0.1:${port}/missing`, 2_000)).status).toBe(404);
    await expect(httpGet(`http://localhost:${port}/slow`, 100)).rejects.toThrow("no answer within 100 ms");
  });
});
