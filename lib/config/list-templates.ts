// The templates `template:NAME` can find: those in DEN_TEMPLATES_PATH (or DEN_HOME/_templates), then
// the built-in ones. A name found earlier hides the same name later, as readLocator looks them up.
import { join } from "node:path";
import { templateSearchPath, type ReadLocatorContext } from "./read-locator.ts";

export interface TemplateEntry {
  /** `docker`, `experimental/gentoo`, `_images/ubuntu-24.04` */
  name: string;
  /** The file the name resolves to, or `(built-in)` for a template inside the den binary. */
  location: string;
}

export const BuiltinLocation = "(built-in)";

export interface ListTemplatesContext extends Pick<ReadLocatorContext, "env" | "denHome" | "builtinTemplates"> {
  /** Paths of the `.yaml` files under `dir`, relative to it; empty when `dir` does not exist. */
  listYamlFiles: (dir: string) => Promise<string[]>;
}

export interface ListTemplatesOptions {
  /** Include names starting with `_` (base templates such as `_images/…`), which Lima hides. */
  all?: boolean;
}

/** Every template name with where it is read from, sorted by name. */
export async function listTemplates(ctx: ListTemplatesContext, options: ListTemplatesOptions = {}): Promise<TemplateEntry[]> {
  const found = new Map<string, string>();
  for (const dir of templateSearchPath(ctx)) {
    for (const file of await ctx.listYamlFiles(dir)) {
      const name = file.replaceAll("\\", "/").replace(/\.yaml$/, "");
      if (!found.has(name)) found.set(name, join(dir, file));
    }
  }
  for (const name of ctx.builtinTemplates.keys()) {
    if (!found.has(name)) found.set(name, BuiltinLocation);
  }
  return [...found]
    .filter(([name]) => options.all || !name.startsWith("_"))
    .map(([name, location]) => ({ name, location }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
