/** `npm run release -- list --stack S`: the releases the stack keeps, newest first, the serving one marked. */

import { formatHistory } from "../history.js";
import { type Command, parseCommand, readHistory, STACK_OPTIONS } from "./common.js";

const OPTIONS = { ...STACK_OPTIONS, json: { type: "boolean" } } as const;

export const listCommand: Command = {
  name: "list",
  summary: "the releases the stack keeps, newest first; * marks the one serving",
  help: `Usage: npm run release -- list --stack S [--json]

Lists the releases stack S keeps the images of (config keepImages, default 5), newest first, from the
record its updates keep in the stack's \`releases\` output; * marks the one serving. The first line says
whether the stack is pinned (config release).
  --json    the same as one JSON object on stdout`,
  async run(args, deps) {
    const { values, stack } = parseCommand(args, OPTIONS);
    if (values.help) {
      deps.out(this.help);
      return 0;
    }
    const history = await readHistory(stack, deps);
    if (values.json) deps.out(JSON.stringify(history, null, 2));
    else for (const line of formatHistory(history)) deps.out(line);
    return 0;
  },
};
