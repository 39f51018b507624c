// `github:ORG/REPO[/PATH][@BRANCH]` locators (Lima 2.x, docs "GitHub template URLs"): a short name for a file in a
// GitHub repository, read from raw.githubusercontent.com. Parsing and the URL are pure (parseGithubLocator,
// githubRawUrl); the default branch and Lima's `.lima.yaml` symlinks and redirects need GitHub (resolveGithubLocator).
import { posix } from "node:path";
import { DenError, excerpt } from "../errors.ts";
import { readStreamBounded } from "../fs/read-bounded.ts";
import { maxTemplateBytes, tooLargeTemplateHint } from "./read-locator.ts";

/** The file a `github:` locator names when it names a repository or a folder (`github:ORG/REPO`, `…/dir/`). */
export const GithubDefaultFile = ".lima.yaml";

export interface GithubLocator {
  org: string;
  /** ORG when the locator leaves it out (`github:ORG`, `github:ORG//PATH`): an organisation's own repository. */
  repo: string;
  /** Inside the repository, without a leading "/"; `.yaml` added when the file name has no extension. */
  path: string;
  /** The branch, tag or commit after "@"; undefined means the repository's default branch. */
  branch: string | undefined;
}

// GitHub's own rules for owner and repository names, which also keep "/" and ".." out of the URL.
const GithubNamePattern = /^[A-Za-z0-9_.-]+$/;

/** `rest` is what follows `github:`. Throws LOCATOR_INVALID for what cannot name a file in a repository. */
export function parseGithubLocator(rest: string): GithubLocator {
  const at = rest.indexOf("@");
  const spec = at === -1 ? rest : rest.slice(0, at);
  const branch = at === -1 ? undefined : rest.slice(at + 1);
  const [org = "", rawRepo = "", ...pathParts] = spec.split("/");
  if (org === "") throw invalid(rest, "it names no ORG", 'write "github:ORG/REPO/PATH", e.g. "github:lima-vm/lima/templates/docker"');
  const repo = rawRepo === "" ? org : rawRepo;
  for (const [what, name] of [["organisation", org], ["repository", repo]] as const) {
    if (!GithubNamePattern.test(name) || name === "." || name === "..") {
      throw invalid(rest, `"${excerpt(name, 60)}" is not a GitHub ${what} name`, "use letters, digits, \".\", \"-\" and \"_\"");
    }
  }
  if (branch !== undefined && (branch === "" || branch.split("/").some((part) => part === "" || part === "." || part === ".."))) {
    throw invalid(rest, `"${excerpt(branch, 60)}" is not a branch, tag or commit`, 'write "@BRANCH" with a branch, tag or commit id, or leave it out for the default branch');
  }
  return { org, repo, path: filePath(pathParts.join("/"), rest), branch };
}

/** The default file for an empty path or a folder, `.yaml` for a file name without an extension; kept inside the repository. */
function filePath(raw: string, rest: string): string {
  let path = raw === "" ? GithubDefaultFile : raw.endsWith("/") ? `${raw}${GithubDefaultFile}` : raw;
  // A leading dot is a hidden file, not an extension: `.lima` becomes `.lima.yaml`.
  if (!posix.basename(path).slice(1).includes(".")) path += ".yaml";
  return containedPath(path, rest);
}

function containedPath(path: string, rest: string): string {
  const clean = posix.normalize(path);
  if (clean === "." || clean === ".." || clean.startsWith("../") || clean.startsWith("/")) {
    throw invalid(rest, "its path leaves the repository", 'remove the ".." from the path');
  }
  return clean;
}

function invalid(rest: string, reason: string, hint: string): DenError {
  return new DenError("LOCATOR_INVALID", `Cannot use template locator "github:${excerpt(rest, 120)}": ${reason}`, { hint });
}

/** The raw file URL of a github: locator whose branch is known. */
export function githubRawUrl(locator: GithubLocator & { branch: string }): string {
  const path = locator.path.split("/").map(encodeURIComponent).join("/");
  const branch = locator.branch.split("/").map(encodeURIComponent).join("/");
  return `https://raw.githubusercontent.com/${locator.org}/${locator.repo}/${branch}/${path}`;
}

