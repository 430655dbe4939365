/**
 * The stand-in's entry point: dynalite's server behind DynamoDB Local's own command line, so that a program
 * written for the official amazon/dynamodb-local image (whose entry point is `java`, given `-jar
 * DynamoDBLocal.jar -sharedDb -inMemory` and the like) runs unchanged against this image. Also a graceful stop
 * that dynalite's own CLI lacks as PID 1 (it ignores SIGTERM, so `docker stop` ended it with SIGKILL after
 * 10 s, and a LevelDB store was never closed).
 */
import dynalite from "dynalite";

/** DynamoDB Local's options (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DynamoDBLocal.UsageNotes.html). */
function parseDynamoDbLocalArgs(argv) {
  const options = { port: 8000, path: undefined, inMemory: false };
  const usage = (message) => {
    console.error(`dynamodb-local stand-in: ${message}`);
    process.exit(2);
  };
  const value = (index, name) => {
    const text = argv[index];
    if (text === undefined || text.startsWith("-")) usage(`${name} needs a value`);
    return text;
  };
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    switch (arg) {
      case "-jar":
        // The official image runs `java -jar DynamoDBLocal.jar ...`: the jar is the server itself.
        if (value(index + 1, "-jar") !== "DynamoDBLocal.jar")
          usage(`-jar ${argv[index + 1]}: only DynamoDBLocal.jar`);
        index += 1;
        break;
      case "-port":
        options.port = Number(value(index + 1, "-port"));
        if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)
          usage("-port must be 1-65535");
        index += 1;
        break;
      case "-dbPath":
        options.path = value(index + 1, "-dbPath");
        index += 1;
        break;
      case "-inMemory":
        options.inMemory = true;
        break;
      case "-cors":
        value(index + 1, "-cors");
        index += 1;
        break;
      // dynalite keeps one database whatever the credentials and region (-sharedDb), makes tables active at once
      // (no -delayTransientStatuses), and has no telemetry or start-up optimisation to switch.
      case "-sharedDb":
      case "-delayTransientStatuses":
      case "-optimizeDbBeforeStartup":
      case "-disableTelemetry":
        break;
      default:
        // JVM options such as -Djava.library.path=./DynamoDBLocal_lib mean nothing here.
        if (!arg.startsWith("-D")) usage(`unknown option ${arg}`);
    }
  }
  if (options.inMemory && options.path !== undefined) usage("-inMemory and -dbPath cannot be used together");
  return options;
}

const options = parseDynamoDbLocalArgs(process.argv.slice(2));
const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(options.port, () => {
  console.log(`dynalite listening on ${options.port}, data ${options.path ?? "in memory"}`);
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
