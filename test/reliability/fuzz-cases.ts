/**
 * What the fuzz scenario throws at the API, as fast-check arbitraries: well-formed HTTP requests with hostile
 * paths, query strings, headers and bodies, malformed HTTP for a raw socket, and requests that stall.
 */
import fc from "fast-check";
import { BODY_LIMIT_BYTES } from "../../app/src/http/error-handler.js";
import { ACTIVITY_TYPES } from "../../app/src/schemas.js";

/** A well-formed HTTP request; its body is bytes, so that it can be invalid UTF-8. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"];
const POLLUTING_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "__proto__[polluted]",
  "constructor[prototype]",
];
/** JSON number tokens that JavaScript mangles: beyond double range, beyond 2^53, negative zero, exponents. */
const HOSTILE_NUMBERS = [
  "1e400",
  "-1e400",
  "9007199254740993",
  "1".repeat(400),
  "-0",
  "1.0",
  "1e-400",
  "0.1e1",
];

/**
 * Numbers as text, for query strings: overflowing to a non-finite number (`1e309` once reached DynamoDB as
 * Infinity and was answered 500), beyond 2^53, negative zero, hex, exponents, padding, any double.
 */
const numberText = fc.oneof(
  fc.constantFrom(
    ...HOSTILE_NUMBERS,
    "1e309",
    "-1e309",
    "Infinity",
    "-Infinity",
    "NaN",
    "0x10",
    "0b1",
    "1_0",
    "+5",
    " 5",
    "5 ",
    "1e1",
    "10.0000000000000001",
  ),
  fc.double().map(String),
  fc.bigInt({ min: -(10n ** 400n), max: 10n ** 400n }).map(String),
  fc
    .tuple(fc.integer({ min: -9, max: 9 }), fc.integer({ min: -400, max: 400 }))
    .map(([mantissa, exponent]) => `${mantissa}e${exponent}`),
);

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const printable = (maxLength: number) => fc.string({ unit: "grapheme-ascii", maxLength });
const anyText = (maxLength: number) => fc.string({ unit: "binary", maxLength });

/** A path segment: a valid id, or text that paths and routers trip on. */
const segment = fc.oneof(
  id,
  anyText(40).map(encodeURIComponent),
  printable(40),
  fc.constantFrom(..."..|%2e%2e|%00|%ff|%C3%28|%E2%82|%uD800|%|%%|.|~|;|a;b=c|%2F|\\".split("|")),
  fc.constantFrom(...POLLUTING_KEYS),
  fc.nat({ max: 5000 }).map((length) => "x".repeat(length)),
);

const queryValue = fc.oneof(
  id,
  fc.constantFrom("", "0", "-1", "101", "1.5", "true", "null", "[]", "{}"),
  numberText,
  anyText(30).map(encodeURIComponent),
  fc.constantFrom("%ff%fe", "%C3%28", "%00", "%"),
  fc.base64String({ maxLength: 200 }),
  // Cursors: base64url JSON of the right and wrong shapes.
  fc
    .dictionary(
      fc.constantFrom("id", "userId", "startedAt", ...POLLUTING_KEYS),
      fc.jsonValue({ maxDepth: 2 }),
    )
    .map((key) => Buffer.from(JSON.stringify(key)).toString("base64url")),
);
const queryKey = fc.oneof(
  fc.constantFrom("userId", "limit", "cursor", "userId[]", "limit[0]", ...POLLUTING_KEYS),
  printable(12).map(encodeURIComponent),
);
/** `key=value`, or `key` alone when the value is null. */
const queryText = (pairs: ReadonlyArray<readonly [string, string | null]>) =>
  pairs.map(([key, value]) => (value === null ? key : `${key}=${value}`)).join("&");
const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 6 }).map(queryText);

/**
 * A query string for GET /activity that mostly gets past the required userId: a valid one, then parameters
 * bent one at a time, repeated (`limit=1&limit=2`), empty, or without `=`, and unknown ones.
 */
