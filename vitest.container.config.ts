/** `npm run test:container`: suites that build images and run containers on a real Docker engine. */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/container/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
