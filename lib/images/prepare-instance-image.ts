// Puts the instance's base image (and its kernel, initrd and kernel command line) into the instance folder, as
// Lima's start does before it creates the disk: the images[] entries of the guest's arch are tried in order and the
// first whose files all arrive wins. Turning the image into `disk` (or `iso` for an installer ISO, told apart by
// content) is the driver's step.
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { FilledDenYaml, FilledImage } from "../config/schema.ts";
import { DenError } from "../errors.ts";
import { Disk, Image, Initrd, Kernel, KernelCmdline } from "../store/filenames.ts";
import { denCacheDir } from "./cache-dir.ts";
import type { DownloadListener } from "./download-event.ts";
import { fetchImageFile } from "./fetch-image-file.ts";
import { parseImageLocation } from "./image-location.ts";
import { imageCandidates } from "./select-image.ts";
import { writeAtomically } from "./write-atomically.ts";

export interface PrepareImageContext {
  /** The host user's home folder, for `~/…` locations and the default cache folder. */
  hostHome: string;
  /** Base of relative locations; default the process's working folder. */
  cwd?: string;
  /** Proxy variables and DEN_CACHE_DIR; default the process's environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The download cache; default from `denCacheDir`. */
  cacheDir?: string;
  onEvent?: DownloadListener;
  signal?: AbortSignal;
}

export interface PrepareImageResult {
  /** False when the instance already had its image or disk, so nothing was touched. */
  copied: boolean;
  /** The images[] entry used (when nothing was copied: the first of the arch). */
  image: FilledImage;
}

/**
 * Fetches the image files of `config` into `instanceDir`. Does nothing when `image` or `disk` is already there.
 * The kernel files come first and `image` last, so an existing `image` means every file is in place.
 */
export async function prepareInstanceImage(instanceDir: string, config: FilledDenYaml, ctx: PrepareImageContext): Promise<PrepareImageResult> {
  const candidates = imageCandidates(config.images, config.arch);
  if (existsSync(join(instanceDir, Image)) || existsSync(join(instanceDir, Disk))) return { copied: false, image: candidates[0] as FilledImage };
  const env = ctx.env ?? process.env;
  const options = {
    cwd: ctx.cwd ?? process.cwd(),
    cacheDir: ctx.cacheDir ?? denCacheDir({ env, platform: process.platform, home: ctx.hostHome || homedir() }),
    env,
  };
  const failures: { image: FilledImage; error: unknown }[] = [];
  for (const image of candidates) {
    try {
      await prepareFrom(image, instanceDir, { ...ctx, ...options });
      return { copied: true, image };
    } catch (error) {
      if (ctx.signal?.aborted) throw error;
      failures.push({ image, error });
      if (image !== candidates.at(-1)) ctx.onEvent?.({ kind: "warning", message: `${(error as Error).message}; trying the next image` });
    }
  }
  if (failures.length === 1) throw failures[0]?.error;
  throw new DenError("FETCH_FAILED", `Cannot get an image for arch "${config.arch}": all ${failures.length} images[] entries failed:\n${failures.map(({ error }) => `  - ${(error as Error).message}`).join("\n")}`, {
    hint: "check the network and the images[] locations of the instance (den.yaml)",
    details: { locations: failures.map(({ image }) => image.location) },
  });
}

async function prepareFrom(
  image: FilledImage,
  instanceDir: string,
  ctx: PrepareImageContext & { cwd: string; cacheDir: string; env: Readonly<Record<string, string | undefined>> },
): Promise<void> {
  const where = { home: ctx.hostHome, cwd: ctx.cwd };
  // Every location is parsed before anything is fetched, so a bad kernel location fails before a large image.
  const imageLocation = parseImageLocation(image.location, where);
  const kernelLocation = image.kernel ? parseImageLocation(image.kernel.location, where) : undefined;
  const initrdLocation = image.initrd ? parseImageLocation(image.initrd.location, where) : undefined;
  const common = { cacheDir: ctx.cacheDir, env: ctx.env, onEvent: ctx.onEvent, signal: ctx.signal };

  if (image.kernel && kernelLocation) {
    await fetchImageFile(kernelLocation, join(instanceDir, Kernel), { ...common, what: "kernel", digest: image.kernel.digest, decompress: true });
    await writeAtomically(join(instanceDir, KernelCmdline), image.kernel.cmdline ?? "");
  } else {
    // Files of an earlier image must not turn this one into a direct kernel boot.
    await Promise.all([Kernel, KernelCmdline, Initrd].map((name) => rm(join(instanceDir, name), { force: true })));
  }
  if (image.initrd && initrdLocation) {
    // As Lima: an initrd is passed to QEMU as it is; the kernel unpacks it.
    await fetchImageFile(initrdLocation, join(instanceDir, Initrd), { ...common, what: "initrd", digest: image.initrd.digest, decompress: false });
  } else {
    await rm(join(instanceDir, Initrd), { force: true });
  }
  await fetchImageFile(imageLocation, join(instanceDir, Image), { ...common, what: "image", digest: image.digest, decompress: true });
}
