/**
 * What every command shares: its shape, the options they all take (--target, --debug, --help), parsing with
 * one-line usage errors, and finding the branch.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { currentTargetName, PREVIEW_TARGETS, type PreviewTarget } from "../../../stack/contract.js";
import type { CliDeps } from "../deps.js";
import { DEFAULT_TARGET, type PreviewNames, previewNames } from "../naming.js";
import { firstLine, nonEmpty } from "../output.js";

/** A command's options, as node:util's parseArgs takes them. */
type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

export interface Command {
  /** As typed after `npm run preview --`: "up", "host destroy". */
  readonly name: string;
  /** One line for the overall usage. */
  readonly summary: string;
  /** Runs with the arguments after the command's name; returns the exit status. */
  run(args: readonly string[], deps: CliDeps): Promise<number>;
}

/** Bad command line: exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const COMMON_OPTIONS = {
  target: { type: "string" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionsConfig;

export const BRANCH_OPTION = { branch: { type: "string" } } as const satisfies OptionsConfig;

export const COMMON_HELP = `Common options:
  --target local|ec2    where the previews run: the local Docker engine, or an EC2 host on AWS (default
                        ${DEFAULT_TARGET}; "aws", its former name, still works);
                        each command sees only that target's stacks
  --debug               on failure, also print the raw error of the library that failed
  -h, --help            show this help`;

export const BRANCH_HELP = `  --branch NAME         the branch; default $GITHUB_HEAD_REF, else $GITHUB_REF_NAME, else the
                        checked-out branch`;

/** Parses a command's arguments strictly; no command takes a positional argument. */
function parseOptions<const T extends OptionsConfig>(args: readonly string[], options: T) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains unknown options and missing values well (on several lines, joined here into one);
    // its hint about positional arguments after "--" does not apply, as no command takes one.
    throw new UsageError(
      messageOf(error)
        .replace(/\. To specify a positional argument.*$/s, "")
        .replaceAll("\n", " "),
    );
  }
  const [extra] = parsed.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  return parsed.values;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A command's options as parseOptions returns them. */
export type ParsedOptions<T extends OptionsConfig> = ReturnType<typeof parseOptions<T>>;

/**
 * A command from its parts: its arguments are parsed strictly with `options`, `--help` prints `help`, and
 * `run` gets the options and the target they name.
 */
export function defineCommand<const T extends typeof COMMON_OPTIONS & OptionsConfig>(spec: {
  readonly name: string;
  readonly summary: string;
  readonly options: T;
  readonly help: string;
  run(options: ParsedOptions<T>, target: PreviewTarget, deps: CliDeps): Promise<number>;
}): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    async run(args, deps) {
      const options = parseOptions(args, spec.options);
      // T holds COMMON_OPTIONS, but parseArgs' result type does not resolve over a generic T.
      const common = options as { help?: boolean; target?: string };
      if (common.help) {
        deps.out(spec.help);
        return 0;
      }
      return spec.run(options, parseTarget(common.target, deps), deps);
    },
  };
}

/** `--target`; the deprecated name `aws` is read as `ec2`, with a notice on stderr. */
function parseTarget(text: string | undefined, deps: Pick<CliDeps, "err">): PreviewTarget {
  if (text === undefined) return DEFAULT_TARGET;
  const target = currentTargetName(text, "--target", (notice) => deps.err(`warning: ${notice}`));
  if (!(PREVIEW_TARGETS as readonly string[]).includes(target)) {
    throw new UsageError(`--target must be one of ${PREVIEW_TARGETS.join(", ")}, got "${text}"`);
  }
  return target as PreviewTarget;
}

/** The names of this branch's preview on `target`: the branch from --branch, else GitHub's env, else git. */
export async function branchPreview(
  branchOption: string | undefined,
  target: PreviewTarget,
  deps: CliDeps,
): Promise<PreviewNames> {
  return previewNames(await resolveBranch(branchOption, deps), target);
}

async function resolveBranch(branchOption: string | undefined, deps: CliDeps): Promise<string> {
  if (branchOption !== undefined) return branchOption;
  // On pull_request events GITHUB_REF_NAME is "<n>/merge"; the branch is GITHUB_HEAD_REF.
  const fromEnv = nonEmpty(deps.env.GITHUB_HEAD_REF) ?? nonEmpty(deps.env.GITHUB_REF_NAME);
  if (fromEnv !== undefined) return fromEnv;
  let branch: string;
  try {
    branch = (await deps.gitBranch()).trim();
  } catch (error) {
    throw new UsageError(`cannot tell the branch (git: ${firstLine(error)}); pass --branch NAME`);
  }
  if (branch === "HEAD") throw new UsageError("cannot tell the branch: HEAD is detached; pass --branch NAME");
  return branch;
}
