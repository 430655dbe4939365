/** `npm run release`: parsing, output and each command's steps, on recorded stack outputs, with no engine. */
import { describe, expect, it } from "vitest";
import type { ReleaseDeps } from "../../cli/release/deps.js";
import { runCli } from "../../cli/release/main.js";
import type { ReleaseRecord } from "../../stack/contract.js";

const digest = (hex: string) => `sha256:${hex.repeat(64).slice(0, 64)}`;
/** A dev stack's outputs after three releases, r3 serving, as `pulumi stack output --json` printed them. */
const RECORD: ReleaseRecord[] = [
  { release: "0.1.0-333333333333", digest: digest("c"), firstServed: "2026-12-07T01:30:00.000Z" },
  { release: "0.1.0-222222222222", digest: digest("b"), firstServed: "2026-12-07T01:20:00.000Z" },
  { release: "0.1.0-111111111111", digest: digest("a"), firstServed: "2026-12-07T01:10:00.000Z" },
];

/** An in-memory stack: its outputs, its config pin, and every step a command took. */
function fakeStack(outputs: Record<string, unknown>, pin?: string) {
  const steps: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  let configured = pin;
  let current = { ...outputs };
  let clock = Date.parse("2026-12-07T02:00:00.000Z");
  const deps: ReleaseDeps = {
    stackOutputs: async (stack) => {
      expect(stack).toBe("dev");
      return current;
    },
    configuredPin: async () => configured,
    setPin: async (_stack, value) => {
      steps.push(`config set release ${value}`);
      configured = value;
    },
    removePin: async () => {
      steps.push("config rm release");
      configured = undefined;
    },
    up: async () => {
      steps.push("up");
      clock += 12_500;
      const release = configured?.split("@")[0] ?? "0.1.0-444444444444";
      current = { ...current, release, ...(configured ? { pinnedRelease: configured } : {}) };
      if (configured === undefined) delete current.pinnedRelease;
    },
    now: () => new Date(clock),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  };
  return { deps, steps, out, err, configured: () => configured };
}

const SERVING_R3 = { release: "0.1.0-333333333333", releases: RECORD };

describe("npm run release -- list", () => {
  it("prints the kept releases newest first, the serving one marked, under the pin line", async () => {
    const stack = fakeStack(SERVING_R3);
    expect(await runCli(["list", "--stack", "dev"], stack.deps)).toBe(0);
    expect(stack.out).toEqual([
      "stack dev is not pinned: each pulumi up builds and ships the working tree",
      "   RELEASE             DIGEST        FIRST SERVED",
      "*  0.1.0-333333333333  cccccccccccc  2026-12-07T01:30:00.000Z",
      "   0.1.0-222222222222  bbbbbbbbbbbb  2026-12-07T01:20:00.000Z",
      "   0.1.0-111111111111  aaaaaaaaaaaa  2026-12-07T01:10:00.000Z",
    ]);
  });

  it("says which release the stack is pinned to, and prints the same as JSON with --json", async () => {
    const pin = `0.1.0-222222222222@${digest("b")}`;
    const stack = fakeStack({ ...SERVING_R3, release: "0.1.0-222222222222", pinnedRelease: pin }, pin);
    expect(await runCli(["list", "--stack", "dev", "--json"], stack.deps)).toBe(0);
    const printed = JSON.parse(stack.out.join("\n"));
    expect(printed.deployedPin).toBe(pin);
    expect(printed.configuredPin).toBe(pin);
    expect(printed.releases.map((row: { serving: boolean }) => row.serving)).toEqual([false, true, false]);
  });

  it("says so when the stack has no record yet", async () => {
    const stack = fakeStack({});
    expect(await runCli(["list", "--stack", "dev"], stack.deps)).toBe(0);
    expect(stack.out.at(-1)).toBe("stack dev has recorded no release yet");
  });
});

