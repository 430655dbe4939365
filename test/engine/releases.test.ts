/**
 * Releases by name on the real engine, on the dev stack: two releases rolled out, `npm run release -- list`
 * showing both newest first with the serving one marked, a pin the stack does not keep refused before
 * anything changes, `rollback` to the previous release with no failed request under the client and no image
 * built, the deploy workflow's `check` refusing the pinned stack, then the QA workflow's fix shipped by
 * `unpin` as a new release while the image beyond keepImages is pruned.
 */
import { randomUUID } from "node:crypto";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_PORT } from "../../app/src/contract.js";
import { tail } from "../helpers/run.js";
import { type ProjectCopy, printFigures, probe, recordDockerEvents, startDevStackSuite } from "./harness.js";

const API = `http://127.0.0.1:${HOST_PORT}`;
const APP_SOURCE = "app/src/app.ts";
let copy: ProjectCopy;
const figures: Array<[string, string]> = [];
/** The releases in the order the suite shipped them. */
const shipped: string[] = [];

async function output(name: string): Promise<string> {
  const result = await copy.run("pulumi", "stack", "output", name, "--stack", "dev");
  expect(result.code, tail(result)).toBe(0);
  return result.stdout.trim();
}

/** `npm run release -- <args>` in the copy, as a user runs it. */
function release(...args: string[]) {
  return copy.run("npm", "run", "--silent", "release", "--", ...args);
}

/** A one-line change of the app, unique to this run, so that it is a new release. */
async function change(why: string): Promise<void> {
  await appendFile(join(copy.dir, APP_SOURCE), `// ${why}: ${randomUUID()}.\n`);
}

/** The stack's resources, from its state. */
async function stateUrns(): Promise<string[]> {
  const exported = await copy.run("pulumi", "stack", "export", "--stack", "dev");
  expect(exported.code, tail(exported)).toBe(0);
  const state = JSON.parse(exported.stdout) as { deployment: { resources?: Array<{ urn: string }> } };
  return (state.deployment.resources ?? []).map((resource) => resource.urn).sort();
}

const imageExists = async (tag: string) =>
  (await copy.run("docker", "image", "inspect", `activity-api:${tag}`)).code === 0;

beforeAll(async () => {
  const started = await startDevStackSuite();
  figures.push(["engine", started.engine]);
  copy = started.copy;
});

afterAll(async () => {
  if (copy !== undefined) {
    await copy.run("pulumi", "destroy", "--stack", "dev", "--yes", "--skip-preview");
    // No image of the stack stays behind: each kept release's image is a resource of the stack.
    for (const tag of shipped) expect(await imageExists(tag), tag).toBe(false);
    await copy.remove();
  }
  printFigures("Real engine, releases on the dev stack", figures);
});

