/**
 * Draining: once the app has begun to close, a request that still reaches it (on a connection its proxy opened
 * before the stop) is served, and told the connection closes, rather than refused with a 503 that a client
 * behind the proxy would see while the old release could still serve it.
 */
import { describe, expect, it } from "vitest";
import { buildTestApp, startDynalite } from "../helpers/dynamodb.js";

describe("a request that reaches the app while it closes", () => {
  it("is served, with Connection: close", async () => {
    const engine = await startDynalite();
    const { app, client } = await buildTestApp(engine.url);
    try {
      const closing = app.close();
      const answer = await app.inject({ method: "GET", url: "/health" });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers.connection).toBe("close");
      await closing;
    } finally {
      client.destroy();
      await engine.close();
    }
  });
});
