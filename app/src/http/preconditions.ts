/** HTTP conditional requests (RFC 9110 §13): ETags carry the item's version; If-Match makes writes safe. */
import type { Precondition } from "../db/activities.js";
import { BadRequestError } from "../errors.js";

const MAX_TAGS = 16;
const STRONG_TAG = /^"([1-9][0-9]{0,14})"$/;
const WEAK_TAG = /^W\/"[^"]*"$/;

export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * Parses If-Match / If-None-Match into a storage precondition. Weak tags never match (If-Match uses strong
 * comparison), so a list of only weak tags is a precondition that cannot hold: `versions: []`.
 */
export function parsePrecondition(
  ifMatch: string | undefined,
  ifNoneMatch: string | undefined,
): Precondition {
  if (ifMatch !== undefined && ifNoneMatch !== undefined) {
    throw new BadRequestError("send If-Match or If-None-Match, not both", "If-Match");
  }
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== "*") {
      throw new BadRequestError('If-None-Match supports only "*" (create only if absent)', "If-None-Match");
    }
    return { kind: "absent" };
  }
  if (ifMatch === undefined) return { kind: "none" };
  if (ifMatch.trim() === "*") return { kind: "exists" };
  const tags = ifMatch.split(",").map((tag) => tag.trim());
  const invalid = new BadRequestError(
    `If-Match must be "*" or up to ${MAX_TAGS} ETags as returned by this API, such as "3"`,
    "If-Match",
  );
  if (tags.length > MAX_TAGS) throw invalid;
  const versions: number[] = [];
  for (const tag of tags) {
    const strong = STRONG_TAG.exec(tag);
    if (strong?.[1] !== undefined) versions.push(Number(strong[1]));
    else if (!WEAK_TAG.test(tag)) throw invalid;
  }
  return { kind: "versions", versions };
}
