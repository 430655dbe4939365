/**
 * Conflicting writers: in each round, many clients PUT the same activity at once with If-Match on its current
 * version. Exactly one may win (2xx, the next version), every other gets 412, and the stored item is then
 * byte for byte the winner's body, never a mix of two writers' fields.
 */
import { Agent } from "node:http";
import { ACTIVITY_TYPES } from "../../app/src/schemas.js";
import { type Answer, errorBodyProblem, send } from "./http.js";
import { type Outcome, Violations } from "./report.js";
import { startStack, TABLE_NAME } from "./stack.js";

const WRITERS = 16;
const ROUNDS = 25;
const ID = "contested";
const TIMEOUT_MS = 10_000;

/** Writer `writer`'s body in `round`: every field differs from every other writer's, so a mix would show. */
function bodyOf(writer: number, round: number): string {
  return JSON.stringify({
    userId: `writer-${writer}`,
    type: ACTIVITY_TYPES[writer % ACTIVITY_TYPES.length],
    startedAt: new Date(Date.UTC(2026, 0, 1 + writer, round % 24)).toISOString(),
    durationSeconds: 1000 + writer * 100 + round,
    distanceMeters: writer * 1000 + round,
    calories: writer * 10 + round,
    notes: `writer ${writer}, round ${round}`,
  });
}

export async function writers(): Promise<Outcome> {
  const violations = new Violations();
  const stack = await startStack();
  const agent = new Agent({ keepAlive: true, maxSockets: WRITERS });
  const put = (body: string, headers: Record<string, string>) =>
    send(stack.url, {
      method: "PUT",
      path: `/activity/${ID}`,
      headers: { "content-type": "application/json", ...headers },
      body,
      agent,
      timeoutMs: TIMEOUT_MS,
    });
  let sent = 0;
  let won = 0;
  let refused = 0;
  let version = 0;
  try {
    const created = await put(bodyOf(0, 0), { "if-none-match": "*" });
    if (created.status !== 201) throw new Error(`creating ${ID} answered ${created.status}: ${created.body}`);
    version = 1;
    for (let round = 1; round <= ROUNDS; round++) {
      const answers: Answer[] = await Promise.all(
        Array.from({ length: WRITERS }, (_, writer) =>
          put(bodyOf(writer, round), { "if-match": `"${version}"` }),
        ),
      );
      sent += answers.length;
      const winners = answers.filter((answer) => answer.status === 200);
      for (const answer of answers) {
        if (answer.status === 412) {
          refused++;
          const problem = errorBodyProblem(412, answer.body, "", [TABLE_NAME]);
          if (problem) violations.add(`a 412 with an unclean body: ${problem}`);
        } else if (answer.status !== 200) {
          violations.add(
            `a contested PUT answered ${answer.status || answer.error}`,
            answer.body.slice(0, 120),
          );
        }
      }
      won += winners.length;
      if (!violations.check(winners.length === 1, `a round had ${winners.length} winners, not exactly one`)) {
        break;
      }
      const [winner] = winners as [Answer];
      const next = JSON.parse(winner.body).version;
      violations.check(next === version + 1, `the winner of version ${version} wrote version ${next}`);
      violations.check(
        winner.headers.etag === `"${next}"`,
        `the winner's ETag ${winner.headers.etag} is not its version ${next}`,
      );
      version = next;
      const stored = await send(stack.url, {
        method: "GET",
        path: `/activity/${ID}`,
        agent,
        timeoutMs: TIMEOUT_MS,
      });
      violations.check(
        stored.body === winner.body,
        `after round ${round} the stored item is not the winner's body: ${stored.body.slice(0, 120)}`,
      );
    }
    await stack.checkAppFaults(violations);
  } finally {
    agent.destroy();
    await stack.close();
  }
  return {
    figures: {
      rounds: ROUNDS,
      "writers per round": WRITERS,
      "conditional PUTs sent": sent,
      "won (2xx)": won,
      "refused (412)": refused,
      "other answers": sent - won - refused,
      "final version": version,
    },
    violations,
  };
}
