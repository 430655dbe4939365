/**
 * `npm run release -- rollback --stack S [RELEASE]`: pins the stack to the release before the serving one
 * (or to RELEASE) and deploys it with `pulumi up`, through the same zero-downtime rollout as any release,
 * building nothing.
 */
import { pinOf } from "../../../stack/contract.js";
import type { ReleaseHistory } from "../history.js";
import { type Command, parseCommand, Refusal, readHistory, STACK_OPTIONS } from "./common.js";

/** The kept release to return to: `named` (a tag, or a digest), else the one recorded after the serving one. */
export function rollbackTarget(history: ReleaseHistory, named: string | undefined) {
  const { stack, releases, serving } = history;
  const listing = `npm run release -- list --stack ${stack} shows the releases it keeps`;
  if (named !== undefined) {
    const found = releases.find((entry) => entry.release === named || entry.digest === named);
    if (found === undefined) throw new Refusal(`stack ${stack} keeps no release ${named}: ${listing}`);
    return found;
  }
  const index = releases.findIndex((entry) => entry.release === serving);
  if (index === -1) {
    throw new Refusal(`stack ${stack} serves no recorded release: name one to roll back to; ${listing}`);
  }
  const previous = releases[index + 1];
  if (previous === undefined) {
    throw new Refusal(`stack ${stack} keeps no release before ${serving}: ${listing}`);
  }
  return previous;
}

export const rollbackCommand: Command = {
  name: "rollback",
  summary: "pin the stack to the previous (or named) release and deploy it, without a build",
  help: `Usage: npm run release -- rollback --stack S [RELEASE]

Sets config release of stack S to RELEASE (a kept tag or digest; default: the release recorded before the
one serving) as <tag>@<digest>, the digest the stack recorded, then runs pulumi up: the release starts
beside the serving one and takes over once ready, as every release does. Nothing is built.
The stack stays pinned until npm run release -- unpin --stack S.`,
  async run(args, deps) {
    const { values, positionals, stack } = parseCommand(args, STACK_OPTIONS, 1);
    if (values.help) {
      deps.out(this.help);
      return 0;
    }
    const history = await readHistory(stack, deps);
    const target = rollbackTarget(history, positionals[0]);
    if (target.serving) throw new Refusal(`stack ${stack} already serves ${target.release}`);
    const pin = pinOf(target);
    const started = deps.now().getTime();
    await deps.setPin(stack, pin);
    deps.err(`Pinned stack ${stack} to ${pin}; deploying it…`);
    await deps.up(stack);
    const seconds = (deps.now().getTime() - started) / 1000;
    deps.out(
      `stack ${stack} serves ${target.release} (pinned) after ${seconds.toFixed(1)} s: npm run release -- unpin --stack ${stack} ships the working tree again`,
    );
    return 0;
  },
};
