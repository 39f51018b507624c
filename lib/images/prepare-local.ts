// Puts the instance's base image (and its kernel, initrd and kernel command line) into the instance folder from
// the first images[] entry of the guest's arch, as Lima's start does before it creates the disk. Only local
// files are handled: a local path, `~/…` or a file:// URL. Downloading http(s) images is issue 5; until then such
// a location is refused with a message that says so.
import { existsSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FilledDenYaml, FilledImage } from "../config/schema.ts";
import { DenError } from "../errors.ts";
import { Disk, Image, Initrd, Kernel, KernelCmdline } from "../store/filenames.ts";
import { copyLocalFile } from "./copy-local-file.ts";
import { type ImageLocation, parseImageLocation } from "./image-location.ts";

export interface PrepareImageContext {
  /** The host user's home folder, for `~/…` locations. */
  hostHome: string;
  /** Base of relative locations; default the process's working folder. */
  cwd?: string;
  signal?: AbortSignal;
}

export interface PrepareImageResult {
  /** False when the instance already had its image or disk, so nothing was touched. */
  copied: boolean;
  /** The images[] entry used (also when nothing was copied). */
  image: FilledImage;
}

/** The first images[] entry for `arch`; throws CONFIG_INVALID naming the arches there are. */
export function selectImage(images: readonly FilledImage[], arch: string): FilledImage {
  const image = images.find((candidate) => candidate.arch === arch);
  if (image) return image;
  const available = [...new Set(images.map((candidate) => candidate.arch))];
  throw new DenError("CONFIG_INVALID", `No image for arch "${arch}" in images`, {
    hint: available.length > 0 ? `add an images[] entry with arch: ${arch}, or set arch to one of: ${available.join(", ")}` : "add an images[] entry with a location and an arch",
  });
}

/**
 * Copies the image files of `config` into `instanceDir`. Does nothing when `image` or `disk` is already there.
 * The kernel files are copied first and `image` last, so an existing `image` means every file is in place.
 */
export async function prepareInstanceImage(instanceDir: string, config: FilledDenYaml, ctx: PrepareImageContext): Promise<PrepareImageResult> {
  const image = selectImage(config.images, config.arch);
  if (existsSync(join(instanceDir, Image)) || existsSync(join(instanceDir, Disk))) return { copied: false, image };

  const where = { home: ctx.hostHome, cwd: ctx.cwd ?? process.cwd() };
  // Every location is checked before anything is copied, so a remote kernel fails before a large image copy.
  const imagePath = localPath(parseImageLocation(image.location, where), "image");
  const kernelPath = image.kernel ? localPath(parseImageLocation(image.kernel.location, where), "kernel") : undefined;
  const initrdPath = image.initrd ? localPath(parseImageLocation(image.initrd.location, where), "initrd") : undefined;
  const common = { signal: ctx.signal };

  if (image.kernel && kernelPath) {
    await copyLocalFile(kernelPath, join(instanceDir, Kernel), { ...common, what: "kernel", digest: image.kernel.digest, decompress: true });
    await writeAtomically(join(instanceDir, KernelCmdline), image.kernel.cmdline ?? "");
  } else {
    // Files of an earlier image must not turn this one into a direct kernel boot.
    await Promise.all([Kernel, KernelCmdline, Initrd].map((name) => rm(join(instanceDir, name), { force: true })));
  }
  if (image.initrd && initrdPath) {
    // As Lima: an initrd is passed to QEMU as it is; the kernel unpacks it.
    await copyLocalFile(initrdPath, join(instanceDir, Initrd), { ...common, what: "initrd", digest: image.initrd.digest, decompress: false });
  }
  await copyLocalFile(imagePath, join(instanceDir, Image), { ...common, what: "image", digest: image.digest, decompress: true });
  return { copied: true, image };
}

function localPath(location: ImageLocation, what: string): string {
  if (location.kind === "local") return location.path;
  throw new DenError("FETCH_FAILED", `Cannot download ${what} "${location.url}": den cannot download remote images yet (issue 5)`, {
    hint: `download the file yourself and set the ${what} location in images[] to its local path or a file:// URL`,
  });
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o644 });
  await rename(temporary, path);
}