describe("npm run release -- rollback", () => {
  it("pins the release before the serving one, by tag and recorded digest, then runs up", async () => {
    const stack = fakeStack(SERVING_R3);
    expect(await runCli(["rollback", "--stack", "dev"], stack.deps)).toBe(0);
    expect(stack.steps).toEqual([`config set release 0.1.0-222222222222@${digest("b")}`, "up"]);
    expect(stack.out).toEqual([
      "stack dev serves 0.1.0-222222222222 (pinned) after 12.5 s: npm run release -- unpin --stack dev ships the working tree again",
    ]);
  });

  it("returns to a named release, by tag or by digest", async () => {
    const byTag = fakeStack(SERVING_R3);
    expect(await runCli(["rollback", "--stack", "dev", "0.1.0-111111111111"], byTag.deps)).toBe(0);
    expect(byTag.configured()).toBe(`0.1.0-111111111111@${digest("a")}`);
    const byDigest = fakeStack(SERVING_R3);
    expect(await runCli(["rollback", "--stack", "dev", digest("a")], byDigest.deps)).toBe(0);
    expect(byDigest.configured()).toBe(`0.1.0-111111111111@${digest("a")}`);
  });

  it("refuses in one line, and changes nothing, when there is no release to return to", async () => {
    const oldest = fakeStack({ ...SERVING_R3, release: "0.1.0-111111111111" });
    expect(await runCli(["rollback", "--stack", "dev"], oldest.deps)).toBe(1);
    expect(oldest.err).toEqual([
      "release rollback: stack dev keeps no release before 0.1.0-111111111111: npm run release -- list --stack dev shows the releases it keeps",
    ]);
    const unknown = fakeStack(SERVING_R3);
    expect(await runCli(["rollback", "--stack", "dev", "0.0.9-000000000000"], unknown.deps)).toBe(1);
    expect(unknown.err[0]).toBe(
      "release rollback: stack dev keeps no release 0.0.9-000000000000: npm run release -- list --stack dev shows the releases it keeps",
    );
    const serving = fakeStack(SERVING_R3);
    expect(await runCli(["rollback", "--stack", "dev", "0.1.0-333333333333"], serving.deps)).toBe(1);
    expect(serving.err[0]).toBe("release rollback: stack dev already serves 0.1.0-333333333333");
    expect([...oldest.steps, ...unknown.steps, ...serving.steps]).toEqual([]);
  });
});

describe("npm run release -- unpin and check", () => {
  const pin = `0.1.0-222222222222@${digest("b")}`;
  const pinned = { ...SERVING_R3, release: "0.1.0-222222222222", pinnedRelease: pin };

  it("unpin removes the pin and ships the working tree with up", async () => {
    const stack = fakeStack(pinned, pin);
    expect(await runCli(["unpin", "--stack", "dev"], stack.deps)).toBe(0);
    expect(stack.steps).toEqual(["config rm release", "up"]);
    expect(stack.out).toEqual([
      "stack dev serves 0.1.0-444444444444, built from the working tree (not pinned)",
    ]);
  });

  it("unpin refuses a stack that is not pinned", async () => {
    const stack = fakeStack(SERVING_R3);
    expect(await runCli(["unpin", "--stack", "dev"], stack.deps)).toBe(1);
    expect(stack.err).toEqual(["release unpin: stack dev is not pinned: pulumi up ships the working tree"]);
    expect(stack.steps).toEqual([]);
  });

  it("check fails over a pin, in this checkout's config or deployed by a rollback made elsewhere", async () => {
    const here = fakeStack(pinned, pin);
    expect(await runCli(["check", "--stack", "dev"], here.deps)).toBe(1);
    expect(here.err).toEqual([
      `release check: stack dev is pinned to ${pin} (config release); refusing to deploy over the pin: npm run release -- unpin --stack dev ships the working tree again`,
    ]);
    const elsewhere = fakeStack(pinned);
    expect(await runCli(["check", "--stack", "dev"], elsewhere.deps)).toBe(1);
    expect(elsewhere.err[0]).toContain(`stack dev was deployed pinned to ${pin}`);
    const free = fakeStack(SERVING_R3);
    expect(await runCli(["check", "--stack", "dev"], free.deps)).toBe(0);
  });
});

describe("npm run release: usage", () => {
  it.each([
    [[], "release: no command given; expected one of list, rollback, unpin, check"],
    [["deploy"], 'release: unknown command "deploy"; expected one of list, rollback, unpin, check'],
    [["list"], "release list: --stack is required, e.g. --stack dev"],
    [["list", "--stack", "dev", "extra"], 'release list: unexpected argument "extra"'],
    [["rollback", "--stack", "dev", "a", "b"], 'release rollback: unexpected argument "b"'],
  ])("%j exits 2 with one line", async (argv, line) => {
    const stack = fakeStack(SERVING_R3);
    expect(await runCli(argv, stack.deps)).toBe(2);
    expect(stack.err).toEqual([line, "Run with --help for usage."]);
  });

  it("prints each command's help without needing a stack", async () => {
    const stack = fakeStack(SERVING_R3);
    expect(await runCli(["rollback", "--help"], stack.deps)).toBe(0);
    expect(stack.out[0]?.split("\n")[0]).toBe("Usage: npm run release -- rollback --stack S [RELEASE]");
  });
});
