/**
 * AppImage: builds app/Dockerfile with docker.Image and pushes it to a new ECR repository (AWS stacks) or to a
 * registry the stack names (ssh), or keeps it in the local engine (dev); for a pinned release it builds nothing
 * and takes the image the registry already holds. Its `imageRef` pins the image by digest, so that every
 * environment runs exactly the bits that were built.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { IMAGE_PLATFORM } from "../stack/validation.js";

/**
 * The AWS SDKs, loaded on first use: only an image in ECR needs them, and loading them costs about half a
 * second of every update of a stack that never does (docs/performance.md). Both are CommonJS packages.
 */
const require = createRequire(import.meta.url);
const awsSdks = () => ({
  aws: require("@pulumi/aws") as typeof import("@pulumi/aws"),
  awsx: require("@pulumi/awsx") as typeof import("@pulumi/awsx"),
});

export interface EcrRegistryArgs {
  kind: "ecr";
  /** The images of the last N releases the repository keeps, counted by push; older ones expire. @default 5 */
  keepImages?: number;
  /** Let `pulumi destroy` delete the repository with its images (previews). @default false */
  forceDelete?: boolean;
}

export interface LocalRegistryArgs {
  kind: "local";
  /** Repository part of the local image name. @default "activity-api" */
  repository?: string;
  /**
   * The tags of the other releases whose images the stack keeps (stack/releases.ts keptReleases): each stays
   * in the engine, and an image no longer listed is removed. @default [] (only this release's image)
   */
  keptTags?: string[];
}

/** Any registry (GHCR, Docker Hub, a self-hosted one): pushed with these credentials, pulled with them too. */
export interface RemoteRegistryArgs {
  kind: "registry";
  /** `host[:port][/namespace]`: the image is `<server>/<repository>:<tag>`. */
  server: string;
  username: string;
  /** A secret: it stays one in the state and in the credentials the image exports. */
  password: pulumi.Input<string>;
  /** @default "activity-api" */
  repository?: string;
}

export interface AppImageArgs {
  /**
   * Build context: the repository root, because the npm workspaces share one lockfile. Relative to the project
   * directory, like `dockerfile`, so that the state holds no machine-specific path (an absolute path would
   * differ between a laptop and CI and force a rebuild). @default "."
   */
  context?: string;
  /** The Dockerfile, relative to the project directory. @default "app/Dockerfile" */
  dockerfile?: string;
  /** The image tag: a version, content hash or commit id; never "latest" (see contentTag). */
  tag: string;
  /**
   * A pinned release: `tag` is already in the registry with this digest (a local image id, or the
   * repository's manifest digest), and nothing is built. @default unset: build `tag` from `context`
   */
  pinnedDigest?: string;
  /** The Dockerfile's BASE_IMAGE build argument. @default unset: the Dockerfile's pinned official image */
  baseImage?: string;
  /** Target platform. @default "linux/amd64", the EC2 host's, so that one image runs everywhere */
  platform?: string;
  /**
   * `ecr`: a new private repository (scan on push, immutable tags, lifecycle); `local`: build only; `registry`:
   * pushed to a registry the stack does not manage.
   */
  registry: EcrRegistryArgs | LocalRegistryArgs | RemoteRegistryArgs;
}

/** Registry credentials a remote Docker engine needs to pull this image. */
export interface RegistryAuth {
  address: string;
  username: string;
  password: string;
}

/** Files and folders of the build context that make the image (what .dockerignore lets through). */
const CONTEXT_INPUTS = ["package.json", "package-lock.json", "tsconfig.json", ".dockerignore", "app"];
const SKIPPED = new Set(["node_modules", "dist"]);

function contextFiles(root: string, entry: string): string[] {
  const path = join(root, entry);
  if (!statSync(path).isDirectory()) return [entry];
  return readdirSync(path)
    .filter((name) => !SKIPPED.has(name))
    .flatMap((name) => contextFiles(root, join(entry, name)));
}

/**
 * `<app version>-<12 hex of the build inputs' SHA-256>`: the same sources give the same tag, and any change
 * gives a new one, so tags can be immutable and a bug's image can be run again exactly.
 */
export function contentTag(root: string): string {
  const hash = createHash("sha256");
  for (const file of CONTEXT_INPUTS.flatMap((entry) => contextFiles(root, entry)).sort()) {
    hash
      .update(relative(root, join(root, file)))
      .update("\0")
      .update(readFileSync(join(root, file)))
      .update("\0");
  }
  const { version } = JSON.parse(readFileSync(join(root, "app/package.json"), "utf8")) as { version: string };
  return `${version}-${hash.digest("hex").slice(0, 12)}`;
}

/** The ARN of an ECR repository from its URL (`<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<name>`). */
export function ecrRepositoryArn(url: string): string {
  const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/(.+)$/.exec(url);
  if (!match) throw new Error(`not an ECR repository URL: ${url}`);
  const [, account, region, china, name] = match;
  const partition = china ? "aws-cn" : region?.startsWith("us-gov-") ? "aws-us-gov" : "aws";
  return `arn:${partition}:ecr:${region}:${account}:repository/${name}`;
}

