/** HTTP conditional requests (RFC 9110 §13): ETags carry the item's version; If-Match makes writes safe. */
import type { Precondition } from "../db/activities.js";
import { BadRequestError } from "../errors.js";

/** DynamoDB's limit on the operands of an IN condition, which holds the versions If-Match names. */
const MAX_VERSIONS = 100;
/** An entity-tag (RFC 9110 §8.8.3): optionally weak, then any etagc (visible characters but `"`) in quotes. */
const ENTITY_TAG = String.raw`(?:W/)?"[\x21\x23-\x7E\x80-\xFF]*"`;
/** A list of entity-tags (§5.6.1): empty elements and optional whitespace around commas are allowed. */
const ENTITY_TAG_LIST = new RegExp(
  String.raw`^[ \t]*(?:${ENTITY_TAG}[ \t]*)?(?:,[ \t]*(?:${ENTITY_TAG}[ \t]*)?)*$`,
);
const EACH_ENTITY_TAG = /(W\/)?"([^"]*)"/g;
/** The opaque part of an ETag this API sends (etagOf): a version, a positive integer within double precision. */
const VERSION = /^[1-9][0-9]{0,14}$/;

export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * Parses If-Match / If-None-Match into a storage precondition. If-Match uses strong comparison, so a weak tag,
 * and a well-formed tag this API never sends ("0", "abc"), match no version: a list of only those is a
 * precondition that cannot hold, `versions: []`, answered 412 (§13.1.1). A header that is not a list of
 * entity-tags is a bad request (400).
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
  if (!ENTITY_TAG_LIST.test(ifMatch)) {
    throw new BadRequestError(
      'If-Match must be "*" or a list of ETags as this API returns them, such as "3" or "3", "4"',
      "If-Match",
    );
  }
  const versions = new Set<number>();
  for (const [, weak, opaque = ""] of ifMatch.matchAll(EACH_ENTITY_TAG)) {
    if (weak === undefined && VERSION.test(opaque)) versions.add(Number(opaque));
  }
  if (versions.size > MAX_VERSIONS) {
    throw new BadRequestError(`If-Match may name at most ${MAX_VERSIONS} versions`, "If-Match");
  }
  return { kind: "versions", versions: [...versions] };
}
