/**
 * scripts/dev-stack.sh (npm run dev:up / dev:down) with stand-ins for the pulumi and docker CLIs on PATH: the
 * prerequisites it checks, and the commands it runs against a project-local backend.
 */
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeEach, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/pulumi.js";

const run = promisify(execFile);
const SCRIPT = join(ROOT, "scripts/dev-stack.sh");
let bin: string;

async function stub(name: string, body: string) {
  await writeFile(join(bin, name), `#!/bin/bash\n${body}\n`);
  await chmod(join(bin, name), 0o755);
}

/** A stand-in for the pulumi CLI that answers `pulumi version` with `version` and runs `body` for the rest. */
async function stubPulumi(body: string, version = "v3.274.1") {
  await stub("pulumi", `if [ "$1" = version ]; then echo ${version}; exit 0; fi\n${body}`);
}

/** Runs the script with only the stand-ins (and the basic tools they need) on PATH. */
async function devStack(action: string, env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run("bash", [SCRIPT, action], {
      env: { PATH: `${bin}:/usr/bin:/bin`, CALLS: join(bin, "calls"), ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeEach(async () => {
  bin = await mkdtemp(join(tmpdir(), "dev-stack-"));
  return () => rm(bin, { recursive: true, force: true });
});

describe("dev-stack.sh", () => {
  it("names the missing Pulumi CLI and stops", async () => {
    const result = await devStack("up");
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      "dev-stack: the Pulumi CLI is not installed: see https://www.pulumi.com/docs/iac/download-install/",
    );
  });

  it("names a Docker daemon that does not answer and stops before touching any stack", async () => {
    await stubPulumi('echo "pulumi $*" >> "$CALLS"');
    await stub("docker", "exit 1");
    const result = await devStack("up");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the Docker daemon does not answer");
    await expect(readFile(join(bin, "calls"), "utf8")).rejects.toThrow();
  });

  it("names a Pulumi CLI older than Pulumi.yaml's requiredPulumiVersion and stops before touching any stack", async () => {
    const required = /^requiredPulumiVersion: ">=([0-9.]+)"$/m.exec(
      await readFile(join(ROOT, "Pulumi.yaml"), "utf8"),
    );
    expect(required?.[1]).toMatch(/^3\.\d+\.\d+$/);
    await stubPulumi('echo "pulumi $*" >> "$CALLS"', "v3.183.0");
    await stub("docker", "exit 0");
    const result = await devStack("up");
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `dev-stack: the Pulumi CLI is 3.183.0, and this project needs ${required?.[1]} or later (a failed release is ` +
        "explained by an error hook, which older engines lack): see https://www.pulumi.com/docs/iac/download-install/",
    );
    await expect(readFile(join(bin, "calls"), "utf8")).rejects.toThrow();
  });

  it("accepts the required version itself and anything newer", async () => {
    await stub("docker", "exit 0");
    for (const version of ["v3.274.1", "v3.300.0", "v4.0.0"]) {
      await stubPulumi("exit 0", version);
      expect((await devStack("up")).code, version).toBe(0);
    }
  });

  it("selects or creates dev on a project-local file backend with a passphrase provider, then deploys", async () => {
    await stubPulumi(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a template
      'echo "$PULUMI_BACKEND_URL|${PULUMI_CONFIG_PASSPHRASE-unset}|pulumi $*" >> "$CALLS"',
    );
    await stub("docker", "exit 0");
    const result = await devStack("up");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("http://localhost:10001/activity/1");
    const calls = (await readFile(join(bin, "calls"), "utf8")).trim().split("\n");
    expect(calls).toEqual([
      `file://${ROOT.replace(/\/$/, "")}/.pulumi||pulumi stack select dev --create --secrets-provider passphrase`,
      // --skip-preview: the program runs once, not once for a preview and again for the update.
      `file://${ROOT.replace(/\/$/, "")}/.pulumi||pulumi up --stack dev --yes --skip-preview`,
    ]);
  });

  it("always uses the empty passphrase, whose salt Pulumi.dev.yaml carries", async () => {
    await stubPulumi(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a template
      'echo "${PULUMI_CONFIG_PASSPHRASE-unset}|${PULUMI_CONFIG_PASSPHRASE_FILE-unset}|pulumi $1" >> "$CALLS"',
    );
    await stub("docker", "exit 0");
    const result = await devStack("up", {
      PULUMI_CONFIG_PASSPHRASE: "the-test-stack-passphrase",
      PULUMI_CONFIG_PASSPHRASE_FILE: "/secrets/passphrase",
    });
    expect(result.code).toBe(0);
    const calls = (await readFile(join(bin, "calls"), "utf8")).trim().split("\n");
    expect(calls).toEqual(["|unset|pulumi stack", "|unset|pulumi up"]);
    expect(await readFile(join(ROOT, "Pulumi.dev.yaml"), "utf8")).toMatch(/^encryptionsalt: v1:\S+$/m);
  });

  it("keeps a backend the user chose, and destroys on down", async () => {
    await stubPulumi('echo "$PULUMI_BACKEND_URL|pulumi $*" >> "$CALLS"');
    await stub("docker", "exit 0");
    const result = await devStack("down", { PULUMI_BACKEND_URL: "s3://team-state" });
    expect(result.code).toBe(0);
    const calls = (await readFile(join(bin, "calls"), "utf8")).trim().split("\n");
    expect(calls.at(-1)).toBe("s3://team-state|pulumi destroy --stack dev --yes");
  });

  it("says on down that the database's volume went with the stack, naming it", async () => {
    await stubPulumi(
      [
        'echo "pulumi $*" >> "$CALLS"',
        'if [ "$1 $2 $3" = "stack output databaseVolume" ]; then echo activity-dynamodb-data-1a2b3c4; fi',
      ].join("\n"),
    );
    await stub("docker", "exit 0");
    const result = await devStack("down");
    expect(result.code).toBe(0);
    const calls = (await readFile(join(bin, "calls"), "utf8")).trim().split("\n");
    expect(calls.slice(1)).toEqual([
      "pulumi stack output databaseVolume --stack dev",
      "pulumi destroy --stack dev --yes",
    ]);
    expect(result.stdout.trim().split("\n").at(-1)).toBe(
      "dev-stack: removed the volume activity-dynamodb-data-1a2b3c4 and with it DynamoDB Local's tables and items; " +
        "the next dev:up starts from an empty database",
    );
  });

  it("says nothing of a volume on down when the stack was never deployed", async () => {
    await stubPulumi('if [ "$1 $2" = "stack output" ]; then echo "error: no output" >&2; exit 255; fi');
    await stub("docker", "exit 0");
    const result = await devStack("down");
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("volume");
  });

  it("points a Linux user of Docker before 28 to lan-guard.sh after up, and no one else", async () => {
    await stubPulumi("exit 0");
    // Not root, so the guard cannot be checked: the note is always given.
    await stub("id", 'if [ "$1" = -u ]; then echo 1000; else /usr/bin/id "$@"; fi');
    await stub("uname", "echo Linux");
    const note =
      "dev-stack: note: Docker 20 on Linux lets a LAN neighbour reach ports published on 127.0.0.1; " +
      "sudo bash scripts/lan-guard.sh install closes that until the next reboot (docs/configuration.md)";
    await stub("docker", 'if [ "$1" = version ]; then echo 20.10.24; fi');
    expect((await devStack("up")).stdout.trim().split("\n").at(-1)).toBe(note);
    await stub("docker", 'if [ "$1" = version ]; then echo 28.0.1; fi');
    expect((await devStack("up")).stdout).not.toContain("lan-guard");
    await stub("docker", 'if [ "$1" = version ]; then echo 20.10.24; fi');
    await stub("uname", "echo Darwin");
    expect((await devStack("up")).stdout).not.toContain("lan-guard");
    await stub("uname", "echo Linux");
    expect((await devStack("down")).stdout).not.toContain("lan-guard");
  });

  it("rejects an unknown action with its usage", async () => {
    const result = await devStack("deploy");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: scripts/dev-stack.sh <up|down>");
  });
});
