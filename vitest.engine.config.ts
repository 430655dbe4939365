/**
 * `npm run test:engine`: the real-engine suites. The Pulumi CLI (from PATH) deploys the dev stack and the local
 * previews on the real Docker engine, and takes the AWS stacks as far as they go without AWS. One file at a
 * time: they share the Docker engine and host port 10001.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/engine/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
