/** `npm test`: unit and in-process suites; fast, and no Docker needed (container and real-engine suites run from .ci/run). */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/container/**", "test/engine/**", "**/node_modules/**"],
    testTimeout: 20_000,
    // Many suites wait on child processes, sockets and timers rather than on a CPU: four workers on two cores
    // take a third less wall time than two.
    maxWorkers: 4,
    // Suites make DynamoDB clients directly, without the server's replaceSdkNodeWarning (app/src/node-version.ts):
    // on Node 20 each worker would print the SDK's eight-line warning. The switch is the SDK's documented one.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
