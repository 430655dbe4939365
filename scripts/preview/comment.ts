/**
 * Renders the pull-request comment for a preview; its first line is a hidden marker naming the stack, which
 * the workflow uses to find and update its own comment instead of adding a new one on every push.
 */

export interface DeployedPreview {
  readonly stackName: string;
  /** Tag-safe (naming.ts), so it holds no "|" or "`" that could break the table. */
  readonly branchLabel: string;
  readonly url: string;
  /** `registry/repository@sha256:...`, the program's `imageRef` output. */
  readonly imageRef: string;
  readonly expiresAt: Date;
  readonly commitSha: string | undefined;
}

/** The first line of every comment about `stackName`, and nothing else's. */
export function commentMarker(stackName: string): string {
  return `<!-- activity-api-preview: ${stackName} -->`;
}

export function renderDeployedComment(preview: DeployedPreview): string {
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(preview.imageRef)?.[1];
  const rows = [
    ["URL", preview.url],
    ["Image", digest ? `\`${digest}\` (\`${preview.imageRef}\`)` : `\`${preview.imageRef}\``],
    ["Stack", `\`${preview.stackName}\``],
    ["Branch", `\`${preview.branchLabel}\``],
    ["Commit", preview.commitSha ? `\`${preview.commitSha}\`` : "unknown"],
    ["Expires", `${preview.expiresAt.toISOString()} (each push extends it; prune destroys it after)`],
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
