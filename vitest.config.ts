/** `npm test`: unit and in-process suites; fast, and no Docker needed (container suites run from .ci/run). */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/container/**", "**/node_modules/**"],
    testTimeout: 20_000,
  },
});
