/**
 * The image's health probe, with no curl in the image: GET a path on the app's port, exit 0 on 200, else 1.
 * The path defaults to /health (liveness); deployments pass /ready to wait until the app reaches its table.
 */
import { request } from "node:http";
import { APP_PORT, HEALTH_PATH } from "./contract.js";

const port = Number(process.env.PORT || APP_PORT);
const path = process.argv[2] ?? HEALTH_PATH;
const probe = request({ host: "127.0.0.1", port, path, timeout: 2000 }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
probe.on("timeout", () => probe.destroy(new Error("timeout")));
probe.on("error", () => process.exit(1));
probe.end();
