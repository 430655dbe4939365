/**
 * `npm run verify:aws -- --target ec2 --branch A --other B`: run once, by a user, in their own AWS account
 * (never in CI): from inside preview A's container on the EC2 preview host, checks that the metadata service is
 * unreachable, that preview B's table is denied and that A's own works (docs/previews.md). This file parses the
 * arguments and turns failures into one line; verify.ts does the work.
 */
import { execFile } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { currentTargetName } from "../../stack/contract.js";
import { openPulumiWorkspace } from "../preview/workspace.js";
import { type CommandResult, type VerifyDeps, VerifyError, type VerifyOptions, verify } from "./verify.js";

export const USAGE = `Usage: npm run verify:aws -- --target ec2 --branch NAME --other NAME [--debug]

Runs inside the container of the EC2 preview of --branch, and checks that it cannot reach the instance
metadata service, that it is denied the table of the preview of --other, and that its own table works.
Run it in your own AWS account, with the credentials npm run preview uses; never in CI.

Options:
  --target ec2          the previews' target; "aws", its former name, still works (local is not on AWS)
  --branch NAME         the branch whose preview's container runs the checks
  --other NAME          another branch with a live preview, whose data must be out of reach
  --debug               on failure, also print the raw error
  -h, --help            show this help
Exit status: 0 every check passed, 1 a check failed or the checks could not run, 2 bad usage.`;

/** Bad command line: exit status 2. */
export class UsageError extends Error {}

/** The options, or a UsageError saying what is wrong; undefined for --help. */
export function parseOptions(
  argv: readonly string[],
  warn: (line: string) => void,
): (VerifyOptions & { debug: boolean }) | undefined {
  let values: { target?: string; branch?: string; other?: string; debug?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        target: { type: "string" },
        branch: { type: "string" },
        other: { type: "string" },
        debug: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error instanceof Error ? error.message : String(error)).split("\n")[0]);
  }
  if (values.help) return undefined;
  if (values.target === undefined) throw new UsageError("--target ec2 is required: the checks are for AWS");
  const target = currentTargetName(values.target, "--target", (notice) => warn(`warning: ${notice}`));
  if (target !== "ec2") {
    throw new UsageError(`--target must be ec2 (previews on AWS), got "${values.target}"`);
  }
  if (values.branch === undefined || values.other === undefined) {
    throw new UsageError(
      "--branch and --other are required: the preview to check from, and another to reach for",
    );
  }
  return { branch: values.branch, other: values.other, debug: values.debug ?? false };
}

/** Runs with `argv` and returns the exit status; every failure is one line on stderr. */
export async function runVerifyCli(argv: readonly string[], deps: VerifyDeps): Promise<number> {
  let debug = argv.includes("--debug");
  try {
    const options = parseOptions(argv, deps.err);
    if (options === undefined) {
      deps.out(USAGE);
      return 0;
    }
    debug = options.debug;
    return await verify(options, deps);
  } catch (error) {
    if (error instanceof UsageError) {
      deps.err(`verify:aws: ${error.message} (npm run verify:aws -- --help)`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    deps.err(`verify:aws: ${message.split("\n")[0]}`);
    if (debug && !(error instanceof VerifyError))
      deps.err(String(error instanceof Error ? error.stack : error));
    return 1;
  }
}

/** The outside world of a real run: the project's Pulumi backend, processes, the clock and the terminal. */
function processDeps(): VerifyDeps {
  const projectDir = fileURLToPath(new URL("../../", import.meta.url));
  // Opening runs nothing: --help and a usage error need no Pulumi CLI.
  const workspace = openPulumiWorkspace(projectDir);
  return {
    stackOutputs: (stackName) => workspace.outputs(stackName),
    run: (command, input) =>
      new Promise<CommandResult>((resolve) => {
        const [file, ...args] = command;
        const child = execFile(file ?? "", args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ code, stdout, stderr: stderr || (error?.message ?? "") });
        });
        child.stdin?.end(input ?? "");
      }),
    now: () => new Date(),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await runVerifyCli(process.argv.slice(2), processDeps());
}
