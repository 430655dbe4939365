/**
 * DB outage, nothing lost: writers PUT activities with unique ids while the DynamoDB-compatible container is
 * stopped (gracefully, `docker stop`) and started again, its store on a volume. Every request must get a
 * 2xx or a clean 503 with Retry-After in time, /ready must go 503 and back to 200 without the app restarting,
 * and afterwards every acknowledged write must read back byte for byte.
 */
import { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { READY_PATH } from "../../app/src/contract.js";
import { CALL_DEADLINE_MS } from "../../app/src/db/activities.js";
import { RETRY_AFTER_SECONDS } from "../../app/src/errors.js";
import { type Answer, errorBodyProblem, send } from "./http.js";
import { type Outcome, quantile, seconds, Violations } from "./report.js";
import { startStack, TABLE_NAME } from "./stack.js";

const WRITERS = 8;
/** Pause between one writer's requests: a steady stream, not a flood that would measure throughput. */
const WRITER_PAUSE_MS = 20;
/** Hard bound on the stream, whatever the timings. */
const MAX_WRITES = 5000;
const BEFORE_OUTAGE_MS = 3000;
const OUTAGE_MS = 6000;
const AFTER_RECOVERY_MS = 3000;
const RECOVERY_TIMEOUT_MS = 30_000;
/**
 * An answer must come within one storage deadline (a PUT is one DynamoDB call) plus this slack; the client
 * gives up at twice that and records a hang.
 */
const ANSWER_SLACK_MS = 1500;
const ANSWER_BOUND_MS = CALL_DEADLINE_MS + ANSWER_SLACK_MS;

interface Write {
  id: string;
  body: string;
  answer: Answer;
}

function activityBody(n: number): string {
  return JSON.stringify({
    userId: `outage-user-${n % 10}`,
    type: "run",
    startedAt: new Date(Date.UTC(2026, 5, 1, 6, 0, n % 60)).toISOString(),
    durationSeconds: 600 + n,
    distanceMeters: n * 1.5,
    notes: `write ${n}: ünïcödé ✓ "quoted" \\ back-slashed`,
  });
}

export async function outage(): Promise<Outcome> {
  const violations = new Violations();
  const stack = await startStack({ persistent: true });
  const agent = new Agent({ keepAlive: true, maxSockets: WRITERS });
  const writes: Write[] = [];
  const readiness: Answer[] = [];
  let streaming = true;

  const writer = async (first: number) => {
    for (let n = first; streaming && writes.length < MAX_WRITES; n += WRITERS) {
      const id = `outage-${n}`;
      const body = activityBody(n);
      const answer = await send(stack.url, {
        method: "PUT",
        path: `/activity/${id}`,
        headers: { "content-type": "application/json" },
        body,
        agent,
        timeoutMs: ANSWER_BOUND_MS * 2,
      });
      writes.push({ id, body, answer });
      await sleep(WRITER_PAUSE_MS);
    }
  };
  const pollReadiness = async () => {
    while (streaming) {
      readiness.push(
        await send(stack.url, {
          method: "GET",
          path: READY_PATH,
          agent: false,
          timeoutMs: ANSWER_BOUND_MS * 2,
        }),
      );
      await sleep(200);
    }
  };

  try {
    const load = Promise.all([...Array.from({ length: WRITERS }, (_, i) => writer(i)), pollReadiness()]);
    await sleep(BEFORE_OUTAGE_MS);
    const stoppedAt = Date.now();
    await stack.database.stop();
    const stopMs = Date.now() - stoppedAt;
    const { ExitCode: databaseExitCode } = (await stack.database.inspect()).State;
    // The scenario is a graceful stop; a database killed at Docker's timeout would test something else.
    violations.check(
      databaseExitCode === 0,
      `the database container exited ${databaseExitCode} on docker stop`,
    );
    await sleep(OUTAGE_MS);
    const startedAt = Date.now();
    await stack.database.start();
    let readyAt: number | undefined;
    while (readyAt === undefined && Date.now() - startedAt < RECOVERY_TIMEOUT_MS) {
      const last = readiness.at(-1);
      if (last && last.sentAt > startedAt && last.status === 200) readyAt = last.sentAt + last.ms;
      else await sleep(50);
    }
    await sleep(AFTER_RECOVERY_MS);
    streaming = false;
    await load;

    // Every answer: a 2xx, or a clean 503 with Retry-After, in time.
    for (const { id, answer } of writes) {
      if (answer.ms > ANSWER_BOUND_MS) {
        violations.add(
          `a write was answered after more than ${ANSWER_BOUND_MS} ms`,
          `${id}: ${answer.ms} ms`,
        );
      }
      if (answer.status >= 200 && answer.status < 300) continue;
      if (answer.status === 503) {
        violations.check(
          answer.headers["retry-after"] === String(RETRY_AFTER_SECONDS),
          `a 503 without Retry-After: ${RETRY_AFTER_SECONDS}`,
        );
        const problem = errorBodyProblem(503, answer.body, "", [TABLE_NAME]);
        if (problem) violations.add(`a 503 with an unclean body: ${problem}`, id);
        continue;
      }
      violations.add(
        `a write was answered ${answer.status || answer.error}, not 2xx or 503`,
        `${id}: ${answer.body.slice(0, 120)}`,
      );
    }
    const acked = writes.filter(({ answer }) => answer.status >= 200 && answer.status < 300);
    const rejected = writes.filter(({ answer }) => answer.status === 503);
    violations.check(rejected.length > 0, "no write was rejected: the outage did not reach the app");
    const outageReady = readiness.filter((r) => r.sentAt > stoppedAt && r.sentAt < startedAt);
    violations.check(
      outageReady.some((r) => r.status === 503),
      `${READY_PATH} never answered 503 while the database was stopped`,
    );
    for (const answer of readiness) {
      if (answer.status !== 200 && answer.status !== 503) {
        violations.add(`${READY_PATH} answered ${answer.status || answer.error}, not 200 or 503`);
      }
    }
    violations.check(
      readyAt !== undefined,
      `${READY_PATH} was not 200 again within ${RECOVERY_TIMEOUT_MS} ms`,
    );
    await stack.checkAppFaults(violations);

    // Every acknowledged write reads back exactly as acknowledged.
    let lost = 0;
    const reader = new Agent({ keepAlive: true, maxSockets: WRITERS });
    for (let i = 0; i < acked.length; i += WRITERS) {
      const batch = acked.slice(i, i + WRITERS);
      const reads = await Promise.all(
        batch.map(({ id }) =>
          send(stack.url, {
            method: "GET",
            path: `/activity/${id}`,
            agent: reader,
            timeoutMs: ANSWER_BOUND_MS,
          }),
        ),
      );
      reads.forEach((read, j) => {
        const write = batch[j] as Write;
        if (read.status === 200 && read.body === write.answer.body) return;
        lost++;
        violations.add(
          "an acknowledged write did not read back byte for byte",
          `${write.id}: read ${read.status || read.error} ${read.body.slice(0, 80)}`,
        );
      });
    }
    reader.destroy();

    const firstAckAfterStart = acked.find(({ answer }) => answer.sentAt > startedAt)?.answer;
    const latencies = writes.map(({ answer }) => answer.ms);
    return {
      figures: {
        "writes sent": writes.length,
        "acknowledged (2xx)": acked.length,
        "rejected (503 + Retry-After)": rejected.length,
        "other answers": writes.length - acked.length - rejected.length,
        "lost (acknowledged, not read back)": lost,
        "database: docker stop took (s), exit code": `${seconds(stopMs)}, ${databaseExitCode}`,
        "database down (docker stop to start, s)": seconds(startedAt - stoppedAt),
        "/ready 503 answers during the outage": outageReady.filter((r) => r.status === 503).length,
        "recovery: docker start to /ready 200 (s)":
          readyAt === undefined ? "never" : seconds(readyAt - startedAt),
        "recovery: docker start to first acked write (s)": firstAckAfterStart
          ? seconds(firstAckAfterStart.sentAt + firstAckAfterStart.ms - startedAt)
          : "never",
        "write latency p50 / p99 / max (ms)": `${quantile(latencies, 0.5)} / ${quantile(latencies, 0.99)} / ${Math.max(...latencies)}`,
        "app container restarts": (await stack.app.inspect()).RestartCount,
      },
      violations,
    };
  } finally {
    streaming = false;
    agent.destroy();
    await stack.close();
  }
}
