/**
 * What the program's compositions share (index.ts composes the stacks on Docker engines, aws/stacks.ts those on
 * AWS): the release an update deploys, the outputs that record it, and a preview host's outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { contentTag } from "../components/app-image.js";
import {
  type Ec2PreviewHostOutputs,
  type LocalPreviewHostOutputs,
  pinOf,
  type ReleaseRecord,
} from "./contract.js";
import { readOwnOutput, stackReference } from "./references.js";
import { nextRecord, readRecord, resolvePin } from "./releases.js";
import type {
  CiIdentitySettings,
  Ec2PreviewHostSettings,
  LocalPreviewHostSettings,
  StackSettings,
} from "./settings.js";

/** A stack's outputs as the program returns them: each value of the contract's type, or an Output of it. */
export type Outputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** The release this stack served after its last successful update, read only when a new one fails. */
export async function servingRelease(): Promise<string | undefined> {
  const release = await readOwnOutput("release");
  return typeof release === "string" && release !== "" ? release : undefined;
}

/**
 * The release an update deploys: its tag, the kept release it is pinned to (config `release`, resolved
 * against the record), and the release record the stack's last update left.
 */
export interface Release {
  tag: string;
  pinned: ReleaseRecord | undefined;
  record: ReleaseRecord[];
  /** The releases whose images the stack keeps. */
  keep: number;
}

/** The stacks that serve the app, and so deploy a release. */
type ServingSettings = Exclude<
  StackSettings,
  LocalPreviewHostSettings | Ec2PreviewHostSettings | CiIdentitySettings
>;

/**
 * Reads the record, and resolves a pin against it before anything is declared: a release the stack does not
 * keep stops the update with one line, and nothing changes.
 */
export async function releaseOf(settings: ServingSettings): Promise<Release> {
  const record = readRecord(await readOwnOutput("releases"));
  const pinned = settings.release && resolvePin(settings.release, record, settings.stack);
  const tag = pinned ? pinned.release : (settings.imageTag ?? contentTag("."));
  return { tag, pinned, record, keep: settings.keepImages };
}

/** An image reference's digest: the part after `@`, or all of a local image id (`sha256:…`). */
const digestOf = (imageRef: string) => imageRef.slice(imageRef.lastIndexOf("@") + 1);

/**
 * The `releases` and `pinnedRelease` outputs: the record once `serving` serves (known once its container
 * passed the gate, so a refused release is never recorded), and the pin. `firstServed` is this run's clock.
 */
export function releaseOutputs(
  release: Release,
  serving: pulumi.Input<string>,
  imageRef: pulumi.Input<string>,
): { releases: pulumi.Output<ReleaseRecord[]>; pinnedRelease?: string } {
  const now = new Date().toISOString();
  return {
    releases: pulumi
      .all([serving, imageRef])
      .apply(([tag, ref]) =>
        nextRecord(release.record, { release: tag, digest: digestOf(ref) }, now, release.keep),
      ),
    ...(release.pinned && { pinnedRelease: pinOf(release.pinned) }),
  };
}

/** An output of the preview host stack `hostStack`, typed by what that kind of host exports. */
export function hostOutputs<T extends LocalPreviewHostOutputs | Ec2PreviewHostOutputs>(hostStack: string) {
  const host = stackReference(hostStack);
  return <K extends keyof T & string>(name: K) => host.requireOutput(name) as pulumi.Output<T[K]>;
}

/** `http://<label>.<previewDomain>:<previewPort>`, where the preview host's proxy routes the preview. */
export function previewUrl(
  label: string,
  fromHost: (name: "previewDomain" | "previewPort") => pulumi.Output<string | number>,
) {
  return pulumi.interpolate`http://${label}.${fromHost("previewDomain")}:${fromHost("previewPort")}`;
}
