/**
 * The preview tool's Pulumi CLI adapter, run against a stand-in `pulumi` executable that records its arguments and
 * answers with the JSON the real CLI prints (shapes from pulumi/pulumi's `stack history`, `stack export` and
 * `config --json`; the lock and already-exists errors as Pulumi 3.274.1 prints them on a file backend, against
 * which the adapter was also run by hand, preview-local.* stack names included).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  openPulumiWorkspace,
  type PreviewWorkspace,
  PulumiCommandError,
  StackExistsError,
  StackLockedError,
  StackMissingError,
} from "../../cli/preview/workspace.js";

const FAKE_PULUMI = `#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE_PULUMI_LOG"
if [ -n "\${FAKE_PULUMI_NO_BACKEND:-}" ] && [ "$1 $2" = "stack ls" ]; then
  echo 'error: unable to open state directory "file:///gone/.pulumi": no such file or directory' >&2; exit 255
fi
# A read torn by another stack's update, as Pulumi 3.274.1 prints it on a file backend: FAKE_PULUMI_TORN names a
# file holding how many more reads tear.
if [ -n "\${FAKE_PULUMI_TORN:-}" ] && [ "$(cat "$FAKE_PULUMI_TORN")" -gt 0 ]; then
  case "$*" in
    "stack ls"*) echo $(( $(cat "$FAKE_PULUMI_TORN") - 1 )) > "$FAKE_PULUMI_TORN"; echo 'error: EOF' >&2; exit 255 ;;
    "stack output"*) echo $(( $(cat "$FAKE_PULUMI_TORN") - 1 )) > "$FAKE_PULUMI_TORN"; echo 'error: failed to load checkpoint: EOF' >&2; exit 255 ;;
  esac
fi
locked='error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.'
case "$*" in
  version*) echo "v3.248.0" ;;
  "stack ls --json"*) echo '[{"name":"organization/activity-api/preview-x","current":false},{"name":"test","current":true}]' ;;
  *"--stack preview-missing"*) echo "error: no stack named 'preview-missing' found" >&2; exit 255 ;;
  "stack init previews-aws"*) echo "error: stack 'organization/activity-api/previews-aws' already exists" >&2; exit 255 ;;
  "config --show-secrets --json"*) echo '{"activity-api:old":{"value":"1","secret":false},"aws:region":{"value":"eu-west-1","secret":false},"activity-api:allowedCidrs":{"value":"[\\"198.51.100.0/24\\",\\"203.0.113.0/24\\"]","secret":false},"activity-api:httpsCidrs":{"value":"[\\"198.51.100.0/24\\"]","secret":false}}' ;;
  "stack history --json"*) echo '[{"kind":"update","startTime":"2030-06-01T12:00:00Z","message":"","environment":{},"config":{"activity-api:previewBranch":{"value":"feature/x","secret":false}},"result":"succeeded","endTime":"2030-06-01T12:05:00Z","version":3,"resourceChanges":{"create":12}}]' ;;
  "stack export"*) echo '{"version":3,"deployment":{"manifest":{},"resources":[],"pending_operations":[{"resource":{"urn":"urn:pulumi:preview-x::activity-api::aws:ec2/instance:Instance::host","type":"aws:ec2/instance:Instance"},"type":"creating"}]}}' ;;
  "stack output --json"*) echo '{"apiUrl":"http://198.51.100.7:10001","hostId":"i-0123"}' ;;
  "stack tag set"*) echo "error: stack tags not supported in diy mode" >&2; exit 255 ;;
  *"--stack preview-locked"*) echo "$locked" >&2; exit 255 ;;
  "up"*"--stack preview-broken"*) printf 'Updating (preview-broken):\nDiagnostics:\n  pulumi:providers:aws (pv-aws):\n    error: Could not automatically download and install resource plugin\n' >&2; exit 255 ;;
  up*) echo "Updating (preview-x)" ;;
esac
exit 0
`;

let scratch: string;
let log: string;
let originalPath: string | undefined;
let workspace: PreviewWorkspace;

/** The fake CLI's invocations since the last reset, without the flag the adapter adds to every one. */
function invocations(): string[] {
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => line.replace(/ --non-interactive$/, ""));
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "preview-adapter-"));
  log = join(scratch, "invocations.log");
  writeFileSync(join(scratch, "pulumi"), FAKE_PULUMI);
  chmodSync(join(scratch, "pulumi"), 0o755);
  originalPath = process.env.PATH;
  process.env.PATH = `${scratch}:${originalPath}`;
  process.env.FAKE_PULUMI_LOG = log;
  workspace = openPulumiWorkspace(scratch);
});