export const listingQuery: fc.Arbitrary<string> = fc
  .tuple(
    fc.option(id, { nil: undefined, freq: 8 }),
    fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.tuple(fc.constant("limit"), fc.oneof(numberText, queryValue)) },
        { weight: 1, arbitrary: fc.tuple(fc.constant("userId"), queryValue) },
        { weight: 1, arbitrary: fc.tuple(fc.constant("cursor"), queryValue) },
        { weight: 1, arbitrary: fc.tuple(queryKey, queryValue) },
      ),
      { maxLength: 3 },
    ),
    fc.nat(),
  )
  .map(([userId, pairs, bareAt]) => {
    const all: Array<readonly [string, string | null]> = userId === undefined ? [] : [["userId", userId]];
    for (const [index, [key, value]] of pairs.entries()) all.push([key, index === bareAt % 8 ? null : value]);
    return queryText(all);
  });

const path = fc.oneof(
  segment.map((s) => `/activity/${s}`),
  fc.tuple(id, segment).map(([a, b]) => `/activity/${a}/${b}`),
  query.map((q) => `/activity?${q}`),
  listingQuery.map((q) => `/activity?${q}`),
  fc.constantFrom(
    "/",
    "/health",
    "/ready",
    "/activity",
    "/activity/",
    "//activity/1",
    "/activity/1?",
    "/activity/1#x",
  ),
  fc.webPath().map((p) => p || "/"),
  fc.webPath().chain((p) => fc.webQueryParameters().map((q) => `${p || "/"}?${q}`)),
);

/** etagc (RFC 9110 §8.8.3): the characters an opaque tag may hold, obs-text included. */
const etagChar = fc
  .oneof(fc.constant(0x21), fc.integer({ min: 0x23, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
  .map((code) => String.fromCharCode(code));
/** Optional whitespace around list elements. */
const ows = fc.constantFrom("", " ", "\t", "  ");
const entityTag = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.nat({ max: 1000 }).map(String), fc.string({ unit: etagChar, maxLength: 12 })),
  )
  .map(([weak, opaque]) => `${weak ? "W/" : ""}"${opaque}"`);

/** A well-formed If-Match list of entity-tags: weak or strong, any etagc, with empty elements and whitespace. */
export const entityTagList: fc.Arbitrary<string> = fc
  .array(
    fc
      .tuple(ows, fc.option(entityTag, { nil: "", freq: 6 }), ows)
      .map(([before, tag, after]) => `${before}${tag}${after}`),
    { minLength: 1, maxLength: 6 },
  )
  .map((elements) => elements.join(","));

/** An If-Match that is not a list of entity-tags: a well-formed list with one element that no grammar allows. */
export const malformedEntityTagList: fc.Arbitrary<string> = fc
  .tuple(
    entityTagList,
    fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9]{1,8}$/), // unquoted
      fc.string({ unit: etagChar, maxLength: 8 }).map((opaque) => `"${opaque}`), // unterminated
      fc.constantFrom(
        '"a b"',
        '"a\tb"',
        '"a\u007fb"',
        '"1""2"',
        '"1" "2"',
        'w/"1"',
        'W/ "1"',
        "W/1",
        "*",
        '\\"1\\"',
      ),
    ),
    fc.boolean(),
  )
  .map(([list, bad, first]) => (first ? `${bad},${list}` : `${list}, ${bad}`));

