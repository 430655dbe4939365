/**
 * The dev stack on the real engine, as a newcomer runs it: `npm run dev:up` in a fresh clone, the API on
 * :10001 through the front proxy, no drift, data that survives a restart and a kill of the database, a one-line
 * app change and a release that cannot start, each rolled out while a client reads without pause, no answer
 * to a LAN neighbour unless publishTo says lan, HTTPS turned on (a change of the proxy itself), and `npm run
 * dev:down` leaving nothing of the stack behind, its data volume included. Stand-ins for the official images
 * must exist under their official names (scripts/offline-images.sh) where they cannot be pulled.
 */
import { randomUUID } from "node:crypto";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { APP_PORT, DEFAULT_TABLE_NAME, ENV, HOST_PORT, READY_PATH } from "../../app/src/contract.js";
import { lanGuard, lanNeighbour } from "../helpers/lan-neighbour.js";
import { tail } from "../helpers/run.js";
import {
  median,
  type ProbeReport,
  type ProjectCopy,
  parseEngineEvents,
  printFigures,
  probe,
  recordDockerEvents,
  rolloutBreakdown,
  request as send,
  startDevStackSuite,
} from "./harness.js";

const API = `http://127.0.0.1:${HOST_PORT}`;
let copy: ProjectCopy;
const figures: Array<[string, string]> = [];

/** The last lines of a failed command, for the assertion message. */
async function stackOutput(name: string): Promise<string> {
  const result = await copy.run("pulumi", "stack", "output", name, "--stack", "dev");
  expect(result.code, tail(result)).toBe(0);
  return result.stdout.trim();
}

async function expectNoDrift(): Promise<void> {
  const preview = await copy.run(
    "pulumi",
    "preview",
    "--stack",
    "dev",
    "--refresh",
    "--expect-no-changes",
    "--diff",
  );
  expect(preview.code, tail(preview)).toBe(0);
}

/** The stack's Docker objects, from its state: what dev:down must remove. */
interface StackObjects {
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
}
interface StateResource {
  urn: string;
  type: string;
  id?: string;
  outputs?: Record<string, unknown>;
}
async function stateResources(): Promise<StateResource[]> {
  const exported = await copy.run("pulumi", "stack", "export", "--stack", "dev");
  return (
    (JSON.parse(exported.stdout) as { deployment: { resources?: StateResource[] } }).deployment.resources ??
    []
  );
}
/** The Docker id of the stack's resource named `name` (the last part of its URN). */
async function dockerIdOf(name: string): Promise<string> {
  const id = (await stateResources()).find((resource) => resource.urn.endsWith(`::${name}`))?.id;
  if (id === undefined) throw new Error(`no ${name} in the dev stack's state`);
  return id;
}
async function stackObjects(): Promise<StackObjects> {
  const resources = await stateResources();
  const ids = (type: string) =>
    resources.filter((resource) => resource.type === type).map((resource) => resource.id ?? "");
  return {
    containers: ids("docker:index/container:Container"),
    networks: ids("docker:index/network:Network"),
    volumes: ids("docker:index/volume:Volume"),
    images: resources
      .filter(
        (resource) =>
          resource.type === "docker:index/remoteImage:RemoteImage" && resource.outputs?.keepLocally === false,
      )
      .map((resource) => String(resource.outputs?.name)),
  };
}

