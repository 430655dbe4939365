/**
 * Container hardening, checked on the running container and not only in its configuration: the process runs
 * as the non-root uid with no capabilities and no-new-privileges, the root filesystem refuses writes while
 * the app still serves and reaches healthy, and both Dockerfiles pass dockerfile-utils' linter.
 */
import { readFile } from "node:fs/promises";
import { validate } from "dockerfile-utils";
import { APP_UID, READY_PATH } from "../../app/src/contract.js";
import { send } from "./http.js";
import { type Outcome, Violations } from "./report.js";
import { startStack } from "./stack.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const DOCKERFILES = ["app/Dockerfile", "test/containers/dynalite/Dockerfile"];
const NO_CAPABILITIES = "0000000000000000";

/** Lints each Dockerfile, counting warnings as failures; returns the number of findings per file. */
async function lintDockerfiles(violations: Violations): Promise<Record<string, number>> {
  const findings: Record<string, number> = {};
  for (const path of DOCKERFILES) {
    const diagnostics = validate(await readFile(`${ROOT}${path}`, "utf8"));
    findings[`lint findings, ${path}`] = diagnostics.length;
    for (const { range, message } of diagnostics) {
      violations.add(`dockerfile-utils: ${path}:${range.start.line + 1}: ${message}`);
    }
  }
  return findings;
}

/** One field of /proc/1/status, e.g. "CapEff". */
function statusField(status: string, name: string): string {
  return new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim() ?? "(missing)";
}

export async function hardening(): Promise<Outcome> {
  const violations = new Violations();
  const lint = await lintDockerfiles(violations);
  const stack = await startStack();
  try {
    const { Config, HostConfig, State } = await stack.app.inspect();
    const status = (await stack.exec(stack.app, ["cat", "/proc/1/status"])).output;
    const uid = statusField(status, "Uid").split(/\s+/);
    const capabilities = ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"].map((name) => [
      name,
      statusField(status, name),
    ]);
    const noNewPrivileges = statusField(status, "NoNewPrivs");
    const writeRoot = await stack.exec(stack.app, ["sh", "-c", "echo probe > /probe"]);
    const writeApp = await stack.exec(stack.app, ["sh", "-c", "echo probe > dist/probe.js"]);
    const writeTmp = await stack.exec(stack.app, ["sh", "-c", "echo probe > /tmp/probe && rm /tmp/probe"]);
    const ready = await send(stack.url, { method: "GET", path: READY_PATH, agent: false, timeoutMs: 5000 });

    violations.check(
      uid.every((id) => id === String(APP_UID)),
      `the app process runs as uid ${uid.join("/")} (real/effective/saved/fs), not ${APP_UID}`,
    );
    for (const [name, value] of capabilities) {
      violations.check(value === NO_CAPABILITIES, `the app process has capabilities: ${name} ${value}`);
    }
    violations.check(
      noNewPrivileges === "1",
      `no-new-privileges is not in force (NoNewPrivs ${noNewPrivileges})`,
    );
    violations.check(
      (HostConfig.CapAdd ?? []).length === 0,
      `capabilities are added: ${HostConfig.CapAdd?.join(", ")}`,
    );
    violations.check(HostConfig.Privileged !== true, "the container is privileged");
    violations.check(
      writeRoot.exitCode !== 0 && /read-only/i.test(writeRoot.output),
      `writing to / did not fail as read-only: ${writeRoot.output.trim() || `exit ${writeRoot.exitCode}`}`,
    );
    violations.check(writeApp.exitCode !== 0, "the app's own code is writable");
    violations.check(writeTmp.exitCode === 0, `the /tmp tmpfs is not writable: ${writeTmp.output.trim()}`);
    violations.check(
      State.Health?.Status === "healthy",
      `the container is ${State.Health?.Status}, not healthy`,
    );
    violations.check(
      ready.status === 200,
      `${READY_PATH} answered ${ready.status || ready.error} on a read-only root`,
    );
    await stack.checkAppFaults(violations);

    return {
      figures: {
        "user (Config.User)": Config.User,
        "uid of PID 1": uid[0] ?? "?",
        CapEff: capabilities[0]?.[1] ?? "?",
        CapBnd: capabilities[3]?.[1] ?? "?",
        NoNewPrivs: noNewPrivileges,
        "CapAdd / CapDrop": `${JSON.stringify(HostConfig.CapAdd ?? [])} / ${JSON.stringify(HostConfig.CapDrop)}`,
        "write to /":
          writeRoot.exitCode === 0 ? "succeeded" : writeRoot.output.trim().replace(/^sh: \d+: /, ""),
        "write to /tmp (tmpfs)": writeTmp.exitCode === 0 ? "succeeded" : "failed",
        health: State.Health?.Status ?? "none",
        ...lint,
      },
      violations,
    };
  } finally {
    await stack.close();
  }
}