export interface GithubContext {
  /** Aborting `signal` must abandon the request. */
  fetch: (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;
  /** GH_TOKEN or GITHUB_TOKEN, sent to the API (a higher rate limit), as Lima does. */
  token?: string | undefined;
  /** For each request; 30 s by default. */
  timeoutMs?: number | undefined;
}

const DefaultGithubTimeoutMs = 30_000;

/** A `.lima.yaml` is a symbolic link when GitHub serves its target: one line, no space, no colon (Lima's rule). */
export function githubSymlinkTarget(content: string): string | undefined {
  return content === "" || /[\n :]/.test(content) ? undefined : content;
}

/**
 * The locator a github: locator stands for: a raw.githubusercontent.com URL, or, from an organisation's own
 * repository (`github:ORG//…`), the `github:ORG/…` locator its `.lima.yaml` redirects to (resolved again by the
 * caller, which detects loops). Asks GitHub for the default branch when no branch is given.
 */
export async function resolveGithubLocator(rest: string, ctx: GithubContext): Promise<string> {
  const locator = parseGithubLocator(rest);
  const branch = locator.branch ?? (await defaultBranch(locator, ctx));
  const resolved = { ...locator, branch };
  if (posix.basename(locator.path) !== GithubDefaultFile) return githubRawUrl(resolved);
  const orgRepo = locator.repo === locator.org;
  const answer = await githubGet(githubRawUrl(resolved), ctx);
  // A tag given to an organisation's repository is meant for the repository it redirects to: read the redirect
  // from the default branch and pass the tag on (Lima's rule).
  if (answer.status === 404 && orgRepo && locator.branch !== undefined) {
    const fallback = githubRawUrl({ ...locator, branch: await defaultBranch(locator, ctx) });
    const redirect = await githubGet(fallback, ctx);
    if (!redirect.ok) throw fetchFailed(rest, `HTTP ${redirect.status} for ${fallback}`);
    return githubRedirect(redirect.text, locator, rest);
  }
  if (!answer.ok) throw fetchFailed(rest, `HTTP ${answer.status} for ${githubRawUrl(resolved)}`);
  const content = answer.text.slice(0, 1024);
  if (orgRepo && content.startsWith("github:")) return githubRedirect(content, locator, rest);
  const target = githubSymlinkTarget(content);
  if (target === undefined) return githubRawUrl(resolved);
  return githubRawUrl({ ...resolved, path: containedPath(posix.join(posix.dirname(locator.path), target), rest) });
}

/** An organisation repository's redirect: `github:ORG/…` in the same ORG, without its own "@", which the original supplies. */
function githubRedirect(content: string, locator: GithubLocator, rest: string): string {
  const redirect = (content.split("\n")[0] ?? "").trim();
  if (!redirect.startsWith(`github:${locator.org}/`)) {
    throw invalid(rest, `its redirect "${excerpt(redirect, 120)}" does not stay in "github:${locator.org}"`, "a redirect may only name another repository of the same organisation");
  }
  if (redirect.includes("@")) {
    throw invalid(rest, `its redirect "${excerpt(redirect, 120)}" names a branch`, "a redirect names no branch; the locator's own @BRANCH is passed on");
  }
  return locator.branch === undefined ? redirect : `${redirect}@${locator.branch}`;
}

async function defaultBranch(locator: GithubLocator, ctx: GithubContext): Promise<string> {
  const url = `https://api.github.com/repos/${locator.org}/${locator.repo}`;
  const response = await githubGet(url, ctx, { api: true });
  const text = response.text;
  if (!response.ok) {
    throw new DenError("FETCH_FAILED", `Cannot find the default branch of "${locator.org}/${locator.repo}": GitHub answered HTTP ${response.status}`, {
      hint: response.status === 403 || response.status === 429 ? "set GITHUB_TOKEN or GH_TOKEN to raise GitHub's rate limit, or add @BRANCH to the locator" : "check the organisation and repository names, or add @BRANCH to the locator",
    });
  }
  let branch: unknown;
  try {
    branch = (JSON.parse(text) as { default_branch?: unknown }).default_branch;
  } catch {
    branch = undefined;
  }
  if (typeof branch !== "string" || branch === "") {
    throw new DenError("FETCH_FAILED", `Cannot find the default branch of "${locator.org}/${locator.repo}": GitHub's answer names none`, { hint: "add @BRANCH to the locator" });
  }
  return branch;
}

interface GithubAnswer {
  status: number;
  ok: boolean;
  text: string;
}

/** One GET, body included, within the time limit; a body over 4 MiB is no template and no API answer. */
async function githubGet(url: string, ctx: GithubContext, options: { api?: boolean } = {}): Promise<GithubAnswer> {
  const headers: Record<string, string> = { "User-Agent": "den" };
  if (options.api) {
    headers.Accept = "application/vnd.github.v3+json";
    if (ctx.token) headers.Authorization = `token ${ctx.token}`;
  }
  const controller = new AbortController();
  const timeoutMs = ctx.timeoutMs ?? DefaultGithubTimeoutMs;
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await ctx.fetch(url, { signal: controller.signal, headers });
    const text = response.body
      ? await readStreamBounded(response.body, { maxBytes: maxTemplateBytes, what: `"${url}"`, tooLargeCode: "TEMPLATE_TOO_LARGE", tooLargeHint: tooLargeTemplateHint })
      : "";
    return { status: response.status, ok: response.ok, text };
  } catch (error) {
    if (error instanceof DenError) throw error;
    const reason = controller.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : error instanceof Error ? error.message : String(error);
    throw new DenError("FETCH_FAILED", `Cannot fetch "${url}": ${excerpt(reason, 160)}`, { hint: "check your network connection", cause: error });
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function fetchFailed(rest: string, reason: string): DenError {
  return new DenError("FETCH_FAILED", `Cannot resolve template locator "github:${excerpt(rest, 120)}": ${reason}`, {
    hint: "check the repository, path and branch",
  });
}
