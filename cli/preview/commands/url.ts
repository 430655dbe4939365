/** `url`: prints the URL of this branch's preview, alone on the last line of stdout, for scripts. */
import { requireOutput } from "../output.js";
import {
  BRANCH_HELP,
  BRANCH_OPTION,
  branchPreview,
  COMMON_HELP,
  COMMON_OPTIONS,
  defineCommand,
} from "./common.js";

const OPTIONS = { ...COMMON_OPTIONS, ...BRANCH_OPTION } as const;

const HELP = `Usage: npm run preview -- url [options]

Prints the URL of this branch's preview on the target, and nothing else, on stdout.

Options:
${BRANCH_HELP}
${COMMON_HELP}`;

export const urlCommand = defineCommand({
  name: "url",
  summary: "print the URL of this branch's preview (only the URL, on stdout)",
  options: OPTIONS,
  help: HELP,
  async run(options, target, deps) {
    const names = await branchPreview(options.branch, target, deps);
    const workspace = deps.openWorkspace();
    if (!(await workspace.listStacks()).includes(names.stackName)) {
      throw new Error(
        `branch ${names.branch} has no preview on ${target} (no stack ${names.stackName}); run up first`,
      );
    }
    deps.out(requireOutput(await workspace.outputs(names.stackName), "apiUrl"));
    return 0;
  },
});
