/** The image's HEALTHCHECK: GET /health on the app's port, with no curl in the image. Exit 0 healthy, 1 not. */
import { request } from "node:http";
import { APP_PORT, HEALTH_PATH } from "./contract.js";

const port = Number(process.env.PORT || APP_PORT);
const probe = request({ host: "127.0.0.1", port, path: HEALTH_PATH, timeout: 2000 }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
probe.on("timeout", () => probe.destroy(new Error("timeout")));
probe.on("error", () => process.exit(1));
probe.end();
