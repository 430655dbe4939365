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
  },
});
