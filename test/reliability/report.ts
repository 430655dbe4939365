/** What a reliability scenario hands back: its figures for the table, and the guarantees it saw broken. */

export interface ScenarioOptions {
  /** Soak length. */
  durationSeconds: number;
  /** fast-check seed for the fuzz, so that a failing run can be repeated. */
  seed: number;
}

export interface Outcome {
  /** Figure name to value, printed in this order. */
  figures: Record<string, string | number>;
  violations: Violations;
}

export type Scenario = (options: ScenarioOptions) => Promise<Outcome>;

/**
 * Broken guarantees, one line per kind: a thousand writes answered 500 are one violation with a count and an
 * example, not a thousand lines.
 */
export class Violations {
  private readonly seen = new Map<string, { count: number; example: string | undefined }>();

  add(reason: string, example?: string): void {
    const entry = this.seen.get(reason);
    if (entry) entry.count++;
    else this.seen.set(reason, { count: 1, example });
  }

  /** Adds `reason` unless `holds`; returns `holds`. */
  check(holds: boolean, reason: string): boolean {
    if (!holds) this.add(reason);
    return holds;
  }

  get count(): number {
    return this.seen.size;
  }

  lines(): string[] {
    return [...this.seen].map(([reason, { count, example }]) => {
      const times = count > 1 ? ` (${count} times)` : "";
      return `${reason}${times}${example === undefined ? "" : `; e.g. ${example}`}`;
    });
  }
}

/** Milliseconds as seconds with one decimal, for figures. */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** The value at quantile q (0..1) of `values`, by the nearest-rank method. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}