/** Any If-Match or If-None-Match value: well-formed lists, malformed ones, `*`, and plain garbage. */
export const conditionalHeaderValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '"1"',
    "*",
    " * ",
    'W/"1"',
    '"0"',
    '"-1"',
    '"99999999999999999999"',
    '""',
    '"1", W/"2"',
    "1",
    "",
  ),
  entityTagList,
  malformedEntityTagList,
  printable(60),
  fc
    .array(
      fc.nat().map((n) => `"${n}"`),
      { maxLength: 40 },
    )
    .map((tags) => tags.join(", ")),
  fc.nat({ max: 3000 }).map((length) => `"${"9".repeat(length)}"`),
);
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  fc.constantFrom(
    "application/json; charset=utf-8",
    "application/json; charset=latin1",
    "application/json; charset=utf-16",
    "APPLICATION/JSON",
    "application/json;;",
    "text/plain",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
    " ",
    "application/json\t",
  ),
  printable(40),
);
const base64urlJson = (value: fc.Arbitrary<unknown>) =>
  value.map((part) => Buffer.from(JSON.stringify(part)).toString("base64url"));
/** Header, payload and signature shaped like a JWT, with any algorithm (none, HMAC, unknown) and any claims. */
const jwtShaped: fc.Arbitrary<string> = fc
  .tuple(
    base64urlJson(
      fc.record(
        {
          alg: fc.oneof(
            fc.constantFrom("none", "None", "HS256", "RS256", "ES256", "EdDSA", ""),
            printable(10),
          ),
          kid: printable(40),
          typ: fc.constantFrom("JWT", "at+jwt", ""),
          crit: fc.array(printable(10), { maxLength: 2 }),
          jku: fc.constantFrom("http://169.254.169.254/latest/meta-data/", "https://evil.example/jwks.json"),
        },
        { requiredKeys: ["alg"] },
      ),
    ),
    base64urlJson(
      fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.dictionary(printable(10), fc.jsonValue({ maxDepth: 1 }))),
    ),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
  )
  .map((parts) => parts.join("."));
/** Any Authorization value: other schemes, Bearer spelled and spaced every way, JWT-shaped garbage, huge tokens. */
export const authorizationHeader: fc.Arbitrary<string> = fc.oneof(
  printable(80),
  fc
    .tuple(
      fc.constantFrom(
        "Bearer ",
        "bearer ",
        "BEARER ",
        "Bearer  ",
        "Bearer\t",
        "Bearer",
        " Bearer ",
        "Basic ",
        "Digest ",
        "Token ",
      ),
      fc.oneof(jwtShaped, printable(80), fc.constantFrom("", "a.b", "a.b.c.d", "...", "a..c", "=", "x=y")),
    )
    .map(([scheme, token]) => scheme + token),
  fc.nat({ max: 12_000 }).map((length) => `Bearer ${"a".repeat(length)}`),
);
/** Request headers as a client may send them: the ones the API reads, and any x- header. */
export const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      "content-type": contentType,
      "if-match": conditionalHeaderValue,
      "if-none-match": conditionalHeaderValue,
      "x-request-id": printable(200),
      accept: fc.oneof(
        fc.constantFrom("*/*", "application/json", "text/html", "application/xml"),
        printable(30),
      ),
      "content-encoding": fc.constantFrom("gzip", "br", "deflate", "identity", "chunked", "x"),
      "x-forwarded-for": printable(40),
      authorization: printable(60),
    },
    { requiredKeys: [] },
  )
  .chain((known) =>
    fc
      .dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), printable(100), { maxKeys: 5 })
      .map((extra) => ({ ...extra, ...known })),
  );

/** A valid activity, as an object whose fields the hostile bodies then bend. */
const activity = fc.record(
  {
    userId: id,
    type: fc.constantFrom(...ACTIVITY_TYPES),
    startedAt: fc
      .date({
        min: new Date("1970-01-01T00:00:00Z"),
        max: new Date("2100-01-01T00:00:00Z"),
        noInvalidDate: true,
      })
      .map((date) => date.toISOString()),
    durationSeconds: fc.integer({ min: 1, max: 604_800 }),
    distanceMeters: fc.double({ min: 0, max: 1_000_000, noNaN: true }),
    calories: fc.integer({ min: 0, max: 100_000 }),
    notes: anyText(200),
  },
  { requiredKeys: ["userId", "type", "startedAt", "durationSeconds"] },
);
const activityField = fc.constantFrom(
  "userId",
  "type",
  "startedAt",
  "durationSeconds",
  "distanceMeters",
  "calories",
  "notes",
  "id",
  "version",
);
/** Raw JSON text for a value: any JSON, a mangled number, a wrong type, or a lone surrogate. */
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? "null"),
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.constantFrom(
    '"\\ud800"',
    '"\\u0000"',
    '"2026-02-30T25:61:00Z"',
    '"+275760-09-13T00:00:00.001Z"',
    "[]",
    "{}",
  ),
  anyText(50).map((text) => JSON.stringify(text)),
);

