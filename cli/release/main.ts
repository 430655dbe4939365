/**
 * The `npm run release -- <command>` entry point: finds the command, runs it with the outside world it is
 * given (ReleaseDeps), and turns any failure into one line and an exit status (1 refused or failed, 2 usage).
 */
import { pathToFileURL } from "node:url";
import { checkCommand } from "./commands/check.js";
import { type Command, UsageError } from "./commands/common.js";
import { listCommand } from "./commands/list.js";
import { rollbackCommand } from "./commands/rollback.js";
import { unpinCommand } from "./commands/unpin.js";
import { processDeps, type ReleaseDeps } from "./deps.js";

const COMMANDS: readonly Command[] = [listCommand, rollbackCommand, unpinCommand, checkCommand];

const USAGE = `Usage: npm run release -- <command> --stack S [options]

Releases by name: each release is an image tag the stack keeps (config keepImages, default 5, newest first).

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(10)}${command.summary}`).join("\n")}

Options: --stack S (required), --debug (on failure, also the raw error), -h/--help.
Exit status: 0 done, 1 refused or failed, 2 bad usage.`;

export async function runCli(argv: readonly string[], deps: ReleaseDeps): Promise<number> {
  const [name, ...rest] = argv;
  let label = "release";
  try {
    if (name === "-h" || name === "--help") {
      deps.out(USAGE);
      return 0;
    }
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (command === undefined) {
      const names = COMMANDS.map((candidate) => candidate.name).join(", ");
      throw new UsageError(
        name === undefined
          ? `no command given; expected one of ${names}`
          : `unknown command "${name}"; expected one of ${names}`,
      );
    }
    label = `release ${name}`;
    return await command.run(rest, deps);
  } catch (error) {
    const usage = error instanceof UsageError;
    deps.err(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    if (usage) deps.err("Run with --help for usage.");
    else if (argv.includes("--debug") && error instanceof Error && error.cause !== undefined) {
      deps.err(String(error.cause));
    }
    return usage ? 2 : 1;
  }
}

// Run only as the entry point (`node --import tsx cli/release/main.ts`), not when a test imports runCli.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2), processDeps());
}
