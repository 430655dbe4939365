/**
 * The PR receipt: a marker line the workflow finds it by, then URL, image digest, commit, health at deploy,
 * expiry (or the pin), estimated cost, stack and branch.
 */
import { describe, expect, it } from "vitest";
import {
  commentMarker,
  type DeployedPreview,
  renderDeployedComment,
  renderDestroyedComment,
} from "../../cli/preview/comment.js";

const digest = `sha256:${"0123456789abcdef".repeat(4)}`;
const preview: DeployedPreview = {
  stackName: "preview-feature-add-login-dddb1d05d5ec",
  branchLabel: "feature/Add-Login",
  url: "http://pv-feature-add-login-dddb1d05.198.51.100.7.sslip.io:10080",
  imageRef: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/pv-feature-add-login-dddb1d05-api@${digest}`,
  commitSha: "3f2a9c1d5e7b8a0c4d6e8f0a1b3c5d7e9f1a2b3c",
  health: "ready (200 in 35 ms)",
  expiresAt: new Date("2030-01-04T10:00:00.000Z"),
  keep: false,
  cost: "$0.39/day (host t3.small $0.73/day ÷ 2 previews + $0.02 of its own)",
};

describe("renderDeployedComment", () => {
  it("renders the marker, then a table of URL, digest, commit, health, expiry, cost, stack and branch", () => {
    expect(renderDeployedComment(preview)).toBe(
      [
        "<!-- activity-api-preview: preview-feature-add-login-dddb1d05d5ec -->",
        "### Preview environment is up",
        "",
        "| | |",
        "|---|---|",
        "| URL | http://pv-feature-add-login-dddb1d05.198.51.100.7.sslip.io:10080 |",
        `| Image | \`${digest}\` (\`${preview.imageRef}\`) |`,
        "| Commit | `3f2a9c1d5e7b8a0c4d6e8f0a1b3c5d7e9f1a2b3c` |",
        "| Health at deploy | ready (200 in 35 ms) |",
        "| Expires | 2030-01-04T10:00:00.000Z (each push renews it; prune destroys it after) |",
        "| Estimated cost | $0.39/day (host t3.small $0.73/day ÷ 2 previews + $0.02 of its own) |",
        "| Stack | `preview-feature-add-login-dddb1d05d5ec` |",
        "| Branch | `feature/Add-Login` |",
        "",
      ].join("\n"),
    );
  });

  it("says a pinned preview is kept", () => {
    expect(renderDeployedComment({ ...preview, keep: true })).toContain(
      "| Expires | kept: pinned with `--keep`, prune leaves it (its TTL would end 2030-01-04T10:00:00.000Z) |",
    );
  });

  it("shows an image reference without a digest as it is, an unknown commit as unknown", () => {
    const body = renderDeployedComment({
      ...preview,
      imageRef: "registry/repo:latest",
      commitSha: undefined,
    });
    expect(body).toContain("| Image | `registry/repo:latest` |");
    expect(body).toContain("| Commit | unknown |");
  });

  it("keeps a failed probe's message inside its table cell", () => {
    const body = renderDeployedComment({ ...preview, health: "not ready: a|b\nc" });
    expect(body).toContain("| Health at deploy | not ready: a\\|b c |");
  });
});

describe("commentMarker", () => {
  it("is the first line of both comments and hidden from readers", () => {
    const marker = commentMarker(preview.stackName);
    expect(marker).toMatch(/^<!-- .* -->$/);
    expect(renderDeployedComment(preview).split("\n")[0]).toBe(marker);
    expect(renderDestroyedComment(preview.stackName, new Date(0)).split("\n")[0]).toBe(marker);
  });

  it("never matches the comment of another stack, even one whose name extends it", () => {
    const other = commentMarker(`${preview.stackName}-x`);
    expect(other.startsWith(commentMarker(preview.stackName))).toBe(false);
    expect(commentMarker(preview.stackName).startsWith(other)).toBe(false);
  });
});

describe("renderDestroyedComment", () => {
  it("says which stack went and when", () => {
    expect(renderDestroyedComment(preview.stackName, new Date("2030-01-05T00:00:00.000Z"))).toContain(
      "Stack `preview-feature-add-login-dddb1d05d5ec` and all its resources were removed at 2030-01-05T00:00:00.000Z.",
    );
  });
});
