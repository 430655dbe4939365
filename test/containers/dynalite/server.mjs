/**
 * The dynalite image's entry point: dynalite's server with the options this project uses, and a graceful stop
 * that dynalite's own CLI lacks as PID 1 (it ignores SIGTERM, so `docker stop` ended it with SIGKILL after
 * 10 s, and a LevelDB store was never closed).
 */
import { parseArgs } from "node:util";
import dynalite from "dynalite";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8000" },
    // A LevelDB directory, e.g. /data with a volume mounted there; in memory when unset.
    path: { type: "string" },
  },
});

const server = dynalite({ path: values.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(Number(values.port), () => {
  console.log(`dynalite listening on ${values.port}, data ${values.path ?? "in memory"}`);
});

/** Bounds a stop that requests keep alive, below Docker's 10 s stop timeout. */
const STOP_DEADLINE_MS = 5000;
let stopping = false;

// Keep-alive connections from the API would hold server.close() open until they idle out: once stopping,
// each connection closes after its current request.
server.on("request", (_request, response) => {
  if (stopping) response.setHeader("connection", "close");
});

/** Stops accepting, lets requests in flight finish, closes the store, and exits 0 (1 if closing failed). */
function stop(signal) {
  console.log(`${signal}: closing`);
  stopping = true;
  server.close((error) => {
    if (error) console.error(`dynalite did not close cleanly: ${error.message}`);
    process.exit(error ? 1 : 0);
  });
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), STOP_DEADLINE_MS).unref();
}
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
