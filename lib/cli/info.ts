// `den info [--yq EXPR]`: what den knows about itself and the host, as JSON (Lima's `limactl info`).
import { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { denDrivers } from "../../drivers/registry.ts";
import { limaArch } from "../config/host-info.ts";
import { listTemplates } from "../config/list-templates.ts";
import { validateTemplate } from "../config/validate-template.ts";
import { evaluateYqAll } from "../yq/evaluate-yq.ts";
import { ConfigDir, UserPrivateKey } from "../store/filenames.ts";
import { version } from "../version.ts";
import { contextFrom } from "./context.ts";
import { DefaultTemplateLocator } from "./create.ts";
import { templateContextFrom } from "./template-context.ts";

export function createInfoCommand() {
  return new Command("info")
    .summary("print den's version, templates, default template and host as JSON")
    .option("--yq <expr>", "apply a yq expression to the JSON", ".")
    .action(async (options, self) => {
      const ctx = contextFrom(self);
      const templateCtx = templateContextFrom(ctx);
      const defaultTemplate = await validateTemplate(DefaultTemplateLocator, templateCtx, { withBaseYaml: true });
      // Lima's vmTypes are the drivers this host can run; vmTypesEx has every registered one, with why it cannot.
      const drivers = denDrivers().list();
      const info = {
        version,
        templates: await listTemplates(templateCtx),
        defaultTemplate: defaultTemplate.config,
        denHome: ctx.denHome,
        vmTypes: drivers.filter((entry) => entry.availability.available).map((entry) => entry.registration.vmType),
        vmTypesEx: Object.fromEntries(drivers.map(({ registration, availability }) => [registration.vmType, { location: "internal", displayName: registration.displayName, ...availability }])),
        hostOS: process.platform,
        hostArch: limaArch(process.arch),
        identityFile: join(ctx.denHome, ConfigDir, UserPrivateKey),
      };
      const values = options.yq === "." ? [info] : evaluateYqAll(JSON.parse(JSON.stringify(info)), options.yq);
      ctx.stdout(values.map((value) => `${typeof value === "string" ? value : JSON.stringify(value)}\n`).join(""));
    });
}
