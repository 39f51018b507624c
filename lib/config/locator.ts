// Template locators: the positional argument of `den create`/`den start` and the entries of `base:`
// (lima.md 1.4). Parsing is pure; reading what a locator points at is read-locator.ts.
import { isAbsolute, posix, resolve } from "node:path";
import { DenError, excerptPath } from "../errors.ts";

export type Locator =
  | { kind: "stdin" }
  /** `name` is as written without a trailing `.yaml` (`docker`, `_images/ubuntu-24.04`); `file` is the file to look up. */
  | { kind: "template"; name: string; file: string; warning?: string }
  | { kind: "url"; url: string }
  | { kind: "file"; path: string }
  /** A disk image rather than a template; `arch` is guessed from the name when it says so. */
  | { kind: "image"; url: string; arch?: string };

export interface ParseLocatorOptions {
  /** Folder relative paths are resolved against. */
  cwd: string;
  /** Home folder that `~` expands to. */
  home: string;
}

/** A locator naming a disk image, optionally compressed; such a locator becomes a minimal template. */
export const imageLocatorPattern = /\.(img|qcow2|raw|iso)(\.(gz|xz|bz2|zstd))?$/;

// Single-letter "schemes" are left to paths so a Windows drive letter is never taken for one.
const schemePattern = /^([A-Za-z][A-Za-z0-9+.-]+):(.*)$/s;

/** Keywords in an image name that tell its architecture (whole words only). */
const archKeywords: readonly (readonly [string, string])[] = [
  ["x86_64", "x86_64"],
  ["amd64", "x86_64"],
  ["aarch64", "aarch64"],
  ["arm64", "aarch64"],
  ["armv7l", "armv7l"],
  ["armhf", "armv7l"],
  ["riscv64", "riscv64"],
  ["ppc64le", "ppc64le"],
  ["ppc64el", "ppc64le"],
  ["s390x", "s390x"],
];

/** Words that distributions put in image names and that say nothing about the system. */
const genericImageTags = [
  "base",
  "cloud",
  "cloudimg",
  "cloudinit",
  "daily",
  "default",
  "generic",
  "genericcloud",
  "kvm",
  "latest",
  "linux",
  "minimal",
  "openstack",
  "server",
  "std",
  "stream",
  "uefi",
  "vm",
];

export function parseLocator(text: string, options: ParseLocatorOptions): Locator {
  if (text === "") {
    throw new DenError("LOCATOR_INVALID", "Cannot use template locator \"\": it is empty", {
      hint: 'pass a template name such as "template:default", a file path or an http(s) URL',
    });
  }
  if (text === "-") return { kind: "stdin" };

  const scheme = schemePattern.exec(text);
  const schemeName = scheme?.[1]?.toLowerCase();
  const rest = scheme?.[2] ?? "";

  if (imageLocatorPattern.test(text)) {
    const url = schemeName === "http" || schemeName === "https" ? text : localPath(fileUrlPath(text, schemeName, rest), options);
    const arch = guessImageArch(text);
    return arch === undefined ? { kind: "image", url } : { kind: "image", url, arch };
  }

  switch (schemeName) {
    case "template":
      return templateLocator(text, rest);
    case "http":
    case "https":
      return { kind: "url", url: text };
    case "file":
      return { kind: "file", path: fileUrlPath(text, schemeName, rest) };
    case "github":
      throw new DenError("LOCATOR_INVALID", `Cannot use template locator "${excerptPath(text)}": github: locators are not supported`, {
        hint: "use the raw.githubusercontent.com https URL of the file instead",
      });
    default:
      return { kind: "file", path: localPath(text, options) };
  }
}

