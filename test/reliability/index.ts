/**
 * `npm run reliability -- <scenario|all>`: runs the reliability scenarios against the real app (in process and
 * in its container on the local Docker engine), prints each one's figures, and exits 1 if a guarantee broke.
 */
import { parseArgs } from "node:util";
import { fuzz } from "./fuzz.js";
import { hardening } from "./hardening.js";
import { outage } from "./outage.js";
import { type Outcome, type Scenario, seconds, Violations } from "./report.js";
import { DEFAULT_SOAK_SECONDS, soak } from "./soak.js";
import { stop } from "./stop.js";
import { writers } from "./writers.js";

const SCENARIOS: Record<string, { title: string; run: Scenario }> = {
  outage: { title: "DB outage: every request answered, every acknowledged write kept", run: outage },
  fuzz: { title: "Hostile input: no 5xx, no crash, no internal detail", run: fuzz },
  soak: { title: "Sustained load: errors, latency and memory over time", run: soak },
  stop: { title: "docker stop under load: in-flight finish, new refused, exit 0", run: stop },
  writers: { title: "Conflicting writers: one winner per version, the rest 412", run: writers },
  hardening: { title: "Container hardening and Dockerfile lint", run: hardening },
};

const USAGE = `Usage: npm run reliability -- <${Object.keys(SCENARIOS).join("|")}|all> [options]

Scenarios:
${Object.entries(SCENARIOS)
  .map(([name, { title }]) => `  ${name.padEnd(10)}${title}`)
  .join("\n")}
  all       every scenario above, one after the other (4 to 5 minutes with the default soak)

Options:
  --duration SECONDS   soak: how long to keep the load on (default ${DEFAULT_SOAK_SECONDS})
  --seed N             fuzz: fast-check seed, to repeat a run (default: random, printed)
  -h, --help           show this help

Needs a Docker engine (images are built with BuildKit through testcontainers). Where images cannot be
pulled: sudo bash scripts/offline-images.sh, then TESTCONTAINERS_RYUK_DISABLED=true.
All traffic stays on loopback and the scenarios' own Docker networks.
Exit status: 0 every guarantee held, 1 a guarantee broke or a scenario could not run, 2 bad usage.`;

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        duration: { type: "string", default: String(DEFAULT_SOAK_SECONDS) },
        seed: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
}

const { values, positionals } = parse();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const [choice, ...extra] = positionals;
if (choice === undefined) usageError("Name a scenario, or all.");
if (extra.length > 0) usageError(`One scenario at a time (or all); got ${positionals.join(" ")}.`);
if (choice !== "all" && !(choice in SCENARIOS)) usageError(`No scenario named ${choice}.`);
const durationSeconds = Number(values.duration);
if (!Number.isInteger(durationSeconds) || durationSeconds < 10 || durationSeconds > 3600) {
  usageError(`--duration must be a whole number of seconds from 10 to 3600; got ${values.duration}.`);
}
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(seed)) usageError(`--seed must be an integer; got ${values.seed}.`);

const chosen = choice === "all" ? Object.keys(SCENARIOS) : [choice];
const summary: Array<{ scenario: string; wall: string; result: string }> = [];
for (const name of chosen) {
  const { title, run } = SCENARIOS[name] as (typeof SCENARIOS)[string];
  console.log(`\n=== ${name}: ${title} ===`);
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = await run({ durationSeconds, seed });
  } catch (error) {
    const violations = new Violations();
    violations.add(`the scenario could not run: ${error instanceof Error ? error.message : String(error)}`);
    outcome = { figures: {}, violations };
  }
  const wall = seconds(performance.now() - started);
  const width = Math.max(0, ...Object.keys(outcome.figures).map((figure) => figure.length));
  for (const [figure, value] of Object.entries(outcome.figures))
    console.log(`  ${figure.padEnd(width)}  ${value}`);
  for (const line of outcome.violations.lines()) console.log(`VIOLATION ${name}: ${line}`);
  const result = outcome.violations.count === 0 ? "held" : `${outcome.violations.count} violated`;
  console.log(`${name}: guarantees ${result} (${wall} s)`);
  summary.push({ scenario: name, wall, result });
}
if (summary.length > 1) {
  console.log("\nscenario    wall s  result");
  for (const row of summary)
    console.log(`${row.scenario.padEnd(10)}  ${row.wall.padStart(6)}  ${row.result}`);
}
const held = summary.filter((row) => row.result === "held").length;
console.log(`reliability: ${held} passed, ${summary.length - held} failed`);
process.exit(held === summary.length ? 0 : 1);
