/**
 * `prune`: destroys the target's previews that expired or whose branch is gone, never a pinned one, never the
 * host nor any stack that is not a preview of the target. A dry run unless --yes.
 */

import type { CliDeps } from "../deps.js";
import { previewTargetOf } from "../naming.js";
import { firstLine } from "../output.js";
import { planPrune, type StackRecord } from "../plan.js";
import { destroyPreview, inspect } from "../stacks.js";
import { StackLockedError } from "../workspace.js";
import { COMMON_HELP, COMMON_OPTIONS, defineCommand, UsageError } from "./common.js";

const OPTIONS = {
  ...COMMON_OPTIONS,
  "live-branches": { type: "string" },
  yes: { type: "boolean" },
} as const;

const HELP = `Usage: npm run preview -- prune [options]

Lists, with why, the target's previews to destroy (expired, or their branch deleted) and to keep (pinned
with up --keep, or still live); with --yes destroys them. A locked preview is reported and left for destroy.

Options:
  --live-branches FILE  file naming the branches that still exist, one per line; without it only expiry
                        counts
  --yes                 destroy for real (otherwise only print the plan)
${COMMON_HELP}`;

export const pruneCommand = defineCommand({
  name: "prune",
  summary: "destroy previews that expired or whose branch is gone, never a kept one (a dry run unless --yes)",
  options: OPTIONS,
  help: HELP,
  async run(options, target, deps) {
    const liveBranches = options["live-branches"]
      ? await readLiveBranches(options["live-branches"], deps)
      : undefined;
    const workspace = deps.openWorkspace();
    const records: StackRecord[] = [];
    for (const stackName of await workspace.listStacks()) {
      // Only the target's previews are inspected: the others are never touched, so their config is none of
      // prune's business.
      records.push(
        previewTargetOf(stackName) === target
          ? (await inspect(workspace, stackName)).record
          : { stackName, metadata: undefined },
      );
    }
    const plan = planPrune(records, deps.now(), liveBranches, target);
    if (liveBranches === undefined) deps.out("No --live-branches given: only expiry is checked.");
    if (plan.protected.length > 0) {
      deps.out(`Not ${target} previews, never touched: ${plan.protected.join(", ")}`);
    }
    for (const { stack, why } of plan.keep) deps.out(`keep     ${stack.stackName}: ${why}`);
    for (const { stack, reasons } of plan.destroy) {
      deps.out(`destroy  ${stack.stackName}: ${reasons.join(", ")}`);
    }
    if (plan.destroy.length === 0) {
      deps.out("Nothing to prune.");
      return 0;
    }
    if (!options.yes) {
      deps.out(
        `Dry run: nothing destroyed. Run again with --yes to destroy ${plan.destroy.length} preview(s).`,
      );
      return 0;
    }
    let failures = 0;
    for (const { stack } of plan.destroy) {
      try {
        // Unattended and across many stacks, prune never cancels a lock: it may belong to a live run.
        await destroyPreview(workspace, stack.stackName, deps, { recoverLock: false });
        deps.out(`Destroyed ${stack.stackName}.`);
      } catch (error) {
        failures += 1;
        deps.err(`could not destroy ${stack.stackName}: ${firstLine(error)}`);
        if (error instanceof StackLockedError) {
          deps.err(
            `  if no run is active on it, destroy it by hand: ` +
              `npm run preview -- destroy --target ${target} --branch <its branch>`,
          );
        }
      }
    }
    return failures > 0 ? 1 : 0;
  },
});

async function readLiveBranches(path: string, deps: CliDeps): Promise<string[]> {
  let text: string;
  try {
    text = await deps.readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read --live-branches file: ${firstLine(error)}`);
  }
  const branches = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  // An empty list would make every preview look orphaned; a failed `git ls-remote` must not wipe them all.
  if (branches.length === 0)
    throw new UsageError(`--live-branches file ${path} lists no branch; refusing to prune`);
  return branches;
}
