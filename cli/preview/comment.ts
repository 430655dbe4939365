/**
 * Renders the pull request's receipt for a preview: one sticky comment, updated in place. Its first line is a
 * hidden marker naming the stack, which the workflow finds its own comment by instead of adding a new one on
 * every push.
 */

export interface DeployedPreview {
  readonly stackName: string;
  /** Tag-safe (naming.ts), so it holds no "|" or "`" that could break the table. */
  readonly branchLabel: string;
  readonly url: string;
  /** `registry/repository@sha256:...`, the program's `imageRef` output. */
  readonly imageRef: string;
  readonly commitSha: string | undefined;
  /** The health probe's verdict at deploy time, e.g. "ready (200 in 35 ms)". */
  readonly health: string;
  readonly expiresAt: Date;
  /** Pinned with --keep: prune leaves it. */
  readonly keep: boolean;
  /** The cost meter's line for this preview, e.g. "$0.17/day (host t3.small ...)". */
  readonly cost: string;
}

/** The first line of every comment about `stackName`, and nothing else's. */
export function commentMarker(stackName: string): string {
  return `<!-- activity-api-preview: ${stackName} -->`;
}

export function renderDeployedComment(preview: DeployedPreview): string {
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(preview.imageRef)?.[1];
  const expires = preview.keep
    ? `kept: pinned with \`--keep\`, prune leaves it (its TTL would end ${preview.expiresAt.toISOString()})`
    : `${preview.expiresAt.toISOString()} (each push renews it; prune destroys it after)`;
  const rows = [
    ["URL", preview.url],
    ["Image", digest ? `\`${digest}\` (\`${preview.imageRef}\`)` : `\`${preview.imageRef}\``],
    ["Commit", preview.commitSha ? `\`${preview.commitSha}\`` : "unknown"],
    ["Health at deploy", escapeCell(preview.health)],
    ["Expires", expires],
    ["Estimated cost", escapeCell(preview.cost)],
    ["Stack", `\`${preview.stackName}\``],
    ["Branch", `\`${preview.branchLabel}\``],
  ];
  return [
    commentMarker(preview.stackName),
    "### Preview environment is up",
    "",
    "| | |",
    "|---|---|",
    ...rows.map(([name, value]) => `| ${name} | ${value} |`),
    "",
  ].join("\n");
}

export function renderDestroyedComment(stackName: string, when: Date): string {
  return [
    commentMarker(stackName),
    "### Preview environment destroyed",
    "",
    `Stack \`${stackName}\` and all its resources were removed at ${when.toISOString()}.`,
    "",
  ].join("\n");
}

/** A probe's error message may hold a "|", which would end the table cell. */
function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}
