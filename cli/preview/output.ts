/** How the commands write what they found: GitHub step outputs, tables, ages and expiries. */
import { randomUUID } from "node:crypto";
import type { PreviewStackOutputs } from "../../stack/contract.js";
import type { CliDeps } from "./deps.js";
import type { LastUpdate } from "./workspace.js";

/** Appends step outputs for GitHub Actions; multi-line values use the documented heredoc form. */
export async function writeStepOutputs(
  deps: CliDeps,
  outputs: Readonly<Record<string, string>>,
): Promise<void> {
  const file = nonEmpty(deps.env.GITHUB_OUTPUT);
  if (file === undefined) return;
  let text = "";
  for (const [name, value] of Object.entries(outputs)) {
    if (value.includes("\n")) {
      const delimiter = `ghadelimiter_${randomUUID()}`;
      text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
    } else {
      text += `${name}=${value}\n`;
    }
  }
  await deps.appendFile(file, text);
}

/** Rows padded into columns; the first row is the header. */
export function table(rows: readonly string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

export function describeUpdate(update: LastUpdate | undefined): string {
  if (update === undefined) return "never updated";
  return `${update.kind} ${update.result}${update.endTime ? ` ${update.endTime.toISOString()}` : ""}`;
}

/** "in 46h" or "3h ago". */
export function expiry(now: Date, expiresAt: Date): string {
  const left = expiresAt.getTime() - now.getTime();
  return left > 0 ? `in ${duration(left)}` : `${duration(-left)} ago`;
}

export function duration(milliseconds: number): string {
  const hours = Math.floor(milliseconds / 3_600_000);
  if (hours < 1) return `${Math.max(0, Math.floor(milliseconds / 60_000))}m`;
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Unset and empty are alike: a workflow passes an undefined repository variable as "". */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

/** A string output every preview exports (stack/contract.ts). */
export function requireOutput(
  outputs: Readonly<Record<string, unknown>>,
  name: keyof PreviewStackOutputs & string,
): string {
  const value = outputs[name];
  if (typeof value !== "string" || value.length === 0) {
    throw new Error(`the stack has no "${name}" output; the program must export it`);
  }
  return value;
}
