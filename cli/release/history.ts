/**
 * A stack's release history as `npm run release` shows it: the record the program keeps in the stack's
 * `releases` output (the releases whose images the stack keeps, newest first), which one serves now, and
 * the pin, from config `release` in this checkout and from the stack's last update (`pinnedRelease`).
 */
import type { ReleaseRecord } from "../../stack/contract.js";
import { readRecord } from "../../stack/releases.js";

export interface ReleaseRow extends ReleaseRecord {
  serving: boolean;
}

export interface ReleaseHistory {
  stack: string;
  /** Newest first. */
  releases: ReleaseRow[];
  /** The release serving now, from the stack's `release` output. */
  serving: string | undefined;
  /** The pin the last update deployed (`<tag>@<digest>`), or undefined. */
  deployedPin: string | undefined;
  /** Config `release` in this checkout, which the next `pulumi up` deploys, or undefined. */
  configuredPin: string | undefined;
}

export function releaseHistory(
  stack: string,
  outputs: Record<string, unknown>,
  configuredPin: string | undefined,
): ReleaseHistory {
  const serving = typeof outputs.release === "string" && outputs.release !== "" ? outputs.release : undefined;
  const deployedPin = typeof outputs.pinnedRelease === "string" ? outputs.pinnedRelease : undefined;
  return {
    stack,
    releases: readRecord(outputs.releases).map((entry) => ({ ...entry, serving: entry.release === serving })),
    serving,
    deployedPin,
    configuredPin,
  };
}

/**
 * Pinned by config `release` in this checkout, or deployed pinned by its last update (a rollback made
 * elsewhere): either way the next `pulumi up` of the deploy workflow must not ship over it unasked.
 */
export function isPinned({ deployedPin, configuredPin }: ReleaseHistory): boolean {
  return deployedPin !== undefined || configuredPin !== undefined;
}

/** The one line that says whether the stack is pinned, and by what. */
export function pinLine(history: ReleaseHistory): string {
  const { stack, deployedPin, configuredPin } = history;
  if (!isPinned(history)) {
    return `stack ${stack} is not pinned: each pulumi up builds and ships the working tree`;
  }
  if (configuredPin === undefined) {
    return `stack ${stack} was deployed pinned to ${deployedPin}; this checkout no longer pins it: the next pulumi up ships the working tree`;
  }
  if (deployedPin === configuredPin) return `stack ${stack} is pinned to ${configuredPin} (config release)`;
  return `stack ${stack} is pinned by config release to ${configuredPin}, not deployed yet (the last update deployed ${deployedPin ?? "the working tree"})`;
}

/** The digest as people compare it: its first 12 hex digits. */
const shortDigest = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);

/** The table `list` prints: one release a line, newest first, the serving one marked with `*`. */
export function formatHistory(history: ReleaseHistory): string[] {
  const rows = history.releases.map((entry) => [
    entry.serving ? "*" : " ",
    entry.release,
    shortDigest(entry.digest),
    entry.firstServed,
  ]);
  const header = [" ", "RELEASE", "DIGEST", "FIRST SERVED"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join("  ")
      .trimEnd();
  if (rows.length === 0) return [pinLine(history), `stack ${history.stack} has recorded no release yet`];
  return [pinLine(history), line(header), ...rows.map(line)];
}
