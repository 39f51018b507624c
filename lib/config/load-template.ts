// A template from its locator to standalone YAML text: read it, check it on its own (so problems are
// reported at the line the user wrote), then embed its bases. Shared by create, validate, template and info.
import { embedBases } from "./embed.ts";
import { checkLayer } from "./load.ts";
import { instanceNameFromLocator, type Locator, parseLocator, type ParseLocatorOptions } from "./locator.ts";
import { locatorReader, readLocator, type ReadLocatorContext } from "./read-locator.ts";

export interface TemplateContext extends ReadLocatorContext, ParseLocatorOptions {
  /** Absolute path of DEN_HOME/_config/base.yaml when that file exists. */
  baseYaml?: string | undefined;
}

export interface LoadTemplateOptions {
  /** Merge DEN_HOME/_config/base.yaml under the template (create does, as Lima does; plain embedding does not). */
  withBaseYaml?: boolean;
}

export interface LoadedTemplate {
  locator: Locator;
  /** Absolute locator of the text (see ReadLocatorResult). */
  resolvedLocator: string;
  /** How the template is named in messages: its path, URL, `template:NAME`, or `<stdin>`. */
  file: string;
  /** The text as read. */
  sourceText: string;
  /** The text with every base merged in and external scripts inlined, without `base:`. */
  embeddedText: string;
  /** The instance name the locator suggests (none for stdin). */
  suggestedName: string | undefined;
  /** Keys of the `param:` map after embedding: the parameters `--param` may set. */
  params: string[];
  /**
   * The text to check and the file name to report problems against: the source text itself when
   * embedding changed no value (so line numbers match the user's file), else the embedded text.
   */
  located: { text: string; file: string };
  warnings: string[];
}

export async function loadTemplate(locatorText: string, ctx: TemplateContext, options: LoadTemplateOptions = {}): Promise<LoadedTemplate> {
  const locator = parseLocator(locatorText, ctx);
  const { text, resolvedLocator, warnings } = await readLocator(locator, ctx);
  const file = resolvedLocator === "-" ? "<stdin>" : resolvedLocator;
  // Checked alone first: a mistake in the user's own file is then reported at its own line and column.
  const source = checkLayer(text, file).config;
  const embeddedText = await embedBases(text, {
    locator: resolvedLocator,
    read: locatorReader(ctx, ctx),
    ...(options.withBaseYaml && ctx.baseYaml !== undefined && { baseYaml: ctx.baseYaml }),
  });
  const embeddedFile = `${file} (with its bases embedded)`;
  const embedded = checkLayer(embeddedText, embeddedFile).config;
  const unchanged = Bun.deepEquals(source, embedded);
  return {
    locator,
    resolvedLocator,
    file,
    sourceText: text,
    embeddedText,
    suggestedName: instanceNameFromLocator(locator, { hostArch: ctx.hostArch }),
    params: Object.keys(embedded.param ?? {}),
    located: unchanged ? { text, file } : { text: embeddedText, file: embeddedFile },
    warnings,
  };
}
