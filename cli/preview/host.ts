/**
 * A target's preview host: the long-lived stack (Docker host and front proxy) every preview of the target
 * joins. `up` creates it on first use, and waits when another run is creating it at the same moment.
 */
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import {
  type Ec2PreviewHostOutputs,
  PREVIEW_HOST_STACKS,
  type PreviewHostOutputs,
  type PreviewTarget,
} from "../../stack/contract.js";
import type { CliDeps } from "./deps.js";
import { type PreviewWorkspace, StackExistsError, StackLockedError, StackMissingError } from "./workspace.js";

/**
 * What this tool reads of a host stack's outputs (stack/contract.ts): `previewDomain` says the host is
 * deployed; the rest depend on its target.
 */
export type HostOutputs = Pick<PreviewHostOutputs, "previewDomain"> &
  Partial<
    Pick<
      Ec2PreviewHostOutputs,
      | "previewPort"
      | "networkName"
      | "region"
      | "instanceType"
      | "publicIp"
      | "dockerHost"
      | "sshOpts"
      | "previewBoundaryArn"
    >
  >;

/**
 * The host's outputs, or undefined while it has none: a host is deployed once it exports its domain (a stack
 * created but never, or not yet, deployed exports nothing).
 */
export function readHostOutputs(outputs: Readonly<Record<string, unknown>>): HostOutputs | undefined {
  const text = (name: keyof HostOutputs) =>
    typeof outputs[name] === "string" ? (outputs[name] as string) : undefined;
  const previewDomain = text("previewDomain");
  if (previewDomain === undefined) return undefined;
  return {
    previewDomain,
    previewPort: typeof outputs.previewPort === "number" ? outputs.previewPort : undefined,
    networkName: text("networkName"),
    region: text("region"),
    instanceType: text("instanceType"),
    publicIp: text("publicIp"),
    dockerHost: text("dockerHost"),
    previewBoundaryArn: text("previewBoundaryArn"),
    sshOpts:
      Array.isArray(outputs.sshOpts) && outputs.sshOpts.every((option) => typeof option === "string")
        ? (outputs.sshOpts as string[])
        : undefined,
  };
}

export interface HostState {
  readonly stackName: string;
  readonly exists: boolean;
  /** Undefined while the host is not deployed. */
  readonly outputs: HostOutputs | undefined;
}

/**
 * The host of `target` as it is now, from one read of its outputs. A host stack whose outputs cannot be read
 * counts as not deployed, so that `up` deploys it.
 */
export async function readHost(workspace: PreviewWorkspace, target: PreviewTarget): Promise<HostState> {
  const stackName = PREVIEW_HOST_STACKS[target];
  try {
    return { stackName, exists: true, outputs: readHostOutputs(await workspace.outputs(stackName)) };
  } catch (error) {
    return { stackName, exists: !(error instanceof StackMissingError), outputs: undefined };
  }
}

/**
 * How long `up` waits for a host another run holds: creating an EC2 host and its proxy takes a few minutes,
 * and two pull requests' workflows may start together.
 */
const HOST_WAIT = { timeoutMs: 15 * 60_000, pollMs: 10_000 } as const;

/**
 * Returns the deployed host of `target`, deploying it first when it is not: creates its stack on first use,
 * sets `config` and runs `up`, streaming progress. A deployed host is used as it is, untouched. A host that
 * another run holds (its lock) is waited for, polling, up to {@link HOST_WAIT}: when that run deployed it, it
 * is used; when it failed, this run deploys it.
 */
export async function ensureHost(
  workspace: PreviewWorkspace,
  target: PreviewTarget,
  config: ConfigMap,
  deps: CliDeps,
  wait: { readonly timeoutMs: number; readonly pollMs: number } = HOST_WAIT,
): Promise<HostOutputs> {
  const deadline = deps.now().getTime() + wait.timeoutMs;
  let waiting = false;
  let announced = false;
  for (;;) {
    const host = await readHost(workspace, target);
    if (host.outputs !== undefined) return host.outputs;
    try {
      if (!host.exists) await workspace.createStack(host.stackName);
      // Written only where this checkout's copy lacks it: a second run in the same checkout would otherwise
      // rewrite the file the first run's `up` is reading (seen on the real engine: "Stack 'previews-local' is
      // missing configuration value 'target'"). A run in another checkout (a CI job) has its own copy to write.
      const current = await workspace.getConfig(host.stackName);
      const change = holds(current, config) ? undefined : { set: config, current };
      if (!announced)
        deps.out(`Deploying the ${target} preview host ${host.stackName}, which every preview joins`);
      announced = true;
      await workspace.up(host.stackName, deps.progress, change);
      const outputs = readHostOutputs(await workspace.outputs(host.stackName));
      if (outputs === undefined) {
        throw new Error(
          `${host.stackName} deployed but exports no previewDomain; the program must export it`,
        );
      }
      return outputs;
    } catch (error) {
      // Another run holds the host: it is deploying it, or created its stack between this run's listing and
      // creation (and is about to deploy it).
      if (!(error instanceof StackLockedError || error instanceof StackExistsError)) throw error;
      const minutes = Math.round(wait.timeoutMs / 60_000);
      if (deps.now().getTime() >= deadline) {
        throw new Error(
          `${host.stackName} is still held by another run after ${minutes} min; if no run is active on it, ` +
            `release its lock (pulumi cancel --stack ${host.stackName}) and run up again`,
          { cause: error },
        );
      }
      if (!waiting) {
        deps.err(
          `${host.stackName} is held by another run (creating or updating it); waiting up to ${minutes} min`,
        );
        waiting = true;
      }
      await deps.sleep(wait.pollMs);
    }
  }
}

/** Whether `current` already sets every path of `wanted` to the same value. */
function holds(current: ConfigMap, wanted: ConfigMap): boolean {
  return Object.entries(wanted).every(
    ([path, { value, secret }]) =>
      current[path]?.value === value && (current[path]?.secret ?? false) === (secret ?? false),
  );
}

/**
 * Refuses, before anything is created, to add a preview to an EC2 host deployed before previews held their
 * own identity: such a host exports no permissions boundary for the preview's user, and its containers still
 * reach the instance role (docs/decisions/0002-sealed-ec2-previews.md).
 */
export function checkHostSealed(host: HostState, target: PreviewTarget): void {
  if (target !== "ec2" || host.outputs === undefined || host.outputs.previewBoundaryArn !== undefined) return;
  throw new Error(
    `${host.stackName} was deployed before previews were sealed off from each other (it exports no ` +
      `previewBoundaryArn); update it first with pulumi up --stack ${host.stackName}, which replaces its ` +
      "instance (each preview on it comes back with its next up)",
  );
}
