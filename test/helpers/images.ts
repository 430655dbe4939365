/**
 * The images container suites run, built through the Docker engine's BuildKit with testcontainers: the app
 * from app/Dockerfile, and the dynalite image standing in for amazon/dynamodb-local. BASE_IMAGE, when set,
 * replaces the Dockerfiles' base image (a registry mirror, say); offline, scripts/offline-images.sh provides
 * the official one's stand-in under its own name.
 */
import { GenericContainer, type StartedNetwork, type StartedTestContainer, Wait } from "testcontainers";

const REPOSITORY_ROOT = new URL("../..", import.meta.url).pathname;
const DYNALITE_CONTEXT = new URL("../containers/dynalite", import.meta.url).pathname;
export const DYNALITE_PORT = 8000;

function buildArgs(): Record<string, string> {
  return process.env.BASE_IMAGE ? { BASE_IMAGE: process.env.BASE_IMAGE } : {};
}

export async function buildAppImage(tag = "activity-api:container-test"): Promise<string> {
  await GenericContainer.fromDockerfile(REPOSITORY_ROOT, "app/Dockerfile")
    .withBuildkit()
    .withBuildArgs(buildArgs())
    .build(tag, { deleteOnExit: false });
  return tag;
}

export async function buildDynaliteImage(tag = "activity-api/dynalite:4.0.0"): Promise<string> {
  await GenericContainer.fromDockerfile(DYNALITE_CONTEXT)
    .withBuildkit()
    .withBuildArgs(buildArgs())
    .build(tag, { deleteOnExit: false });
  return tag;
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
