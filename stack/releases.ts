/**
 * The release record: which releases a stack keeps the images of and when it first served each, as the
 * program carries it from one update to the next in the stack's `releases` output, and how config `release`
 * (a pin) is resolved against it. Pure, so that the program and its tests share every rule.
 */
import { configKey, type ReleasePin, type ReleaseRecord } from "./contract.js";
import { StackConfigError } from "./validation.js";

/** The record an earlier update left in the stack's outputs; anything else (no update yet) is empty. */
export function readRecord(output: unknown): ReleaseRecord[] {
  if (!Array.isArray(output)) return [];
  return output.filter(
    (entry): entry is ReleaseRecord =>
      typeof entry?.release === "string" &&
      typeof entry.digest === "string" &&
      typeof entry.firstServed === "string",
  );
}

/**
 * The tags whose images the stack keeps once `serving` serves, newest first: the last `keep` releases the
 * stack first served (a rollback does not make an old release new again), and always `serving` itself.
 */
export function keptReleases(record: readonly ReleaseRecord[], serving: string, keep: number): string[] {
  const tags = record.map((entry) => entry.release);
  const ordered = tags.includes(serving) ? tags : [serving, ...tags];
  return ordered.filter((tag, index) => index < keep || tag === serving);
}

/** The record after `serving` (with the digest its image has) became the release serving, at `now`. */
export function nextRecord(
  record: readonly ReleaseRecord[],
  serving: Pick<ReleaseRecord, "release" | "digest">,
  now: string,
  keep: number,
): ReleaseRecord[] {
  const entries = [...record, { ...serving, firstServed: now }];
  return keptReleases(record, serving.release, keep).map(
    (tag) => entries.find((entry) => entry.release === tag) as ReleaseRecord,
  );
}

/**
 * The kept release config `release` names, its digest as recorded when the stack first served it (a tag
 * can move in a registry; the record cannot). One line naming the way out when the stack keeps no such
 * release, or when a tag and a digest given together disagree.
 */
export function resolvePin(pin: ReleasePin, record: readonly ReleaseRecord[], stack: string): ReleaseRecord {
  const named = pin.tag === undefined ? pin.digest : pin.tag;
  const found = record.find((entry) =>
    pin.tag === undefined ? entry.digest === pin.digest : entry.release === pin.tag,
  );
  const listing = `npm run release -- list --stack ${stack} shows the releases it keeps`;
  if (found === undefined) {
    throw new StackConfigError(
      `${configKey("release")} "${named}" is not a release stack ${stack} keeps: ${listing}`,
    );
  }
  if (pin.digest !== undefined && found.digest !== pin.digest) {
    throw new StackConfigError(
      `${configKey("release")} "${pin.tag}@${pin.digest}": stack ${stack} recorded release ${found.release} with digest ${found.digest}, not that one: ${listing}`,
    );
  }
  return found;
}
