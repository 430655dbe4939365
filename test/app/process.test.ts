/**
 * The real process (app/src/main.ts) started as a child: a bad environment exits 1 with one line, the port
 * opens only once the table answers, and SIGTERM drains an in-flight request, refuses new connections, and
 * exits 0 within the grace period. `npm start` (app/src/local.ts) prints only the server's log lines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, get, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../app/src/db/client.js";
import { ensureTable, SEED_ACTIVITY } from "../../app/src/db/development.js";
import { RECOMMENDED_NODE_MAJOR } from "../../app/src/node-version.js";
import { SHUTDOWN_GRACE_MS } from "../../app/src/server.js";
import { type Endpoint, startDynalite } from "../helpers/dynamodb.js";

const MAIN = new URL("../../app/src/main.ts", import.meta.url).pathname;
/** What `npm start` runs (`node --import tsx app/src/local.ts`). */
const LOCAL = new URL("../../app/src/local.ts", import.meta.url).pathname;

function startApi(env: Record<string, string>, entry = MAIN): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", entry], {
    env: { PATH: process.env.PATH, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** GET on a fresh connection; resolves with status and body, rejects on connection errors. */
function fetchFresh(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = "";
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

/** Resolves once the process has logged `text` on stdout. */
function untilLogged(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve) => {
    let log = "";
    const onData = (chunk: Buffer) => {
      log += chunk;
      if (!log.includes(text)) return;
      child.stdout?.off("data", onData);
      resolve();
    };
    child.stdout?.on("data", onData);
  });
}

/** A proxy in front of DynamoDB whose added latency a test can change, to hold requests in flight. */
async function startDelayingProxy(target: string) {
  let delayMs = 0;
  const server = createServer(async (request, response) => {
    await sleep(delayMs);
    const upstream = httpRequest(
      `${target}${request.url}`,
      { method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    request.pipe(upstream);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setDelay: (ms: number) => {
      delayMs = ms;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe("the API process", () => {
  let engine: Endpoint;
  beforeAll(async () => {
    engine = await startDynalite();
  });
  afterAll(() => engine.close());

  it("exits 1 with one line naming the bad variable", async () => {
    const child = startApi({ APP_ENV: "staging" });
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      'Invalid environment: APP_ENV="staging" is not allowed; expected one of development, test, production',
    );
  });

  it("as npm start prints the server's JSON lines only: no AWS SDK warning, one line of its own on old Node", async () => {
    // A clean environment, as a newcomer's: the SDK's own switch for its warning is not set.
    const child = startApi({ PORT: String(await freePort()), LOG_LEVEL: "info" }, LOCAL);
    let stdout = "";
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    const ready = new Promise<void>((resolve) => {
      child.stdout?.on("data", (chunk) => {
        stdout += chunk;
        if (stdout.includes('"msg":"embedded default ready"')) resolve();
      });
    });
    const exited = once(child, "exit");
    await Promise.race([ready, exited]);
    child.kill("SIGTERM");
    const [code] = await exited;

    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.map((line) => line.msg)).toContain("embedded default ready");
    const warnings = lines.filter((line) => line.level >= 40).map((line) => line.msg);
    const major = Number(process.versions.node.split(".")[0]);
    expect(warnings).toEqual(
      major < RECOMMENDED_NODE_MAJOR ? [expect.stringContaining(`Node.js ${process.version} is past`)] : [],
    );
  });

  it("in test mode opens its port only once its table answers, and a stop before that exits 0", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { APP_ENV: "test", DYNAMODB_ENDPOINT: engine.url, PORT: String(port), HOST: "127.0.0.1" };
    const child = startApi({ ...env, TABLE_NAME: "created-later" });
    try {
      await untilLogged(child, "port not opened yet");
      await expect(fetchFresh(`${base}/health`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      const database = createDocumentClient({ dynamodbEndpoint: engine.url, region: "us-east-1" }, {});
      await ensureTable(database, "created-later");
      database.destroy();
      let ready: number | undefined;
      for (let attempt = 0; ready !== 200 && attempt < 100; attempt++) {
        ready = (await fetchFresh(`${base}/ready`).catch(() => undefined))?.status;
        if (ready !== 200) await sleep(100);
      }
      expect(ready).toBe(200);
    } finally {
      child.kill("SIGKILL");
    }

    const waiting = startApi({ ...env, PORT: String(await freePort()), TABLE_NAME: "never-created" });
    await untilLogged(waiting, "port not opened yet");
    const stoppedAt = Date.now();
    waiting.kill("SIGTERM");
    const [code] = await once(waiting, "exit");
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(2000);
  });

  it("on SIGTERM finishes the in-flight request, refuses new connections and exits 0", async () => {
    const proxy = await startDelayingProxy(engine.url);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = startApi({
      APP_ENV: "development",
      DYNAMODB_ENDPOINT: proxy.url,
      PORT: String(port),
      HOST: "127.0.0.1",
    });
    try {
      for (let attempt = 0; ; attempt++) {
        const ready = await fetchFresh(`${base}/ready`).catch(() => undefined);
        if (ready?.status === 200) break;
        if (attempt > 100) throw new Error("the API did not become ready");
        await sleep(100);
      }

      proxy.setDelay(1500);
      const inFlight = fetchFresh(`${base}/activity/1`);
      await sleep(300);
      const stoppedAt = Date.now();
      child.kill("SIGTERM");
      const exited = once(child, "exit");
      await sleep(200);

      await expect(fetchFresh(`${base}/health`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      const drained = await inFlight;
      expect(drained.status).toBe(200);
      expect(JSON.parse(drained.body)).toEqual(SEED_ACTIVITY);
      const [code] = await exited;
      expect(code).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(SHUTDOWN_GRACE_MS);
    } finally {
      child.kill("SIGKILL");
      await proxy.close();
    }
  });
});
