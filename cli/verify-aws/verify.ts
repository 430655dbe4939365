/**
 * The verification itself: finds a preview's container on the EC2 preview host (through the host stack's
 * DOCKER_HOST and SSH options, as the release gate reaches it), runs the probe inside it, and prints each
 * check's verdict and how to run it again later. Its outside world comes in as VerifyDeps, so that tests feed it
 * recorded answers.
 */
import { dockerCommand, RELEASE_LABEL } from "../../components/app-container.js";
import {
  type Ec2PreviewHostOutputs,
  PREVIEW_HOST_STACKS,
  type PreviewStackOutputs,
} from "../../stack/contract.js";
import { previewNames } from "../preview/naming.js";
import { judge, OBSERVATIONS_MARKER, PROBE_ENV, PROBE_SCRIPT, parseObservations } from "./probe.js";

/** What a command run on the deployer's machine returned. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface VerifyDeps {
  /** A stack's outputs (the Pulumi backend the preview CLI uses). */
  stackOutputs(stackName: string): Promise<Record<string, unknown>>;
  /** Runs `command` with `input` on its stdin. */
  run(command: readonly string[], input?: string): Promise<CommandResult>;
  now(): Date;
  out(line: string): void;
  err(line: string): void;
}

/** A failure the user can act on: one line, exit status 1. */
export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VerifyError";
  }
}

export interface VerifyOptions {
  /** The branch whose preview's container the checks run in. */
  branch: string;
  /** Another branch's preview, whose table must be out of reach. */
  other: string;
}

/** An output a stack must have, or a VerifyError naming the stack and what to do. */
function required<T>(outputs: Record<string, unknown>, stack: string, name: string): T {
  const value = outputs[name];
  if (value === undefined || value === "") {
    throw new VerifyError(
      `stack ${stack} has no output ${name}: run npm run preview -- up for it (with this version) first`,
    );
  }
  return value as T;
}

/** Runs every check; returns the exit status (0: all passed, 1: one failed). */
export async function verify(options: VerifyOptions, deps: VerifyDeps): Promise<number> {
  const own = previewNames(options.branch, "ec2");
  const other = previewNames(options.other, "ec2");
  if (own.stackName === other.stackName) {
    throw new VerifyError("--branch and --other name the same preview: give two different branches");
  }
  const hostStack = PREVIEW_HOST_STACKS.ec2;
  const host = await deps.stackOutputs(hostStack);
  const ownOutputs = await deps.stackOutputs(own.stackName);
  const otherOutputs = await deps.stackOutputs(other.stackName);
  const docker = dockerCommand({
    dockerHost: required<Ec2PreviewHostOutputs["dockerHost"]>(host, hostStack, "dockerHost"),
    sshOpts: required<Ec2PreviewHostOutputs["sshOpts"]>(host, hostStack, "sshOpts"),
  });
  const release = required<PreviewStackOutputs["release"]>(ownOutputs, own.stackName, "release");
  const ownTable = required<PreviewStackOutputs["tableName"]>(ownOutputs, own.stackName, "tableName");
  const otherTable = required<PreviewStackOutputs["tableName"]>(otherOutputs, other.stackName, "tableName");

  const listed = await deps.run([
    ...docker,
    "ps",
    "--filter",
    `label=${RELEASE_LABEL}=${release}`,
    "--filter",
    `name=${own.resourcePrefix}-app-`,
    "--format",
    "{{.Names}}",
  ]);
  if (listed.code !== 0) {
    throw new VerifyError(`docker ps on the preview host failed: ${firstLine(listed.stderr)}`);
  }
  const [container, ...more] = listed.stdout.split("\n").filter((line) => line.trim() !== "");
  if (container === undefined || more.length > 0) {
    throw new VerifyError(
      `expected one running container of release ${release} of ${own.stackName} on the preview host, found ${more.length + (container ? 1 : 0)}`,
    );
  }
  deps.err(`Running the checks inside ${container} (other preview: ${other.stackName})...`);
  const probed = await deps.run(
    [
      ...docker,
      "exec",
      "-i",
      "-e",
      `${PROBE_ENV.ownTable}=${ownTable}`,
      "-e",
      `${PROBE_ENV.otherTable}=${otherTable}`,
      container,
      "node",
      "-",
    ],
    PROBE_SCRIPT,
  );
  const observations = parseObservations(probed.stdout);
  if (observations === undefined) {
    throw new VerifyError(
      `the probe in ${container} printed no "${OBSERVATIONS_MARKER}" line (exit ${probed.code}): ${firstLine(probed.stderr)}`,
    );
  }
  const checks = judge(observations);
  for (const check of checks) deps.out(`${check.passed ? "PASS" : "FAIL"}  ${check.name}: ${check.detail}`);
  const failed = checks.filter((check) => !check.passed).length;
  deps.out(
    failed === 0
      ? `All ${checks.length} checks passed at ${deps.now().toISOString()}.`
      : `${failed} of ${checks.length} checks failed at ${deps.now().toISOString()}.`,
  );
  deps.out(
    "The preview's key does not expire while the preview lives: run the same command again in a few hours " +
      "(or days) to see that its credentials still work:",
  );
  deps.out(`  ${rerunCommand(options)}`);
  return failed === 0 ? 0 : 1;
}

/** The command that runs the same checks again. */
export function rerunCommand(options: VerifyOptions): string {
  return `npm run verify:aws -- --target ec2 --branch ${shellWord(options.branch)} --other ${shellWord(options.other)}`;
}

/** A word as a POSIX shell reads it back unchanged. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .find((line) => line.trim() !== "")
      ?.trim() ?? "no output"
  );
}
