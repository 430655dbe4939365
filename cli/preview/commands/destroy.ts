/**
 * `destroy`: destroys this branch's preview and removes its stack (locally with it the volume its own DynamoDB
 * Local keeps its data on). Idempotent, and it recovers a stack that a killed run left locked.
 */
import { renderDestroyedComment } from "../comment.js";
import { writeStepOutputs } from "../output.js";
import { destroyPreview } from "../stacks.js";
import {
  BRANCH_HELP,
  BRANCH_OPTION,
  branchPreview,
  COMMON_HELP,
  COMMON_OPTIONS,
  defineCommand,
} from "./common.js";

const OPTIONS = { ...COMMON_OPTIONS, ...BRANCH_OPTION } as const;

const HELP = `Usage: npm run preview -- destroy [options]

Destroys this branch's preview on the target and removes its stack; a branch without one is success. A stack
that a killed run left locked is unlocked once (pulumi cancel) and its pending operations cleared. Locally the
preview's own DynamoDB Local goes with it, and the volume that holds its data: destroy is what removes it,
nothing else. The host stays (see host destroy).
When $GITHUB_OUTPUT is set, destroy writes the step outputs stack and comment-body.

Options:
${BRANCH_HELP}
${COMMON_HELP}`;

export const destroyCommand = defineCommand({
  name: "destroy",
  summary: "destroy this branch's preview and remove its stack (success if there is none)",
  options: OPTIONS,
  help: HELP,
  async run(options, target, deps) {
    const names = await branchPreview(options.branch, target, deps);
    const workspace = deps.openWorkspace();
    const outcome = await destroyPreview(workspace, names.stackName, deps, { recoverLock: true });
    if (outcome === "absent") {
      deps.out(`No preview stack ${names.stackName} for branch ${names.branch}; nothing to destroy.`);
      await writeStepOutputs(deps, { stack: names.stackName });
    } else {
      deps.out(`Destroyed ${names.stackName} and removed the stack.`);
      await writeStepOutputs(deps, {
        stack: names.stackName,
        "comment-body": renderDestroyedComment(names.stackName, deps.now()),
      });
    }
    return 0;
  },
});
