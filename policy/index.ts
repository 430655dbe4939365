/**
 * The policy pack that `pulumi preview --policy-pack policy` starts: every rule of policies.ts, served to the
 * engine under one name.
 *
 * The engine runs a Node.js pack with @pulumi/pulumi's run-policy-pack: from this directory, through its
 * built-in ts-node, as CommonJS (it reads no `typescript` or `nodeargs` option; pulumi/pulumi#4830). So the
 * policies are imported as "#policies", a subpath import of package.json that both that CommonJS require and
 * the repository's ESM type check resolve; a relative "./policies.js" would name a file that does not exist.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "#policies";

new PolicyPack("activity-api-security", { policies });
