// What `den create [TEMPLATE] [--name NAME] [edit flags]` does, and what it tells about the new instance.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { IncludedFile } from "../config/embed.ts";
import type { RemoteShare } from "../config/remote-shares.ts";
import { type CreatedInstance, createFromTemplate } from "../instance/create-from-template.ts";
import type { Logger } from "../log.ts";
import { excerpt, excerptPath } from "../errors.ts";
import { contextFrom } from "./context.ts";
import type { CreateOptions } from "./create-command.ts";
import { editFlagsFrom } from "./edit-flags-from.ts";
import { templateContextFrom } from "./template-context.ts";

/** What `den create` does (declared in create-command.ts). */
export async function runCreate(locator: string, options: CreateOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const created = await createFromTemplate(locator, templateContextFrom(ctx), {
    name: options.name,
    flags: editFlagsFrom(options),
  });
  reportCreated(created, ctx.logger);
  ctx.logger.info(`Run "den start ${created.name}" to start the instance.`);
}

/** What `den create` and `den start TEMPLATE` tell about a new instance: warnings, shared folders, embedded files. */
export function reportCreated(created: CreatedInstance, logger: Logger): void {
  for (const warning of created.warnings) logger.warn(warning);
  for (const line of sharedFolderLines(created.shares)) logger.warn(line);
  // The user sees every file and URL whose content den.yaml (and so the guest) now holds.
  for (const file of created.included) logger.info(includedLine(file));
}

/** `Embedded base template "template:_images/debian-13" (named in "template:debian")` */
export function includedLine(file: IncludedFile): string {
  const locator = excerptPath(file.locator);
  const what = file.kind === "base" ? `Embedded base template "${locator}"` : `Inlined file "${locator}"`;
  return file.namedIn === undefined ? `${what} (den adds _config/base.yaml to every template)` : `${what} (named in "${excerptPath(file.namedIn)}")`;
}

/**
 * One line per remote template that shares host folders with the guest:
 * `Template "URL" shares "~" (read-only) and "/tmp/lima" (writable) with the guest; remove them with --mount-none or edit den.yaml`
 */
export function sharedFolderLines(shares: readonly RemoteShare[]): string[] {
  const byTemplate = Map.groupBy(shares, (share) => share.template);
  return [...byTemplate].map(([template, list]) => {
    const folders = list.map((share) => `"${excerpt(share.location, 120)}" (${share.writable ? "writable" : "read-only"})`);
    const joined = folders.length === 1 ? folders[0] : `${folders.slice(0, -1).join(", ")} and ${folders.at(-1)}`;
    return `Template "${excerpt(template, 120)}" shares ${joined} with the guest; remove ${folders.length === 1 ? "it" : "them"} with --mount-none or edit den.yaml`;
  });
}

