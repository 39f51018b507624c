// What `den template list|show|copy|yq|url` do (declared in template-command.ts; `validate` is validate.ts).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { FilledYamlOptions } from "../config/parse.ts";
import { useAbsoluteLocators } from "../config/absolute-locators.ts";
import { listTemplates } from "../config/list-templates.ts";
import { loadTemplate } from "../config/load-template.ts";
import { type Locator, parseLocator } from "../config/locator.ts";
import { readLocator, templateSearchPath } from "../config/read-locator.ts";
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
  if (options.json && options.quiet) throw new DenError("USAGE", "Cannot combine --json with --quiet", { hint: "pick one of them" });
  if (options.json) {
    ctx.stdout(`${JSON.stringify(templates, null, 2)}\n`);
    return;
  }
  if (options.quiet) {
    ctx.stdout(templates.map((template) => `${template.name}\n`).join(""));
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
    text = stringify(result.config, FilledYamlOptions);
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

/**
 * What `den template url` prints for a parsed locator, as Lima's `limactl template url`: a `template:NAME` found in
 * a templates folder is that file's `file://` URL (`templateFile`); one built into den has no file and stays
 * `template:NAME`; a locator whose scheme den rewrites (parseLocator turns it into a URL) is that URL; anything else
 * is printed as written.
 */
export function templateUrl(text: string, locator: Locator, templateFile: string | undefined): string {
  if (locator.kind === "template") return templateFile === undefined ? `template:${locator.name}` : pathToFileURL(templateFile).href;
  if (locator.kind === "url") return locator.url;
  return text;
}

/** `den template url LOCATOR` */
export async function runTemplateUrl(text: string, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const templateCtx = templateContextFrom(ctx);
  const locator = parseLocator(text, templateCtx);
  if (locator.kind === "stdin") throw new DenError("USAGE", 'Cannot print the URL of template "-": it is stdin', { hint: "give a template name, path or URL" });
  let file: string | undefined;
  if (locator.kind === "template") {
    if (locator.warning !== undefined) ctx.logger.warn(locator.warning);
    for (const dir of templateSearchPath(templateCtx)) {
      const path = join(dir, locator.file);
      if (await stat(path).then((found) => found.isFile(), () => false)) {
        file = path;
        break;
      }
    }
    if (file === undefined && !templateCtx.builtinTemplates.has(locator.name)) {
      throw new DenError("TEMPLATE_NOT_FOUND", `Cannot find template "${excerpt(locator.name)}"`, { hint: 'run "den template list" to see the available templates' });
    }
  }
  ctx.stdout(`${templateUrl(text, locator, file)}\n`);
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
  return stringify(value, FilledYamlOptions);
}
