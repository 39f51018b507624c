// What `den disk …` does (declared in disk-command.ts): flags to options, then lib/disks/manage-disks.ts.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { resolve } from "node:path";
import { parseSize } from "../config/units.ts";
import { DiskFormats, type DiskFormat } from "../disks/disk-info.ts";
import { createDisk, deleteDisks, importDisk, listDisks, resizeDisk, unlockDisks } from "../disks/manage-disks.ts";
import { renderDiskJson, renderDiskTable } from "../disks/render-disks.ts";
import { DenError, excerpt } from "../errors.ts";
import type { DiskCreateOptions, DiskDeleteOptions, DiskListOptions, DiskResizeOptions } from "./disk-command.ts";
import { contextFrom } from "./context.ts";

export async function runDiskCreate(name: string, options: DiskCreateOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  await createDisk(name, { denHome: ctx.denHome, logger: ctx.logger, sizeBytes: diskSize(options.size), format: diskFormat(options.format) });
}

export async function runDiskList(names: string[], options: DiskListOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const rows = await listDisks(names, { denHome: ctx.denHome, logger: ctx.logger });
  ctx.stdout(options.json ? renderDiskJson(rows) : renderDiskTable(rows));
}

export async function runDiskDelete(names: string[], options: DiskDeleteOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  await deleteDisks(names, { denHome: ctx.denHome, logger: ctx.logger, force: Boolean(options.force) });
}

export async function runDiskUnlock(names: string[], self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  await unlockDisks(names, { denHome: ctx.denHome, logger: ctx.logger });
}

export async function runDiskResize(name: string, options: DiskResizeOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  await resizeDisk(name, { denHome: ctx.denHome, logger: ctx.logger, sizeBytes: diskSize(options.size) });
}

export async function runDiskImport(name: string, file: string, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  await importDisk(name, { denHome: ctx.denHome, logger: ctx.logger, file: resolve(ctx.cwd, file) });
}

/** `--size` through den's size parser (Lima's RAMInBytes rules), as a usage error. */
export function diskSize(text: string): number {
  try {
    return parseSize(text);
  } catch (error) {
    if (error instanceof DenError) throw new DenError("USAGE", `${error.message} (--size)`, { ...(error.hint !== undefined && { hint: error.hint }) });
    throw error;
  }
}

/** `--format`, with Lima's refusal of anything but qcow2 and raw. */
export function diskFormat(text: string): DiskFormat {
  if ((DiskFormats as readonly string[]).includes(text)) return text as DiskFormat;
  throw new DenError("USAGE", `Cannot create a disk of format "${excerpt(text, 40)}": not supported`, { hint: 'use "qcow2" or "raw"' });
}
