/**
 * `target: ssh` on the real engine, against the stand-in for "a server you already have"
 * (test/helpers/ssh-host.ts): reachable only over SSH with a pinned host key, its own dockerd, and a registry
 * with credentials and a CA the test made. `pulumi up` from a fresh clone serves GET /activity/1 through the
 * proxy on the server, a one-line change rolls out with no failed request, a release that cannot start fails the
 * update while the old one keeps answering, `npm run release -- rollback` returns to the previous release without
 * a build, a wrong host key fails the update before any change, the registry
 * password is in plain text nowhere, and `pulumi destroy` from another checkout (no known_hosts, no files of the
 * first run) leaves nothing of the stack on the server but the data volume it was told to keep.
 */
import { randomUUID } from "node:crypto";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_PORT, DEFAULT_TABLE_NAME, ENV, HOST_PORT, READY_PATH } from "../../app/src/contract.js";
import { run, tail } from "../helpers/run.js";
import { type SshHost, sshHost } from "../helpers/ssh-host.js";
import {
  copyProject,
  type ProbeReport,
  type ProjectCopy,
  printFigures,
  probe,
  recordDockerEvents,
  requireEngine,
  request as send,
} from "./harness.js";

const STACK = "ssh";
const NAME_PREFIX = "activity";
/** The official images the stack runs beside the app; the stand-in cannot pull them, so the test loads them. */
const SEEDED_IMAGES = ["caddy:2.11.9-alpine", "amazon/dynamodb-local:2.6.1"];
const APP_SOURCE = "app/src/app.ts";
const MAIN_SOURCE = "app/src/main.ts";

let copy: ProjectCopy;
let host: SshHost;
let api: string;
const figures: Array<[string, string]> = [];
/** The one-line change's rollout, for its ratio to the floor. */
let rolloutSeconds: number | undefined;

/** `docker` on the stand-in, over SSH with its pinned key (not through the stack's own options). */
function onHost(...args: string[]) {
  return run("docker", ["-H", host.dockerHost, ...args], { env: host.clientEnv });
}

async function hostLines(...args: string[]): Promise<string[]> {
  const result = await onHost(...args);
  expect(result.code, tail(result)).toBe(0);
  return result.stdout.split("\n").filter((line) => line.trim() !== "");
}

/** What the stack could have made on the server: containers, networks, volumes, images. */
async function hostObjects() {
  return {
    containers: await hostLines("ps", "-a", "--format", "{{.ID}} {{.Names}}"),
    networks: (await hostLines("network", "ls", "--format", "{{.Name}}")).filter(
      (name) => !["bridge", "host", "none"].includes(name),
    ),
    volumes: await hostLines("volume", "ls", "--format", "{{.Name}}"),
    images: (await hostLines("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")).filter(
      (image) => !SEEDED_IMAGES.includes(image),
    ),
  };
}

function clientFigure(seen: ProbeReport): string {
  return `${seen.requests} requests, ${seen.failures} failed ${JSON.stringify(seen.failed)}, slowest ${seen.slowestSeconds.toFixed(2)} s`;
}

function pulumi(...args: string[]) {
  return copy.run("pulumi", ...args, "--stack", STACK);
}

async function config(key: string, value: string, secret = false) {
  const set = await run(
    "pulumi",
    ["config", "set", ...(secret ? ["--secret"] : []), `activity-api:${key}`, "--stack", STACK],
    { cwd: copy.dir, env: copy.env, input: value },
  );
  expect(set.code, tail(set)).toBe(0);
}

async function stackOutput(name: string): Promise<string> {
  const result = await pulumi("stack", "output", name);
  expect(result.code, tail(result)).toBe(0);
  return result.stdout.trim();
}

function up(...extra: string[]) {
  return pulumi("up", "--yes", "--skip-preview", ...extra);
}

/** The password, as itself and in the encodings a registry login is stored or sent in. */
function passwordForms(): string[] {
  const { username, password } = host.registry;
  return [password, Buffer.from(`${username}:${password}`).toString("base64")];
}

beforeAll(async () => {
  figures.push(["engine", await requireEngine()]);
  copy = await copyProject();
  host = await sshHost();
  figures.push(["stand-in start", `${host.startSeconds.toFixed(1)} s`]);
  api = `http://${host.address}:${HOST_PORT}`;
  const seeded = await run(
    "bash",
    ["-c", `docker save ${SEEDED_IMAGES.join(" ")} | docker -H "$1" load`, "seed", host.dockerHost],
    { env: host.clientEnv },
  );
  expect(seeded.code, tail(seeded)).toBe(0);
  figures.push([
    "loading the proxy's and DynamoDB Local's images on the server",
    `${seeded.seconds.toFixed(1)} s`,
  ]);

  const init = await pulumi("stack", "init");
  expect(init.code, tail(init)).toBe(0);
  await config("target", "ssh");
  await config("namePrefix", NAME_PREFIX);
  await config("sshHost", host.sshHost);
  await config("sshKnownHosts", host.knownHostsLine);
  await config("sshPrivateKeyPath", host.privateKeyPath);
  await config("publishAddress", host.address);
  await config("registryServer", host.registry.server);
  await config("registryUsername", host.registry.username);
  await config("registryPassword", host.registry.password, true);
  // The rollouts are read by a client that never pauses, from this one address: far above one caller's default
  // rate limit. They measure releases, not the limiter (test/engine/dev-stack.test.ts checks it).
  await config("rateLimitMax", "1000000");
});