/** GET https://<host>:443<path> on this machine, trusting only `ca`; retried while the proxy issues its certificate. */
async function httpsGet(host: string, path: string, ca: string): Promise<{ status: number; body: string }> {
  const once = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      request({ host: "127.0.0.1", port: 443, path, servername: host, headers: { host }, ca }, (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      })
        .on("error", reject)
        .end();
    });
  for (let attempt = 1; ; attempt++) {
    try {
      return await once();
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function dockerHas(
  kind: "container" | "network" | "volume" | "image",
  reference: string,
): Promise<boolean> {
  return (await copy.run("docker", kind, "inspect", reference)).code === 0;
}

/** Rollouts measured, each against its own floor: the figures are their median. */
const ROLLOUT_RUNS = 3;
const APP_SOURCE = "app/src/app.ts";

function clientFigure(seen: ProbeReport): string {
  return (
    `${seen.requests} requests, ${seen.failures} failed ${JSON.stringify(seen.failed)}, ` +
    `slowest ${seen.slowestSeconds.toFixed(2)} s, longest unavailability ${seen.longestOutageSeconds.toFixed(2)} s`
  );
}

/**
 * One rollout as issue 21 measures it: a one-line source change, then `pulumi up --skip-preview` timed, with
 * the engine's events (--json) and the Docker engine's read back for the breakdown. Asserts what a rollout
 * must do: a new image, the app's container (and only it) replaced, the old release's image kept.
 */
async function rollOut(run: number) {
  const before = { release: await stackOutput("release"), objects: await stackObjects() };
  // Unique to this run, so that BuildKit's cache (which outlives the suite) never has it already.
  await appendFile(join(copy.dir, APP_SOURCE), `// A one-line change: release ${run}, ${randomUUID()}.\n`);
  const dockerEvents = recordDockerEvents();
  const startedAt = Date.now();
  // --json: the engine's events, one a line, for the breakdown; the update itself is the same.
  const up = await copy.run("pulumi", "up", "--stack", "dev", "--yes", "--skip-preview", "--json");
  const endedAt = Date.now();
  const docker = await dockerEvents.stop();
  expect(up.code, tail(up)).toBe(0);

  const after = { release: await stackOutput("release"), objects: await stackObjects() };
  expect(after.release).not.toBe(before.release);
  const added = after.objects.containers.filter((id) => !before.objects.containers.includes(id));
  const removed = before.objects.containers.filter((id) => !after.objects.containers.includes(id));
  expect([added.length, removed.length]).toEqual([1, 1]);
  // The old releases' images stay beside the new one's (the stack keeps its last keepImages releases, 5, for a
  // rollback; test/engine/releases.test.ts proves the pruning beyond them).
  expect(after.objects.images).toEqual(expect.arrayContaining(before.objects.images));
  expect(after.objects.images).toHaveLength(before.objects.images.length + 1);
  for (const image of before.objects.images) expect(await dockerHas("image", image), image).toBe(true);

  const breakdown = rolloutBreakdown({
    startedAt,
    endedAt,
    release: after.release,
    oldRelease: before.release,
    engine: parseEngineEvents(up.stdout),
    docker,
  });
  return { wall: (endedAt - startedAt) / 1000, breakdown };
}

/** The floor of a rollout: the same kind of change built by the docker CLI, then run until /ready answers. */
interface Floor {
  build: number;
  toReady: number;
  total: number;
}

/**
 * Measures the floor in the same run, under the same client: another one-line change (so that BuildKit
 * rebuilds as much as a rollout does), `docker build` with BuildKit as users build (scripts/docker-build.sh),
 * and `docker run` on the stack's network against its DynamoDB Local, polled every 20 ms until /ready answers.
 * The image and container are removed afterwards.
 */
async function floor(network: string, run: number): Promise<Floor> {
  await appendFile(
    join(copy.dir, APP_SOURCE),
    `// A one-line change: the floor of run ${run}, ${randomUUID()}.\n`,
  );
  const image = `activity-api:floor-${run}`;
  const startedAt = performance.now();
  const build = await copy.run("bash", "scripts/docker-build.sh", "-f", "app/Dockerfile", "-t", image, ".");
  expect(build.code, tail(build)).toBe(0);
  const builtAt = performance.now();
  const started = await copy.run(
    "docker",
    "run",
    "--detach",
    "--network",
    network,
    "--env",
    `${ENV.appEnv}=development`,
    "--env",
    `${ENV.tableName}=${DEFAULT_TABLE_NAME}`,
    "--env",
    `${ENV.dynamodbEndpoint}=http://dynamodb:8000`,
    "--publish",
    `127.0.0.1::${APP_PORT}`,
    image,
  );
  expect(started.code, tail(started)).toBe(0);
  const container = started.stdout.trim();
  try {
    const published = (await copy.run("docker", "port", container, String(APP_PORT))).stdout.trim();
    const address = published.split("\n")[0] as string;
    for (;;) {
      const answer = await send(`http://${address}${READY_PATH}`, { timeoutMs: 1000 }).catch(() => undefined);
      if (answer?.status === 200) break;
      if (performance.now() - builtAt > 60_000)
        throw new Error(`the floor's container never answered ${READY_PATH}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const readyAt = performance.now();
    return {
      build: (builtAt - startedAt) / 1000,
      toReady: (readyAt - builtAt) / 1000,
      total: (readyAt - startedAt) / 1000,
    };
  } finally {
    await copy.run("docker", "rm", "--force", container);
    await copy.run("docker", "rmi", image);
  }
}

const MAIN_SOURCE = "app/src/main.ts";
/** main.ts as the fresh clone has it, for the fix after the broken releases. */
let originalMain: string;
/** The releases rollOutBroken saw refused. */
const refusedReleases: string[] = [];

/**
 * A broken release rolled out as a user does (`npm run dev:up`) under the client: main.ts replaced by
 * `brokenMain`. Returns what the user saw and waited, the seconds from the new container's first start to the
 * end of the failed update (the Docker engine's clock), and what serves after it.
 */
async function rollOutBroken(brokenMain: string) {
  const serving = await stackOutput("release");
  originalMain ??= await readFile(join(copy.dir, MAIN_SOURCE), "utf8");
  await writeFile(join(copy.dir, MAIN_SOURCE), brokenMain);
  const client = probe(`${API}/activity/1`);
  const dockerEvents = recordDockerEvents();
  const up = await copy.run("npm", "run", "dev:up");
  const endedAt = Date.now();
  const seen = await client.stop();
  const events = await dockerEvents.stop();
  // The one container this update created; a release refused before keeps restarting beside it.
  const created = events.find(
    (event) =>
      event.Type === "container" && event.Action === "create" && event.Actor.Attributes["activity.release"],
  );
  const started = events.find(
    (event) => event.Action === "start" && created !== undefined && event.Actor.ID === created.Actor.ID,
  );
  expect(started, "the broken release's container never started").toBeDefined();
  refusedReleases.push(String(created?.Actor.Attributes["activity.release"]));
  return {
    code: up.code,
    output: `${up.stdout}\n${up.stderr}`,
    seconds: up.seconds,
    fromStartSeconds: (endedAt - (started?.timeNano ?? 0) / 1e6) / 1000,
    release: started?.Actor.Attributes["activity.release"],
    serving,
    seen,
    after: { status: (await fetch(`${API}/activity/1`)).status, release: await stackOutput("release") },
  };
}
/** GET `url` until the API answers other than 503 (its database starting again), for up to 30 s. */
async function readOnceServing(url: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await send(url).catch(() => undefined);
    if ((answer !== undefined && answer.status !== 503) || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `count` GET /activity/1 from this one address, 50 at a time. */
async function burst(count: number) {
  const answers = [];
  for (let sent = 0; sent < count; sent += 50) {
    const batch = Array.from({ length: Math.min(50, count - sent) }, () => send(`${API}/activity/1`));
    answers.push(...(await Promise.all(batch)));
  }
  return answers;
}

/** The volume DynamoDB Local keeps its tables in, as dev:up first created it: no update may replace it. */
let databaseVolume: string;

beforeAll(async () => {
  const started = await startDevStackSuite();
  figures.push(["engine", started.engine]);
  copy = started.copy;
});

afterAll(async () => {
  if (copy !== undefined) {
    // Leave nothing behind, whatever failed.
    await copy.run("pulumi", "destroy", "--stack", "dev", "--yes", "--skip-preview");
    await copy.remove();
  }
  printFigures("Real engine, dev stack", figures);
});

describe("the dev stack on the real engine", () => {
  it("comes up from a fresh clone with npm run dev:up and serves GET /activity/1 on :10001", async () => {
    const up = await copy.run("npm", "run", "dev:up");
    expect(up.code, tail(up)).toBe(0);
    figures.push(["dev:up from a fresh clone", `${up.seconds.toFixed(1)} s`]);
    const response = await fetch(`${API}/activity/1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: "1", userId: "demo-user" });
  });

  it("rewrites no tracked file (no encryption salt written, no value requoted)", async () => {
    expect(await copy.changedFiles()).toEqual([]);
  });

  it("shows no drift right after up: preview --refresh --expect-no-changes passes", async () => {
    await expectNoDrift();
  });

  it("keeps what was written through a restart and a kill of its database container: a volume, not memory", async () => {
    databaseVolume = await stackOutput("databaseVolume");
    expect(await dockerHas("volume", databaseVolume)).toBe(true);
    const activity = {
      userId: "engine",
      type: "swim",
      startedAt: "2026-12-01T07:00:00.000Z",
      durationSeconds: 1200,
    };
    const url = `${API}/activity/survives-restarts`;
    const written = await send(url, {
      method: "PUT",
      body: JSON.stringify(activity),
      headers: { "if-none-match": "*" },
    });
    expect(written.status, written.body).toBe(201);
    const database = await dockerIdOf("activity-dynamodb");
    for (const [what, commands] of [
      ["docker restart", [["restart", database]]],
      [
        "docker kill, then docker start",
        [
          ["kill", database],
          ["start", database],
        ],
      ],
    ] as const) {
      for (const args of commands) {
        const result = await copy.run("docker", ...args);
        expect(result.code, `docker ${args.join(" ")}: ${tail(result)}`).toBe(0);
      }
      const started = performance.now();
      const read = await readOnceServing(url);
      expect(read?.status, `${what}: ${read?.body}`).toBe(200);
      expect(JSON.parse(read?.body ?? "{}"), what).toMatchObject({ id: "survives-restarts", ...activity });
      figures.push([
        `data read back after ${what}`,
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
      ]);
    }
    // The same volume throughout: the database's container was restarted, not recreated.
    expect(await stackOutput("databaseVolume")).toBe(databaseVolume);
  });

  it("limits each caller's rate by default, and takes a stack's own limit", async () => {
    // The default (1,000 a minute per caller): a burst from this one address meets 429 with Retry-After.
    const limited = (await burst(1100)).find((answer) => answer.status === 429);
    expect(limited, "no 429 after 1,100 requests from one caller").toBeDefined();
    expect(limited?.headers["retry-after"]).toMatch(/^\d+$/);
    // The rollouts below are read by a client that never pauses (about 300 requests a second from this one
    // address): far above any one caller's limit. They measure releases, not the limiter.
    const set = await copy.run("pulumi", "config", "set", "--stack", "dev", "rateLimitMax", "1000000");
    expect(set.code, tail(set)).toBe(0);
    const up = await copy.run("pulumi", "up", "--stack", "dev", "--yes", "--skip-preview");
    expect(up.code, tail(up)).toBe(0);
    const refused = (await burst(1100)).filter((answer) => answer.status !== 200);
    expect(refused.map((answer) => answer.status)).toEqual([]);
  });

  it("rolls out a one-line app change with no failed request, and says where the time goes against the floor", async () => {
    const network = (await stackObjects()).networks[0] as string;
    const client = probe(`${API}/activity/1`);
    const rollouts: Array<Awaited<ReturnType<typeof rollOut>> & { floor: Floor }> = [];
    let seen: ProbeReport | undefined;
    try {
      for (let run = 1; run <= ROLLOUT_RUNS; run++) {
        const measuredFloor = await floor(network, run);
        rollouts.push({ floor: measuredFloor, ...(await rollOut(run)) });
      }
    } finally {
      seen = await client.stop();
      figures.push(["client during the rollouts and their floors", clientFigure(seen)]);
    }
    rollouts.forEach(({ wall, floor: measured, breakdown }, index) => {
      figures.push(
        [
          `rollout ${index + 1} (one-line change, pulumi up --skip-preview)`,
          `${wall.toFixed(1)} s; floor ${measured.total.toFixed(1)} s (docker build ${measured.build.toFixed(1)} s ` +
            `+ docker run to /ready ${measured.toReady.toFixed(1)} s); ${(wall / measured.total).toFixed(1)}x the floor`,
        ],
        ...breakdown.map(([step, seconds]): [string, string] => [
          `  ${step}`,
          seconds === undefined ? "not seen" : `${seconds.toFixed(1)} s`,
        ]),
      );
    });
    const wall = median(rollouts.map((rollout) => rollout.wall));
    const floorTotal = median(rollouts.map((rollout) => rollout.floor.total));
    figures.push([
      `change rollout, median of ${ROLLOUT_RUNS}`,
      `${wall.toFixed(1)} s; floor ${floorTotal.toFixed(1)} s; ${(wall / floorTotal).toFixed(1)}x the floor`,
    ]);
    expect(seen.failures, JSON.stringify(seen)).toBe(0);
    expect((await fetch(`${API}/activity/1`)).status).toBe(200);
  });

  it("shows no drift after the replacement either", async () => {
    await expectNoDrift();
  });

  it("refuses a release whose process exits, from its container's own state, quoting what it logged; the old one serves", async () => {
    // The longest timeout allowed: a refusal well within it comes from the container's state, not the clock.
    const set = await copy.run("pulumi", "config", "set", "--stack", "dev", "readinessTimeoutSeconds", "60");
    expect(set.code, set.stderr).toBe(0);
    const refused = await rollOutBroken(
      'console.error("activity API failed to start: a release that cannot start (engine suite)");\nprocess.exit(1);\n',
    );
    figures.push(
      [
        "release whose process exits: dev:up that fails",
        `${refused.seconds.toFixed(1)} s, of which ${refused.fromStartSeconds.toFixed(1)} s after its container started`,
      ],
      ["client during that failed release", clientFigure(refused.seen)],
    );
    expect(refused.code).not.toBe(0);
    // With code 1 when the gate looked between the exit and the restart; Docker resets it once restarted.
    expect(refused.output).toMatch(
      new RegExp(
        `Release ${refused.release?.replaceAll(".", "\\.")} was refused: its process exited (with code 1 )?before it was ready`,
      ),
    );
    expect(refused.output).toContain(`Release ${refused.serving} is still serving`);
    expect(refused.output).toContain(
      "| activity API failed to start: a release that cannot start (engine suite)",
    );
    expect(refused.seen.failures, JSON.stringify(refused.seen)).toBe(0);
    expect(refused.after).toEqual({ status: 200, release: refused.serving });
  });

  it("refuses a release that runs but never answers /ready at the readiness timeout, quoting what it logged; the old one serves", async () => {
    const refused = await rollOutBroken(
      'console.log("waiting for a table that never answers (engine suite)");\nsetInterval(() => {}, 60_000);\nexport {};\n',
    );
    figures.push(
      [
        "release never ready (timeout 60 s): dev:up that fails",
        `${refused.seconds.toFixed(1)} s, of which ${refused.fromStartSeconds.toFixed(1)} s after its container started`,
      ],
      ["client during that failed release", clientFigure(refused.seen)],
    );
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain(
      `Release ${refused.release} was refused: it did not become ready within 60 s. Release ${refused.serving} is still serving`,
    );
    expect(refused.output).toContain("| waiting for a table that never answers (engine suite)");
    expect(refused.seen.failures, JSON.stringify(refused.seen)).toBe(0);
    expect(refused.after).toEqual({ status: 200, release: refused.serving });
  });

  it("after refused releases, rolls the fix out with no failed request and leaves only the serving release", async () => {
    await writeFile(join(copy.dir, MAIN_SOURCE), originalMain);
    const client = probe(`${API}/activity/1`);
    const fixed = await copy.run("npm", "run", "dev:up");
    const seen = await client.stop();
    figures.push(
      ["the fix after two refused releases (dev:up)", `${fixed.seconds.toFixed(1)} s`],
      ["client during the fix", clientFigure(seen)],
    );
    expect(fixed.code, tail(fixed)).toBe(0);
    expect(seen.failures, JSON.stringify(seen)).toBe(0);
    // The fixed release serves, and its container is the one container of the stack left: the refused ones went
    // at the end of the update, after the fix passed its gate.
    const release = await stackOutput("release");
    expect(refusedReleases).toHaveLength(2);
    expect(refusedReleases).not.toContain(release);
    const releases = await copy.run(
      "docker",
      "ps",
      "--all",
      "--format",
      '{{.Label "activity.release"}}',
      "--filter",
      "label=activity.release",
    );
    expect(releases.stdout.trim().split("\n")).toEqual([release]);
  });

  it("answers no LAN neighbour on any path with publishTo loopback, and on this machine's address with lan", async () => {
    const guardWasInstalled = (await lanGuard("check")).code === 0;
    const neighbour = await lanNeighbour();
    try {
      const proxy = await stackOutput("proxyContainer");
      const inspected = await copy.run(
        "docker",
        "inspect",
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        proxy,
      );
      const paths: Array<[string, string]> = [
        ["this machine's address", `http://${neighbour.hostAddress}:${HOST_PORT}/activity/1`],
        ["127.0.0.1 sent to this machine", `http://127.0.0.1:${HOST_PORT}/activity/1`],
        ["the proxy container's own address", `http://${inspected.stdout.trim()}:${HOST_PORT}/activity/1`],
      ];
      // The binding alone closes this machine's address; what Docker does with the other two depends on its
      // version (20.10 forwards both), so it is printed, and the guard must close them whatever it is.
      expect((await neighbour.get(paths[0]?.[1] ?? "")).answered).toBe(false);
      if (!guardWasInstalled) {
        for (const [name, url] of paths.slice(1))
          figures.push([`LAN neighbour, no lan-guard: ${name}`, (await neighbour.get(url)).said]);
      }
      const installed = await lanGuard("install");
      expect(installed.code, tail(installed)).toBe(0);
      for (const [name, url] of paths) expect((await neighbour.get(url)).answered, name).toBe(false);
      expect((await send(`${API}/activity/1`)).status).toBe(200);

      // Opened on purpose: this machine's address answers, the other paths stay closed.
      const set = await copy.run("pulumi", "config", "set", "--stack", "dev", "publishTo", "lan");
      expect(set.code, set.stderr).toBe(0);
      const up = await copy.run("npm", "run", "dev:up");
      expect(up.code, tail(up)).toBe(0);
      figures.push(["publishTo lan (the proxy rebound)", `${up.seconds.toFixed(1)} s`]);
      expect((await neighbour.get(paths[0]?.[1] ?? "")).said).toBe("HTTP 200");
      expect((await neighbour.get(paths[1]?.[1] ?? "")).answered).toBe(false);
      // Back to the default; the next test's update binds the proxy to 127.0.0.1 again.
      const unset = await copy.run("pulumi", "config", "rm", "--stack", "dev", "publishTo");
      expect(unset.code, unset.stderr).toBe(0);
    } finally {
      await neighbour.close();
      if (!guardWasInstalled) await lanGuard("remove");
    }
  });

  it("serves HTTPS for a domain with the proxy's own CA, redirecting HTTP, after a change of the proxy itself", async () => {
    for (const [name, value] of [
      ["domain", "activity.localhost"],
      ["tlsIssuer", "internal"],
    ] as const) {
      const set = await copy.run("pulumi", "config", "set", "--stack", "dev", name, value);
      expect(set.code, set.stderr).toBe(0);
    }
    const client = probe(`${API}/activity/1`);
    const up = await copy.run("npm", "run", "dev:up");
    const seen = await client.stop();
    expect(up.code, tail(up)).toBe(0);
    // The proxy is replaced delete-first (it owns fixed host ports): the one path with a short outage.
    expect(seen.longestOutageSeconds).toBeLessThan(10);
    figures.push(
      ["proxy change (HTTPS turned on)", `${up.seconds.toFixed(1)} s`],
      [
        "client during the proxy change",
        `${seen.requests} requests, ${seen.failures} failed, longest unavailability ${seen.longestOutageSeconds.toFixed(2)} s`,
      ],
    );

    const proxy = (
      await copy.run("pulumi", "stack", "output", "proxyContainer", "--stack", "dev")
    ).stdout.trim();
    const rootCa = await copy.run(
      "docker",
      "exec",
      proxy,
      "cat",
      "/data/caddy/pki/authorities/local/root.crt",
    );
    expect(rootCa.stdout).toContain("BEGIN CERTIFICATE");
    const https = await httpsGet("activity.localhost", "/activity/1", rootCa.stdout);
    expect(https.status).toBe(200);
    expect(JSON.parse(https.body)).toMatchObject({ id: "1" });
    // fetch() will not send a Host header of our choosing; node:http will.
    const redirect = await new Promise<IncomingMessage>((resolve, reject) =>
      httpRequest(
        { host: "127.0.0.1", port: 80, path: "/activity/1", headers: { host: "activity.localhost" } },
        resolve,
      )
        .on("error", reject)
        .end(),
    );
    redirect.resume();
    expect(redirect.statusCode).toBe(308);
    expect(redirect.headers.location).toBe("https://activity.localhost/activity/1");
    await expectNoDrift();
  });

  it("leaves no container, network, volume or built image of the stack after npm run dev:down, and says the data went", async () => {
    const objects = await stackObjects();
    expect(objects.containers.length).toBeGreaterThan(0);
    // Every update since the first (a new release, a failed one, the proxy rebound twice) kept the volume.
    expect(objects.volumes).toContain(databaseVolume);
    const down = await copy.run("npm", "run", "dev:down");
    expect(down.code, tail(down)).toBe(0);
    figures.push(["dev:down", `${down.seconds.toFixed(1)} s`]);
    expect(down.stdout).toContain(
      `dev-stack: removed the volume ${databaseVolume} and with it DynamoDB Local's tables`,
    );
    for (const id of objects.containers) expect(await dockerHas("container", id), id).toBe(false);
    for (const id of objects.networks) expect(await dockerHas("network", id), id).toBe(false);
    for (const id of objects.volumes) expect(await dockerHas("volume", id), id).toBe(false);
    for (const image of objects.images) expect(await dockerHas("image", image), image).toBe(false);
    // What the user changed: the app, and the domain set on the dev stack.
    expect(await copy.changedFiles()).toEqual([" M Pulumi.dev.yaml", " M app/src/app.ts"]);
  });
});
