/**
 * The dev stack on the real engine, as a newcomer runs it: `npm run dev:up` in a fresh clone, the API on
 * :10001 through the front proxy, no drift, data that survives a restart and a kill of the database, a one-line
 * app change and a release that cannot start, each rolled out while a client reads without pause, no answer
 * to a LAN neighbour unless publishTo says lan, HTTPS turned on (a change of the proxy itself), and `npm run
 * dev:down` leaving nothing of the stack behind, its data volume included. Stand-ins for the official images
 * must exist under their official names (scripts/offline-images.sh) where they cannot be pulled.
 */
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_PORT } from "../../app/src/contract.js";
import { lanGuard, lanNeighbour } from "../helpers/lan-neighbour.js";
import { tail } from "../helpers/run.js";
import {
  copyProject,
  type ProjectCopy,
  printFigures,
  probe,
  request as requestApi,
  requireEngine,
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

/** GET `url` until the API answers other than 503 (its database starting again), for up to 30 s. */
async function readOnceServing(url: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await requestApi(url).catch(() => undefined);
    if ((answer !== undefined && answer.status !== 503) || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The volume DynamoDB Local keeps its tables in, as dev:up first created it: no update may replace it. */
let databaseVolume: string;

beforeAll(async () => {
  figures.push(["engine", await requireEngine()]);
  const busy = await fetch(`${API}/health`).then(
    () => true,
    () => false,
  );
  if (busy) throw new Error(`something already answers on port ${HOST_PORT}: stop it before the suite runs`);
  copy = await copyProject();
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
    const written = await requestApi(url, {
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

  it("rolls out a one-line app change with no failed request: a new image, the container replaced", async () => {
    const before = { image: await stackOutput("imageRef"), objects: await stackObjects() };
    await appendFile(join(copy.dir, "app/src/app.ts"), "// A one-line change: a new release of the app.\n");
    const client = probe(`${API}/activity/1`);
    const up = await copy.run("npm", "run", "dev:up");
    const seen = await client.stop();
    expect(up.code, tail(up)).toBe(0);
    expect(seen.failures, JSON.stringify(seen)).toBe(0);

    const after = { image: await stackOutput("imageRef"), objects: await stackObjects() };
    expect(after.image).not.toBe(before.image);
    // One container replaced (the app's); the proxy and the database untouched.
    expect(after.objects.containers.filter((id) => !before.objects.containers.includes(id))).toHaveLength(1);
    expect(before.objects.containers.filter((id) => !after.objects.containers.includes(id))).toHaveLength(1);
    // The old release's image, the one image the stack does not keep locally, is removed with its container.
    expect(before.objects.images).toHaveLength(1);
    const [oldReleaseImage] = before.objects.images as [string];
    expect(after.objects.images).not.toContain(oldReleaseImage);
    expect(await dockerHas("image", oldReleaseImage)).toBe(false);
    figures.push(
      ["change rollout (dev:up after a one-line change)", `${up.seconds.toFixed(1)} s`],
      [
        "client during the rollout",
        `${seen.requests} requests, ${seen.failures} failed ${JSON.stringify(seen.failed)}, ` +
          `longest unavailability ${seen.longestOutageSeconds.toFixed(2)} s`,
      ],
    );
    expect((await fetch(`${API}/activity/1`)).status).toBe(200);
  });

  it("shows no drift after the replacement either", async () => {
    await expectNoDrift();
  });

  it("keeps the old release serving when the new one cannot start: the up fails, saying so, and no request fails", async () => {
    const serving = await stackOutput("release");
    const main = join(copy.dir, "app/src/main.ts");
    const source = await readFile(main, "utf8");
    await writeFile(main, `${source}\nprocess.exit(1); // a release that cannot start\n`);
    const client = probe(`${API}/activity/1`);
    const up = await copy.run("npm", "run", "dev:up");
    const seen = await client.stop();
    const afterFailure = {
      status: (await fetch(`${API}/activity/1`)).status,
      release: await stackOutput("release"),
    };
    // The fix, before any assertion, so that a failed one cannot leave this broken release to the tests after
    // it: the serving release's code again. Its up clears the failed container.
    await writeFile(main, source);
    const fixed = await copy.run("npm", "run", "dev:up");
    const leftovers = await copy.run(
      "docker",
      "ps",
      "--all",
      "--quiet",
      "--filter",
      "label=activity.release",
    );

    const output = `${up.stdout}\n${up.stderr}`;
    expect(up.code).not.toBe(0);
    expect(output).toMatch(
      new RegExp(
        `Release \\S+ did not become healthy within 120 s, so the update failed\\. Release ${serving} is still serving`,
      ),
    );
    figures.push(
      ["failed release (dev:up that fails)", `${up.seconds.toFixed(1)} s`],
      [
        "client during the failed release",
        `${seen.requests} requests, ${seen.failures} failed, slowest ${seen.slowestSeconds.toFixed(2)} s`,
      ],
    );
    expect(seen.failures, JSON.stringify(seen)).toBe(0);
    expect(afterFailure).toEqual({ status: 200, release: serving });
    expect(fixed.code, tail(fixed)).toBe(0);
    expect(leftovers.stdout.trim().split("\n")).toHaveLength(1);
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
      expect((await requestApi(`${API}/activity/1`)).status).toBe(200);

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
