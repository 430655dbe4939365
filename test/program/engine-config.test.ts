/**
 * The engine's configuration rules, which mocks never apply: every stack file as shipped, and the test stack
 * with only what README tells a user to set, must pass them; and the rules themselves must refuse what the
 * real engine refused (issue 9: every stack stopped at "validating stack config").
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { applyProjectConfig, parseProject } from "../helpers/engine-config.js";
import { PROD_USER_VALUES, ROOT, USER_VALUES } from "../helpers/pulumi.js";

const project = parseProject(readFileSync(`${ROOT}/Pulumi.yaml`, "utf8"));
// The stack files the repository ships; npm run preview writes others (git ignores them) into a checkout.
const stackFiles = execFileSync("git", ["ls-files", "Pulumi.*.yaml"], { cwd: ROOT, encoding: "utf8" })
  .split("\n")
  .filter((file) => file.length > 0);

function stackFileConfig(file: string): Record<string, unknown> {
  return (
    (parse(readFileSync(`${ROOT}/${file}`, "utf8")) as { config?: Record<string, unknown> }).config ?? {}
  );
}

describe("the engine's config rules", () => {
  it("refuse a key declared with a type and no default that a stack leaves unset, as the real engine did", () => {
    // The declaration shape that stopped every stack, reduced to three keys.
    const before = {
      name: "activity-api",
      config: {
        target: { type: "string" },
        imageTag: { type: "string", description: "Unset - the content hash." },
        allowedCidrs: { type: "array", items: { type: "string" } },
      },
    };
    expect(() => applyProjectConfig(before, "dev", { "activity-api:target": "local" })).toThrow(
      "Stack 'dev' is missing configuration values 'allowedCidrs' and 'imageTag'",
    );
  });

  it("check the declared type of a value a stack sets, accepting the text form the engine stores", () => {
    const typed = {
      name: "p",
      config: { flag: { type: "boolean", default: true }, count: { type: "integer", default: 1 } },
    };
    expect(applyProjectConfig(typed, "s", { "p:flag": "false", "p:count": 7 })).toEqual({
      "p:flag": "false",
      "p:count": "7",
    });
    expect(() => applyProjectConfig(typed, "s", { "p:count": "many" })).toThrow(
      "Stack 's' with configuration key 'count' must be of type 'integer'",
    );
  });

  it.each(stackFiles)("accept %s as shipped", (file) => {
    const stack = file.slice("Pulumi.".length, -".yaml".length);
    expect(() => applyProjectConfig(project, stack, stackFileConfig(file))).not.toThrow();
  });

  it("accept the test stack with only the values README tells a user to set", () => {
    const config = applyProjectConfig(project, "test", {
      ...stackFileConfig("Pulumi.test.yaml"),
      ...USER_VALUES,
    });
    expect(config["activity-api:target"]).toBe("ec2");
  });

  it.each(stackFiles)("find in %s every value as text, the form the engine writes back", (file) => {
    // `pulumi stack init` and `pulumi config set` rewrite a stack file with every scalar quoted ("true", "10"):
    // written that way already, the tracked file changes only where the user sets something.
    const scalars = Object.values(stackFileConfig(file)).flatMap(function leaves(value: unknown): unknown[] {
      if (Array.isArray(value)) return value.flatMap(leaves);
      if (value !== null && typeof value === "object") return Object.values(value).flatMap(leaves);
      return [value];
    });
    expect(scalars.filter((value) => typeof value !== "string")).toEqual([]);
  });

  it("declare no key without a default but target, which every stack file sets", () => {
    const required = Object.entries(project.config ?? {})
      .filter(([, type]) => typeof type === "object" && type !== null && !("default" in type))
      .map(([name]) => name);
    expect(required).toEqual(["target"]);
    for (const file of stackFiles) expect(stackFileConfig(file)).toHaveProperty("activity-api:target");
  });

  it("accept the prod stack with only the values README tells a user to set: no SSH key", () => {
    const config = applyProjectConfig(project, "prod", {
      ...stackFileConfig("Pulumi.prod.yaml"),
      ...PROD_USER_VALUES,
    });
    expect(config["activity-api:target"]).toBe("ecs");
    expect(config).not.toHaveProperty("activity-api:sshPublicKey");
  });
});