function objectText(entries: Array<[string, string]>): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
}

function activityEntries(value: object): Array<[string, string]> {
  return Object.entries(value).map(([key, field]) => [key, JSON.stringify(field)]);
}

const text = (body: string) => Buffer.from(body, "utf8");

const body: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  fc.constant(undefined),
  activity.map((value) => text(JSON.stringify(value))),
  // One field with a hostile value (wrong type, huge number, invalid date, lone surrogate).
  fc
    .tuple(activity, activityField, hostileValue)
    .map(([value, field, raw]) =>
      text(objectText([...activityEntries(value).filter(([key]) => key !== field), [field, raw]])),
    ),
  // Prototype-pollution keys at the top or one level down.
  fc.tuple(activity, fc.constantFrom(...POLLUTING_KEYS), fc.boolean()).map(([value, key, nested]) => {
    const polluting: [string, string] = [key, '{"polluted":"yes","prototype":{"polluted":"yes"}}'];
    const entries = activityEntries(value);
    return text(
      nested
        ? objectText([...entries, ["notes", objectText([polluting])]])
        : objectText([polluting, ...entries]),
    );
  }),
  // Deep nesting, below and above the body limit.
  fc
    .tuple(
      fc.integer({ min: 1, max: 20_000 }),
      fc.constantFrom(["[", "]"], ['{"a":', "}"], ['{"__proto__":', "}"]),
    )
    .map(([depth, [open, close]]) => text(`${open.repeat(depth)}1${close.repeat(depth)}`)),
  fc.json({ maxDepth: 4 }).map(text),
  // Bytes that are not UTF-8, bare or inside an otherwise valid activity.
  fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
  fc.tuple(activity, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([value, bytes]) => {
    const [before, after] = JSON.stringify({ ...value, notes: "\u0000" }).split("\\u0000") as [
      string,
      string,
    ];
    return Buffer.concat([text(before), Buffer.from(bytes.map((byte) => byte | 0x80)), text(after)]);
  }),
  // Just over and far over the limit.
  fc
    .tuple(activity, fc.integer({ min: 1, max: 200_000 }))
    .map(([value, extra]) => text(JSON.stringify({ ...value, notes: "n".repeat(BODY_LIMIT_BYTES + extra) }))),
  fc
    .constantFrom("", " ", "null", "0", '""', "[]", "{", "\ufeff{}", '{"a":1}{"b":2}', "{'a':1}", "NaN")
    .map(text),
);

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({ method: fc.constantFrom(...METHODS), path, headers: hostileHeaders, body })
  .map(({ body: payload, ...request }) => (payload === undefined ? request : { ...request, body: payload }));

/** A request as bytes on the wire, one per connection. */
export function wireBytes(request: FuzzRequest): Buffer {
  const lines = [`${request.method} ${request.path} HTTP/1.1`, "host: localhost", "connection: close"];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  if (request.body !== undefined) lines.push(`content-length: ${request.body.length}`);
  return Buffer.concat([
    Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"),
    request.body ?? Buffer.alloc(0),
  ]);
}

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));
const latin1 = (wire: string) => Buffer.from(wire, "latin1");

