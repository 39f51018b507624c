// A template from its locator to standalone YAML text: read it, check it on its own (so problems are
// reported at the line the user wrote), then embed its bases. Shared by create, validate, template and info.
import { embedBases, type IncludedFile } from "./embed.ts";
import { type CheckedLayer, checkLayer } from "./load.ts";
import { instanceNameFromLocator, type Locator, parseLocator, type ParseLocatorOptions } from "./locator.ts";
import { locatorReader, readLocator, type ReadLocatorContext } from "./read-locator.ts";
import type { RemoteShare } from "./remote-shares.ts";
import { type ResolveLocatorContext, resolveLocator } from "./resolve-locator.ts";

export interface TemplateContext extends ReadLocatorContext, ParseLocatorOptions, Pick<ResolveLocatorContext, "urlPlugin" | "github" | "exists"> {
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
  /** Every base template and script file read to make `embeddedText`. */
  included: IncludedFile[];
  /** Host folders `embeddedText` shares with the guest because a remote template asks for it. */
  shares: RemoteShare[];
  /** The instance name the locator suggests (none for stdin). */
  suggestedName: string | undefined;
  /** Keys of the `param:` map after embedding: the parameters `--param` may set. */
  params: string[];
  /**
   * The text to check and the file name to report problems against: the source text itself when
   * embedding changed no value (so line numbers match the user's file), else the embedded text.
   */
  located: { text: string; file: string; layer: CheckedLayer };
  warnings: string[];
}

export async function loadTemplate(locatorText: string, ctx: TemplateContext, options: LoadTemplateOptions = {}): Promise<LoadedTemplate> {
  // github: and plugin schemes first: what they stand for is read, named and checked like any other locator.
  const custom = await resolveLocator(locatorText, ctx);
  const locator = parseLocator(custom.locator, ctx);
  const { text, resolvedLocator, warnings: readWarnings } = await readLocator(locator, ctx);
  const warnings = [...custom.warnings, ...readWarnings];
  const file = resolvedLocator === "-" ? "<stdin>" : resolvedLocator;
  // Checked alone first: a mistake in the user's own file is then reported at its own line and column.
  const sourceLayer = checkLayer(text, file);
  const source = sourceLayer.config;
  const { text: embeddedText, included, shares, value: embeddedValue } = await embedBases(text, {
    locator: resolvedLocator,
    parsed: sourceLayer.parsed,
    read: locatorReader(ctx, ctx),
    resolve: async (named) => (await resolveLocator(named, ctx)).locator,
    host: { home: ctx.home, denHome: ctx.denHome },
    ...(options.withBaseYaml && ctx.baseYaml !== undefined && { baseYaml: ctx.baseYaml }),
  });
  const embeddedFile = `${file} (with its bases embedded)`;
  // Parsing is the costly step (a second per MB): when embedding changed no value, the source's check stands for
  // the embedded text too, and its lines are the user's.
  const embeddedLayer = Bun.deepEquals(sourceLayer.parsed.value, embeddedValue) ? sourceLayer : checkLayer(embeddedText, embeddedFile);
  const embedded = embeddedLayer.config;
  const unchanged = embeddedLayer === sourceLayer || Bun.deepEquals(source, embedded);
  return {
    locator,
    resolvedLocator,
    file,
    sourceText: text,
    embeddedText,
    included,
    shares,
    suggestedName: instanceNameFromLocator(locator, { hostArch: ctx.hostArch }),
    params: Object.keys(embedded.param ?? {}),
    located: unchanged ? { text, file, layer: sourceLayer } : { text: embeddedText, file: embeddedFile, layer: embeddedLayer },
    warnings,
  };
}
