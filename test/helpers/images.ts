/**
 * The images container suites run, built as a user builds them: with the docker CLI and BuildKit, through
 * scripts/docker-build.sh, because the Dockerfiles' secret mounts need a BuildKit client session whenever the
 * build cache does not hold their step (the Engine API's BuildKit, which testcontainers drives, has none). The
 * containers are then started from these images with testcontainers. BASE_IMAGE, when set, replaces the
 * Dockerfiles' base image (a registry mirror, say); offline, scripts/offline-images.sh provides the official
 * one's stand-in under its own name.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GenericContainer, type StartedNetwork, type StartedTestContainer, Wait } from "testcontainers";
import { run } from "./run.js";

const REPOSITORY_ROOT = new URL("../..", import.meta.url).pathname;
const DOCKER_BUILD = new URL("../../scripts/docker-build.sh", import.meta.url).pathname;
const DYNALITE_CONTEXT = new URL("../containers/dynalite", import.meta.url).pathname;
export const DYNALITE_PORT = 8000;

/** The image the app's Dockerfile starts from: BASE_IMAGE when set, else the Dockerfile's pinned default. */
export function appBaseImage(): string {
  if (process.env.BASE_IMAGE) return process.env.BASE_IMAGE;
  const dockerfile = readFileSync(join(REPOSITORY_ROOT, "app/Dockerfile"), "utf8");
  const image = /^ARG BASE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  if (!image) throw new Error("app/Dockerfile declares no default BASE_IMAGE");
  return image;
}

export interface BuildOptions {
  /** The Dockerfile, relative to the context. @default the context's Dockerfile */
  dockerfile?: string;
  /** Build every step again, as on an empty build cache. @default false */
  noCache?: boolean;
}

/**
 * Builds `context` as `tag` and resolves to the tag. A failed build rejects with the build's own last lines
 * (scripts/docker-build.sh prints them), so a suite that cannot start says why.
 */
export async function buildImage(context: string, tag: string, options: BuildOptions = {}): Promise<string> {
  const args = ["--tag", tag];
  if (options.dockerfile) args.push("--file", join(context, options.dockerfile));
  if (options.noCache) args.push("--no-cache");
  if (process.env.BASE_IMAGE) args.push("--build-arg", `BASE_IMAGE=${process.env.BASE_IMAGE}`);
  const result = await run("bash", [DOCKER_BUILD, ...args, context], { cwd: REPOSITORY_ROOT });
  if (result.code !== 0) throw new Error(`building ${tag} failed:\n${result.stderr.trim()}`);
  return tag;
}

export function buildAppImage(
  tag = "activity-api:container-test",
  options: BuildOptions = {},
): Promise<string> {
  return buildImage(REPOSITORY_ROOT, tag, { dockerfile: "app/Dockerfile", ...options });
}

export function buildDynaliteImage(tag = "activity-api/dynalite:4.0.0"): Promise<string> {
  return buildImage(DYNALITE_CONTEXT, tag);
}

/** Where the dynalite image keeps its store when asked to (test/containers/dynalite/Dockerfile). */
const DYNALITE_DATA_DIR = "/data";

/**
 * dynalite on `network` under `alias`, ready when its port accepts connections. Its data lives in memory, or,
 * given `dataVolume`, in that named Docker volume, where it outlives a `docker stop` of the container.
 */
export function startDynaliteContainer(
  image: string,
  network: StartedNetwork,
  alias: string,
  dataVolume?: string,
): Promise<StartedTestContainer> {
  const container = new GenericContainer(image)
    .withNetwork(network)
    .withNetworkAliases(alias)
    .withExposedPorts(DYNALITE_PORT)
    .withWaitStrategy(Wait.forListeningPorts());
  if (dataVolume === undefined) return container.start();
  return container
    .withBindMounts([{ source: dataVolume, target: DYNALITE_DATA_DIR }])
    .withCommand(["-jar", "DynamoDBLocal.jar", "-sharedDb", "-dbPath", DYNALITE_DATA_DIR])
    .start();
}
