/**
 * Mock-to-real: the dev stack's network and containers, as the program declares them under mocks, started for
 * real on the Docker engine (a dynalite image standing in for amazon/dynamodb-local, which cannot be pulled
 * here). Proves that the envs, ports, network aliases and hardening the program declares work together.
 */
import type Dockerode from "dockerode";
import { getContainerRuntimeClient } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_PORT } from "../../app/src/contract.js";
import { SEED_ACTIVITY } from "../../app/src/db/development.js";
import { type ContainerInputs, createOptions, waitHealthy } from "../helpers/docker-spec.js";
import { buildAppImage, buildDynaliteImage } from "../helpers/images.js";
import { type ProgramRun, runProgram } from "../helpers/pulumi.js";

const base = `http://localhost:${HOST_PORT}`;
let docker: Dockerode;
let run: ProgramRun;
const started: Dockerode.Container[] = [];
let network: Dockerode.Network;

function declared(name: string): ContainerInputs {
  return run.named("docker:index/container:Container", name).inputs as unknown as ContainerInputs;
}

beforeAll(async () => {
  const [appImage, dynaliteImage] = await Promise.all([buildAppImage(), buildDynaliteImage()]);
  run = await runProgram("dev");
  docker = (await getContainerRuntimeClient()).container.dockerode;

  const networkName = (declared("activity-app").networksAdvanced?.[0]?.name ?? "") as string;
  network = await docker.createNetwork({ Name: networkName, Driver: "bridge" });

  // DynamoDB Local's command (java -jar ...) belongs to its image; the stand-in runs its own.
  const { command: _command, ...database } = declared("activity-dynamodb");
  const dynamodb = await docker.createContainer(
    createOptions("mock-to-real-dynamodb", { ...database, image: dynaliteImage }),
  );
  started.push(dynamodb);
  await dynamodb.start();

  const app = await docker.createContainer(
    createOptions("mock-to-real-app", { ...declared("activity-app"), image: appImage }),
  );
  started.push(app);
  await app.start();
  await waitHealthy(app, 60_000);
});

afterAll(async () => {
  for (const container of started) await container.remove({ force: true }).catch(() => undefined);
  await network?.remove().catch(() => undefined);
});

describe("the dev stack as declared, on a real engine", () => {
  it("serves GET /activity/1 on host port 10001, seeded in DynamoDB through the network alias", async () => {
    const response = await fetch(`${base}/activity/1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(SEED_ACTIVITY);
  });

  it("round-trips a write", async () => {
    const body = { userId: "dev", type: "walk", startedAt: "2026-06-01T12:00:00Z", durationSeconds: 1200 };
    const put = await fetch(`${base}/activity/walk-1`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(put.status).toBe(201);
    const read = await fetch(`${base}/activity/walk-1`);
    expect(await read.json()).toEqual({
      ...body,
      id: "walk-1",
      startedAt: "2026-06-01T12:00:00.000Z",
      version: 1,
    });
  });

  it("keeps the declared hardening in force: read-only root, no capabilities, the non-root user", async () => {
    const [app] = started.slice(-1);
    const inspected = await (app as Dockerode.Container).inspect();
    expect(inspected.HostConfig.ReadonlyRootfs).toBe(true);
    expect(inspected.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(inspected.Config.User).toBe("10001:10001");
    expect(inspected.HostConfig.PortBindings).toEqual({
      "4567/tcp": [{ HostIp: "0.0.0.0", HostPort: "10001" }],
    });
  });

  it("publishes DynamoDB Local on 127.0.0.1 only", async () => {
    const [dynamodb] = started;
    const inspected = await (dynamodb as Dockerode.Container).inspect();
    expect(inspected.HostConfig.PortBindings).toEqual({
      "8000/tcp": [{ HostIp: "127.0.0.1", HostPort: "8000" }],
    });
  });
});
