/**
 * Hostile input: property-based fuzzing of paths, query strings, headers and bodies through app.inject (the
 * app in process, on an in-process dynalite), then over real sockets to the app container: well-formed
 * requests, malformed HTTP, and clients that stall. No answer may be a 5xx, no error body may carry internal
 * detail, nothing may crash, and a stalled client must be cut off by the request timeout.
 */
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { REQUEST_TIMEOUT_MS } from "../../app/src/app.js";
import { buildTestApp, startDynalite } from "../helpers/dynamodb.js";
import {
  type FuzzRequest,
  fuzzRequest,
  malformedRequest,
  type SlowRequest,
  slowRequest,
  wireBytes,
} from "./fuzz-cases.js";
import { errorBodyProblem } from "./http.js";
import { type Outcome, type ScenarioOptions, seconds, Violations } from "./report.js";
import { startStack, TABLE_NAME } from "./stack.js";

const INJECT_CASES = 3000;
const SOCKET_CASES = 300;
const MALFORMED_CASES = 200;
const SLOW_CASES = 24;
const SOCKET_CONCURRENCY = 8;
/** A bound on the whole in-process run, shrinking included. */
const INJECT_TIME_LIMIT_MS = 180_000;
/** How long past REQUEST_TIMEOUT_MS a stalled client may still hold its connection. */
const SLOW_SLACK_MS = 3000;
/** A fast case's connection must close within this (Connection: close, or the client half-closed). */
const SOCKET_CASE_TIMEOUT_MS = REQUEST_TIMEOUT_MS + SLOW_SLACK_MS;

/** The request as text, so that an error body echoing the client's own input is not mistaken for a leak. */
function sentText(request: FuzzRequest | Buffer): string {
  return Buffer.isBuffer(request) ? request.toString("latin1") : wireBytes(request).toString("utf8");
}

/** Why an answer breaks the guarantees, or undefined. */
function judge(status: number, body: string, sent: string, secrets: string[]): string | undefined {
  if (status >= 500) return `answered ${status}: ${body.slice(0, 120)}`;
  return status >= 400 ? errorBodyProblem(status, body, sent, secrets) : undefined;
}

/** One line naming a request, for a violation's example. */
function summarize(request: FuzzRequest): string {
  const body =
    request.body === undefined
      ? "no body"
      : `${request.body.length}-byte body ${JSON.stringify(request.body.toString("utf8").slice(0, 160))}`;
  return `${request.method} ${request.path.slice(0, 100)} ${JSON.stringify(request.headers).slice(0, 200)} ${body}`;
}

/** Every case through app.inject, with fast-check shrinking a failure to its smallest form. */
async function injectCases(seed: number, violations: Violations): Promise<number> {
  const engine = await startDynalite();
  const api = await buildTestApp(engine.url);
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).join();
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on("uncaughtException", onCrash).on("unhandledRejection", onCrash);
  try {
    const details = await fc.check(
      fc.asyncProperty(fuzzRequest, async (request) => {
        const response = await api.app.inject({
          method: request.method as "GET",
          url: request.path,
          headers: request.headers,
          ...(request.body === undefined ? {} : { payload: request.body }),
        });
        const problem = judge(response.statusCode, response.body, sentText(request), [api.tableName]);
        if (problem) throw new Error(problem);
        if (Object.getOwnPropertyNames(Object.prototype).join() !== prototypeKeys) {
          throw new Error("Object.prototype gained a property");
        }
      }),
      { numRuns: INJECT_CASES, seed, interruptAfterTimeLimit: INJECT_TIME_LIMIT_MS },
    );
    if (details.failed) {
      const [request] = details.counterexample ?? [];
      violations.add(
        `app.inject: ${(details.errorInstance as Error | undefined)?.message ?? "failed"}`,
        request ? summarize(request) : undefined,
      );
    }
    violations.check(!details.interrupted, `app.inject: stopped after ${INJECT_TIME_LIMIT_MS} ms`);
    const health = await api.app.inject({ method: "GET", url: "/health" });
    violations.check(
      health.statusCode === 200,
      `app.inject: /health answered ${health.statusCode} after the fuzz`,
    );
    for (const crash of crashes)
      violations.add(`app.inject: the process saw an uncaught error: ${String(crash)}`);
    return details.numRuns;
  } finally {
    process.off("uncaughtException", onCrash).off("unhandledRejection", onCrash);
    await api.close();
    await engine.close();
  }
}

interface WireResult {
  received: Buffer;
  /** From the first byte written to the server's close. */
  closedAfterMs: number;
  /** The connection did not close by itself within the deadline. */
  hung: boolean;
}

/** Writes `start` (then `trickle`, a byte at a time) on a fresh connection; resolves when the server closes. */
function exchangeOnWire(
  port: number,
  start: Buffer,
  options: { halfClose: boolean; trickle?: Buffer; trickleMs?: number; deadlineMs: number },
): Promise<WireResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const openedAt = Date.now();
    let closed = false;
    const socket = connect(port, "127.0.0.1", async () => {
      socket.write(start);
      if (options.halfClose) socket.end();
      for (const byte of options.trickle ?? []) {
        await sleep(options.trickleMs ?? 1000);
        if (closed) return;
        socket.write(Buffer.from([byte]));
      }
    });
    const deadline = setTimeout(() => {
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closedAfterMs: Date.now() - openedAt, hung: true });
    }, options.deadlineMs);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", () => undefined); // a reset is a close; what arrived before it is what counts
    socket.on("close", () => {
      closed = true;
      clearTimeout(deadline);
      resolve({ received: Buffer.concat(chunks), closedAfterMs: Date.now() - openedAt, hung: false });
    });
  });
}

