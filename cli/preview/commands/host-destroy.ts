/**
 * `host destroy`: destroys the target's preview host and removes its stack, once no preview of the target is
 * left; with one left it refuses (or, with --if-idle, leaves the host and succeeds).
 */
import { PREVIEW_HOST_STACKS } from "../../../stack/contract.js";
import { destroyStack, previewsOf } from "../stacks.js";
import { COMMON_HELP, COMMON_OPTIONS, defineCommand } from "./common.js";

const OPTIONS = { ...COMMON_OPTIONS, "if-idle": { type: "boolean" } } as const;

const HELP = `Usage: npm run preview -- host destroy [options]

Destroys the target's preview host (previews-aws: its EC2 instance, or previews-local: its proxy's
container and network) and removes its stack. Refuses while any preview of the
target exists, naming them. No host is success. Never releases a lock: a host being created or updated by
another run is reported.

Options:
  --if-idle             with previews left, leave the host and succeed (for a scheduled clean-up)
${COMMON_HELP}`;

/** How many of the remaining previews the refusal names. */
const NAMED = 5;

export const hostDestroyCommand = defineCommand({
  name: "host destroy",
  summary: "destroy the target's preview host once no preview is left",
  options: OPTIONS,
  help: HELP,
  async run(options, target, deps) {
    const hostStack = PREVIEW_HOST_STACKS[target];
    const workspace = deps.openWorkspace();
    const stacks = await workspace.listStacks();
    const previews = previewsOf(target, stacks);
    if (previews.length > 0) {
      const named = previews.slice(0, NAMED).join(", ") + (previews.length > NAMED ? ", ..." : "");
      const serving = `${hostStack} still serves ${previews.length} preview(s): ${named}`;
      if (options["if-idle"]) {
        deps.out(`${serving}; left as it is.`);
        return 0;
      }
      throw new Error(
        `${serving}. Destroy them first (npm run preview -- destroy --target ${target} --branch NAME, or prune)`,
      );
    }
    const outcome = await destroyStack(workspace, hostStack, deps, { recoverLock: false });
    if (outcome === "absent") {
      deps.out(`No preview host ${hostStack}; nothing to destroy.`);
      return 0;
    }
    deps.out(`Destroyed the preview host ${hostStack} and removed its stack.`);
    return 0;
  },
});
