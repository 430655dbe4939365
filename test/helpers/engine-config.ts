/**
 * The Pulumi engine's rules for a stack's configuration, as the CLI applies them before the program runs
 * (pulumi/pulumi pkg/workspace/config.go `mergeConfig` and sdk/go/common/workspace/project.go
 * `ValidateConfigValue`, v3.274.1), so that tests under mocks refuse every configuration the real engine
 * refuses, with the engine's own message. Mocks skip this step entirely: that is how every stack once passed
 * hundreds of mock tests and failed at `pulumi up` before its first resource.
 */
import { parse } from "yaml";

/** One key of Pulumi.yaml's `config:` block (a bare value is a default's shorthand). */
interface ProjectConfigType {
  type?: string;
  items?: { type: string; items?: ProjectConfigType["items"] };
  default?: unknown;
  value?: unknown;
  secret?: boolean;
}

export interface ProjectFile {
  name: string;
  config?: Record<string, ProjectConfigType | string | number | boolean | unknown[]>;
}

/** A stack file's config value after YAML parsing: scalars, lists and maps. */
export type StackValue = unknown;

/** The error the engine stops with (`error: validating stack config: ...`). */
class EngineConfigError extends Error {
  override name = "EngineConfigError";
}

function declaration(raw: ProjectFile["config"] extends Record<string, infer T> | undefined ? T : never) {
  // `key: value` in Pulumi.yaml declares a default without a type.
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) return raw as ProjectConfigType;
  return { default: raw } as ProjectConfigType;
}

/** `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`: formatMissingKeys. */
function formatMissingKeys(keys: string[]): string {
  const quoted = [...keys].sort().map((key) => `'${key}'`);
  if (quoted.length === 1) return quoted[0] as string;
  return `${quoted.slice(0, -1).join(", ")} and ${quoted.at(-1)}`;
}

/**
 * The engine's type check. A stack file's scalars reach it as strings (config.Value keeps the text), so
 * "true" is a boolean and "10" an integer; lists arrive as JSON.
 */
function matchesType(type: string, items: ProjectConfigType["items"], value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      if (typeof value === "number") return Number.isInteger(value);
      return typeof value === "string" && /^[+-]?\d+$/.test(value);
    case "boolean":
      return typeof value === "boolean" || value === "true" || value === "false";
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return (
        Array.isArray(value) &&
        items !== undefined &&
        value.every((item) => matchesType(items.type, items.items, item))
      );
  }
}

/** How config.Value holds a stack file's value: scalars as their text, lists and maps as themselves. */
function asEngineValue(value: StackValue): unknown {
  if (value === null || typeof value !== "object") return value === null ? "" : String(value);
  return value;
}

/**
 * Validates `stackConfig` (the `config:` map of Pulumi.<stack>.yaml, keys namespaced as in the file, plus
 * anything set by `pulumi config set`) against the project, as `pulumi up` does, and returns the merged
 * configuration: the stack's values, then the project's defaults for keys the stack leaves unset.
 */
export function applyProjectConfig(
  project: ProjectFile,
  stackName: string,
  stackConfig: Record<string, StackValue>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stackConfig)) merged[key] = asEngineValue(value);
  const missing: string[] = [];
  const declared = Object.entries(project.config ?? {}).sort(([a], [b]) => a.localeCompare(b));
  for (const [name, raw] of declared) {
    const type = declaration(raw);
    const key = name.includes(":") ? name : `${project.name}:${name}`;
    const namespaced = key.startsWith(`${project.name}:`);
    const found = key in merged;
    const hasDefault = type.default !== undefined && type.default !== null;
    const hasValue = type.value !== undefined && type.value !== null;
    if (!found && !hasValue && !hasDefault && namespaced) {
      missing.push(name);
      continue;
    }
    if (!found) merged[key] = asEngineValue(hasDefault ? type.default : type.value);
  }
  if (missing.length > 0) {
    throw new EngineConfigError(
      `Stack '${stackName}' is missing configuration value${missing.length > 1 ? "s" : ""} ${formatMissingKeys(missing)}`,
    );
  }
  for (const [name, raw] of declared) {
    const type = declaration(raw);
    const key = name.includes(":") ? name : `${project.name}:${name}`;
    if (type.type === undefined || !(key in merged)) continue;
    if (type.secret && !isSecure(stackConfig[key])) {
      throw new EngineConfigError(
        `Stack '${stackName}' with configuration key '${name}' must be encrypted as it's secret`,
      );
    }
    if (!matchesType(type.type, type.items, merged[key])) {
      throw new EngineConfigError(
        `Stack '${stackName}' with configuration key '${name}' must be of type '${fullTypeName(type.type, type.items)}'`,
      );
    }
  }
  return merged;
}

/** InferFullTypeName: `array<string>`. */
function fullTypeName(type: string, items: ProjectConfigType["items"]): string {
  return items === undefined ? type : `array<${fullTypeName(items.type, items.items)}>`;
}

function isSecure(value: StackValue): boolean {
  return value !== null && typeof value === "object" && "secure" in value;
}

/** Parses Pulumi.yaml's text. */
export function parseProject(text: string): ProjectFile {
  return parse(text) as ProjectFile;
}
