/**
 * The app image on a real Docker engine: published on host port 10001, talking to a DynamoDB-compatible
 * container over a user-defined network, healthy by its own HEALTHCHECK, non-root, and stopping cleanly.
 */

import { DescribeTableCommand, ResourceNotFoundException } from "@aws-sdk/client-dynamodb";
import {
  GenericContainer,
  getContainerRuntimeClient,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_PORT, APP_UID, HOST_PORT } from "../../app/src/contract.js";
import { createDocumentClient } from "../../app/src/db/client.js";
import { ensureTable, SEED_ACTIVITY } from "../../app/src/db/development.js";
import {
  buildAppImage,
  buildDynaliteImage,
  DYNALITE_PORT,
  startDynaliteContainer,
} from "../helpers/images.js";

const base = `http://localhost:${HOST_PORT}`;
let network: StartedNetwork;
let dynamo: StartedTestContainer;
let appImage: string;
let api: StartedTestContainer;

beforeAll(async () => {
  const [app, dynalite] = await Promise.all([buildAppImage(), buildDynaliteImage()]);
  appImage = app;
  network = await new Network().start();
  dynamo = await startDynaliteContainer(dynalite, network, "dynamodb");
  api = await new GenericContainer(appImage)
    .withNetwork(network)
    .withEnvironment({
      APP_ENV: "development",
      DYNAMODB_ENDPOINT: `http://dynamodb:${DYNALITE_PORT}`,
      TABLE_NAME: "activities",
    })
    .withExposedPorts({ container: APP_PORT, host: HOST_PORT })
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(30_000)
    .start();
});

afterAll(async () => {
  await api?.stop().catch(() => undefined);
  await dynamo?.stop();
  await network?.stop();
});

describe("the app container", () => {
  it("serves the seeded activity 1 on host port 10001", async () => {
    const response = await fetch(`${base}/activity/1`);
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).toBe('"1"');
    expect(await response.json()).toEqual(SEED_ACTIVITY);
  });

  it("round-trips a write through the DynamoDB container", async () => {
    const created = await fetch(`${base}/activity`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        userId: "c1",
        type: "cycle",
        startedAt: "2026-05-01T18:00:00Z",
        durationSeconds: 3600,
      }),
    });
    expect(created.status).toBe(201);
    const location = created.headers.get("location");
    const read = await fetch(`${base}${location}`);
    expect(await read.json()).toEqual(await created.json());
  });

  it("is ready, and healthy by its own HEALTHCHECK", async () => {
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const client = await getContainerRuntimeClient();
    const inspected = await client.container.inspect(client.container.getById(api.getId()));
    expect(inspected.State.Health?.Status).toBe("healthy");
  });

  it("runs as the dedicated non-root user", async () => {
    const { output, exitCode } = await api.exec(["id", "-u"]);
    expect(exitCode).toBe(0);
    expect(Number(output.trim())).toBe(APP_UID);
  });

  it("in test mode creates nothing, and opens its port only once its table exists", async () => {
    const strict = await new GenericContainer(appImage)
      .withNetwork(network)
      .withEnvironment({
        APP_ENV: "test",
        DYNAMODB_ENDPOINT: `http://dynamodb:${DYNALITE_PORT}`,
        TABLE_NAME: "created-later",
      })
      .withExposedPorts(APP_PORT)
      .withWaitStrategy(Wait.forLogMessage(/port not opened yet/))
      .start();
    try {
      const url = `http://${strict.getHost()}:${strict.getMappedPort(APP_PORT)}`;
      await expect(fetch(`${url}/health`)).rejects.toThrow();
      const database = createDocumentClient(
        {
          dynamodbEndpoint: `http://${dynamo.getHost()}:${dynamo.getMappedPort(DYNALITE_PORT)}`,
          region: "us-east-1",
        },
        {},
      );
      await expect(
        database.send(new DescribeTableCommand({ TableName: "created-later" })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
      await ensureTable(database, "created-later");
      // The app retries within 5 s of the table's creation.
      const deadline = Date.now() + 15_000;
      let ready: number | undefined;
      while (ready !== 200 && Date.now() < deadline) {
        ready = await fetch(`${url}/ready`).then(
          (response) => response.status,
          () => undefined,
        );
        if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(ready).toBe(200);
      expect((await fetch(`${url}/activity/1`)).status).toBe(404);
      database.destroy();
    } finally {
      await strict.stop();
    }
  });

  it("exits 0 promptly on docker stop", async () => {
    const started = Date.now();
    const stopped = await api.stop({ remove: false, timeout: 10_000 });
    const elapsed = Date.now() - started;
    const client = await getContainerRuntimeClient();
    const inspected = await client.container.inspect(client.container.getById(stopped.getId()));
    expect(inspected.State.ExitCode).toBe(0);
    expect(elapsed).toBeLessThan(10_000);
    await client.container.remove(client.container.getById(stopped.getId()));
  });
});
