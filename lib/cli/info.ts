// `den info [--yq EXPR]`: what den knows about itself and the host, as JSON (Lima's `limactl info`).
import { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { limaArch } from "../config/host-info.ts";
import { listTemplates } from "../config/list-templates.ts";
import { validateTemplate } from "../config/validate-template.ts";
import { evaluateYqAll } from "../config/yq.ts";
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
      const info = {
        version,
        templates: await listTemplates(templateCtx),
        defaultTemplate: defaultTemplate.config,
        denHome: ctx.denHome,
        vmTypes: process.platform === "darwin" ? ["qemu", "vz"] : ["qemu"],
        hostOS: process.platform,
        hostArch: limaArch(process.arch),
        identityFile: join(ctx.denHome, ConfigDir, UserPrivateKey),
      };
      const values = options.yq === "." ? [info] : evaluateYqAll(JSON.parse(JSON.stringify(info)), options.yq);
      ctx.stdout(values.map((value) => `${typeof value === "string" ? value : JSON.stringify(value)}\n`).join(""));
    });
}
