/**
 * `npm run auth:dev -- --user alice`: try the API with auth on, on a laptop. Starts a local OpenID Connect issuer
 * (issuer.ts) on loopback, prints an access token for each user on stdout (one a line), and how to start the API
 * against it on stderr; serves the issuer's keys until stopped.
 */
import { parseArgs } from "node:util";
import { DEV_AUDIENCE, startLocalIssuer } from "./issuer.js";

const USAGE = `Usage: npm run auth:dev -- [--user <id>]... [--port <port>]

Starts a local OpenID Connect issuer on http://127.0.0.1:<port> and prints an access token for each user
(valid 8 hours; one a line on stdout). Keys live in memory: a restart makes new ones, and tokens from before
stop working. Then, in another terminal:

  AUTH_ISSUER=http://127.0.0.1:<port> AUTH_AUDIENCE=${DEV_AUDIENCE} npm start
  curl -H "Authorization: Bearer <token>" 'localhost:10001/activity?userId=<id>'

Options:
  --user <id>    a user to make a token for (1 to 64 of A-Z a-z 0-9 _ -); repeat for more  [default: alice]
  --port <port>  the issuer's port on 127.0.0.1                                           [default: 10090]
  -h, --help     this help
Exit status: 0 stopped, 1 failed to start, 2 bad usage.`;

const DEFAULT_PORT = 10090;
const TOKEN_SECONDS = 8 * 3600;
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

function usageError(message: string): never {
  console.error(`auth:dev: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let values: { user?: string[]; port?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      user: { type: "string", multiple: true },
      port: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  usageError((error as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const users = values.user ?? ["alice"];
for (const user of users)
  if (!USER_ID.test(user)) usageError(`--user ${JSON.stringify(user)} is not a user id`);
const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) usageError(`--port ${values.port} is not a port`);

try {
  const issuer = await startLocalIssuer({ port });
  for (const user of users) {
    console.log(await issuer.accessToken(user, {}, { expiresInSeconds: TOKEN_SECONDS }));
  }
  console.error(
    `Local issuer at ${issuer.url} (Ctrl-C stops it). Start the API against it:\n` +
      `  AUTH_ISSUER=${issuer.url} AUTH_AUDIENCE=${DEV_AUDIENCE} npm start\n` +
      `and send a token above: curl -H "Authorization: Bearer <token>" 'localhost:10001/activity?userId=${users[0]}'`,
  );
  const stop = () => issuer.close().then(() => process.exit(0));
  process.once("SIGINT", stop).once("SIGTERM", stop);
} catch (error) {
  const reason =
    (error as NodeJS.ErrnoException).code === "EADDRINUSE"
      ? `port ${port} is in use; pass --port`
      : String(error);
  console.error(`auth:dev: the local issuer did not start: ${reason}`);
  process.exit(1);
}
