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
    // Each worker keeps its modules from one test file to the next instead of loading @pulumi/aws, the AWS SDK
    // and Fastify again for every file: 40% less CPU (41 s to 25 s per run on this machine), which is what a
    // busy machine makes npm test wait for. Suites therefore leave no global state behind (the Pulumi helpers
    // reset modules and mocks per run); `npx vitest --isolate` runs each file alone when hunting a leak.
    isolate: false,
    // Suites make DynamoDB clients directly, without the server's replaceSdkNodeWarning (app/src/node-version.ts):
    // on Node 20 each worker would print the SDK's eight-line warning. The switch is the SDK's documented one.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
