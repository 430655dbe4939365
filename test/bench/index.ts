/**
 * `npm run bench`: prints the API's throughput, latency and memory next to a bare node:http baseline, and,
 * when a Docker engine answers, the image's size, build times and time to healthy. Figures, not assertions.
 */
import { type ChildProcess, execFile, fork } from "node:child_process";
import { once } from "node:events";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import autocannon from "autocannon";
import Fastify from "fastify";
import { getContainerRuntimeClient } from "testcontainers";
import { TokenVerifier } from "../../app/src/auth/verifier.js";
import { DEV_AUDIENCE, type LocalIssuer, startLocalIssuer } from "../../cli/auth-dev/issuer.js";
import { waitHealthy } from "../helpers/docker-spec.js";
import { appBaseImage, buildImage } from "../helpers/images.js";

/** The API's targets, each a ratio to the bare server measured in the same run. */
const TARGETS = { healthCpuRatio: 1.3, activityThroughputRatio: 0.9, rssOverBareMb: 25 };
/** Authenticated GET /activity/1 against the same app without auth, in the same round. */
const AUTH_THROUGHPUT_RATIO = 0.85;
/**
 * Distinct tokens signed before the runs (RS256, as Cognito signs; about 2 ms each here) and sent in turn, one
 * per request. The API caches no verification, so a token met again would cost the same; the pool is sized to
 * cover most of a default run without spending minutes signing.
 */
const TOKEN_POOL = 16_000;

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "3" },
    rounds: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    "skip-image": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(`Usage: npm run bench -- [--duration SECONDS] [--rounds N] [--connections N] [--skip-image]

HTTP: autocannon on loopback against the app and a bare node:http server doing the same work with the same
DynamoDB client, each in its own process, against one dynalite process: GET /health and GET /activity/1.
Subjects take turns for N rounds; the tables give each one's median round, and each ratio to the bare server
is the median of the rounds' ratios (each round's app run beside the bare run just before it, so that a change
in the machine's load between rounds cancels out). Defaults: 5 rounds of 3 s, 32 connections. The last table
checks the targets: GET /health CPU per request <= ${TARGETS.healthCpuRatio}x bare, GET /activity/1 req/s >= ${TARGETS.activityThroughputRatio}x bare, RSS
after load <= bare + ${TARGETS.rssOverBareMb} MB. A fourth subject is the app with auth on (a local issuer, one RS256
token per request): its GET /activity/1 req/s >= ${AUTH_THROUGHPUT_RATIO}x the app without auth, and the cost of one verification.
Image (when a Docker engine answers): size over the base, cold build vs rebuild after a one-line source change
(with the docker CLI and BuildKit, as users build: scripts/docker-build.sh), and docker run to healthy.
The cold build first prunes all BuildKit cache (docker builder prune --all). BASE_IMAGE selects the base image.`);
  process.exit(0);
}
const duration = Number(values.duration);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const SERVER = new URL("./server.mjs", import.meta.url).pathname;
const ROOT = new URL("../..", import.meta.url).pathname;

interface Subject {
  name: string;
  child: ChildProcess;
  port: number;
  /** The Authorization header of each next request, for a subject that requires tokens. */
  authorization?: () => string;
}

