/** `npm run release -- unpin --stack S`: removes the pin and deploys the working tree as the next release. */
import { isPinned } from "../history.js";
import { type Command, parseCommand, Refusal, readHistory, STACK_OPTIONS } from "./common.js";

export const unpinCommand: Command = {
  name: "unpin",
  summary: "remove the pin and deploy the working tree (a new build) with pulumi up",
  help: `Usage: npm run release -- unpin --stack S

Removes config release from stack S and runs pulumi up, which builds the working tree and ships it as the
next release; the stack's record then says it is no longer pinned. Removing the key yourself
(pulumi config rm release) and running pulumi up does the same.`,
  async run(args, deps) {
    const { values, stack } = parseCommand(args, STACK_OPTIONS);
    if (values.help) {
      deps.out(this.help);
      return 0;
    }
    const history = await readHistory(stack, deps);
    if (!isPinned(history)) {
      throw new Refusal(`stack ${stack} is not pinned: pulumi up ships the working tree`);
    }
    if (history.configuredPin !== undefined) await deps.removePin(stack);
    deps.err(`Unpinned stack ${stack}; deploying the working tree…`);
    await deps.up(stack);
    const serving = (await deps.stackOutputs(stack)).release;
    deps.out(`stack ${stack} serves ${String(serving)}, built from the working tree (not pinned)`);
    return 0;
  },
};