beforeEach(() => {
  writeFileSync(log, "");
});

afterAll(() => {
  process.env.PATH = originalPath;
  rmSync(scratch, { recursive: true, force: true });
});

describe("the Pulumi CLI adapter", () => {
  it("runs no pulumi command to open the project: --help and bad input never need the CLI", () => {
    openPulumiWorkspace(scratch);
    expect(invocations()).toEqual([]);
  });

  it("lists stacks by their short names", async () => {
    expect(await workspace.listStacks()).toEqual(["preview-x", "test"]);
  });

  it("sets config with the update, by path, first removing the lists it sets (a shorter one leaves no stale element) and no other key", async () => {
    const current = await workspace.getConfig("preview-x");
    await workspace.up("preview-x", () => {}, {
      set: {
        "aws:region": { value: "eu-west-1", secret: false },
        "activity-api:allowedCidrs[0]": { value: "203.0.113.0/24", secret: false },
        "activity-api:httpsCidrs": { value: "none", secret: false },
      },
      current,
    });
    // The config it was given is not read again, and `pulumi up -c` saves the rest: no `config set-all`.
    expect(invocations()).toEqual([
      "config --show-secrets --json --stack preview-x",
      "config rm-all --stack preview-x activity-api:allowedCidrs activity-api:httpsCidrs",
      `up --yes --skip-preview --policy-pack ${join(scratch, "policy")} --color never --config-path ` +
        "-c aws:region=eu-west-1 -c activity-api:allowedCidrs[0]=203.0.113.0/24 -c activity-api:httpsCidrs=none " +
        "--stack preview-x",
    ]);
  });

  it("sets plain values in place, with no removal first", async () => {
    await workspace.up("preview-x", () => {}, {
      set: {
        "aws:region": { value: "eu-west-2", secret: false },
        "activity-api:old": { value: "2", secret: false },
      },
      current: await workspace.getConfig("preview-x"),
    });
    expect(invocations()).toEqual([
      "config --show-secrets --json --stack preview-x",
      `up --yes --skip-preview --policy-pack ${join(scratch, "policy")} --color never --config-path ` +
        "-c aws:region=eu-west-2 -c activity-api:old=2 --stack preview-x",
    ]);
  });

  it("refuses to put a secret on the command line, before running anything", async () => {
    await expect(
      workspace.up("preview-x", () => {}, {
        set: { "activity-api:token": { value: "s3cret", secret: true } },
        current: {},
      }),
    ).rejects.toThrow("activity-api:token is a secret");
    expect(invocations()).toEqual([]);
  });

  it("reads the last update, with its config, without asking for secrets", async () => {
    const update = await workspace.lastUpdate("preview-x");
    expect(update).toEqual({
      kind: "update",
      result: "succeeded",
      endTime: new Date("2030-06-01T12:05:00Z"),
      config: { "activity-api:previewBranch": { value: "feature/x", secret: false } },
    });
    expect(invocations()).toContain("stack history --json --page-size 1 --page 1 --stack preview-x");
  });

  it("reads pending operations from the exported state", async () => {
    expect(await workspace.pendingOperations("preview-x")).toEqual([
      { type: "creating", urn: "urn:pulumi:preview-x::activity-api::aws:ec2/instance:Instance::host" },
    ]);
  });

  it("returns the stack's outputs, read without secrets", async () => {
    expect(await workspace.outputs("preview-x")).toEqual({
      apiUrl: "http://198.51.100.7:10001",
      hostId: "i-0123",
    });
  });

  it("streams up's progress, under the project's policy pack, and runs nothing else", async () => {
    const chunks: string[] = [];
    await workspace.up("preview-x", (chunk) => chunks.push(chunk));
    expect(chunks.join("")).toContain("Updating (preview-x)");
    // No stack select before it and no reads after it: each pulumi command costs about 0.2 s of the update.
    expect(invocations()).toEqual([
      `up --yes --skip-preview --policy-pack ${join(scratch, "policy")} --color never --stack preview-x`,
    ]);
  });

  it("recovers through documented commands: refresh --clear-pending-creates, cancel, destroy, stack rm", async () => {
    await workspace.clearPendingOperations("preview-x", () => {});
    await workspace.cancel("preview-x");
    await workspace.destroy("preview-x", () => {});
    await workspace.removeStack("preview-x");
    const calls = invocations();
    expect(calls).toContain(
      "refresh --yes --skip-preview --clear-pending-creates --color never --stack preview-x",
    );
    expect(calls).toContain("cancel --yes --stack preview-x");
    expect(calls).toContain("destroy --yes --skip-preview --color never --stack preview-x");
    expect(calls).toContain("stack rm --yes preview-x");
  });

  it("turns the CLI's words for a locked, missing or existing stack into the errors the commands act on", async () => {
    await expect(workspace.destroy("preview-locked", () => {})).rejects.toBeInstanceOf(StackLockedError);
    await expect(workspace.up("preview-locked", () => {})).rejects.toBeInstanceOf(StackLockedError);
    await expect(workspace.lastUpdate("preview-missing")).rejects.toBeInstanceOf(StackMissingError);
    // The real CLI's words when two runs create one host stack (checked on Pulumi 3.274.1, file backend).
    await expect(workspace.createStack("previews-aws")).rejects.toBeInstanceOf(StackExistsError);
  });

  it("turns a failed command into one line, the CLI's own error, keeping the raw error as its cause", async () => {
    const failure = await workspace.up("preview-broken", () => {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PulumiCommandError);
    expect((failure as Error).message).toBe(
      "pulumi failed on stack preview-broken: Could not automatically download and install resource plugin",
    );
    expect(String((failure as Error).cause)).toContain("Updating (preview-broken)");
  });

  it("turns a failure outside any one stack into one line too (a backend that cannot be opened)", async () => {
    process.env.FAKE_PULUMI_NO_BACKEND = "1";
    try {
      const failure = await workspace.listStacks().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PulumiCommandError);
      expect((failure as Error).message).toBe(
        'pulumi failed listing the stacks: unable to open state directory "file:///gone/.pulumi": no such file or directory',
      );
    } finally {
      delete process.env.FAKE_PULUMI_NO_BACKEND;
    }
  });

  it("tries a read again when another stack's update tore it, and gives up with the CLI's line after its tries", async () => {
    const torn = join(scratch, "torn");
    const retrying = openPulumiWorkspace(scratch, { attempts: 3, pauseMs: 1 });
    process.env.FAKE_PULUMI_TORN = torn;
    try {
      writeFileSync(torn, "2");
      expect(await retrying.listStacks()).toEqual(["preview-x", "test"]);
      writeFileSync(torn, "2");
      expect(await retrying.outputs("preview-x")).toEqual({
        apiUrl: "http://198.51.100.7:10001",
        hostId: "i-0123",
      });
      // Two torn reads, then the one that succeeds.
      expect(invocations().filter((call) => call.startsWith("stack ls"))).toHaveLength(3);
      expect(invocations().filter((call) => call.startsWith("stack output --json --stack"))).toHaveLength(3);

      writeFileSync(torn, "9");
      await expect(retrying.listStacks()).rejects.toThrow("pulumi failed listing the stacks: EOF");
      expect(readFileSync(torn, "utf8").trim()).toBe("6");
      // Only a torn read is tried again: a missing stack, or a backend that cannot be opened, is an answer.
      writeFileSync(log, "");
      await expect(retrying.lastUpdate("preview-missing")).rejects.toBeInstanceOf(StackMissingError);
      process.env.FAKE_PULUMI_NO_BACKEND = "1";
      await expect(retrying.listStacks()).rejects.toThrow(/unable to open state directory/);
      expect(invocations().filter((call) => call.includes("preview-missing"))).toHaveLength(1);
      expect(invocations().filter((call) => call.startsWith("stack ls"))).toHaveLength(1);
    } finally {
      delete process.env.FAKE_PULUMI_TORN;
      delete process.env.FAKE_PULUMI_NO_BACKEND;
    }
  });

  it("lets a backend's refusal of stack tags through, for the command to warn about", async () => {
    await expect(workspace.setTags("preview-x", { "preview:branch": "x" })).rejects.toThrow(
      /stack tags not supported in diy mode/,
    );
  });

  it("says plainly when there is no Pulumi CLI", async () => {
    process.env.PATH = join(scratch, "empty");
    try {
      await expect(openPulumiWorkspace(scratch).listStacks()).rejects.toThrow(
        "the Pulumi CLI was not found on PATH; install it: https://www.pulumi.com/docs/iac/download-install/",
      );
    } finally {
      process.env.PATH = `${scratch}:${originalPath}`;
    }
  });
});
