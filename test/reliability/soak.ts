/**
 * Sustained load: a bounded soak of mixed reads and writes (autocannon, on loopback) against the app
 * container, with its error rate, latency, and the app's resident memory sampled from start to end.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { type Outcome, Violations } from "./report.js";
import { startStack } from "./stack.js";

export const DEFAULT_SOAK_SECONDS = 120;
const CONNECTIONS = 16;
/** A steady offered load below the stack's capacity on a 2-core machine, so that latency means service time. */
const REQUESTS_PER_SECOND = 150;
const WARM_UP_SECONDS = 10;
const RSS_SAMPLE_MS = 10_000;
const USERS = 50;
/** At most this share of requests may fail (non-2xx, socket error or timeout); 5xx other than 503 never. */
const MAX_ERROR_RATE = 0.001;
/** The app's RSS at the end may exceed its RSS after the warm-up by at most this much. */
const MAX_RSS_GROWTH_MB = 40;

interface Context {
  id?: string;
  user?: string;
}

function activity(user: string, n: number): string {
  return JSON.stringify({
    userId: user,
    type: "cycle",
    startedAt: new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString(),
    durationSeconds: 1200 + (n % 3600),
    distanceMeters: 12_345.6,
    notes: "soak",
  });
}

const json = { "content-type": "application/json" };
let counter = 0;

/** One cycle per connection: write a new activity, read it, list its user's page, create one, read the seed. */
const CYCLE: autocannon.Request[] = [
  {
    method: "PUT",
    headers: json,
    setupRequest: (request, context: Context) => {
      counter++;
      context.id = `soak-${randomUUID()}`;
      context.user = `soak-user-${counter % USERS}`;
      return { ...request, path: `/activity/${context.id}`, body: activity(context.user, counter) };
    },
  },
  {
    method: "GET",
    setupRequest: (request, context: Context) => ({ ...request, path: `/activity/${context.id}` }),
  },
  {
    method: "GET",
    setupRequest: (request, context: Context) => ({
      ...request,
      path: `/activity?userId=${context.user}&limit=20`,
    }),
  },
  {
    method: "POST",
    path: "/activity",
    headers: json,
    setupRequest: (request, context: Context) => ({
      ...request,
      body: activity(context.user ?? "soak", counter),
    }),
  },
  { method: "GET", path: "/activity/1" },
];

function run(url: string, seconds: number) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    overallRate: REQUESTS_PER_SECOND,
    duration: seconds,
    requests: CYCLE,
    timeout: 10,
  });
}

export async function soak({ durationSeconds }: { durationSeconds: number }): Promise<Outcome> {
  const violations = new Violations();
  const stack = await startStack();
  try {
    const rssAtBoot = await stack.appRssMb();
    await run(stack.url, WARM_UP_SECONDS);
    const rssAfterWarmUp = await stack.appRssMb();
    const samples: number[] = [];
    let loaded = true;
    const sampling = (async () => {
      while (loaded) {
        await sleep(RSS_SAMPLE_MS);
        if (loaded) samples.push(await stack.appRssMb());
      }
    })();
    const result = await run(stack.url, durationSeconds);
    loaded = false;
    await sampling;
    const rssAtEnd = await stack.appRssMb();

    const failed = result.errors + result.timeouts + result.non2xx;
    const errorRate = failed / Math.max(1, result.requests.total);
    const serverErrors = Object.entries(result.statusCodeStats ?? {})
      .filter(([code]) => Number(code) >= 500 && code !== "503")
      .map(([code, { count }]) => `${count} × ${code}`);
    violations.check(result.requests.total > 0, "no request was answered");
    violations.check(
      errorRate <= MAX_ERROR_RATE,
      `error rate ${(errorRate * 100).toFixed(3)}% is above ${MAX_ERROR_RATE * 100}% ` +
        `(${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts)`,
    );
    violations.check(serverErrors.length === 0, `server errors: ${serverErrors.join(", ")}`);
    violations.check(
      rssAtEnd - rssAfterWarmUp <= MAX_RSS_GROWTH_MB,
      `the app's RSS grew ${rssAtEnd - rssAfterWarmUp} MB during the soak, above ${MAX_RSS_GROWTH_MB} MB`,
    );
    await stack.checkAppFaults(violations);

    return {
      figures: {
        "duration (s)": durationSeconds,
        "offered load (req/s, connections)": `${REQUESTS_PER_SECOND}, ${CONNECTIONS}`,
        "mix per cycle": "PUT, GET it, list a user's page, POST, GET /activity/1",
        requests: result.requests.total,
        "throughput (req/s)": Math.round(result.requests.average),
        "errors (non-2xx + socket + timeouts)": failed,
        "error rate": `${(errorRate * 100).toFixed(3)}% (bound ${MAX_ERROR_RATE * 100}%)`,
        "latency p50 / p99 / max (ms)": `${result.latency.p50} / ${result.latency.p99} / ${result.latency.max}`,
        "RSS at boot / after warm-up / end (MB)": `${rssAtBoot} / ${rssAfterWarmUp} / ${rssAtEnd}`,
        "RSS max during the soak (MB)": Math.max(rssAtEnd, ...samples),
        "RSS growth after warm-up (MB)": `${rssAtEnd - rssAfterWarmUp} (bound ${MAX_RSS_GROWTH_MB})`,
      },
      violations,
    };
  } finally {
    await stack.close();
  }
}
