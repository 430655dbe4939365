/**
 * The Node.js versions the API is meant for, and what it says on an older one instead of the AWS SDK's
 * eight-line warning. The image runs Node.js 24, where none of this applies.
 */

/** The oldest Node.js major line that AWS SDK releases from January 2027 run on (aws/aws-sdk-js-v3#7983). */
export const RECOMMENDED_NODE_MAJOR = 22;

/** The AWS SDK's documented switch for its NodeVersionSupportWarning. */
const SDK_WARNING_SWITCH = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

/**
 * On Node.js below 22, the AWS SDK prints a NodeVersionSupportWarning of eight lines to stderr when the first
 * client is made, before any line of the server's. It is about SDK releases that the lockfile does not
 * install, so it is switched off here (unless the environment already sets the switch), and the returned
 * line says what matters in one log line, which the caller writes. Undefined on Node.js 22 and later.
 * Call it before the first client is made.
 */
export function replaceSdkNodeWarning(
  version: string = process.version,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (major >= RECOMMENDED_NODE_MAJOR) return undefined;
  env[SDK_WARNING_SWITCH] ??= "true";
  return (
    `Node.js ${version} is past its end of life, and AWS SDK releases from January 2027 need Node.js ` +
    `${RECOMMENDED_NODE_MAJOR} or later: use Node.js ${RECOMMENDED_NODE_MAJOR} or 24 (the image runs 24)`
  );
}
