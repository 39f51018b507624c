// What `den template list|show|copy|yq` do (declared in template-command.ts; `validate` is validate.ts).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import { useAbsoluteLocators } from "../config/absolute-locators.ts";
import { listTemplates } from "../config/list-templates.ts";
import { loadTemplate } from "../config/load-template.ts";
import { parseLocator } from "../config/locator.ts";
import { readLocator } from "../config/read-locator.ts";
import { validateTemplate } from "../config/validate-template.ts";
import { evaluateYqAll } from "../yq/evaluate-yq.ts";
import { DenError, excerpt, excerptPath } from "../errors.ts";
import { contextFrom } from "./context.ts";
import { templateContextFrom } from "./template-context.ts";
import type { TemplateCopyOptions, TemplateListOptions } from "./template-command.ts";

/** `den template list` */
export async function runTemplateList(options: TemplateListOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const templates = await listTemplates(templateContextFrom(ctx));
  if (options.json) {
    ctx.stdout(`${JSON.stringify(templates, null, 2)}\n`);
    return;
  }
  const width = Math.max(4, ...templates.map((template) => template.name.length));
  const lines = [`${"NAME".padEnd(width)}  LOCATION`, ...templates.map((template) => `${template.name.padEnd(width)}  ${template.location}`)];
  ctx.stdout(`${lines.join("\n")}\n`);
}

/** `den template show TEMPLATE` */
export async function runTemplateShow(name: string, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const templateCtx = templateContextFrom(ctx);
  const { text, warnings } = await readLocator(parseLocator(asLocator(name), templateCtx), templateCtx);
  for (const warning of warnings) ctx.logger.warn(warning);
  ctx.stdout(text.endsWith("\n") || text === "" ? text : `${text}\n`);
}

/** `den template copy TEMPLATE [DEST]` */
export async function runTemplateCopy(locator: string, dest: string, options: TemplateCopyOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const templateCtx = templateContextFrom(ctx);
  const embed = Boolean(options.embed || options.embedAll || options.fill);
  if (embed && options.verbatim) {
    throw new DenError("USAGE", "Cannot combine --verbatim with --embed, --embed-all or --fill", { hint: "--verbatim copies the text unchanged; drop one of them" });
  }
  let text: string;
  if (options.fill) {
    const result = await validateTemplate(locator, templateCtx, { withBaseYaml: true });
    for (const warning of result.warnings) ctx.logger.warn(warning);
    text = stringify(result.config, { lineWidth: 0 });
  } else if (embed) {
    const template = await loadTemplate(locator, templateCtx);
    for (const warning of template.warnings) ctx.logger.warn(warning);
    text = template.embeddedText;
  } else {
    const read = await readLocator(parseLocator(locator, templateCtx), templateCtx);
    for (const warning of read.warnings) ctx.logger.warn(warning);
    text = options.verbatim ? read.text : useAbsoluteLocators(read.text, { locator: read.resolvedLocator });
  }
  if (dest === "-") ctx.stdout(text);
  else {
    try {
      await writeFile(dest, text, { mode: 0o644 });
    } catch (error) {
      throw new DenError("IO", `Cannot write "${excerptPath(dest)}": ${excerpt((error as Error).message, 160)}`, { hint: "check that the folder exists and is writable", cause: error });
    }
  }
}

/** `den template yq TEMPLATE EXPR` */
export async function runTemplateYq(locator: string, expr: string, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const result = await validateTemplate(locator, templateContextFrom(ctx), { withBaseYaml: true });
  for (const warning of result.warnings) ctx.logger.warn(warning);
  ctx.stdout(evaluateYqAll(result.config, expr).map(renderYqValue).join(""));
}

/** A bare name (`docker`, `_images/ubuntu-24.04`) means a template; anything else is a locator. */
function asLocator(text: string): string {
  if (text === "-" || /^[A-Za-z][A-Za-z0-9+.-]+:/.test(text) || /^[./~]/.test(text) || text.endsWith(".yaml") || text.endsWith(".yml")) return text;
  return `template:${text}`;
}

/** As yq prints results: strings bare, everything else as YAML. */
function renderYqValue(value: unknown): string {
  if (typeof value === "string") return `${value}\n`;
  if (value === null || value === undefined) return "null\n";
  return stringify(value, { lineWidth: 0 });
}
