/**
 * Runs policies of a pack as @pulumi/policy's server does: the props behind its unknown-checking proxy, the type
 * token the engine sends, and isType/asType/notApplicable as the server implements them.
 */
import {
  type PolicyResource,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  unknownCheckingProxy,
} from "@pulumi/policy";

/** What the server's notApplicable throws; a validation of another resource type calls it. */
class NotApplicable extends Error {}

const OPTIONS = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

const urnOf = (type: string, name: string) => `urn:pulumi:test::activity-api::${type}::${name}`;

/** The server's isTypeOf: SDK-generated resource classes carry their type token. */
const isTypeOf = (type: string, resourceClass: unknown) =>
  (resourceClass as { __pulumiType?: unknown }).__pulumiType === type;

/** The name a resource has in messages and URNs, and the policy's configuration (getConfig). */
export interface ResourceOptions {
  name?: string;
  config?: object;
}

/** What a resource is to every policy: its type token, unknown-checking props, URN, name and options. */
function policyResource(type: string, name: string, props: Record<string, unknown>) {
  const proxied = unknownCheckingProxy(props);
  return {
    type,
    props: proxied,
    urn: urnOf(type, name),
    name,
    opts: OPTIONS,
    isType: (resourceClass: unknown) => isTypeOf(type, resourceClass),
    // The props, behind the proxy, when the class is the resource's type (the server's asType).
    asType: (resourceClass: unknown) => (isTypeOf(type, resourceClass) ? proxied : undefined),
  };
}

function resourceArgs(
  type: string,
  props: Record<string, unknown>,
  { name = "example", config = {} }: ResourceOptions = {},
): ResourceValidationArgs {
  return {
    ...policyResource(type, name, props),
    stackTags: new Map(),
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason) => {
      throw new NotApplicable(reason);
    },
  };
}

/**
 * Runs a policy's validations in order, as the server does, and returns the messages reported; undefined when
 * every validation declared itself not applicable to the type. An UnknownValueError escapes and fails the
 * test: the server would turn it into a "can't run policy during preview" diagnostic.
 */
export async function check(
  policy: ResourceValidationPolicy,
  type: string,
  props: Record<string, unknown>,
  options: ResourceOptions = {},
): Promise<string[] | undefined> {
  const args = resourceArgs(type, props, options);
  const messages: string[] = [];
  let applies = false;
  const validations = [policy.validateResource ?? []].flat();
  for (const validation of validations) {
    try {
      await validation(args, (message) => messages.push(message));
      applies = true;
    } catch (error) {
      if (!(error instanceof NotApplicable)) throw error;
    }
  }
  return applies ? messages : undefined;
}

export function stackResource(
  type: string,
  name: string,
  props: Record<string, unknown>,
  propertyDependencies: Record<string, PolicyResource[]> = {},
): PolicyResource {
  return {
    ...policyResource(type, name, props),
    dependencies: Object.values(propertyDependencies).flat(),
    propertyDependencies,
  };
}

/**
 * Runs a stack policy over `resources`, as the server does, and returns the violations reported; undefined when
 * the policy declared itself not applicable (validateStackResourcesOfType does, to a stack without its type).
 */
export async function checkStack(
  policy: StackValidationPolicy,
  resources: PolicyResource[],
  config: object = {},
): Promise<{ message: string; urn: string | undefined }[] | undefined> {
  const violations: { message: string; urn: string | undefined }[] = [];
  try {
    await policy.validateStack(
      {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason) => {
          throw new NotApplicable(reason);
        },
      },
      (message, urn) => violations.push({ message, urn }),
    );
  } catch (error) {
    if (!(error instanceof NotApplicable)) throw error;
    return undefined;
  }
  return violations;
}

/** A resource as a mock records it: its type token, name and inputs. */
export interface RegisteredResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  custom: boolean;
  /** The provider reference, `<provider URN>::<id>`, when the resource names one. */
  provider?: string | undefined;
}

