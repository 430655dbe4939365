/**
 * `docker stop` under load. The database is paused first, so that every client has a request held in flight
 * inside the app when SIGTERM arrives; those must all finish 2xx. Requests sent once the app has begun to
 * close must be refused cleanly, or answered with Connection: close if they still reach it on an open
 * connection, and the container must exit 0 within Docker's stop timeout.
 */
import { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { HEALTH_PATH } from "../../app/src/contract.js";
import { SHUTDOWN_GRACE_MS } from "../../app/src/server.js";
import { type Answer, type Exchange, send } from "./http.js";
import { type Outcome, seconds, Violations } from "./report.js";
import { startStack } from "./stack.js";

const CLIENTS = 16;
const LOAD_BEFORE_STOP_MS = 2000;
/** Long enough for every client's request to be inside the app, waiting on the paused database. */
const PAUSE_BEFORE_STOP_MS = 500;
/** How long the database stays paused after `docker stop` was sent: the in-flight requests wait this long. */
const PAUSE_AFTER_STOP_MS = 700;
/** Docker's default stop timeout, after which it would SIGKILL the app. */
const STOP_TIMEOUT_SECONDS = 10;
/** Fresh connections tried after the stop, one every PROBE_INTERVAL_MS. */
const PROBE_INTERVAL_MS = 100;
const REQUEST_TIMEOUT_MS = 15_000;
/** The app's log line when it begins to close (app/src/server.ts). */
const CLOSING_MESSAGE = "closing: finishing in-flight requests";

const seedBody = JSON.stringify({
  userId: "stop-user",
  type: "walk",
  startedAt: "2026-07-01T08:00:00Z",
  durationSeconds: 900,
});

/** What a request sent after the app began to close got, or undefined when that is a clean refusal. */
function unclean(answer: Answer): string | undefined {
  if (answer.error === "ECONNREFUSED") return undefined;
  // Through a published port, the engine's proxy accepts the connection and closes it unanswered once
  // nothing listens behind it: a refusal, seen through the proxy.
  if (
    !answer.partial &&
    !answer.reused &&
    (answer.error === "ECONNRESET" || answer.error === "socket hang up")
  ) {
    return undefined;
  }
  // Reaching the app on a connection opened before it began to close: served, and that connection closed.
  if ((answer.status === 200 || answer.status === 201) && answer.headers.connection === "close")
    return undefined;
  const how = answer.status ? `${answer.status}, connection ${answer.headers.connection}` : answer.error;
  return `${how}${answer.partial ? " after part of a response" : ""}${answer.reused ? " on a reused connection" : ""}`;
}

export async function stop(): Promise<Outcome> {
  const violations = new Violations();
  const stack = await startStack();
  const sent: Answer[] = [];
  let running = true;
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const exchanges = (client: number, n: number): Exchange =>
    n % 2 === 0
      ? { method: "GET", path: "/activity/stop-seed", agent, timeoutMs: REQUEST_TIMEOUT_MS }
      : {
          method: "PUT",
          path: `/activity/stop-${client}-${n}`,
          headers: { "content-type": "application/json" },
          body: seedBody,
          agent,
          timeoutMs: REQUEST_TIMEOUT_MS,
        };
  const client = async (id: number) => {
    for (let n = 0; running; n++) {
      const answer = await send(stack.url, exchanges(id, n));
      sent.push(answer);
      // Once refused, or told the connection closes, a client stops: it has nothing left to learn.
      if (answer.status === 0 || answer.headers.connection === "close") return;
    }
  };
  const probes: Answer[] = [];

  try {
    const seeded = await send(stack.url, { ...exchanges(0, 1), path: "/activity/stop-seed" });
    if (seeded.status !== 201) throw new Error(`seeding answered ${seeded.status}: ${seeded.body}`);
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
    await sleep(LOAD_BEFORE_STOP_MS);

    await stack.database.pause();
    await sleep(PAUSE_BEFORE_STOP_MS);
    const stopSentAt = Date.now();
    const stopped = stack.app.stop({ t: STOP_TIMEOUT_SECONDS });
    const probing = (async () => {
      await sleep(PROBE_INTERVAL_MS);
      while (running) {
        probes.push(
          await send(stack.url, { method: "GET", path: HEALTH_PATH, agent: false, timeoutMs: 5000 }),
        );
        await sleep(PROBE_INTERVAL_MS);
      }
    })();
    await sleep(PAUSE_AFTER_STOP_MS);
    await stack.database.unpause();
    await stopped;
    const exitedAfterMs = Date.now() - stopSentAt;
    running = false;
    await Promise.all([load, probing]);

    const { State } = await stack.app.inspect();
    // When the app began to close, by its own clock (the engine's): pino's `time`, in ms since the epoch.
    const closing = (await stack.appLogs()).find((entry) => entry.msg === CLOSING_MESSAGE);
    const closingAt = closing === undefined ? Number.NaN : Number(closing.time);

    violations.check(State.ExitCode === 0, `the app exited with code ${State.ExitCode}, not 0`);
    violations.check(
      exitedAfterMs < STOP_TIMEOUT_SECONDS * 1000,
      `the app took ${exitedAfterMs} ms to stop, past Docker's ${STOP_TIMEOUT_SECONDS} s stop timeout`,
    );
    await stack.checkAppFaults(violations, { stopped: true });
    violations.check(!Number.isNaN(closingAt), `the app never logged "${CLOSING_MESSAGE}": no SIGTERM seen`);

    const before = sent.filter((answer) => answer.sentAt < stopSentAt);
    for (const answer of before) {
      if (answer.status !== 200 && answer.status !== 201) {
        violations.add(
          "a request sent before the stop did not finish 200/201",
          `${answer.status || answer.error} after ${answer.ms} ms`,
        );
      }
    }
    // Sent after the stop: 200/201 only if it reached the app before it began to close, else a clean refusal.
    const after = [...sent, ...probes].filter((answer) => answer.sentAt >= stopSentAt);
    for (const answer of after) {
      const served = (answer.status === 200 || answer.status === 201) && answer.sentAt <= closingAt;
      const problem = served ? undefined : unclean(answer);
      if (problem) violations.add(`a request sent after the app began to close got ${problem}`);
    }
    const count = (answers: Answer[], predicate: (answer: Answer) => boolean) =>
      answers.filter(predicate).length;
    const inFlight = before.filter((answer) => answer.sentAt + answer.ms >= stopSentAt);
    violations.check(
      inFlight.length > 0,
      "no request was in flight at the stop: the scenario proved nothing",
    );
    return {
      figures: {
        clients: CLIENTS,
        "requests answered before the stop": count(before, (a) => a.sentAt + a.ms < stopSentAt),
        "in flight at the stop (DB paused)": inFlight.length,
        "in flight that finished 200/201": count(inFlight, (a) => a.status === 200 || a.status === 201),
        "sent after the stop": after.length,
        "  served (reached the app before it began to close)": count(
          after,
          (a) => (a.status === 200 || a.status === 201) && a.sentAt <= closingAt,
        ),
        "  served after it began to close, with Connection: close": count(
          after,
          (a) => a.sentAt > closingAt && a.status !== 0 && a.headers.connection === "close",
        ),
        "  refused: ECONNREFUSED": count(after, (a) => a.error === "ECONNREFUSED"),
        "  refused: closed unanswered by the port's proxy": count(
          after,
          (a) => a.status === 0 && a.error !== "ECONNREFUSED",
        ),
        "docker stop to exit (s)": seconds(exitedAfterMs),
        "the app's grace period (s)": seconds(SHUTDOWN_GRACE_MS),
        "exit code": State.ExitCode,
      },
      violations,
    };
  } finally {
    running = false;
    agent.destroy();
    await stack.database.unpause().catch(() => undefined);
    await stack.close();
  }
}