describe("releases by name on the dev stack", () => {
  it("rolls out two releases and lists both, newest first, the serving one marked", async () => {
    const first = await copy.run("npm", "run", "dev:up");
    expect(first.code, tail(first)).toBe(0);
    shipped.push(await output("release"));
    // The rollback below is read by a client that never pauses, from this one address: far above one caller's
    // default rate limit. It measures the rollback, not the limiter (test/engine/dev-stack.test.ts checks that).
    const raised = await copy.run("pulumi", "config", "set", "--stack", "dev", "rateLimitMax", "1000000");
    expect(raised.code, tail(raised)).toBe(0);
    await change("release 2");
    const second = await copy.run("pulumi", "up", "--stack", "dev", "--yes", "--skip-preview");
    expect(second.code, tail(second)).toBe(0);
    shipped.push(await output("release"));
    const [r1, r2] = shipped as [string, string];
    expect(r2).not.toBe(r1);
    // The replaced release's image is kept, for a rollback.
    expect(await imageExists(r1)).toBe(true);

    const list = await release("list", "--stack", "dev");
    expect(list.code, tail(list)).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toBe("stack dev is not pinned: each pulumi up builds and ships the working tree");
    expect(lines[1]).toMatch(/^\s+RELEASE\s+DIGEST\s+FIRST SERVED$/);
    expect(lines.slice(2).map((line) => line.split(/\s+/).slice(0, 2))).toEqual([
      ["*", r2],
      ["", r1],
    ]);
  });

  it("refuses a release the stack does not keep in one line, before anything changes", async () => {
    const before = await stateUrns();
    expect(
      (await copy.run("pulumi", "config", "set", "release", "0.0.9-000000000000", "--stack", "dev")).code,
    ).toBe(0);
    const up = await copy.run("pulumi", "up", "--stack", "dev", "--yes", "--skip-preview");
    expect(up.code).not.toBe(0);
    expect(`${up.stdout}\n${up.stderr}`).toContain(
      'activity-api:release "0.0.9-000000000000" is not a release stack dev keeps: npm run release -- list --stack dev shows the releases it keeps',
    );
    expect((await copy.run("pulumi", "config", "rm", "release", "--stack", "dev")).code).toBe(0);
    expect(await stateUrns()).toEqual(before);
    expect(await output("release")).toBe(shipped[1]);
  });

  it("rolls back to the previous release with no failed request and no image built, and pins the stack there", async () => {
    const [r1, r2] = shipped as [string, string];
    const client = probe(`${API}/activity/1`);
    const dockerEvents = recordDockerEvents();
    const rollback = await release("rollback", "--stack", "dev");
    const seen = await client.stop();
    const events = await dockerEvents.stop();
    expect(rollback.code, tail(rollback)).toBe(0);
    figures.push([
      "rollback (npm run release -- rollback, pulumi up included)",
      `${rollback.seconds.toFixed(1)} s; client: ${seen.requests} requests, ${seen.failures} failed ${JSON.stringify(seen.failed)}, slowest ${seen.slowestSeconds.toFixed(2)} s`,
    ]);
    expect(seen.failures, JSON.stringify(seen)).toBe(0);
    expect(seen.requests).toBeGreaterThan(0);
    // No build: the Docker engine tagged no image and started no build container during the rollback.
    expect(events.filter((event) => event.Type === "image" && event.Action === "tag")).toEqual([]);
    expect(await output("release")).toBe(r1);
    expect((await fetch(`${API}/activity/1`)).status).toBe(200);

    const list = await release("list", "--stack", "dev");
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      new RegExp(`^stack dev is pinned to ${r1}@sha256:[0-9a-f]{64} \\(config release\\)$`),
    );
    // A rollback does not make the old release new: the order stays, the mark moves.
    expect(lines.slice(2).map((line) => line.split(/\s+/).slice(0, 2))).toEqual([
      ["", r2],
      ["*", r1],
    ]);
  });

  it("keeps the deploy workflow from shipping over the pin: check fails in one line", async () => {
    const check = await release("check", "--stack", "dev");
    expect(check.code).toBe(1);
    expect(check.stderr.trim()).toMatch(
      /^release check: stack dev is pinned to .+; refusing to deploy over the pin: npm run release -- unpin --stack dev ships the working tree again$/,
    );
  });

  it("ships the fix as a new release with unpin, and prunes the image beyond keepImages", async () => {
    const [r1, r2] = shipped as [string, string];
    await change("the fix");
    expect((await copy.run("pulumi", "config", "set", "keepImages", "2", "--stack", "dev")).code).toBe(0);
    const unpin = await release("unpin", "--stack", "dev");
    expect(unpin.code, tail(unpin)).toBe(0);
    const r3 = await output("release");
    shipped.push(r3);
    expect([r1, r2]).not.toContain(r3);
    figures.push(["unpin (pulumi up with a build)", `${unpin.seconds.toFixed(1)} s`]);

    const list = await release("list", "--stack", "dev");
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toBe("stack dev is not pinned: each pulumi up builds and ships the working tree");
    // keepImages 2: the newest two releases (r3, r2); r1, served before r2 first did, is pruned.
    expect(lines.slice(2).map((line) => line.split(/\s+/).slice(0, 2))).toEqual([
      ["*", r3],
      ["", r2],
    ]);
    expect(await imageExists(r2)).toBe(true);
    expect(await imageExists(r1)).toBe(false);
    expect((await release("check", "--stack", "dev")).code).toBe(0);
  });
});
