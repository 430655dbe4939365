Object.defineProperty(exports, "__esModule", { value: true });
/**
 * The policy pack that `pulumi preview --policy-pack policy` starts: every rule of policies.ts, served to the
 * engine under one name.
 *
 * The engine runs a Node.js pack with @pulumi/pulumi's run-policy-pack: from this directory, through its
 * built-in ts-node, as CommonJS (it reads no `typescript` or `nodeargs` option; pulumi/pulumi#4830). So the
 * policies are imported as "#policies", a subpath import of package.json that both that CommonJS require and
 * the repository's ESM type check resolve; a relative "./policies.js" would name a file that does not exist.
 */
const policy_1 = require("@pulumi/policy");
const _policies_1 = require("#policies");
new policy_1.PolicyPack("activity-api-security", { policies: _policies_1.policies });
