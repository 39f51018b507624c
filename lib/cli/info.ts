// What `den info [--yq EXPR]` does: print what den knows about itself and the host, as JSON (Lima's `limactl info`).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { join } from "node:path";
import { type DriverRegistry, denDrivers } from "../../drivers/registry.ts";
import { limaArch } from "../config/host-info.ts";
import { discoverPlugins } from "../plugins/find-plugin.ts";
import { processPluginDirs } from "../plugins/plugin-dirs.ts";
import { listTemplates } from "../config/list-templates.ts";
import { validateTemplate } from "../config/validate-template.ts";
import { evaluateYqAll } from "../yq/evaluate-yq.ts";
import { ConfigDir, UserPrivateKey } from "../store/filenames.ts";
import { version } from "../version.ts";
import { contextFrom } from "./context.ts";
import { DefaultTemplateLocator } from "./create-command.ts";
import type { InfoOptions } from "./info-command.ts";
import { templateContextFrom } from "./template-context.ts";

/** What `den info` does (declared in info-command.ts). */
export async function runInfo(options: InfoOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const templateCtx = templateContextFrom(ctx);
  const defaultTemplate = await validateTemplate(DefaultTemplateLocator, templateCtx, { withBaseYaml: true });
  const info = {
    version,
    templates: await listTemplates(templateCtx),
    defaultTemplate: defaultTemplate.config,
    denHome: ctx.denHome,
    ...vmTypeFields(denDrivers()),
    hostOS: process.platform,
    hostArch: limaArch(process.arch),
    identityFile: join(ctx.denHome, ConfigDir, UserPrivateKey),
    // Lima 2.x lists its CLI plugins here as {name, path}.
    plugins: discoverPlugins(processPluginDirs(ctx.env)).map(({ name, path }) => ({ name, path })),
  };
  const values = options.yq === "." ? [info] : evaluateYqAll(JSON.parse(JSON.stringify(info)), options.yq);
  ctx.stdout(values.map((value) => `${typeof value === "string" ? value : JSON.stringify(value)}\n`).join(""));
}

export interface VmTypeFields {
  /** Lima's list: the vmTypes this host can run, in registration order. */
  vmTypes: string[];
  /** Lima's map of the same drivers to where they live (den's are all built in), plus den's name for each. */
  vmTypesEx: Record<string, { location: "internal"; displayName: string }>;
  /** den's own: every registered driver this host cannot run, with why (e.g. "VZ needs macOS 13 or later (…)"). */
  vmTypesUnavailable: Record<string, string>;
}

/**
 * `den info`'s driver fields. Lima lists only drivers that run (it builds vz on macOS only), so its two fields keep
 * that meaning, and the drivers den has but cannot run here go in a field of their own, each with its reason.
 */
export function vmTypeFields(registry: DriverRegistry): VmTypeFields {
  const fields: VmTypeFields = { vmTypes: [], vmTypesEx: {}, vmTypesUnavailable: {} };
  for (const { registration, availability } of registry.list()) {
    if (availability.available) {
      fields.vmTypes.push(registration.vmType);
      fields.vmTypesEx[registration.vmType] = { location: "internal", displayName: registration.displayName };
    } else {
      fields.vmTypesUnavailable[registration.vmType] = availability.reason;
    }
  }
  return fields;
}
