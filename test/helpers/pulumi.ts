/**
 * Runs the real Pulumi program (or a component) against mocks: one place for the mock resource monitor, the
 * stack configuration loaded from the real Pulumi.yaml and Pulumi.<stack>.yaml, and reading outputs.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { parse } from "yaml";
import { applyProjectConfig, parseProject } from "./engine-config.js";

export const ROOT = new URL("../..", import.meta.url).pathname;
const PROJECT = "activity-api";
const ACCOUNT = "123456789012";
const REGION = "eu-west-1";

/** The host key of every EC2 instance under mocks, as its console prints it. */
export const EC2_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVjMmluc3RhbmNlaG9zdGtleWZvcnRlc3RpbmcwMDA";

/** The values README tells a user to set before the first `pulumi up --stack test`. */
export const USER_VALUES: Record<string, unknown> = {
  "activity-api:sshPublicKey":
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzZXJrZXlmb3J0ZXN0aW5nb25seTAwMDAwMDAw ana@laptop",
  "activity-api:allowedCidrs": ["198.51.100.7/32", "2001:db8::/64"],
};

/** The resource options a registration carried that tests assert on. */
export interface RegistrationOptions {
  /** undefined: not said, so the provider's default applies. */
  deleteBeforeReplace: boolean | undefined;
  /** Names of the error hooks bound to the resource. */
  errorHooks: string[];
  /** Whether the engine refuses to delete it, or leaves it behind when it deletes it from the stack. */
  protect: boolean;
  retainOnDelete: boolean;
  /** The URNs the engine waits for before it creates it (its dependsOn, and the owners of its inputs). */
  dependencies: string[];
}
/** The values docs/github-actions.md tells a user to set before the first `pulumi up --stack ci-identity`. */
export const CI_IDENTITY_USER_VALUES: Record<string, unknown> = {
  "activity-api:githubRepository": "octo-org/activity-stack",
  "activity-api:stateBucket": "octo-pulumi-state",
};

/** The values docs/prod-ecs.md tells a user to set before the first `pulumi up --stack prod`: no SSH key. */
export const PROD_USER_VALUES: Record<string, unknown> = {
  "activity-api:allowedCidrs": USER_VALUES["activity-api:allowedCidrs"],
};

export interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider: string | undefined;
  custom: boolean;
  options: RegistrationOptions;
}

/** The parts of the SDK's mock monitor that installMocks extends (runtime/mocks.js MockMonitor). */
interface MockMonitor {
  registerResource(request: RegisterResourceRequest, callback: unknown): void;
  registerErrorHook?(request: unknown, callback: (error: null, response: object) => void): void;
}
interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getDeletebeforereplace(): boolean;
  getDeletebeforereplacedefined(): boolean;
  getHooks(): { getOnErrorList(): string[] } | undefined;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDependenciesList(): string[];
}

/** Resolves an output (or plain value) to its value; undefined when it is unknown. */
function promiseOf<T>(output: pulumi.Input<T> | undefined): Promise<T | undefined> {
  return new Promise((resolve) => pulumi.output(output).apply((value) => resolve(value as T)));
}

