/** The PR comment: a marker line the workflow finds it by, then URL, image digest, stack, expiry, commit. */
import { describe, expect, it } from "vitest";
import {
  commentMarker,
  type DeployedPreview,
  renderDeployedComment,
  renderDestroyedComment,
} from "../../scripts/preview/comment.js";

const digest = `sha256:${"0123456789abcdef".repeat(4)}`;
const preview: DeployedPreview = {
  stackName: "preview-feature-add-login-dddb1d05d5ec",
  branchLabel: "feature/Add-Login",
  url: "http://198.51.100.7:10001",
  imageRef: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/pv-feature-add-login-dddb1d05-api@${digest}`,
  expiresAt: new Date("2030-01-04T10:00:00.000Z"),
  commitSha: "3f2a9c1d5e7b8a0c4d6e8f0a1b3c5d7e9f1a2b3c",
};

describe("renderDeployedComment", () => {
  it("renders the marker, then a table of URL, digest, stack, branch, commit and expiry", () => {
    expect(renderDeployedComment(preview)).toBe(
      [
        "<!-- activity-api-preview: preview-feature-add-login-dddb1d05d5ec -->",
        "### Preview environment is up",
        "",
        "| | |",
        "|---|---|",
        "| URL | http://198.51.100.7:10001 |",
        `| Image | \`${digest}\` (\`${preview.imageRef}\`) |`,
        "| Stack | `preview-feature-add-login-dddb1d05d5ec` |",
        "| Branch | `feature/Add-Login` |",
        "| Commit | `3f2a9c1d5e7b8a0c4d6e8f0a1b3c5d7e9f1a2b3c` |",
        "| Expires | 2030-01-04T10:00:00.000Z (each push extends it; prune destroys it after) |",
        "",
      ].join("\n"),
    );
  });

  it("shows an image reference without a digest as it is, and an unknown commit as unknown", () => {
    const body = renderDeployedComment({
      ...preview,
      imageRef: "registry/repo:latest",
      commitSha: undefined,
    });
    expect(body).toContain("| Image | `registry/repo:latest` |");
    expect(body).toContain("| Commit | unknown |");
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
