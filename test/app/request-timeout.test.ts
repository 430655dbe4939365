/**
 * The request timeout on a real socket: a client that stalls mid-headers or mid-body gets 408 and a closed
 * connection within the request timeout and a little slack, not whenever Node next sweeps its connections
 * (every 30 s by default). The app under test has a 3 s timeout, so that this takes 4 s rather than 11; the
 * production value is checked on the app's configuration, and on a container by `npm run reliability -- fuzz`.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, REQUEST_TIMEOUT_MS } from "../../app/src/app.js";
import type { ActivityRepository } from "../../app/src/db/activities.js";
import { buildTestApp, type Endpoint, startDynalite, type TestApp } from "../helpers/dynamodb.js";

const TIMEOUT_MS = 3000;
/** Time allowed past the timeout for the timeout to be noticed (a sweep each second) and the 408 written. */
const SLACK_MS = 1500;

let engine: Endpoint;
let api: TestApp;
let port: number;

beforeAll(async () => {
  engine = await startDynalite();
  api = await buildTestApp(engine.url, { requestTimeoutMs: TIMEOUT_MS });
  await api.app.listen({ port: 0, host: "127.0.0.1" });
  port = (api.app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await api.close();
  await engine.close();
});

/** Writes `start` and then nothing more; resolves with what came back and when the server closed. */
function stall(start: string): Promise<{ received: string; closedAfterMs: number }> {
  const openedAt = Date.now();
  const socket = connect(port, "127.0.0.1", () => socket.write(start));
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk;
  });
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("close", () => resolve({ received, closedAfterMs: Date.now() - openedAt }));
  });
}

describe("a client that stops sending", () => {
  it(
    "gets 408 and a closed connection within the request timeout, mid-headers and mid-body alike",
    async () => {
      const [headers, body] = await Promise.all([
        stall("GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: "),
        stall(
          "PUT /activity/slow HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
            'Content-Length: 100\r\n\r\n{"userId":',
        ),
      ]);
      for (const { received, closedAfterMs } of [headers, body]) {
        expect(received).toMatch(/^HTTP\/1\.1 408 /);
        expect(closedAfterMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
        expect(closedAfterMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      }
    },
    TIMEOUT_MS * 4,
  );

  it(`is cut off after ${REQUEST_TIMEOUT_MS} ms in the app as it runs`, async () => {
    const app = await buildApp({ activities: {} as ActivityRepository });
    expect(app.server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    expect(app.server.headersTimeout).toBe(REQUEST_TIMEOUT_MS);
    await app.close();
  });
});
