/**
 * The health probe `up` runs once a preview is deployed: GET /ready on its URL, retried for a few seconds,
 * summed up in one line for the output and the PR comment. It never fails the command: a preview that is not
 * ready yet is still deployed, and the line says so.
 */
import http from "node:http";
import https from "node:https";

export interface HttpAnswer {
  readonly status: number;
  /** From the request's start to the end of the response. */
  readonly latencyMs: number;
}

/** One GET, rejected on a network error or after `timeoutMs`. */
export type HttpGet = (url: string, timeoutMs: number) => Promise<HttpAnswer>;

export interface Health {
  readonly ready: boolean;
  /** "ready (200 in 35 ms)", or what failed: "not ready: 503 from /ready, 10 attempts over 9 s". */
  readonly summary: string;
}

const PROBE = { attempts: 10, intervalMs: 1_000, timeoutMs: 2_000 } as const;

/** Probes `<apiUrl>/ready` until it answers 200 or the attempts run out. */
export async function probeReady(
  apiUrl: string,
  httpGet: HttpGet,
  sleep: (milliseconds: number) => Promise<void>,
  probe: { readonly attempts: number; readonly intervalMs: number; readonly timeoutMs: number } = PROBE,
): Promise<Health> {
  const url = `${apiUrl.replace(/\/+$/, "")}/ready`;
  let failure = "no attempt";
  for (let attempt = 1; attempt <= probe.attempts; attempt += 1) {
    try {
      const answer = await httpGet(url, probe.timeoutMs);
      if (answer.status === 200) {
        return { ready: true, summary: `ready (200 in ${Math.round(answer.latencyMs)} ms)` };
      }
      failure = `${answer.status} from /ready`;
    } catch (error) {
      failure = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
    }
    if (attempt < probe.attempts) await sleep(probe.intervalMs);
  }
  const seconds = Math.round(((probe.attempts - 1) * probe.intervalMs) / 1000);
  return { ready: false, summary: `not ready: ${failure}, ${probe.attempts} attempts over ${seconds} s` };
}

/**
 * A GET over Node's http(s). Names under `localhost` are sent to 127.0.0.1 with the name kept in the Host
 * header: they are loopback by definition (RFC 6761), but Node's resolver does not know `*.localhost`, and the
 * local preview host routes by that header (`<label>.localhost:<port>`).
 */
export function httpGet(url: string, timeoutMs: number): Promise<HttpAnswer> {
  const target = new URL(url);
  const loopback = target.hostname === "localhost" || target.hostname.endsWith(".localhost");
  const client = target.protocol === "https:" ? https : http;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = client.request(
      {
        host: loopback ? "127.0.0.1" : target.hostname.replace(/^\[|\]$/g, ""),
        port: target.port === "" ? undefined : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: "GET",
        headers: { host: target.host, connection: "close" },
        agent: false,
        timeout: timeoutMs,
      },
      (response) => {
        response.resume();
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, latencyMs: performance.now() - started }),
        );
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end();
  });
}