function templateLocator(text: string, rest: string): Locator {
  const deprecated = rest.startsWith("//");
  const name = rest.replace(/^\/+/, "").replace(/\/+$/, "");
  if (name === "" || name.split("/").some((part) => part === ".." || part === "." || part === "")) {
    throw new DenError("LOCATOR_INVALID", `Cannot use template locator "${excerptPath(text)}": invalid template name "${excerptPath(name)}"`, {
      hint: 'template names are relative paths without ".." such as "docker" or "_images/ubuntu-24.04"; run "den template list"',
    });
  }
  const file = hasYamlExtension(name) ? name : `${name}.yaml`;
  const bareName = file.replace(/\.yaml$/, "");
  if (!deprecated) return { kind: "template", name: bareName, file };
  return {
    kind: "template",
    name: bareName,
    file,
    warning: `Template locator "${excerptPath(text)}" uses the deprecated template:// form; write "template:${excerptPath(name)}"`,
  };
}

/** True unless `.yaml` must be appended: no extension, or one starting with a digit (`ubuntu-24.04`). */
function hasYamlExtension(name: string): boolean {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return false;
  return !/^[0-9]/.test(base.slice(dot + 1));
}

function fileUrlPath(text: string, schemeName: string | undefined, rest: string): string {
  if (schemeName !== "file") return text;
  const path = rest.startsWith("//") ? decodeURIComponent(rest.slice(2)) : rest;
  if (!isAbsolute(path)) {
    throw new DenError("LOCATOR_INVALID", `Cannot use template locator "${excerptPath(text)}": a file URL needs an absolute path`, {
      hint: 'write "file:///absolute/path.yaml" or just the path',
    });
  }
  return path;
}

function localPath(path: string, options: ParseLocatorOptions): string {
  if (path === "~") return options.home;
  if (path.startsWith("~/")) return resolve(options.home, path.slice(2));
  return resolve(options.cwd, path);
}

/** The architecture an image name mentions as a whole word, if any. */
export function guessImageArch(url: string): string | undefined {
  for (const [keyword, arch] of archKeywords) {
    if (new RegExp(`(^|[^A-Za-z0-9])${keyword}([^A-Za-z0-9]|$)`).test(url)) return arch;
  }
  return undefined;
}

export interface InstanceNameOptions {
  /** The host's architecture; an image name loses it when it matches, as it says nothing then. */
  hostArch?: string;
}

/**
 * The instance name a locator suggests: the file name without `.yaml`/`.yml`, lowercased
 * (`template:_images/ubuntu-24.04` → `ubuntu-24.04`). For disk images the name is cleaned of
 * format, generic tags, the native architecture and date stamps. Stdin suggests nothing.
 */
export function instanceNameFromLocator(locator: Locator, options: InstanceNameOptions = {}): string | undefined {
  switch (locator.kind) {
    case "stdin":
      return undefined;
    case "template":
      return yamlBaseName(locator.file);
    case "file":
      return yamlBaseName(locator.path);
    case "url":
      return yamlBaseName(urlPath(locator.url));
    case "image":
      return instanceNameFromImage(locator.url, locator.arch ?? options.hostArch, options.hostArch);
  }
}

function yamlBaseName(path: string): string {
  return posix.basename(path.replaceAll("\\", "/")).toLowerCase().replace(/\.ya?ml$/, "");
}

function urlPath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function instanceNameFromImage(url: string, imageArch: string | undefined, hostArch: string | undefined): string {
  let name = posix.basename(urlPath(url).replaceAll("\\", "/")).toLowerCase();
  name = name.replace(imageLocatorPattern, "").replace(/^nocloud_/, "");
  for (const tag of genericImageTags) name = name.replace(new RegExp(`[-_.]${tag}\\b`, "g"), "");
  if (imageArch !== undefined && imageArch === hostArch) {
    name = name.replace(new RegExp(`[-_.]${imageArch}\\b`, "g"), "");
  }
  name = name.replace(/[-_.]20\d{6}([-_.]\d+)?\b/g, "");
  name = name.replace(/^arch\b/, "archlinux");
  // "rocky-8-8.10" says the major version twice.
  name = name.replace(/-(\d+)-(\d+)\./g, (match, a: string, b: string) => (a === b ? `-${a}.` : match));
  return name;
}