afterAll(async () => {
  if (copy !== undefined) {
    await pulumi("destroy", "--yes", "--skip-preview");
    await copy.remove();
  }
  await host?.stop();
  printFigures("Real engine, ssh target", figures);
});

describe("target ssh on the real engine", () => {
  it("comes up from a fresh clone and serves GET /activity/1 through the proxy on the server", async () => {
    const first = await up("--json");
    expect(first.code, tail(first)).toBe(0);
    figures.push(["pulumi up from a fresh clone", `${first.seconds.toFixed(1)} s`]);
    const answer = await send(`${api}/activity/1`);
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ id: "1" });

    // The image came from the registry, by digest, and is the one the stack recorded.
    const imageRef = await stackOutput("imageRef");
    expect(imageRef).toMatch(new RegExp(`^${host.registry.server}/activity-api@sha256:[0-9a-f]{64}$`));
    const running = await hostLines("ps", "--filter", "label=activity.release", "--format", "{{.Image}}");
    expect(running).toHaveLength(1);
    const [runningImage] = running as [string];
    const digests = await hostLines("image", "inspect", runningImage, "--format", "{{json .RepoDigests}}");
    expect(digests.join("")).toContain(imageRef);

    // The registry password: in plain text nowhere.
    const exported = await pulumi("stack", "export");
    expect(exported.code, tail(exported)).toBe(0);
    const homeConfig = await run("ssh", [host.sshHost, "cat ~/.docker/config.json 2>/dev/null; true"], {
      env: host.clientEnv,
    });
    expect(homeConfig.code, tail(homeConfig)).toBe(0);
    for (const form of passwordForms()) {
      expect(exported.stdout, "pulumi stack export").not.toContain(form);
      expect(`${first.stdout}\n${first.stderr}`, "pulumi up --json").not.toContain(form);
      expect(homeConfig.stdout, "the server's ~/.docker/config.json").not.toContain(form);
    }
    const stackFile = await readFile(join(copy.dir, `Pulumi.${STACK}.yaml`), "utf8");
    expect(stackFile).not.toContain(host.registry.password);
    expect(stackFile).toContain("secure:");
  });

  it("rolls out a one-line change with no failed request", async () => {
    const before = await stackOutput("release");
    await appendFile(join(copy.dir, APP_SOURCE), `// A one-line change: ${randomUUID()}.\n`);
    const client = probe(`${api}/activity/1`);
    const rollout = await up();
    const seen = await client.stop();
    expect(rollout.code, tail(rollout)).toBe(0);
    rolloutSeconds = rollout.seconds;
    const after = await stackOutput("release");
    expect(after).not.toBe(before);
    expect(seen.requests).toBeGreaterThan(50);
    expect(seen.failures, JSON.stringify(seen)).toBe(0);
    figures.push([
      "rollout of a one-line change (build, push, pull, gate, switch)",
      `${rollout.seconds.toFixed(1)} s; ${clientFigure(seen)}`,
    ]);
    // One release on the server, and only its image: the old release's is gone.
    const releases = await hostLines(
      ...["ps", "-a", "--filter", "label=activity.release", "--format", '{{.Label "activity.release"}}'],
    );
    expect(releases).toEqual([after]);
    const appImages = await hostLines("image", "ls", "--digests", "--format", "{{.Repository}}@{{.Digest}}");
    expect(appImages.filter((image) => image.startsWith(host.registry.server))).toEqual([
      await stackOutput("imageRef"),
    ]);
  });

  it("prints the floor of that rollout: the same change built, pushed, pulled and run until /ready answers", async () => {
    const network = (await hostLines("network", "ls", "--format", "{{.Name}}")).find((name) =>
      name.startsWith(`${NAME_PREFIX}-net`),
    );
    expect(network, "the proxy's network on the server").toBeDefined();
    const source = join(copy.dir, APP_SOURCE);
    const before = await readFile(source, "utf8");
    await appendFile(source, `// A one-line change: the floor, ${randomUUID()}.\n`);
    const image = `${host.registry.server}/activity-api:floor-${randomUUID().slice(0, 8)}`;
    const dockerConfig = await mkdtemp(join(tmpdir(), "ssh-target-floor-"));
    const client = { ...host.clientEnv, DOCKER_CONFIG: dockerConfig };
    const timed = async (command: string, ...args: string[]) => {
      const result = await run(command, args, { cwd: copy.dir, env: client });
      expect(result.code, `${command} ${args.join(" ")}: ${tail(result)}`).toBe(0);
      return result;
    };
    let container: string | undefined;
    try {
      await run(
        "docker",
        ["login", "--username", host.registry.username, "--password-stdin", host.registry.server],
        {
          env: client,
          input: host.registry.password,
        },
      );
      const build = await timed("bash", "scripts/docker-build.sh", "-f", "app/Dockerfile", "-t", image, ".");
      const push = await timed("docker", "push", image);
      const pull = await timed("docker", "-H", host.dockerHost, "pull", image);
      const runStarted = performance.now();
      const started = await timed(
        ...["docker", "-H", host.dockerHost, "run", "--detach", "--network", network as string],
        ...["--env", `${ENV.appEnv}=development`, "--env", `${ENV.tableName}=${DEFAULT_TABLE_NAME}`],
        ...[
          "--env",
          `${ENV.dynamodbEndpoint}=http://dynamodb:8000`,
          "--publish",
          `${host.address}::${APP_PORT}`,
        ],
        image,
      );
      container = started.stdout.trim();
      const published = (await timed("docker", "-H", host.dockerHost, "port", container, String(APP_PORT)))
        .stdout;
      const address = published.trim().split("\n")[0] as string;
      for (;;) {
        const answer = await send(`http://${address}${READY_PATH}`, { timeoutMs: 1000 }).catch(
          () => undefined,
        );
        if (answer?.status === 200) break;
        if (performance.now() - runStarted > 60_000)
          throw new Error(`the floor's container never answered ${READY_PATH}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const toReady = (performance.now() - runStarted) / 1000;
      const floor = build.seconds + push.seconds + pull.seconds + toReady;
      figures.push([
        "floor: docker build + push + pull on the server + run to ready",
        `${floor.toFixed(1)} s (${build.seconds.toFixed(1)} + ${push.seconds.toFixed(1)} + ${pull.seconds.toFixed(1)} + ${toReady.toFixed(1)})`,
      ]);
      if (rolloutSeconds !== undefined) {
        figures.push(["rollout / floor", `${(rolloutSeconds / floor).toFixed(2)}`]);
      }
    } finally {
      if (container !== undefined) await onHost("rm", "--force", container);
      await onHost("rmi", image);
      await run("docker", ["rmi", image]);
      await rm(dockerConfig, { recursive: true, force: true });
      await writeFile(source, before);
    }
  });

  it("refuses a release that cannot start, and the release serving keeps answering", async () => {
    const serving = await stackOutput("release");
    const original = await readFile(join(copy.dir, MAIN_SOURCE), "utf8");
    await writeFile(
      join(copy.dir, MAIN_SOURCE),
      'console.error("activity API failed to start: a release that cannot start (ssh engine suite)");\nprocess.exit(1);\n',
    );
    const client = probe(`${api}/activity/1`);
    const broken = await up();
    const seen = await client.stop();
    await writeFile(join(copy.dir, MAIN_SOURCE), original);
    expect(broken.code).not.toBe(0);
    const output = `${broken.stdout}\n${broken.stderr}`;
    expect(output).toContain("was refused");
    expect(output).toContain(`Release ${serving} is still serving`);
    expect(output).toContain(
      "| activity API failed to start: a release that cannot start (ssh engine suite)",
    );
    expect(seen.failures, JSON.stringify(seen)).toBe(0);
    expect(await stackOutput("release")).toBe(serving);
    figures.push([
      "a release that cannot start, refused",
      `${broken.seconds.toFixed(1)} s; ${clientFigure(seen)}`,
    ]);
    // Back to the release that serves: the refused container goes.
    const fixed = await up();
    expect(fixed.code, tail(fixed)).toBe(0);
    expect(await stackOutput("release")).toBe(serving);
  });

  it("rolls back to the previous release with no failed request and no build, and pins the stack there", async () => {
    const serving = await stackOutput("release");
    const record = await pulumi("stack", "output", "releases", "--json");
    expect(record.code, tail(record)).toBe(0);
    const [previous] = (JSON.parse(record.stdout) as Array<{ release: string }>)
      .map((record) => record.release)
      .filter((release) => release !== serving);
    expect(previous, "the stack kept no earlier release").toBeDefined();
    const client = probe(`${api}/activity/1`);
    const dockerEvents = recordDockerEvents();
    const rollback = await copy.run("npm", "run", "--silent", "release", "--", "rollback", "--stack", STACK);
    const seen = await client.stop();
    const events = await dockerEvents.stop();
    expect(rollback.code, tail(rollback)).toBe(0);
    expect(seen.failures, JSON.stringify(seen)).toBe(0);
    // No build: this machine's Docker engine tagged no image during the rollback.
    expect(events.filter((event) => event.Type === "image" && event.Action === "tag")).toEqual([]);
    expect(await stackOutput("release")).toBe(previous);
    expect(await stackOutput("imageRef")).toMatch(
      new RegExp(`^${host.registry.server}/.+@sha256:[0-9a-f]{64}$`),
    );
    figures.push([
      "rollback to the previous release (pulumi up included)",
      `${rollback.seconds.toFixed(1)} s; ${clientFigure(seen)}`,
    ]);
    // The stack is pinned now. The tests below destroy it and create it again, and its release record goes
    // with the destroy, so a pin would be refused there (rightly: that stack keeps no such release).
    const unpinned = await pulumi("config", "rm", "activity-api:release");
    expect(unpinned.code, tail(unpinned)).toBe(0);
  });

  it("fails the update before any change when the server answers with another host key", async () => {
    const before = await hostObjects();
    const keyDir = await mkdtemp(join(tmpdir(), "ssh-target-impostor-"));
    try {
      const made = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(keyDir, "key")]);
      expect(made.code, tail(made)).toBe(0);
      const impostor = (await readFile(join(keyDir, "key.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
      await config("sshKnownHosts", `${host.address} ${impostor}`);
      // A change that would replace the app if the update went on.
      await appendFile(join(copy.dir, APP_SOURCE), `// Never deployed: ${randomUUID()}.\n`);
      const refused = await up();
      expect(refused.code).not.toBe(0);
      expect(`${refused.stdout}\n${refused.stderr}`).toContain(
        `ssh host refused: ${host.sshHost} answered with a host key other than the pinned one; nothing on it was changed.`,
      );
      expect(await hostObjects()).toEqual(before);
      expect((await send(`${api}/activity/1`)).status).toBe(200);
    } finally {
      await config("sshKnownHosts", host.knownHostsLine);
      await rm(keyDir, { recursive: true, force: true });
    }
  });

  it("destroys from another checkout with no known_hosts, and keeps the data volume unless told not to", async () => {
    const volume = await stackOutput("databaseVolume");
    const written = await send(`${api}/activity/kept-on-destroy`, {
      method: "PUT",
      body: JSON.stringify({
        userId: "engine",
        type: "swim",
        startedAt: "2026-12-01T07:00:00.000Z",
        durationSeconds: 1200,
      }),
      headers: { "if-none-match": "*" },
    });
    expect(written.status, written.body).toBe(201);

    // Another machine: a fresh clone on the same backend, a home with no ~/.ssh, and no ssh-agent.
    const other = await copyProject();
    const home = await mkdtemp(join(tmpdir(), "ssh-target-home-"));
    try {
      const env: NodeJS.ProcessEnv = {
        ...other.env,
        PULUMI_BACKEND_URL: copy.env.PULUMI_BACKEND_URL,
        HOME: home,
        // Pulumi's own home (its plugins) stays; ssh reads ~/.ssh from the account, not HOME, and the stack's
        // options tell it to read no known_hosts file at all (checked below).
        PULUMI_HOME: process.env.PULUMI_HOME ?? join(homedir(), ".pulumi"),
      };
      delete env.SSH_AUTH_SOCK;
      const destroyed = await run("pulumi", ["destroy", "--yes", "--skip-preview", "--stack", STACK], {
        cwd: other.dir,
        env,
      });
      expect(destroyed.code, tail(destroyed)).toBe(0);
      figures.push(["pulumi destroy from another checkout", `${destroyed.seconds.toFixed(1)} s`]);
    } finally {
      await other.remove();
      await rm(home, { recursive: true, force: true });
    }
    expect(await hostObjects()).toEqual({ containers: [], networks: [], volumes: [volume], images: [] });
    const knownHosts = await readFile(join(homedir(), ".ssh/known_hosts"), "utf8").catch(() => "");
    expect(knownHosts, "the pin was written to or read from this machine's known_hosts").not.toContain(
      host.address,
    );

    // The same stack again finds its data; told not to keep it, destroy removes the volume too.
    const again = await up();
    expect(again.code, tail(again)).toBe(0);
    const read = await send(`${api}/activity/kept-on-destroy`);
    expect(read.status, read.body).toBe(200);
    await config("keepDataOnDestroy", "false");
    const unkept = await up();
    expect(unkept.code, tail(unkept)).toBe(0);
    const destroyed = await pulumi("destroy", "--yes", "--skip-preview");
    expect(destroyed.code, tail(destroyed)).toBe(0);
    figures.push(["pulumi destroy", `${destroyed.seconds.toFixed(1)} s`]);
    expect(await hostObjects()).toEqual({ containers: [], networks: [], volumes: [], images: [] });
  });
});
