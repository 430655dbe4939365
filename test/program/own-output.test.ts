/**
 * The stack's own outputs, which name the release still serving when a new one fails. CI's engine run taught
 * the rule: a StackReference to the stack being updated failed that update on a file backend with "failed to
 * load checkpoint: EOF" (the state was read while the update wrote it). The program reads its own outputs only
 * when a release fails, through an invoke whose error it can answer, and tries again.
 */
import { describe, expect, it } from "vitest";
import { OWN_OUTPUT_READ, readOwnOutput } from "../../stack/references.js";
import { installMocks, runProgram, USER_VALUES } from "../helpers/pulumi.js";

const EOF = new Error(
  "invocation of pulumi:pulumi:readStackOutputs returned an error: failed to load checkpoint: EOF",
);

describe("readOwnOutput", () => {
  it("reads this stack's last outputs by its full name, as a StackReference's read would", async () => {
    await installMocks("dev", { "organization/activity-api/dev": { release: "0.1.0-0123456789ab" } });
    expect(await readOwnOutput("release")).toBe("0.1.0-0123456789ab");
    expect(await readOwnOutput("apiUrl")).toBeUndefined();
    await installMocks("dev");
    expect(await readOwnOutput("release")).toBeUndefined();
  });

  it("tries again when the read fails while the update writes the state, pausing between tries", async () => {
    const names: string[] = [];
    const pauses: number[] = [];
    await installMocks("dev");
    let calls = 0;
    const release = await readOwnOutput(
      "release",
      async (token, args) => {
        expect(token).toBe("pulumi:pulumi:readStackOutputs");
        names.push(args.name);
        calls += 1;
        if (calls <= 2) throw EOF;
        return { outputs: { release: "0.1.0-good" } };
      },
      async (ms) => {
        pauses.push(ms);
      },
    );
    expect(release).toBe("0.1.0-good");
    expect(names).toEqual(Array(3).fill("organization/activity-api/dev"));
    expect(pauses).toEqual([OWN_OUTPUT_READ.pauseMs, OWN_OUTPUT_READ.pauseMs]);
  });

  it("gives up after its tries with the last error, for the failure message to report", async () => {
    await installMocks("dev");
    let calls = 0;
    await expect(
      readOwnOutput(
        "release",
        async () => {
          calls += 1;
          throw EOF;
        },
        async () => {},
      ),
    ).rejects.toBe(EOF);
    expect(calls).toBe(OWN_OUTPUT_READ.attempts);
  });
});

describe("a stack and its own state", () => {
  for (const [stack, values] of [
    ["dev", {}],
    ["test", USER_VALUES],
  ] as const) {
    it(`${stack}: no StackReference to itself, and one read of its own outputs (the release record) while nothing fails`, async () => {
      const run = await runProgram(stack, values);
      const references = run.ofType("pulumi:pulumi:StackReference");
      expect(references.map((reference) => reference.inputs.name)).not.toContain(
        `organization/activity-api/${stack}`,
      );
      expect(
        run.invokes
          .filter((invoke) => invoke.token === "pulumi:pulumi:readStackOutputs")
          .map((invoke) => invoke.args),
      ).toEqual([{ name: `organization/activity-api/${stack}` }]);
    });
  }
});
