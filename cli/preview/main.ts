/**
 * The `npm run preview -- <command>` entry point: finds the command, runs it with the outside world it is
 * given (CliDeps), and turns any failure into one line and an exit status. Each command, with its options and
 * help, is a file of its own in commands/.
 */
import { pathToFileURL } from "node:url";
import { COMMON_HELP, type Command, UsageError } from "./commands/common.js";
import { destroyCommand } from "./commands/destroy.js";
import { hostDestroyCommand } from "./commands/host-destroy.js";
import { listCommand } from "./commands/list.js";
import { pruneCommand } from "./commands/prune.js";
import { upCommand } from "./commands/up.js";
import { urlCommand } from "./commands/url.js";
import { type CliDeps, processDeps } from "./deps.js";
import { BranchNameError } from "./naming.js";

const COMMANDS: readonly Command[] = [
  upCommand,
  urlCommand,
  listCommand,
  destroyCommand,
  pruneCommand,
  hostDestroyCommand,
];

const USAGE = `Usage: npm run preview -- <command> [options]

Previews run on one shared host per target: every branch is a container and a route on it.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(14)}${command.summary}`).join("\n")}

${COMMON_HELP}

Run npm run preview -- <command> --help for a command's own options.
Only stacks named preview-* (previews) and previews-local, previews-aws (their hosts) are ever destroyed.
Exit status: 0 done, 1 refused or failed, 2 bad usage.`;

const NAMES = COMMANDS.map((command) => command.name).join(", ");

/** Runs one command and returns the exit status; errors become one line on stderr. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  let label = "preview";
  const debug = argv.includes("--debug");
  try {
    const [first, second] = argv;
    if (first === "-h" || first === "--help") {
      deps.out(USAGE);
      return 0;
    }
    if (first === undefined) throw new UsageError(`no command given; expected one of ${NAMES}`);
    if (first.startsWith("-")) {
      throw new UsageError(
        `the command comes first (npm run preview -- <command> [options]), got "${first}"`,
      );
    }
    // "host" takes a subcommand, as "host destroy" is one command.
    const name =
      first === "host" && second !== undefined && !second.startsWith("-") ? `host ${second}` : first;
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (command === undefined) throw new UsageError(`unknown command "${name}"; expected one of ${NAMES}`);
    label = `preview ${name}`;
    return await command.run(argv.slice(name.split(" ").length), deps);
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof BranchNameError;
    deps.err(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    if (usage) deps.err("Run with --help for usage.");
    else if (debug && error instanceof Error && error.cause !== undefined) deps.err(String(error.cause));
    return usage ? 2 : 1;
  }
}

// Run only as the entry point (`node --import tsx cli/preview/main.ts`), not when a test imports runCli.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2), processDeps());
}
