/**
 * `npm run release -- check --stack S`: exit 1, with one line, when the stack is pinned, so that a deploy
 * workflow never ships over a rollback; exit 0 otherwise.
 */
import { isPinned, pinLine } from "../history.js";
import { type Command, parseCommand, Refusal, readHistory, STACK_OPTIONS } from "./common.js";

export const checkCommand: Command = {
  name: "check",
  summary: "fail when the stack is pinned (what the deploy workflow runs before pulumi up)",
  help: `Usage: npm run release -- check --stack S

Exits 0 when stack S is not pinned, and 1 with one line when it is: pinned by config release in this
checkout, or deployed pinned by its last update (a rollback made elsewhere). A pinned stack stays on its
release until someone unpins it (npm run release -- unpin --stack S).`,
  async run(args, deps) {
    const { values, stack } = parseCommand(args, STACK_OPTIONS);
    if (values.help) {
      deps.out(this.help);
      return 0;
    }
    const history = await readHistory(stack, deps);
    if (isPinned(history)) {
      throw new Refusal(
        `${pinLine(history)}; refusing to deploy over the pin: npm run release -- unpin --stack ${stack} ships the working tree again`,
      );
    }
    deps.out(pinLine(history));
    return 0;
  },
};
