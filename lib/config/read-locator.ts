// Reading what a template locator points at: the I/O edge of locator.ts. Everything outside the
// process (environment, stdin, network, files, the built-in templates) comes in through `ctx`.
import { join } from "node:path";
import { DenError, describeSystemError, excerpt, excerptPath } from "../errors.ts";
import { readStreamBounded } from "../fs/read-bounded.ts";
import { userTemplatesDir } from "../store/dirs.ts";
import { parseLocator, type Locator, type ParseLocatorOptions } from "./locator.ts";

/** Lima's limit for a template read from anywhere: larger files are surely not templates. */
export const maxTemplateBytes = 4 * 1024 * 1024;

/** How long fetching one template over http(s) may take, connection and body together. */
export const defaultFetchTimeoutMs = 30_000;

/** The hint of every "template too large" error. */
export const tooLargeTemplateHint = "a template is a small YAML file; check that the locator points at one";

export interface ReadLocatorContext {
  env: { DEN_TEMPLATES_PATH?: string | undefined };
  /** DEN_HOME; its `_templates` folder is searched when DEN_TEMPLATES_PATH is not set. */
  denHome: string;
  /** Searched after the folders; keyed by name without `.yaml` (`docker`, `_images/ubuntu-24.04`). */
  builtinTemplates: ReadonlyMap<string, string>;
  /** All of stdin; the real one stops reading past maxTemplateBytes (endless input must not fill memory). */
  readStdin: () => Promise<string>;
  /**
   * Rejects with an error whose `code` is "ENOENT" when the file does not exist. The real one refuses
   * FIFOs, devices and files over maxTemplateBytes before reading (readRegularFileBounded).
   */
  readFile: (path: string) => Promise<string>;
  /** Aborting `signal` must abandon the request and its body. */
  fetch: (url: string, init: { signal: AbortSignal }) => Promise<Response>;
  /** Limit for one fetch, body included; defaultFetchTimeoutMs when absent. */
  fetchTimeoutMs?: number | undefined;
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
        warnings.push(`Cannot tell the architecture of image "${excerptPath(locator.url)}" from its name; assuming "${arch}"`);
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
      if (error instanceof DenError) throw error;
      if (!isNotFound(error)) throw ioError(path, error);
    }
  }
  const builtin = ctx.builtinTemplates.get(locator.name);
  if (builtin !== undefined) return builtin;
  throw new DenError("TEMPLATE_NOT_FOUND", `Cannot find template "${excerptPath(locator.name)}"`, {
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
      throw new DenError("TEMPLATE_NOT_FOUND", `Cannot read template "${excerptPath(path)}": no such file`, {
        hint: 'check the path, or run "den template list" for the built-in templates',
      });
    }
    throw ioError(path, error);
  }
}

async function fetchText(url: string, ctx: ReadLocatorContext): Promise<string> {
  const timeoutMs = ctx.fetchTimeoutMs ?? defaultFetchTimeoutMs;
  const controller = new AbortController();
  // One deadline for connecting, headers and body: a server that trickles or stalls cannot hold `den create`.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new DenError("FETCH_FAILED", `Cannot fetch template "${excerptPath(url)}": no complete answer within ${formatSeconds(timeoutMs)}`, {
          hint: "check the URL and your network connection; DEN_FETCH_TIMEOUT sets the limit",
        }),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([download(url, ctx, controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

async function download(url: string, ctx: ReadLocatorContext, signal: AbortSignal): Promise<string> {
  let response: Response;
  try {
    response = await ctx.fetch(url, { signal });
  } catch (error) {
    throw new DenError("FETCH_FAILED", `Cannot fetch template "${excerptPath(url)}": ${errorMessage(error)}`, {
      hint: "check the URL and your network connection",
      cause: error,
    });
  }
  if (!response.ok) {
    throw new DenError("FETCH_FAILED", `Cannot fetch template "${excerptPath(url)}": HTTP ${response.status}`, {
      hint: "check the URL",
    });
  }
  const declared = Number(response.headers.get("content-length"));
  if (declared > maxTemplateBytes) throw tooLarge(url);
  if (!response.body) return "";
  try {
    return await readStreamBounded(response.body, {
      maxBytes: maxTemplateBytes,
      what: `template "${excerptPath(url)}"`,
      tooLargeCode: "TEMPLATE_TOO_LARGE",
      tooLargeHint: tooLargeTemplateHint,
    });
  } catch (error) {
    if (error instanceof DenError) throw error;
    throw new DenError("FETCH_FAILED", `Cannot fetch template "${excerptPath(url)}": ${errorMessage(error)}`, {
      hint: "check the URL and your network connection",
      cause: error,
    });
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
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
  return new DenError("TEMPLATE_TOO_LARGE", `Cannot read template "${excerptPath(where)}": it is larger than 4 MiB`, {
    hint: tooLargeTemplateHint,
  });
}

/** A read that failed for another reason than a missing file (EIO, ELOOP, ENAMETOOLONG, …), with its hint. */
function ioError(path: string, error: unknown): DenError {
  const described = describeSystemError(error, { path });
  const reason = described === undefined ? errorMessage(error) : `${described.reason} (${described.code})`;
  return new DenError("IO", `Cannot read template "${excerptPath(path)}": ${reason}`, {
    hint: described?.hint ?? "check the path and that you can read the file",
    cause: error,
  });
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** The message of an error from fetch or the file system, short and escaped: it may quote the URL or path. */
function errorMessage(error: unknown): string {
  return excerpt(error instanceof Error ? error.message : String(error), 160);
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