export class AppImage extends pulumi.ComponentResource {
  /** The image pinned by digest: `repository@sha256:…` when pushed, the local image id (`sha256:…`) in dev. */
  public readonly imageRef: pulumi.Output<string>;
  /** The tagged name, for people: `repository:tag`. */
  public readonly imageName: pulumi.Output<string>;
  /** ECR only: the repository's ARN, for pull permissions. */
  public readonly repositoryArn: pulumi.Output<string> | undefined;
  /** ECR (short-lived) and a named registry: credentials for a remote engine to pull with (secret). */
  public readonly registryAuth: pulumi.Output<RegistryAuth> | undefined;

  constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("activity:image:AppImage", name, {}, opts);
    const {
      context = ".",
      dockerfile = "app/Dockerfile",
      tag,
      baseImage,
      platform = IMAGE_PLATFORM,
      registry,
      pinnedDigest,
    } = args;
    if (tag === "latest") throw new pulumi.ResourceError("AppImage: the tag must not be latest", this);

    const build: docker.types.input.DockerBuild = {
      context,
      dockerfile,
      platform,
      builderVersion: "BuilderBuildKit",
      ...(baseImage === undefined ? {} : { args: { BASE_IMAGE: baseImage } }),
    };

    if (registry.kind === "local") {
      const repository = registry.repository ?? "activity-api";
      const image =
        pinnedDigest === undefined
          ? new docker.Image(
              `${name}-image`,
              { imageName: `${repository}:${tag}`, build, skipPush: true },
              { parent: this },
            ).imageName
          : pulumi.output(`${repository}:${tag}`);
      // docker.Image never deletes what it built. These resources own the kept releases' images in the local
      // engine: found there, never pulled, and removed once the stack no longer keeps that release (or on
      // destroy), so that neither updates nor `destroy` leave one image per source change behind, while the
      // last releases stay for a rollback. Each name carries its tag: a release owns its image. Under one name,
      // a revert to the tag an update had just failed to replace would leave two owners of one image, and the
      // old one's removal fails on the container of the new one.
      const local = new docker.RemoteImage(
        `${name}-local-image-${tag}`,
        { name: image, keepLocally: false },
        { parent: this },
      );
      for (const kept of (registry.keptTags ?? []).filter((kept) => kept !== tag)) {
        new docker.RemoteImage(
          `${name}-local-image-${kept}`,
          { name: `${repository}:${kept}`, keepLocally: false },
          { parent: this },
        );
      }
      this.imageRef = local.imageId;
      this.imageName = image;
    } else if (registry.kind === "registry") {
      // The login address is the host part: a namespace (ghcr.io/owner) belongs to the image's name only.
      const address = registry.server.split("/")[0] ?? registry.server;
      const auth = pulumi.secret(
        pulumi
          .output(registry.password)
          .apply((password) => ({ address, username: registry.username, password })),
      );
      const repository = `${registry.server}/${registry.repository ?? "activity-api"}`;
      if (pinnedDigest === undefined) {
        const image = new docker.Image(
          `${name}-image`,
          {
            imageName: `${repository}:${tag}`,
            build,
            registry: {
              server: address,
              username: registry.username,
              password: pulumi.secret(registry.password),
            },
          },
          { parent: this },
        );
        this.imageRef = image.repoDigest;
        this.imageName = image.imageName;
      } else {
        this.imageRef = pulumi.output(`${repository}@${pinnedDigest}`);
        this.imageName = pulumi.output(`${repository}:${tag}`);
      }
      this.registryAuth = auth;
    } else {
      const { aws, awsx } = awsSdks();
      const repository = new awsx.ecr.Repository(
        `${name}-repo`,
        {
          forceDelete: registry.forceDelete ?? false,
          imageScanningConfiguration: { scanOnPush: true },
          imageTagMutability: "IMMUTABLE",
          lifecyclePolicy: {
            // Every push is a release (tags are immutable, one per release), so the last N pushed images are
            // the images of the last N releases, the ones `npm run release -- list` offers.
            rules: [
              {
                description: `Keep the images of the last ${registry.keepImages ?? 5} releases`,
                tagStatus: "any",
                maximumNumberOfImages: registry.keepImages ?? 5,
              },
            ],
          },
        },
        { parent: this },
      );
      // A token valid for 12 hours, fetched on every run: no long-lived registry secret exists anywhere.
      const token = aws.ecr.getAuthorizationTokenOutput({}, { parent: this });
      const auth = pulumi.secret(
        pulumi
          .all([repository.url, token.userName, token.password])
          .apply(([url, username, password]) => ({ address: url.split("/")[0] ?? url, username, password })),
      );
      if (pinnedDigest === undefined) {
        const image = new docker.Image(
          `${name}-image`,
          {
            imageName: pulumi.interpolate`${repository.url}:${tag}`,
            build,
            registry: { server: auth.address, username: auth.username, password: auth.password },
          },
          { parent: this },
        );
        this.imageRef = image.repoDigest;
        this.imageName = image.imageName;
      } else {
        this.imageRef = pulumi.interpolate`${repository.url}@${pinnedDigest}`;
        this.imageName = pulumi.interpolate`${repository.url}:${tag}`;
      }
      this.repositoryArn = repository.url.apply(ecrRepositoryArn);
      this.registryAuth = auth;
    }

    this.registerOutputs({
      imageRef: this.imageRef,
      imageName: this.imageName,
      repositoryArn: this.repositoryArn,
      registryAuth: this.registryAuth,
    });
  }
}