/** The responses in `wire`, each framed by Content-Length, chunked encoding, or the connection's end. */
function responses(wire: Buffer): Array<{ status: number; body: Buffer }> {
  const found: Array<{ status: number; body: Buffer }> = [];
  let at = 0;
  while (at < wire.length) {
    const headEnd = wire.indexOf("\r\n\r\n", at);
    const head = wire.subarray(at, headEnd < 0 ? wire.length : headEnd).toString("latin1");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (headEnd < 0 || Number.isNaN(status)) {
      found.push({ status: Number.NaN, body: wire.subarray(at) });
      break;
    }
    let next = headEnd + 4;
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    const chunks: Buffer[] = [];
    if (status < 200 || status === 204 || status === 304) {
      // No body.
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const lineEnd = wire.indexOf("\r\n", next);
        const size = lineEnd < 0 ? 0 : Number.parseInt(wire.subarray(next, lineEnd).toString("latin1"), 16);
        if (!(size > 0)) {
          next = lineEnd < 0 ? wire.length : lineEnd + 4;
          break;
        }
        chunks.push(wire.subarray(lineEnd + 2, lineEnd + 2 + size));
        next = lineEnd + 2 + size + 2;
      }
    } else {
      const end = length === undefined ? wire.length : next + Number(length);
      chunks.push(wire.subarray(next, end));
      next = end;
    }
    found.push({ status, body: Buffer.concat(chunks) });
    at = next;
  }
  return found;
}

/** Why what came back on the wire breaks the guarantees, or undefined. Checks every response in it. */
function judgeWire(received: Buffer, sent: string): string | undefined {
  for (const { status, body } of responses(received)) {
    if (Number.isNaN(status))
      return `an answer that is not HTTP: ${JSON.stringify(body.toString("latin1").slice(0, 80))}`;
    const problem = judge(status, body.toString("utf8"), sent, [TABLE_NAME]);
    if (problem) return problem;
  }
  return undefined;
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

export async function fuzz({ seed }: ScenarioOptions): Promise<Outcome> {
  const violations = new Violations();
  const injectStarted = performance.now();
  const injected = await injectCases(seed, violations);
  const injectMs = performance.now() - injectStarted;

  const stack = await startStack();
  const port = Number(new URL(stack.url).port);
  const slowEnds: number[] = [];
  let timedOut408 = 0;
  let heldOpen = 0;
  const socketStarted = performance.now();
  try {
    const wellFormed = fc.sample(fuzzRequest, { numRuns: SOCKET_CASES, seed: seed + 1 });
    await pool(wellFormed, SOCKET_CONCURRENCY, async (request) => {
      const result = await exchangeOnWire(port, wireBytes(request), {
        halfClose: false,
        deadlineMs: SOCKET_CASE_TIMEOUT_MS,
      });
      if (result.hung) violations.add("socket: a well-formed request hung", summarize(request));
      const problem = judgeWire(result.received, sentText(request));
      if (problem) violations.add(`socket: ${problem}`, summarize(request));
    });
    const malformed = fc.sample(malformedRequest, { numRuns: MALFORMED_CASES, seed: seed + 2 });
    await pool(malformed, SOCKET_CONCURRENCY, async (bytes) => {
      const result = await exchangeOnWire(port, bytes, {
        halfClose: true,
        deadlineMs: SOCKET_CASE_TIMEOUT_MS,
      });
      const example = JSON.stringify(bytes.toString("latin1").slice(0, 120));
      if (result.hung) violations.add("socket: a malformed request held its connection open", example);
      const problem = judgeWire(result.received, sentText(bytes));
      if (problem) violations.add(`socket: malformed HTTP ${problem}`, example);
    });
    const socketMs = performance.now() - socketStarted;

    const slowStarted = performance.now();
    const slow = fc.sample(slowRequest, { numRuns: SLOW_CASES, seed: seed + 3 });
    await Promise.all(
      slow.map(async (request: SlowRequest) => {
        const result = await exchangeOnWire(port, request.start, {
          halfClose: false,
          trickle: request.trickle,
          trickleMs: request.trickleMs,
          deadlineMs: REQUEST_TIMEOUT_MS + SLOW_SLACK_MS,
        });
        const example = JSON.stringify(request.start.toString("latin1").slice(0, 80));
        if (result.hung) {
          heldOpen++;
          violations.add(
            `slow: a stalled client held its connection past ${REQUEST_TIMEOUT_MS + SLOW_SLACK_MS} ms`,
            example,
          );
        }
        slowEnds.push(result.closedAfterMs);
        if (/^HTTP\/1\.1 408 /.test(result.received.toString("latin1"))) timedOut408++;
        const problem = judgeWire(result.received, sentText(request.start));
        if (problem) violations.add(`slow: ${problem}`, example);
      }),
    );
    const slowMs = performance.now() - slowStarted;
    await stack.checkAppFaults(violations);

    return {
      figures: {
        seed,
        "app.inject cases (in process)": injected,
        "socket cases: well-formed / malformed HTTP": `${SOCKET_CASES} / ${MALFORMED_CASES}`,
        "slow clients (stalled or trickling)": SLOW_CASES,
        "  cut off with 408": timedOut408,
        "  cut off by a close or a 4xx": SLOW_CASES - timedOut408 - heldOpen,
        "  held open past the bound": heldOpen,
        "  latest cut-off (s, bound)": `${seconds(Math.max(...slowEnds))} (${seconds(REQUEST_TIMEOUT_MS + SLOW_SLACK_MS)})`,
        "time: inject / socket / slow (s)": `${seconds(injectMs)} / ${seconds(socketMs)} / ${seconds(slowMs)}`,
      },
      violations,
    };
  } finally {
    await stack.close();
  }
}
