// What `den validate FILE… [--fill]` (also `den template validate`) does; declared in validate-command.ts.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { stringify } from "yaml";
import { FilledYamlOptions } from "../config/parse.ts";
import { validateTemplate } from "../config/validate-template.ts";
import { ExitError, excerptPath, renderError } from "../errors.ts";
import { type CliContext, contextFrom } from "./context.ts";
import { templateContextFrom } from "./template-context.ts";

export async function runValidate(files: readonly string[], options: { fill: boolean }, self: CommandUnknownOpts): Promise<void> {
  await validateFiles(files, options, contextFrom(self));
}

export async function validateFiles(files: readonly string[], options: { fill: boolean }, ctx: CliContext): Promise<void> {
  const templateCtx = templateContextFrom(ctx);
  let failed = 0;
  for (const file of files) {
    try {
      const result = await validateTemplate(file, templateCtx, { withBaseYaml: options.fill });
      for (const warning of result.warnings) ctx.logger.warn(warning);
      ctx.logger.info(`"${excerptPath(file)}": OK`);
      if (options.fill) ctx.stdout(`${files.length > 1 ? "---\n" : ""}${stringify(result.config, FilledYamlOptions)}`);
    } catch (error) {
      failed++;
      process.stderr.write(`${renderError(error, { debug: ctx.debug })}\n`);
    }
  }
  if (failed > 0) throw new ExitError(1);
}