/** HTTP that a parser must refuse or survive: smuggling, bad framing, illegal bytes, oversized headers. */
export const malformedRequest: fc.Arbitrary<Buffer> = fc.oneof(
  bytes(4096),
  fc.tuple(fuzzRequest, bytes(64), fc.nat({ max: 200 })).map(([request, noise, at]) => {
    const wire = wireBytes(request);
    return Buffer.concat([wire.subarray(0, at), noise, wire.subarray(at)]);
  }),
  fc
    .constantFrom(
      "GET /health HTTP/9.9\r\nhost: a\r\n\r\n",
      "GET /health\r\n\r\n",
      "GET /health HTTP/1.1\r\n\r\n",
      "GET http://elsewhere.invalid/activity/1 HTTP/1.1\r\nhost: a\r\n\r\n",
      "GET /health HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n",
      "GET /health HTTP/1.1\r\nhost: a\r\n folded: header\r\n\r\n",
      "GET /he\x00alth HTTP/1.1\r\nhost: a\r\n\r\n",
      "GET /health HTTP/1.1\r\nhost: a\r\nx-bad\x00name: v\r\n\r\n",
      "GET /health HTTP/1.1\r\nhost: a\r\nx-bad: v\x00alue\r\n\r\n",
      "GET /health HTTP/1.1\nhost: a\n\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      "CONNECT localhost:4567 HTTP/1.1\r\nhost: a\r\n\r\n",
      "POST /activity HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n{}{}{}",
      "POST /activity HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: -1\r\n\r\n{}",
      "POST /activity HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 1e3\r\n\r\n{}",
      "POST /activity HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /ready HTTP/1.1\r\nhost: a\r\n\r\n",
      "POST /activity HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ntransfer-encoding: chunked, identity\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      "POST /activity HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      "POST /activity HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\n{}\r\n",
      "POST /activity HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n{}",
      "GET /health HTTP/1.1\r\nhost: a\r\n\r\nGET /ready HTTP/1.1\r\nhost: a\r\n\r\nGET /activity/1 HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .map(latin1),
  // Headers past Node's 16 KiB limit, in one header or many.
  fc
    .integer({ min: 17_000, max: 70_000 })
    .map((length) => latin1(`GET /health HTTP/1.1\r\nhost: a\r\nx-big: ${"a".repeat(length)}\r\n\r\n`)),
  fc
    .integer({ min: 500, max: 3000 })
    .map((count) =>
      latin1(
        `GET /health HTTP/1.1\r\nhost: a\r\n${Array.from({ length: count }, (_, i) => `x-h${i}: v`).join("\r\n")}\r\n\r\n`,
      ),
    ),
);

/** The start of a request whose sender then goes quiet, or trickles one byte at a time. */
export interface SlowRequest {
  start: Buffer;
  /** Bytes sent one per `trickleMs` after `start` (never enough to finish). */
  trickle: Buffer;
  trickleMs: number;
}

export const slowRequest: fc.Arbitrary<SlowRequest> = fc.record({
  start: fc.oneof(
    // Headers never finished.
    fuzzRequest.map((request) => {
      const wire = wireBytes(request);
      return wire.subarray(0, wire.indexOf("\r\n\r\n"));
    }),
    // A body shorter than its Content-Length, or a chunked body with no last chunk.
    fc.tuple(activity, fc.integer({ min: 1, max: 1000 })).map(([value, missing]) => {
      const json = JSON.stringify(value);
      return latin1(
        `PUT /activity/slow HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: ${json.length + missing}\r\n\r\n${json}`,
      );
    }),
    activity.map((value) =>
      latin1(
        `POST /activity HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${JSON.stringify(value).length.toString(16)}\r\n${JSON.stringify(value)}\r\n`,
      ),
    ),
  ),
  trickle: fc.oneof(fc.constant(Buffer.alloc(0)), fc.constant(Buffer.from(" ".repeat(100)))),
  trickleMs: fc.integer({ min: 200, max: 2000 }),
});
