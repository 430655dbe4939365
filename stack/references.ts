/**
 * Reading this project's stacks from the program: another stack's outputs through a StackReference, and the
 * stack's own outputs of its last update through the engine's built-in read, tried again.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * The organization of this update. Every engine reports one (a DIY backend says "organization"); the SDK's
 * own mocks, set up without one as Pulumi's unit-testing guide does, report none, and there the program reads
 * its record as a DIY backend's stack.
 */
function organization(): string {
  try {
    return pulumi.getOrganization();
  } catch {
    return "organization";
  }
}

/** A stack of this project by its full name, organization/project/stack, on every backend. */
function fullName(stack: string): string {
  return `${organization()}/${pulumi.getProject()}/${stack}`;
}

/** Another stack of this project, by its short name. */
export function stackReference(stack: string): pulumi.StackReference {
  return new pulumi.StackReference(fullName(stack));
}

/** The engine's built-in invoke that a StackReference's read runs: a stack's outputs, by its full name. */
const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";

/** How often, and how far apart, {@link readOwnOutput} tries. */
export const OWN_OUTPUT_READ = { attempts: 20, pauseMs: 100 } as const;

/**
 * One of this stack's outputs as its last update left them, read while this update runs. Not through a
 * StackReference: on a file backend a read of a stack's state fails now and then with "failed to load
 * checkpoint: EOF" while that stack's own update writes it (the blob store rewrites the state file's
 * `.attrs` sidecar in place), and a StackReference that fails fails the update. An invoke's
 * error comes back to the program instead, so the read is tried again. Rejects with the last error.
 */
export async function readOwnOutput(
  key: string,
  invoke: (token: string, args: { name: string }) => Promise<{ outputs?: Record<string, unknown> }> = (
    token,
    args,
  ) => pulumi.runtime.invoke(token, args),
  pause: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<unknown> {
  const name = fullName(pulumi.getStack());
  for (let attempt = 1; ; attempt++) {
    try {
      return (await invoke(READ_STACK_OUTPUTS, { name })).outputs?.[key];
    } catch (error) {
      if (attempt >= OWN_OUTPUT_READ.attempts) throw error;
      await pause(OWN_OUTPUT_READ.pauseMs);
    }
  }
}
