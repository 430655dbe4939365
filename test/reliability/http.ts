/**
 * The scenarios' HTTP client, which records every outcome instead of throwing (a refused connection is a
 * result to judge, not an exception), and the check that an error body carries nothing internal.
 */
import { type Agent, type IncomingHttpHeaders, request, STATUS_CODES } from "node:http";

export interface Exchange {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** A keep-alive agent shared by one client's requests, or false for a fresh connection. */
  agent: Agent | false;
  /** Past this, the client gives up and records TIMEOUT: the server hung. */
  timeoutMs: number;
}

export interface Answer {
  /** 0 when no whole response arrived. */
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** When the request was sent and how long its answer took, in ms. */
  sentAt: number;
  ms: number;
  /** Why no whole response arrived: ECONNREFUSED, ECONNRESET, TIMEOUT, ... */
  error?: string;
  /** Whether any of a response had arrived before `error` (a response cut short, not a refusal). */
  partial: boolean;
  /** Whether the request went on a kept-alive connection. */
  reused: boolean;
}

export function send(base: string, exchange: Exchange): Promise<Answer> {
  const sentAt = Date.now();
  return new Promise((resolve) => {
    let partial = false;
    let settled = false;
    const outgoing = request(`${base}${exchange.path}`, {
      method: exchange.method,
      headers: {
        ...exchange.headers,
        ...(exchange.body === undefined
          ? {}
          : { "content-length": String(Buffer.byteLength(exchange.body)) }),
      },
      agent: exchange.agent,
    });
    const finish = (answer: Omit<Answer, "sentAt" | "ms" | "partial" | "reused">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...answer, sentAt, ms: Date.now() - sentAt, partial, reused: outgoing.reusedSocket });
    };
    const timer = setTimeout(() => {
      outgoing.destroy(Object.assign(new Error("no answer in time"), { code: "TIMEOUT" }));
    }, exchange.timeoutMs);
    outgoing.on("response", (response) => {
      partial = true;
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        finish({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      response.on("error", (error: NodeJS.ErrnoException) =>
        finish({ status: 0, headers: {}, body: "", error: error.code ?? error.message }),
      );
    });
    outgoing.on("error", (error: NodeJS.ErrnoException) =>
      finish({ status: 0, headers: {}, body: "", error: error.code ?? error.message }),
    );
    outgoing.end(exchange.body);
  });
}

/** The error body's keys (app/src/schemas.ts ErrorBody): anything else is a leak of some kind. */
const ERROR_BODY_KEYS = new Set(["statusCode", "error", "message", "field", "code"]);

/** Things only the server knows: if a body shows one that the client did not send, internals leaked. */
const INTERNAL_DETAIL: Array<[string, RegExp]> = [
  ["a stack frame", /\n?\s{2,}at \S+ \(|^\s+at /m],
  ["an AWS or JavaScript error name", /\b[A-Z][A-Za-z]+(Exception|Error)\b/],
  ["an AWS wire detail", /com\.amazon|amazonaws|__type|x-amz|Expression(AttributeNames|AttributeValues)?\b/],
  ["a Fastify or Node error code", /\b(FST_ERR_\w+|ERR_[A-Z_]{4,}|HPE_[A-Z_]+)\b/],
  ["a network error code", /\b(ECONN[A-Z]+|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|EHOSTUNREACH)\b/],
  ["a file path", /(\/(srv|work|app|home|root|usr|tmp|build)\/)|node_modules|\.(m?js|ts|cjs):\d+/],
  ["the storage engine", /dynalite|leveldb|dynamodb:\d+/i],
];

/**
 * Why `body`, answered with `status`, is not a clean error body, or undefined when it is: exactly the API's
 * error shape with the same statusCode, and no internal detail that the request (`sent`) did not carry.
 * `secrets` are strings no body may ever contain (the table name).
 */
export function errorBodyProblem(
  status: number,
  body: string,
  sent: string,
  secrets: string[] = [],
): string | undefined {
  for (const secret of secrets) if (body.includes(secret)) return `the body names ${JSON.stringify(secret)}`;
  for (const [what, pattern] of INTERNAL_DETAIL) {
    const found = pattern.exec(body)?.[0];
    if (found !== undefined && !sent.includes(found.trim())) return `the body shows ${what}: ${found.trim()}`;
  }
  // Node's own refusals (a missing Host header, say) come with no body: nothing there to leak.
  if (status < 400 || body === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `a ${status} body that is not JSON: ${body.slice(0, 80)}`;
  }
  if (typeof parsed !== "object" || parsed === null) return `a ${status} body that is not an object`;
  const extra = Object.keys(parsed).filter((key) => !ERROR_BODY_KEYS.has(key));
  if (extra.length > 0) return `a ${status} body with keys beyond the error shape: ${extra.join(", ")}`;
  const { statusCode, error, message } = parsed as Record<string, unknown>;
  if (statusCode !== status) return `a ${status} body whose statusCode is ${String(statusCode)}`;
  if (error !== STATUS_CODES[status]) return `a ${status} body whose error is ${JSON.stringify(error)}`;
  if (typeof message !== "string") return `a ${status} body without a message`;
  return undefined;
}
