/** What every `npm run release` command shares: its shape, the options it parses, and one-line usage errors. */
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { ReleaseDeps } from "../deps.js";
import { type ReleaseHistory, releaseHistory } from "../history.js";

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  /** Runs with the arguments after the command's name; returns the exit status. */
  run(args: readonly string[], deps: ReleaseDeps): Promise<number>;
}

/** Bad command line: exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A refusal the user can act on, in one line: exit status 1. */
export class Refusal extends Error {
  override name = "Refusal";
}

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

export const STACK_OPTIONS = {
  stack: { type: "string" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionsConfig;

/** Parses strictly; `--stack` is required unless --help is asked; at most `positionals` positionals. */
export function parseCommand<const T extends OptionsConfig>(
  args: readonly string[],
  options: T,
  positionals = 0,
) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n").join(" "));
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
  }
  const values = parsed.values as Record<string, unknown>;
  if (values.help !== true && (typeof values.stack !== "string" || values.stack === "")) {
    throw new UsageError("--stack is required, e.g. --stack dev");
  }
  return { values: parsed.values, positionals: parsed.positionals, stack: String(values.stack ?? "") };
}

/** The stack's history: its outputs and this checkout's pin. */
export async function readHistory(stack: string, deps: ReleaseDeps): Promise<ReleaseHistory> {
  const [outputs, configured] = await Promise.all([deps.stackOutputs(stack), deps.configuredPin(stack)]);
  return releaseHistory(stack, outputs, configured);
}
