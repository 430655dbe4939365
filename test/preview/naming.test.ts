/** Branch → stack name, resource prefix, tag label: valid under every limit, deterministic, injective. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AUTONAME_SUFFIX,
  AWS_NAME_LIMITS,
  AWS_TAG,
  BranchNameError,
  isPreviewStackName,
  LONGEST_CHILD_SUFFIX,
  type PreviewNames,
  PULUMI_STACK_NAME,
  PULUMI_STACK_TAG,
  previewNames,
  previewTargetOf,
} from "../../cli/preview/naming.js";
import { PREVIEW_TAG_KEYS } from "../../cli/preview/stack-config.js";
import { PREVIEW_HOST_STACKS, PREVIEW_TARGETS } from "../../stack/contract.js";
import { validateNamePrefix } from "../../stack/validation.js";

/** Every way a name could break a limit, as a list of messages (empty when the names are valid). */
function limitViolations(names: PreviewNames): string[] {
  const problems: string[] = [];
  const { stackName, resourcePrefix, branchLabel } = names;
  if (stackName.length > PULUMI_STACK_NAME.max || !PULUMI_STACK_NAME.pattern.test(stackName)) {
    problems.push(`stack name ${stackName}`);
  }
  if (previewTargetOf(stackName) !== names.target) {
    problems.push(`stack name ${stackName} is not a ${names.target} preview's name`);
  }
  try {
    validateNamePrefix(resourcePrefix); // the program's own rule for activity-api:namePrefix
  } catch {
    problems.push(`prefix ${resourcePrefix}`);
  }
  for (const limit of AWS_NAME_LIMITS) {
    for (const child of ["", LONGEST_CHILD_SUFFIX]) {
      const name = `${resourcePrefix}${child}${AUTONAME_SUFFIX}`;
      const fits = name.length >= limit.min && name.length <= limit.max && limit.pattern.test(name);
      if (!fits || limit.reserved?.test(name)) problems.push(`${limit.resource} ${name}`);
    }
  }
  if (
    branchLabel.length === 0 ||
    Buffer.byteLength(branchLabel, "utf8") > PULUMI_STACK_TAG.valueMaxBytes ||
    [...branchLabel].length > AWS_TAG.valueMax ||
    !AWS_TAG.pattern.test(branchLabel) ||
    AWS_TAG.reserved.test(branchLabel)
  ) {
    problems.push(`label ${branchLabel}`);
  }
  return problems;
}

/** Names a branch may really have: git-like paths, long names, unicode and emoji, and unrestricted text. */
const branch = fc.oneof(
  fc
    .array(fc.stringMatching(/^[A-Za-z0-9._-]{1,24}$/), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join("/")),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }),
  fc.string({ unit: "grapheme-ascii", minLength: 200, maxLength: 400 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 80 }),
);