function digest(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** Other stacks' outputs, by the name a StackReference gives (`organization/activity-api/<stack>`). */
export type StackOutputs = Record<string, Record<string, unknown>>;

/** Outputs a real provider would compute, for the resources this program reads outputs of. */
function computedState(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  stacks: StackOutputs,
): Record<string, unknown> {
  switch (type) {
    case "aws:dynamodb/table:Table":
      return { name: `${name}-4f2a9c1`, arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}-4f2a9c1` };
    case "awsx:ecr:Repository":
      return { url: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}-7d3e0b2` };
    case "docker:index/image:Image": {
      const imageName = String(inputs.imageName);
      const local = inputs.skipPush === true;
      return {
        imageName,
        repoDigest: local ? digest(imageName) : `${imageName.split(":")[0]}@${digest(imageName)}`,
      };
    }
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: digest(String(inputs.name)), repoDigest: inputs.name };
    case "docker:index/network:Network":
    case "docker:index/volume:Volume":
    case "docker:index/container:Container":
      return { name: `${name}-8b1c2d3` };
    case "aws:ec2/instance:Instance":
      return { publicIp: "198.51.100.20", arn: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0abc` };
    case "aws:iam/role:Role":
    case "aws:iam/instanceProfile:InstanceProfile":
      return {
        name: `${name}-5e6f7a8`,
        arn: `arn:aws:iam::${ACCOUNT}:role${inputs.path ?? "/"}${name}-5e6f7a8`,
      };
    case "aws:iam/policy:Policy": {
      const policyName = inputs.name ?? `${name}-1a2b3c4`;
      return { name: policyName, arn: `arn:aws:iam::${ACCOUNT}:policy${inputs.path ?? "/"}${policyName}` };
    }
    case "aws:iam/user:User":
      return { arn: `arn:aws:iam::${ACCOUNT}:user/${inputs.name}` };
    case "aws:iam/accessKey:AccessKey":
      return { secret: `secret-of-${name}` };
    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
      return { arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${String(inputs.url).replace("https://", "")}` };
    case "command:local:Command":
      // What READ_HOST_KEY prints: the instance's host key, read from its console.
      return name.endsWith("-host-key-from-console") ? { stdout: `${EC2_HOST_KEY}\n` } : {};
    case "aws:ec2/keyPair:KeyPair":
      return { keyName: `${name}-9a8b7c6` };
    case "pulumi:pulumi:StackReference":
      // A stack not in `stacks` has no outputs yet, as on its first update.
      return { outputs: stacks[String(inputs.name)] ?? {}, secretOutputNames: [] };
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        arn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/${name}-3c4d5e6/50dc6c495c0c9188`,
        dnsName: `${name}-3c4d5e6-1234567890.${REGION}.elb.amazonaws.com`,
      };
    case "aws:lb/targetGroup:TargetGroup":
      return {
        arn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${name}-6f7a8b9/73e2d6bc24d8a067`,
      };
    case "aws:ecs/cluster:Cluster":
      return { name: `${name}-2b3c4d5`, arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}-2b3c4d5` };
    case "aws:ecs/service:Service":
      return { name: `${name}-7e8f9a0` };
    case "aws:ecs/taskDefinition:TaskDefinition":
      return { arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${inputs.family}:1` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return {
        name: `${name}-0d1e2f3`,
        arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}-0d1e2f3`,
      };
    default:
      return {};
  }
}

/** Results of the invokes the program makes; any other invoke fails loudly. */
function callResult(
  token: string,
  args: Record<string, unknown>,
  stacks: StackOutputs,
): Record<string, unknown> {
  switch (token) {
    case "pulumi:pulumi:readStackOutputs":
      // As the engine's built-in answers it: a stack not in `stacks` has no outputs yet.
      return { name: args.name, outputs: stacks[String(args.name)] ?? {}, secretOutputNames: [] };
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return {
        userName: "AWS",
        password: "short-lived-token",
        proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
      };
    case "aws:ec2/getVpc:getVpc":
      return { id: "vpc-0default" };
    case "aws:ec2/getSubnets:getSubnets":
      return { ids: ["subnet-0a", "subnet-0b"] };
    case "aws:ec2/getSubnet:getSubnet":
      return { id: args.id, vpcId: "vpc-0default" };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: ACCOUNT,
        arn: `arn:aws:iam::${ACCOUNT}:user/deployer`,
        id: ACCOUNT,
        userId: "AIDA",
      };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws", reverseDnsPrefix: "com.amazonaws" };
    case "aws:ssm/getParameter:getParameter":
      return { name: args.name, value: "ami-0123456789abcdef0", type: "String" };
    default:
      throw new Error(`Mock call not implemented: ${token}`);
  }
}

export interface Invoke {
  token: string;
  args: Record<string, unknown>;
}

/** Installs the mocks for `stack`; every registration and invoke is appended to the lists returned. */
export async function installMocks(
  stack: string,
  stacks: StackOutputs = {},
): Promise<{ registrations: Registration[]; invokes: Invoke[] }> {
  const registrations: Registration[] = [];
  const invokes: Invoke[] = [];
  const requested = new Map<string, RegistrationOptions>();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registrations.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          provider: args.provider,
          custom: args.custom ?? true,
          options: requested.get(`${args.type}::${args.name}`) ?? {
            deleteBeforeReplace: undefined,
            errorHooks: [],
            protect: false,
            retainOnDelete: false,
            dependencies: [],
          },
        });
        return {
          id: `${args.name}-id`,
          state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs, stacks) },
        };
      },
      call: (args) => {
        invokes.push({ token: args.token, args: args.inputs });
        return callResult(args.token, args.inputs, stacks);
      },
    },
    PROJECT,
    stack,
    false,
    // The organization a DIY backend reports, as in the program's self-reference organization/<project>/<stack>.
    "organization",
  );
  // The SDK's mock monitor neither passes resource options to newResource nor accepts error hooks.
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    requested.set(`${request.getType()}::${request.getName()}`, {
      deleteBeforeReplace: request.getDeletebeforereplacedefined()
        ? request.getDeletebeforereplace()
        : undefined,
      errorHooks: request.getHooks()?.getOnErrorList() ?? [],
      protect: request.getProtect(),
      retainOnDelete: request.getRetainondelete(),
      dependencies: request.getDependenciesList(),
    });
    register(request, callback);
  };
  monitor.registerErrorHook = (_request, callback) => callback(null, {});
  return { registrations, invokes };
}

function configValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The configuration the CLI would give the program: Pulumi.<stack>.yaml (when it exists) with `overrides` on
 * top (a value of undefined removes a key), checked and completed with Pulumi.yaml's defaults by the engine's
 * own rules, so that a configuration the engine would refuse fails here too, with the engine's message.
 */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
  const project = parseProject(readFileSync(`${ROOT}/Pulumi.yaml`, "utf8"));
  let stackFile: { config?: Record<string, unknown> } = {};
  try {
    stackFile = parse(readFileSync(`${ROOT}/Pulumi.${stack}.yaml`, "utf8")) ?? {};
  } catch {
    // A preview stack has no file of its own: npm run preview sets its config with `pulumi up -c`.
  }
  const values: Record<string, unknown> = { ...stackFile.config };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete values[key];
    else values[key] = value;
  }
  const merged = applyProjectConfig(project, stack, values);
  return Object.fromEntries(Object.entries(merged).map(([key, value]) => [key, configValue(value)]));
}

/** Waits until no new registration arrives for a few event-loop turns (outputs resolve asynchronously). */
async function settle(registrations: Registration[]): Promise<void> {
  let quiet = 0;
  let seen = -1;
  while (quiet < 5) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    quiet = registrations.length === seen ? quiet + 1 : 0;
    seen = registrations.length;
  }
}

export interface ProgramRun {
  registrations: Registration[];
  invokes: Invoke[];
  outputs: Record<string, unknown>;
  /** The registrations of one resource type. */
  ofType(type: string): Registration[];
  /** The one registration of `type` named `name`. */
  named(type: string, name: string): Registration;
}

/**
 * Runs `declare` (which creates resources) under mocks for `stack`, with `config` (`secretKeys` set as secrets,
 * `pulumi config set --secret`); resolves once it settles.
 */
export async function runDeclarations(
  stack: string,
  config: Record<string, string>,
  declare: () => Promise<Record<string, pulumi.Input<unknown>>>,
  stacks: StackOutputs = {},
  secretKeys: string[] = [],
): Promise<ProgramRun> {
  const { registrations, invokes } = await installMocks(stack, stacks);
  pulumi.runtime.setAllConfig(config, secretKeys);
  const declared = await declare();
  const outputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(declared)) outputs[name] = await promiseOf(value);
  await settle(registrations);
  const ofType = (type: string) => registrations.filter((registration) => registration.type === type);
  return {
    registrations,
    invokes,
    outputs,
    ofType,
    named: (type, name) => {
      const found = ofType(type).filter((registration) => registration.name === name);
      if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
      return found[0] as Registration;
    },
  };
}

/** Runs index.ts for `stack` with its real config (plus `overrides`) under mocks; resolves once it settles. */
export function runProgram(
  stack: string,
  overrides: Record<string, unknown> = {},
  stacks: StackOutputs = {},
  secretKeys: string[] = [],
): Promise<ProgramRun> {
  vi.resetModules();
  return runDeclarations(
    stack,
    stackConfig(stack, overrides),
    // As the Node.js language host runs a program whose module exports a default function: its result.
    async () => (await import("../../index.js")).default(),
    stacks,
    secretKeys,
  );
}
