/**
 * The suites' images build as users build them, on an empty build cache too: every step runs again, the
 * Dockerfiles' `RUN --mount=type=secret` steps included, which fail without a BuildKit client session. And a
 * build that fails says why, in the build's own words.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { appBaseImage, buildAppImage, buildImage } from "../helpers/images.js";
import { run } from "../helpers/run.js";

const built: string[] = [];

afterAll(async () => {
  if (built.length > 0) await run("docker", ["image", "rm", "--force", ...built]);
});

describe("building the suites' images", () => {
  it("succeeds with no build cache, through the secret-mounted npm ci", { timeout: 600_000 }, async () => {
    const tag = await buildAppImage("activity-api:no-cache-test", { noCache: true });
    built.push(tag);
    // The production dependencies come from the stage whose `npm ci` mounts the secret: the image holds them.
    const result = await run("docker", [
      "run",
      "--rm",
      "--entrypoint",
      "node",
      tag,
      "-e",
      'console.log(require.resolve("fastify"))',
    ]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("/srv/activity-api/node_modules/fastify/");
  });

  it("fails with the build's own output, not a bare 'failed to build'", { timeout: 120_000 }, async () => {
    const context = await mkdtemp(join(tmpdir(), "failing-build-"));
    try {
      await writeFile(
        join(context, "Dockerfile"),
        `FROM ${appBaseImage()}\nRUN echo "the cause is printed" && exit 3\n`,
      );
      const build = buildImage(context, "activity-api:failing-build-test");
      await expect(build).rejects.toThrow(/the cause is printed[\s\S]*docker build failed \(exit \d+\)/);
    } finally {
      await rm(context, { recursive: true, force: true });
    }
  });
});
