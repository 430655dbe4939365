/** The container's entry point: configuration from the environment, then serve until stopped. */
import { ConfigError, loadConfig } from "./config.js";
import { runServer } from "./server.js";

try {
  await runServer(loadConfig());
} catch (error) {
  // One line, naming what is wrong; the structured logger is not configured yet when config is bad.
  console.error(
    error instanceof ConfigError ? error.message : `activity API failed to start: ${String(error)}`,
  );
  process.exit(1);
}
