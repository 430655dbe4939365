/**
 * Everything `npm run release` takes from the outside world, as one object (ReleaseDeps), and its
 * implementation over the Pulumi CLI in this project; tests supply their own.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { configKey } from "../../stack/contract.js";

export interface ReleaseDeps {
  /** The stack's outputs as its last update left them (`pulumi stack output --json`). */
  stackOutputs(stack: string): Promise<Record<string, unknown>>;
  /** Config `release` in this checkout's Pulumi.<stack>.yaml, or undefined when unset. */
  configuredPin(stack: string): Promise<string | undefined>;
  setPin(stack: string, value: string): Promise<void>;
  removePin(stack: string): Promise<void>;
  /** `pulumi up` of the stack, its progress streamed to stderr; rejects when the update fails. */
  up(stack: string): Promise<void>;
  now(): Date;
  /** One line of the command's own output (stdout). */
  out(line: string): void;
  /** One line of warning or error (stderr). */
  err(line: string): void;
}

/** A pulumi command that failed: its last line says why, the whole output goes to --debug. */
export class PulumiError extends Error {
  constructor(args: readonly string[], code: number | null, output: string) {
    const last = output.trim().split("\n").at(-1) ?? "";
    super(`pulumi ${args.join(" ")} failed (exit ${code}): ${last}`, { cause: output });
  }
}

/** Runs pulumi in the project; resolves with its stdout, or rejects naming the command and its last line. */
function pulumi(
  projectDir: string,
  args: readonly string[],
  progress?: (chunk: Buffer) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", [...args, "--non-interactive"], {
      cwd: projectDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      output += chunk;
      progress?.(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk;
      progress?.(chunk);
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new PulumiError(args, code, output))));
  });
}

export function processDeps(): ReleaseDeps {
  const projectDir = fileURLToPath(new URL("../../", import.meta.url));
  const key = configKey("release");
  return {
    stackOutputs: async (stack) =>
      JSON.parse(await pulumi(projectDir, ["stack", "output", "--json", "--stack", stack])) as Record<
        string,
        unknown
      >,
    configuredPin: async (stack) => {
      const config = JSON.parse(await pulumi(projectDir, ["config", "--json", "--stack", stack])) as Record<
        string,
        { value?: string }
      >;
      return config[key]?.value;
    },
    setPin: async (stack, value) => {
      await pulumi(projectDir, ["config", "set", key, value, "--stack", stack]);
    },
    removePin: async (stack) => {
      await pulumi(projectDir, ["config", "rm", key, "--stack", stack]);
    },
    up: async (stack) => {
      await pulumi(projectDir, ["up", "--stack", stack, "--yes", "--skip-preview"], (chunk) =>
        process.stderr.write(chunk),
      );
    },
    now: () => new Date(),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}
