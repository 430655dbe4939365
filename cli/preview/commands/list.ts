/**
 * `list`: the target's previews (branch, age, expiry or pin, URL, last update, estimated cost a day), then
 * one line for the target's host.
 */
import { type CostEstimate, describeHostCost, estimateCost, previewPerDay, usd } from "../cost.js";
import type { HostState } from "../host.js";
import { readHost } from "../host.js";
import { describeUpdate, duration, expiry, table } from "../output.js";
import { inspectAll, previewsOf } from "../stacks.js";
import { COMMON_HELP, COMMON_OPTIONS, defineCommand } from "./common.js";

const OPTIONS = { ...COMMON_OPTIONS } as const;

const HELP = `Usage: npm run preview -- list [options]

Lists the target's previews: stack, branch, age, expiry (or "kept" when pinned), URL, last update and
estimated cost a day; then whether the target's host exists, and its cost a day.

Options:
${COMMON_HELP}`;

export const listCommand = defineCommand({
  name: "list",
  summary: "list the target's previews and its host, with their estimated cost a day",
  options: OPTIONS,
  help: HELP,
  async run(_options, target, deps) {
    const workspace = deps.openWorkspace();
    const stacks = await workspace.listStacks();
    const previews = await inspectAll(workspace, previewsOf(target, stacks));
    const host = await readHost(workspace, target);
    const cost = estimateCost(target, host.outputs?.instanceType, previews.length);
    if (previews.length === 0) {
      deps.out(`No ${target} previews.`);
    } else {
      const now = deps.now();
      const each = target === "local" ? "$0" : costCell(cost);
      const rows = [["STACK", "BRANCH", "AGE", "EXPIRES", "URL", "LAST UPDATE", "COST/DAY"]];
      for (const preview of previews) {
        const { metadata } = preview.record;
        const url = await workspace.outputs(preview.record.stackName).then(
          (outputs) => (typeof outputs.apiUrl === "string" ? outputs.apiUrl : "-"),
          () => "?",
        );
        rows.push([
          preview.record.stackName,
          metadata?.branchLabel ?? "?",
          metadata ? duration(now.getTime() - metadata.createdAt.getTime()) : "?",
          metadata ? (metadata.keep ? "kept" : expiry(now, metadata.expiresAt)) : "?",
          url,
          preview.problem ?? describeUpdate(preview.lastUpdate),
          each,
        ]);
      }
      for (const line of table(rows)) deps.out(line);
    }
    deps.out(hostLine(host, cost));
    return 0;
  },
});

function costCell(cost: CostEstimate): string {
  const each = previewPerDay(cost);
  return each === undefined ? "?" : usd(each);
}

function hostLine(host: HostState, cost: CostEstimate): string {
  if (!host.exists) return `Host ${host.stackName}: none; the next up creates it.`;
  if (host.outputs === undefined) {
    return `Host ${host.stackName}: its stack exists but is not deployed; the next up deploys it.`;
  }
  const port = host.outputs.previewPort === undefined ? "" : `:${host.outputs.previewPort}`;
  return `Host ${host.stackName}: deployed, serving *.${host.outputs.previewDomain}${port}; ${describeHostCost(cost)}.`;
}
