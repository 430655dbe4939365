/**
 * The embedded default (`npm start`): the real API on http://localhost:10001 with an in-process
 * DynamoDB-compatible engine (dynalite), table created and activity 1 seeded. No Docker, no AWS.
 * Data lives in memory unless DATA_DIR names a directory to keep it in.
 */
import type { AddressInfo } from "node:net";
import dynalite from "dynalite";
import { ConfigError, loadConfig } from "./config.js";
import { ENV, HOST_PORT } from "./contract.js";
import { runServer } from "./server.js";

const dataDir = process.env.DATA_DIR || undefined;
const engine = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: dataDir });
await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
const { port: enginePort } = engine.address() as AddressInfo;

try {
  const config = loadConfig({
    [ENV.appEnv]: "development",
    [ENV.port]: String(HOST_PORT),
    [ENV.host]: "127.0.0.1",
    ...process.env,
    [ENV.dynamodbEndpoint]: `http://127.0.0.1:${enginePort}`,
  });
  const app = await runServer(config, {
    onClose: () => new Promise<void>((resolve) => engine.close(() => resolve())),
  });
  app.log.info(
    { url: `http://localhost:${config.port}/activity/1`, storage: dataDir ?? "memory" },
    "embedded default ready",
  );
} catch (error) {
  console.error(
    error instanceof ConfigError ? error.message : `activity API failed to start: ${String(error)}`,
  );
  engine.close();
  process.exit(1);
}