describe("previewNames", () => {
  it("gives every tricky branch of the issue names within the limits", () => {
    const tricky: Record<string, Pick<PreviewNames, "stackName" | "resourcePrefix" | "branchLabel">> = {
      "feature/Add-Login": {
        stackName: "preview-feature-add-login-dddb1d05d5ec",
        resourcePrefix: "pv-feature-add-login-dddb1d05",
        branchLabel: "feature/Add-Login",
      },
      "Feature/add_login": {
        stackName: "preview-feature-add-login-9f53106786fc",
        resourcePrefix: "pv-feature-add-login-9f531067",
        branchLabel: "Feature/add_login",
      },
      "émoji-🚀-ünïcödé": {
        stackName: "preview-emoji-unicode-a6dce25a4849",
        resourcePrefix: "pv-emoji-unicode-a6dce25a",
        branchLabel: "émoji-_-ünïcödé",
      },
      "🚀": { stackName: "preview-ebbc0b2870eb", resourcePrefix: "pv-ebbc0b28", branchLabel: "_" },
      "release/1.2.3": {
        stackName: "preview-release-1-2-3-88ded65193eb",
        resourcePrefix: "pv-release-1-2-3-88ded651",
        branchLabel: "release/1.2.3",
      },
      "a..b": {
        stackName: "preview-a-b-f62b42414c51",
        resourcePrefix: "pv-a-b-f62b4241",
        branchLabel: "a..b",
      },
      "--leading": {
        stackName: "preview-leading-b2383708c3b3",
        resourcePrefix: "pv-leading-b2383708",
        branchLabel: "--leading",
      },
      "aws:thing": {
        stackName: "preview-aws-thing-7617a19757c1",
        resourcePrefix: "pv-aws-thing-7617a197",
        branchLabel: "_aws:thing",
      },
    };
    for (const [name, expected] of Object.entries(tricky)) {
      const names = previewNames(name);
      expect({ ...names, branch: undefined, target: undefined }).toEqual({ ...expected, branch: undefined });
      expect(limitViolations(names)).toEqual([]);
    }
  });

  it("keeps a 300-character name within the limits and its label within 256 bytes, hash kept", () => {
    const long = `feature/${"x".repeat(292)}`;
    const names = previewNames(long);
    expect(names.stackName).toMatch(/^preview-feature-x{40}-[0-9a-f]{12}$/);
    expect(names.resourcePrefix).toMatch(/^pv-feature-x{12}-[0-9a-f]{8}$/);
    expect(Buffer.byteLength(names.branchLabel)).toBe(256);
    expect(names.branchLabel.endsWith(names.resourcePrefix.slice(-9))).toBe(true);
    expect(limitViolations(names)).toEqual([]);
  });

  it("cuts a long multi-byte label on a character boundary", () => {
    const names = previewNames("日".repeat(200));
    expect(Buffer.byteLength(names.branchLabel)).toBeLessThanOrEqual(256);
    expect(names.branchLabel).toMatch(/^日+-[0-9a-f]{8}$/);
  });

  it("keeps apart names that are equal once truncated or folded", () => {
    const shared = `feature/${"same-words-".repeat(10)}`;
    const a = previewNames(`${shared}one`);
    const b = previewNames(`${shared}two`);
    expect(a.stackName.slice(0, -12)).toBe(b.stackName.slice(0, -12));
    expect(a.stackName).not.toBe(b.stackName);
    expect(a.resourcePrefix).not.toBe(b.resourcePrefix);
    expect(previewNames("feature/Add-Login").stackName).not.toBe(previewNames("Feature/add_login").stackName);
  });

  it.each([
    ["", /the name is empty/],
    [" \t ", /only whitespace/],
    ["tab\there", /control character U\+0009/],
    ["   ", /only whitespace/],
    ["feature\nx", /control character U\+000A/],
    ["nul\u0000", /control character U\+0000/],
    ["half\uD800", /unpaired UTF-16 surrogate/],
  ])("refuses %j with a clear BranchNameError", (name, message) => {
    expect(() => previewNames(name)).toThrow(BranchNameError);
    expect(() => previewNames(name)).toThrow(message);
  });

  it("gives any usable text valid names on both targets, and anything else a BranchNameError", () => {
    fc.assert(
      fc.property(
        fc.oneof(branch, fc.string({ unit: "binary-ascii", maxLength: 20 })),
        fc.constantFrom(...PREVIEW_TARGETS),
        (name, target) => {
          let names: PreviewNames;
          try {
            names = previewNames(name, target);
          } catch (error) {
            expect(error).toBeInstanceOf(BranchNameError);
            return;
          }
          expect(limitViolations(names)).toEqual([]);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("is deterministic", () => {
    fc.assert(
      fc.property(branch, (name) => {
        fc.pre(!/[\p{Cc}]/u.test(name) && name.trim() !== "");
        // A copy built character by character, so that no cached string identity can help.
        expect(previewNames([...name].join(""))).toEqual(previewNames(name));
      }),
      { numRuns: 500 },
    );
  });

  it("is injective in practice: distinct branches never share a stack or a prefix", () => {
    const usable = branch.filter((name) => !/[\p{Cc}]/u.test(name) && name.trim() !== "");
    fc.assert(
      fc.property(fc.uniqueArray(usable, { minLength: 2, maxLength: 40 }), (names) => {
        const all = names.map((name) => previewNames(name));
        expect(new Set(all.map((n) => n.stackName)).size).toBe(names.length);
        expect(new Set(all.map((n) => n.resourcePrefix)).size).toBe(names.length);
      }),
      { numRuns: 300 },
    );
  });

  it("names a local preview apart from the same branch's AWS preview, on the same host label", () => {
    const aws = previewNames("feature/Add-Login", "ec2");
    const local = previewNames("feature/Add-Login", "local");
    expect(aws.stackName).toBe("preview-feature-add-login-dddb1d05d5ec");
    expect(local.stackName).toBe("preview-local.feature-add-login-dddb1d05d5ec");
    expect(local.resourcePrefix).toBe(aws.resourcePrefix);
    expect(previewNames("🚀", "local").stackName).toBe("preview-local.ebbc0b2870eb");
    const long = previewNames(`feature/${"x".repeat(292)}`, "local").stackName;
    expect(long).toMatch(/^preview-local\.feature-x{40}-[0-9a-f]{12}$/);
    expect(long.length).toBe(75);
  });

  it("tells each stack's target from its name alone, even for an AWS branch named local/...", () => {
    expect(previewTargetOf(previewNames("local/x", "ec2").stackName)).toBe("ec2");
    expect(previewNames("local/x", "ec2").stackName).toMatch(/^preview-local-x-/);
    expect(previewTargetOf(previewNames("x", "local").stackName)).toBe("local");
    for (const name of ["dev", "test", "preview", "previews-aws", "previews-local", "Preview-x"]) {
      expect(previewTargetOf(name)).toBeUndefined();
    }
  });

  it("never gives an AWS preview and a local one the same stack, whatever the branches", () => {
    const usable = branch.filter((name) => !/[\p{Cc}]/u.test(name) && name.trim() !== "");
    fc.assert(
      fc.property(usable, usable, (awsBranch, localBranch) => {
        const aws = previewNames(awsBranch, "ec2").stackName;
        const local = previewNames(localBranch, "local").stackName;
        expect(aws).not.toBe(local);
        expect([previewTargetOf(aws), previewTargetOf(local)]).toEqual(["ec2", "local"]);
      }),
      { numRuns: 500 },
    );
  });

  it("names the hosts' stacks so that nothing handling previews can take one for a preview", () => {
    expect(PREVIEW_HOST_STACKS).toEqual({ local: "previews-local", ec2: "previews-aws" });
    for (const host of Object.values(PREVIEW_HOST_STACKS)) {
      expect(isPreviewStackName(host)).toBe(false);
      expect(host).toMatch(PULUMI_STACK_NAME.pattern);
    }
  });

  it("recognises exactly the stacks whose name starts with preview-", () => {
    for (const name of [
      "dev",
      "test",
      "preview",
      "Preview-x",
      "PREVIEW-x",
      "xpreview-y",
      " preview-x",
      "pv-x",
      "previews-aws",
      "previews-local",
    ]) {
      expect(isPreviewStackName(name)).toBe(false);
    }
    for (const name of ["preview-x", "preview-", "preview-test"]) expect(isPreviewStackName(name)).toBe(true);
  });
});

describe("stack tag keys", () => {
  it("fit both Pulumi's stack-tag rule and AWS's tag-key rule", () => {
    for (const key of Object.values(PREVIEW_TAG_KEYS)) {
      expect(key.length).toBeLessThanOrEqual(PULUMI_STACK_TAG.nameMax);
      expect(key).toMatch(PULUMI_STACK_TAG.namePattern);
      expect(key.length).toBeLessThanOrEqual(AWS_TAG.keyMax);
      expect(key).toMatch(AWS_TAG.pattern);
      expect(key).not.toMatch(AWS_TAG.reserved);
    }
  });
});