/**
 * What the AWS provider computes when it checks a resource's inputs, which the engine then hands the pack and
 * the mocks never compute: `tagsAll`, the resource's `tags` over its provider's `defaultTags`.
 */
function withTagsAll(registrations: readonly RegisteredResource[]): RegisteredResource[] {
  const defaultTags = new Map<string, Record<string, string>>();
  for (const provider of registrations.filter(
    (registration) => registration.type === "pulumi:providers:aws",
  )) {
    const raw = provider.inputs.defaultTags;
    const parsed = (typeof raw === "string" ? JSON.parse(raw) : raw) as
      | { tags?: Record<string, string> }
      | undefined;
    if (parsed?.tags) defaultTags.set(provider.name, parsed.tags);
  }
  return registrations.map((registration) => {
    const providerName = /::pulumi:providers:aws::([^:]+)::/.exec(registration.provider ?? "")?.[1];
    const inherited = providerName === undefined ? undefined : defaultTags.get(providerName);
    if (inherited === undefined || registration.inputs.tagsAll !== undefined) return registration;
    const own = (registration.inputs.tags ?? {}) as Record<string, string>;
    return { ...registration, inputs: { ...registration.inputs, tagsAll: { ...inherited, ...own } } };
  });
}

export interface Finding {
  policy: string;
  enforcementLevel: string;
  resource: string;
  message: string;
}

/**
 * Runs every policy over a program's resources as recorded under mocks (test/helpers/pulumi.ts), as the engine
 * runs a pack on `pulumi up`: each resource policy on each custom resource, each stack policy on all of them.
 * The mocks give each resource the id `<name>-id`, so a property whose value holds another resource's id
 * depends on it; stack policies see those dependencies as propertyDependencies.
 */
export async function analyze(
  policies: readonly (ResourceValidationPolicy | StackValidationPolicy)[],
  registrations: readonly RegisteredResource[],
  options: { configOf?: (policy: ResourceValidationPolicy | StackValidationPolicy) => object } = {},
): Promise<Finding[]> {
  const custom = withTagsAll(registrations).filter((registration) => registration.custom);
  const findings: Finding[] = [];
  const level = (policy: ResourceValidationPolicy | StackValidationPolicy) =>
    policy.enforcementLevel ?? "advisory";
  for (const policy of policies) {
    const config = options.configOf?.(policy) ?? {};
    const report = (resource: string, message: string) =>
      findings.push({ policy: policy.name, enforcementLevel: level(policy), resource, message });
    if ("validateResource" in policy && policy.validateResource !== undefined) {
      for (const resource of custom) {
        const messages = await check(policy, resource.type, resource.inputs, { name: resource.name, config });
        for (const message of messages ?? []) report(resource.name, message);
      }
    }
    if ("validateStack" in policy && policy.validateStack !== undefined) {
      const resources = withDependencies(custom);
      for (const { message, urn } of (await checkStack(policy, resources, config)) ?? []) {
        report(resources.find((resource) => resource.urn === urn)?.name ?? "(stack)", message);
      }
    }
  }
  return findings;
}

/** PolicyResources whose propertyDependencies are the mock ids (`<name>-id`) found in each property. */
function withDependencies(registrations: readonly RegisteredResource[]): PolicyResource[] {
  const resources = new Map<string, PolicyResource>();
  for (const registration of registrations) {
    resources.set(
      registration.name,
      stackResource(registration.type, registration.name, registration.inputs),
    );
  }
  for (const registration of registrations) {
    const resource = resources.get(registration.name) as PolicyResource;
    for (const [property, value] of Object.entries(registration.inputs)) {
      const text = JSON.stringify(value) ?? "";
      const sources = registrations
        .filter((other) => other !== registration && text.includes(`"${other.name}-id"`))
        .map((other) => resources.get(other.name) as PolicyResource);
      if (sources.length === 0) continue;
      resource.propertyDependencies[property] = sources;
      resource.dependencies.push(...sources);
    }
  }
  return [...resources.values()];
}
