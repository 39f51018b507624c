// Reading what a template locator points at: the I/O edge of locator.ts. Everything outside the
// process (environment, stdin, network, files, the built-in templates) comes in through `ctx`.
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { userTemplatesDir } from "../store/dirs.ts";
import { parseLocator, type Locator, type ParseLocatorOptions } from "./locator.ts";

/** Lima's limit for a template read from anywhere: larger files are surely not templates. */
export const maxTemplateBytes = 4 * 1024 * 1024;

export interface ReadLocatorContext {
  env: { DEN_TEMPLATES_PATH?: string | undefined };
  /** DEN_HOME; its `_templates` folder is searched when DEN_TEMPLATES_PATH is not set. */
  denHome: string;
  /** Searched after the folders; keyed by name without `.yaml` (`docker`, `_images/ubuntu-24.04`). */
  builtinTemplates: ReadonlyMap<string, string>;
  readStdin: () => Promise<string>;
  /** Rejects with an error whose `code` is "ENOENT" when the file does not exist. */
  readFile: (path: string) => Promise<string>;
  fetch: (url: string) => Promise<Response>;
  /** Architecture assumed for an image locator whose name does not tell. */
  hostArch: string;
}

export interface ReadLocatorResult {
  text: string;
  /**
   * The locator in absolute form (`template:NAME`, an https URL, an absolute path, `-`); relative
   * `base:` and `file:` references in the text are resolved against it.
   */
  resolvedLocator: string;
  warnings: string[];
}

export async function readLocator(locator: Locator, ctx: ReadLocatorContext): Promise<ReadLocatorResult> {
  const warnings = locator.kind === "template" && locator.warning ? [locator.warning] : [];
  switch (locator.kind) {
    case "stdin":
      return { text: checkSize(await ctx.readStdin(), "-"), resolvedLocator: "-", warnings };
    case "template":
      return { text: await readTemplate(locator, ctx), resolvedLocator: `template:${locator.name}`, warnings };
    case "url":
      return { text: await fetchText(locator.url, ctx), resolvedLocator: locator.url, warnings };
    case "file":
      return { text: await readLocalFile(locator.path, ctx), resolvedLocator: locator.path, warnings };
    case "image": {
      const arch = locator.arch ?? ctx.hostArch;
      if (locator.arch === undefined) {
        warnings.push(`Cannot tell the architecture of image "${locator.url}" from its name; assuming "${arch}"`);
      }
      return { text: imageTemplate(locator.url, arch), resolvedLocator: locator.url, warnings };
    }
  }
}

/** The folders searched for `template:NAME`, before the built-in templates. */
export function templateSearchPath(ctx: Pick<ReadLocatorContext, "env" | "denHome">): string[] {
  const fromEnv = ctx.env.DEN_TEMPLATES_PATH;
  if (fromEnv) return fromEnv.split(":").filter((dir) => dir !== "");
  return [userTemplatesDir(ctx.denHome)];
}

async function readTemplate(locator: Extract<Locator, { kind: "template" }>, ctx: ReadLocatorContext): Promise<string> {
  for (const dir of templateSearchPath(ctx)) {
    const path = join(dir, locator.file);
    try {
      return checkSize(await ctx.readFile(path), path);
    } catch (error) {
      if (!isNotFound(error)) throw ioError(path, error);
    }
  }
  const builtin = ctx.builtinTemplates.get(locator.name);
  if (builtin !== undefined) return builtin;
  throw new DenError("TEMPLATE_NOT_FOUND", `Cannot find template "${locator.name}"`, {
    hint: 'run "den template list" to see the available templates',
    details: { searched: templateSearchPath(ctx) },
  });
}

async function readLocalFile(path: string, ctx: ReadLocatorContext): Promise<string> {
  try {
    return checkSize(await ctx.readFile(path), path);
  } catch (error) {
    if (error instanceof DenError) throw error;
    if (isNotFound(error)) {
      throw new DenError("TEMPLATE_NOT_FOUND", `Cannot read template "${path}": no such file`, {
        hint: 'check the path, or run "den template list" for the built-in templates',
      });
    }
    throw ioError(path, error);
  }
}

async function fetchText(url: string, ctx: ReadLocatorContext): Promise<string> {
  let response: Response;
  try {
    response = await ctx.fetch(url);
  } catch (error) {
    throw new DenError("FETCH_FAILED", `Cannot fetch template "${url}": ${errorMessage(error)}`, {
      hint: "check the URL and your network connection",
      cause: error,
    });
  }
  if (!response.ok) {
    throw new DenError("FETCH_FAILED", `Cannot fetch template "${url}": HTTP ${response.status}`, {
      hint: "check the URL",
    });
  }
  const declared = Number(response.headers.get("content-length"));
  if (declared > maxTemplateBytes) throw tooLarge(url);
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxTemplateBytes) {
      await reader.cancel();
      throw tooLarge(url);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** The minimal template Lima makes from an image locator. */
function imageTemplate(url: string, arch: string): string {
  const quoted = (value: string) => JSON.stringify(value);
  return `arch: ${quoted(arch)}\nimages:\n- location: ${quoted(url)}\n  arch: ${quoted(arch)}\n`;
}

function checkSize(text: string, where: string): string {
  if (Buffer.byteLength(text) > maxTemplateBytes) throw tooLarge(where);
  return text;
}

function tooLarge(where: string): DenError {
  return new DenError("TEMPLATE_TOO_LARGE", `Cannot read template "${where}": it is larger than 4 MiB`, {
    hint: "a template is a small YAML file; check that the locator points at one",
  });
}

function ioError(path: string, error: unknown): DenError {
  return new DenError("IO", `Cannot read template "${path}": ${errorMessage(error)}`, { cause: error });
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A reader for embed.ts: takes a locator string (already absolute, as embedBases makes them) and
 * returns the text it points at.
 */
export function locatorReader(
  ctx: ReadLocatorContext,
  options: ParseLocatorOptions,
): (locator: string) => Promise<string> {
  return async (text) => (await readLocator(parseLocator(text, options), ctx)).text;
}