async function startSubject(name: string, args: string[], authorization?: () => string): Promise<Subject> {
  const child = fork(SERVER, args, {
    // Plain node on the compiled code, as the image runs it: a tsx loader would add its own thread and memory.
    execArgv: [],
    // The subjects make DynamoDB clients directly; on Node 20 each would print the SDK's eight-line warning.
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const [message] = (await once(child, "message")) as [{ port: number }];
  return { name, child, port: message.port, ...(authorization && { authorization }) };
}

async function rssMb(subject: Subject): Promise<number> {
  const status = await readFile(`/proc/${subject.child.pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024);
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** CPU time (user + system) a process has used, in microseconds, from /proc (clock ticks of 10 ms). */
async function cpuMicros(subject: Subject): Promise<number> {
  const fields = (await readFile(`/proc/${subject.child.pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * One run of load. Besides throughput, the subject's CPU time per request: on two cores the load generator
 * competes with the subject, which makes req/s noisy, while the server's own cost per request is steadier.
 */
async function load(subject: Subject, path: string, seconds: number) {
  const cpuBefore = await cpuMicros(subject);
  const { authorization } = subject;
  const result = await autocannon({
    url: `http://127.0.0.1:${subject.port}${path}`,
    connections,
    duration: seconds,
    ...(authorization && {
      requests: [
        {
          setupRequest: (request) => ({
            ...request,
            headers: { ...request.headers, authorization: authorization() },
          }),
        },
      ],
    }),
  });
  return {
    cpuPerRequest: ((await cpuMicros(subject)) - cpuBefore) / Math.max(result.requests.total, 1),
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

type Figures = { rps: number; p50: number; p99: number; cpuPerRequest: number; errors: number };

/** Signs the token pool for the seeded activity's owner, and prints what one verification costs. */
async function prepareTokens(issuer: LocalIssuer): Promise<() => string> {
  const tokens: string[] = [];
  for (let start = 0; start < TOKEN_POOL; start += 500) {
    tokens.push(...(await Promise.all(Array.from({ length: 500 }, () => issuer.accessToken("demo-user")))));
  }
  const verifier = new TokenVerifier(
    { issuer: issuer.url, audience: DEV_AUDIENCE, userClaim: "sub" },
    Fastify({ logger: false }).log,
  );
  await verifier.verify(tokens[0] as string); // reads the discovery document and the key set once
  const sample = tokens.slice(1, 2001);
  const started = process.hrtime.bigint();
  for (const token of sample) await verifier.verify(token);
  const perVerification = Number(process.hrtime.bigint() - started) / 1000 / sample.length;
  console.log(
    `Token verification (RS256, jose, in this process): ${perVerification.toFixed(0)} µs each, ` +
      `mean of ${sample.length} distinct tokens`,
  );
  let next = 0;
  return () => `Bearer ${tokens[next++ % tokens.length]}`;
}

async function httpFigures() {
  const engine = await startSubject("dynalite", ["engine"]);
  const endpoint = `http://127.0.0.1:${engine.port}`;
  const issuer = await startLocalIssuer();
  const authorization = await prepareTokens(issuer);
  const subjects = [
    await startSubject("bare node:http", ["bare", endpoint]),
    await startSubject("app, LOG_LEVEL=warn", ["app", endpoint, "warn"]),
    await startSubject("app, LOG_LEVEL=info", ["app", endpoint, "info"]),
    await startSubject(
      "app, auth on, LOG_LEVEL=warn",
      ["app-auth", endpoint, "warn", issuer.url],
      authorization,
    ),
  ];
  const [bare, openApp, ...rest] = subjects as [Subject, Subject, ...Subject[]];
  const authApp = subjects.at(-1) as Subject;
  /** The subjects with targets relative to bare node:http; the authenticated app's is relative to openApp. */
  const apps = [openApp, ...rest.filter((subject) => subject !== authApp)];
  const rssAtStart = new Map<Subject, number>();
  /** VmRSS right after each of a subject's rounds of the last path (GET /activity/1). */
  const rssAfterLoad = new Map<Subject, number[]>(subjects.map((subject) => [subject, []]));
  for (const subject of subjects) rssAtStart.set(subject, await rssMb(subject));
  console.log(
    `HTTP on loopback: ${connections} connections; ${rounds} rounds of ${duration} s per subject, taking turns`,
  );
  const allRuns = new Map<string, Map<Subject, Figures[]>>();
  /** Each round's figure of a subject divided by the bare server's in the same round, in ascending order. */
  const ratios = (path: string, subject: Subject, pick: (figures: Figures) => number) => {
    const baseline = allRuns.get(path)?.get(bare) ?? [];
    return (allRuns.get(path)?.get(subject) ?? [])
      .map((r, i) => pick(r) / pick(baseline[i] as Figures))
      .sort((a, b) => a - b);
  };
  const ratio = (path: string, subject: Subject, pick: (figures: Figures) => number) =>
    median(ratios(path, subject, pick));
  for (const path of ["/health", "/activity/1"]) {
    const runs = new Map(subjects.map((subject) => [subject, [] as Figures[]]));
    for (const subject of subjects) await load(subject, path, 1); // warm-up: JIT and connection pools
    for (let round = 0; round < rounds; round++) {
      for (const subject of subjects) {
        runs.get(subject)?.push(await load(subject, path, duration));
        // Right after each subject's own round, so that every subject is measured at the same moment of its
        // load; over several rounds, because one reading lands anywhere between two major GCs.
        if (path === "/activity/1") rssAfterLoad.get(subject)?.push(await rssMb(subject));
      }
    }
    allRuns.set(path, runs);
    const byPath = new Map<Subject, Figures>();
    for (const [subject, results] of runs) {
      byPath.set(subject, {
        rps: Math.round(median(results.map((r) => r.rps))),
        p50: median(results.map((r) => r.p50)),
        p99: median(results.map((r) => r.p99)),
        cpuPerRequest: median(results.map((r) => r.cpuPerRequest)),
        errors: results.reduce((sum, r) => sum + r.errors, 0),
      });
    }
    console.log(`\nGET ${path}`);
    console.table(
      subjects.map((subject) => {
        const figures = byPath.get(subject) as Figures;
        return {
          subject: subject.name,
          "req/s": figures.rps,
          "req/s ratio": ratio(path, subject, (r) => r.rps).toFixed(2),
          "p50 ms": figures.p50,
          "p99 ms": figures.p99,
          "CPU µs/req": Math.round(figures.cpuPerRequest),
          "CPU ratio": ratio(path, subject, (r) => r.cpuPerRequest).toFixed(2),
          errors: figures.errors,
        };
      }),
    );
  }
  console.log("\nRSS of each HTTP process (MB; dynalite runs in a process of its own)");
  console.table(
    subjects.map((subject) => ({
      subject: subject.name,
      "after start": rssAtStart.get(subject),
      "after load (median of the rounds)": median(rssAfterLoad.get(subject) ?? []),
      "after each round": (rssAfterLoad.get(subject) ?? []).join(" "),
    })),
  );
  for (const subject of [...subjects, engine]) subject.child.kill();
  await issuer.close();

  const verdict = (met: boolean) => (met ? "met" : "MISSED");
  const signed = (mb: number) => `${mb >= 0 ? "+" : ""}${mb}`;
  /** The median ratio, its rounds' range (the machine's noise), and the verdict. */
  const judged = (
    path: string,
    app: Subject,
    pick: (figures: Figures) => number,
    met: (r: number) => boolean,
  ) => {
    const all = ratios(path, app, pick);
    const r = median(all);
    return `${r.toFixed(2)}× (${all[0]?.toFixed(2)}–${all.at(-1)?.toFixed(2)}) ${verdict(met(r))}`;
  };
  console.log("\nTargets, as ratios to bare node:http in this run: median of the rounds (their range)");
  console.table(
    Object.fromEntries(
      apps.map((app) => {
        const bareRss = rssAfterLoad.get(bare) ?? [];
        const rssOver = (rssAfterLoad.get(app) ?? [])
          .map((rss, i) => rss - (bareRss[i] ?? 0))
          .sort((a, b) => a - b);
        const over = median(rssOver);
        return [
          app.name,
          {
            [`GET /health CPU/req ≤ ${TARGETS.healthCpuRatio}×`]: judged(
              "/health",
              app,
              (r) => r.cpuPerRequest,
              (r) => r <= TARGETS.healthCpuRatio,
            ),
            [`GET /activity/1 req/s ≥ ${TARGETS.activityThroughputRatio}×`]: judged(
              "/activity/1",
              app,
              (r) => r.rps,
              (r) => r >= TARGETS.activityThroughputRatio,
            ),
            [`RSS after load ≤ bare + ${TARGETS.rssOverBareMb} MB`]: `${signed(over)} MB (${signed(rssOver[0] ?? 0)}–${signed(rssOver.at(-1) ?? 0)}) ${verdict(over <= TARGETS.rssOverBareMb)}`,
          },
        ];
      }),
    ),
  );
  const activityRuns = allRuns.get("/activity/1");
  const authRatios = (activityRuns?.get(authApp) ?? [])
    .map((r, i) => r.rps / ((activityRuns?.get(openApp) ?? [])[i]?.rps ?? Number.NaN))
    .sort((a, b) => a - b);
  const authRatio = median(authRatios);
  console.log(
    `\nAuthenticated GET /activity/1 (a token per request, ${TOKEN_POOL} distinct ones in turn): req/s ` +
      `${authRatio.toFixed(2)}× (${authRatios[0]?.toFixed(2)}–${authRatios.at(-1)?.toFixed(2)}) the same app ` +
      `without auth in the same round; target ≥ ${AUTH_THROUGHPUT_RATIO}×: ${verdict(authRatio >= AUTH_THROUGHPUT_RATIO)}`,
  );
}

const run = promisify(execFile);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

async function imageFigures() {
  const client = await getContainerRuntimeClient().catch(() => undefined);
  if (!client) {
    console.log("\nImage: skipped (no Docker engine answers)");
    return;
  }
  const docker = client.container.dockerode;
  const baseImage = appBaseImage();
  const context = await mkdtemp(join(tmpdir(), "activity-bench-"));
  try {
    for (const entry of ["package.json", "package-lock.json", "tsconfig.json", ".dockerignore", "app"]) {
      await cp(join(ROOT, entry), join(context, entry), {
        recursive: true,
        filter: (src) => !src.endsWith("/dist"),
      });
    }
    const build = () => buildImage(context, "activity-api:bench", { dockerfile: "app/Dockerfile" });
    // --all: without it only dangling cache goes, and a second bench run's "cold" build would be all cache hits.
    await run("docker", ["builder", "prune", "--all", "--force"]);
    const cold = await timed(build);
    const source = join(context, "app/src/app.ts");
    await writeFile(source, `${await readFile(source, "utf8")}\n// bench: a one-line change\n`);
    const rebuild = await timed(build);

    const image = await docker.getImage("activity-api:bench").inspect();
    const base = await docker.getImage(baseImage).inspect();
    const container = await docker.createContainer({
      Image: "activity-api:bench",
      Env: ["APP_ENV=test", "AWS_REGION=eu-west-1"],
    });
    const toHealthy = await timed(async () => {
      await container.start();
      await waitHealthy(container, 60_000, 50);
    });
    await container.remove({ force: true });

    const mb = (bytes: number) => Math.round(bytes / 1e6);
    console.log(`\nImage (base ${baseImage})`);
    console.table([
      { figure: "image size (MB)", value: mb(image.Size) },
      { figure: "app's share over the base (MB)", value: mb(image.Size - base.Size) },
      { figure: "cold build (s, builder cache pruned)", value: cold.toFixed(1) },
      { figure: "rebuild after a one-line source change (s)", value: rebuild.toFixed(1) },
      { figure: "rebuild / cold", value: `${Math.round((rebuild / cold) * 100)}%` },
      { figure: "docker run to healthy (s)", value: toHealthy.toFixed(1) },
    ]);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

// Subjects run the compiled app, exactly as the image does.
await run("npm", ["run", "build", "--workspace", "app"], { cwd: ROOT });
await httpFigures();
if (!values["skip-image"]) await imageFigures();
