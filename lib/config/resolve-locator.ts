// Locators with a scheme den does not read itself (Lima 2.x "URL handler plugins"): `github:` is turned into a
// raw.githubusercontent.com URL, any other `S:REST` is handed to the plugin `den-url-S` (or Lima's `limactl-url-S`),
// which prints a URL or a path. What comes out may use such a scheme again; resolution repeats until a locator den
// reads (template:, http(s), file, a path), refusing loops and chains deeper than MaxLocatorRedirects.
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { DenError, excerpt } from "../errors.ts";
import { type GithubContext, resolveGithubLocator } from "./github-locator.ts";

/** How many times one locator may be replaced by another before den gives up. */
export const MaxLocatorRedirects = 10;

// As in locator.ts: single letters are left to paths (a Windows drive letter is no scheme).
const schemePattern = /^([A-Za-z][A-Za-z0-9+.-]+):(.*)$/s;

/** Schemes den reads itself (locator.ts). */
const BuiltinSchemes: ReadonlySet<string> = new Set(["template", "http", "https", "file"]);

export interface CustomLocator {
  /** Lowercased, as URL schemes compare. */
  scheme: string;
  rest: string;
}

/** `S:REST` when S is a scheme den does not read itself (github or a plugin's), else undefined. Pure. */
export function customLocator(text: string): CustomLocator | undefined {
  const match = schemePattern.exec(text);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  return BuiltinSchemes.has(scheme) ? undefined : { scheme, rest: match[2]! };
}

export interface ResolveLocatorContext {
  /** Relative paths a plugin prints are taken from here, as relative paths on the command line are. */
  cwd: string;
  home: string;
  /** The output of the URL plugin for `scheme` given `rest`; undefined when no plugin handles the scheme. */
  urlPlugin?: ((scheme: string, rest: string) => Promise<string | undefined>) | undefined;
  /** GitHub's API and raw files, for github: locators; the global fetch, GH_TOKEN/GITHUB_TOKEN by default. */
  github?: GithubContext | undefined;
  /** Whether a local file exists; used only for an unknown scheme that no plugin handles. */
  exists?: ((path: string) => boolean) | undefined;
  /** DEN_HOME, passed to plugins (the real urlPlugin only). */
  denHome?: string | undefined;
}

export interface ResolvedLocator {
  /** A locator den reads itself; `text` unchanged when it had no custom scheme. */
  locator: string;
  /** Every locator on the way, the given one first, the result last. */
  chain: string[];
  warnings: string[];
}

/** Resolves `text` as described at the top of this file; throws PLUGIN_FAILED for a loop or a chain that is too long. */
export async function resolveLocator(text: string, ctx: ResolveLocatorContext): Promise<ResolvedLocator> {
  const chain = [text];
  const warnings: string[] = [];
  let current = text;
  for (;;) {
    const custom = customLocator(current);
    if (custom === undefined) return { locator: current, chain, warnings };
    let next: string;
    if (custom.scheme === "github") {
      if (warnings.length === 0) warnings.push("The github: scheme is still experimental");
      next = await resolveGithubLocator(custom.rest, ctx.github ?? defaultGithubContext());
    } else {
      const answer = await (ctx.urlPlugin ?? defaultUrlPlugin(ctx))(custom.scheme, custom.rest);
      if (answer === undefined) return { locator: noPluginFallback(current, custom, ctx), chain, warnings };
      next = absoluteAnswer(answer, ctx);
    }
    if (chain.includes(next)) {
      throw new DenError("PLUGIN_FAILED", `Cannot resolve template locator "${excerpt(text, 120)}": it resolves in a loop: ${[...chain, next].map((entry) => excerpt(entry, 80)).join(" -> ")}`, {
        hint: "fix the URL plugin or redirect that leads back to an earlier locator",
        details: { chain: [...chain, next] },
      });
    }
    chain.push(next);
    if (chain.length > MaxLocatorRedirects + 1) {
      throw new DenError("PLUGIN_FAILED", `Cannot resolve template locator "${excerpt(text, 120)}": more than ${MaxLocatorRedirects} redirects (${chain.slice(0, 4).map((entry) => excerpt(entry, 60)).join(" -> ")} -> …)`, {
        hint: "a URL plugin should print a URL or path den reads, not another plugin locator each time",
        details: { chain },
      });
    }
    current = next;
  }
}

/**
 * Lima reads an unknown scheme without a plugin as a file path; den does too when that file exists (a file named
 * `notes:v1.yaml`), and otherwise says which plugin is missing instead of "no such file".
 */
function noPluginFallback(text: string, custom: CustomLocator, ctx: ResolveLocatorContext): string {
  const path = resolve(ctx.cwd, text);
  if ((ctx.exists ?? existsSync)(path)) return text;
  throw new DenError("LOCATOR_INVALID", `Cannot use template locator "${excerpt(text, 120)}": no plugin handles the scheme "${excerpt(custom.scheme, 40)}"`, {
    hint: `install an executable "den-url-${excerpt(custom.scheme, 40)}" (or Lima's "limactl-url-${excerpt(custom.scheme, 40)}") on PATH, or write "./${excerpt(text, 60)}" for a file of that name`,
  });
}

/** A plugin may print a relative path or `~/…`; they mean what they would on den's command line. */
function absoluteAnswer(answer: string, ctx: ResolveLocatorContext): string {
  if (answer === "-") {
    throw new DenError("PLUGIN_FAILED", 'Cannot use "-" (stdin) from a URL plugin', { hint: "a URL scheme plugin prints a URL or a file path" });
  }
  if (schemePattern.test(answer) || isAbsolute(answer)) return answer;
  if (answer === "~") return ctx.home;
  if (answer.startsWith("~/")) return resolve(ctx.home, answer.slice(2));
  return resolve(ctx.cwd, answer);
}

function defaultGithubContext(): GithubContext {
  return { fetch: (url, init) => fetch(url, { ...init, redirect: "follow" }), token: process.env.GH_TOKEN || process.env.GITHUB_TOKEN || undefined };
}

/** The real plugin runner: den's plugin folders and environment (loaded only when a locator needs a plugin). */
function defaultUrlPlugin(ctx: ResolveLocatorContext): (scheme: string, rest: string) => Promise<string | undefined> {
  return async (scheme, rest) => {
    const [{ processPluginDirs }, { pluginEnv }, { runUrlPlugin }, { denHome }] = await Promise.all([
      import("../plugins/plugin-dirs.ts"),
      import("../plugins/plugin-env.ts"),
      import("../plugins/run-url-plugin.ts"),
      import("../store/dirs.ts"),
    ]);
    const dirs = processPluginDirs();
    return runUrlPlugin(scheme, rest, { dirs, env: pluginEnv(process.env, { denHome: ctx.denHome ?? denHome(), dirs }) });
  };
}
