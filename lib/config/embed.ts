// Base embedding at create time (lima.md 2.2 "At create"): every template named in `base:` is read,
// embedded itself, and merged under the template, so the instance's lima.yaml stands alone.
// Works on yaml Documents, so comments of the template (and of copied base keys) survive.
import { posix } from "node:path";
import { type Document, type Node, isMap, isScalar, isSeq, Pair, Scalar, visit, YAMLMap, YAMLSeq } from "yaml";
import { ConfigError, DenError, excerpt, excerptPath, formatPath } from "../errors.ts";
import { checkIsConfiguration } from "./check.ts";
import { type ParsedConfig, parseConfigText } from "./parse.ts";
import { maxTemplateBytes } from "./read-locator.ts";
import { markRemoteMounts, type RemoteShare, type RemoteSharesOptions, remoteShares } from "./remote-shares.ts";

export interface EmbedOptions {
  /** Absolute locator of `text` (`template:NAME`, URL, absolute path, or `-` for stdin). */
  locator: string;
  /** Returns the text an absolute locator points at (see locatorReader in read-locator.ts). */
  read: (locator: string) => Promise<string>;
  /** Turns a github: or plugin-scheme locator into the one it stands for (resolve-locator.ts); others pass unchanged. */
  resolve?: ((locator: string) => Promise<string>) | undefined;
  /** Locator of DEN_HOME/_config/base.yaml when that file exists; it becomes the first base. */
  baseYaml?: string;
  /** The host home folder and DEN_HOME, which a remote template may not share writable (remote-shares.ts). */
  host?: RemoteSharesOptions;
  /** `text` as parseConfigText already parsed it; embedding works on a copy instead of parsing it again. */
  parsed?: ParsedConfig | undefined;
}

/** One file or URL whose content went into the embedded template, for `den create` to list. */
export interface IncludedFile {
  /** Absolute locator that was read. */
  locator: string;
  /** A base template (`base:` or base.yaml), or a provision/probe `file:`. */
  kind: "base" | "file";
  /** Locator of the template that names it; absent for DEN_HOME/_config/base.yaml, which den adds. */
  namedIn?: string;
}

export interface EmbeddedTemplate {
  /** The template with all bases merged in and external scripts inlined, as YAML text without `base:`. */
  text: string;
  /** Everything read to make `text`, in the order it was read. */
  included: IncludedFile[];
  /** Host folders shared with the guest because a remote template asks for it, for `den create` to warn about. */
  shares: RemoteShare[];
  /** `text` as a plain value, as parsing it would give: a caller can tell that embedding changed nothing without that parse. */
  value: unknown;
}

/** Lists whose base entries go before the template's own: base provisioning runs first. */
const prependedLists = new Set(["base", "provision", "probes"]);

/** Embeds every base of a template and inlines its script files, refusing what a remote template may not name. */
export async function embedBases(text: string, options: EmbedOptions): Promise<EmbeddedTemplate> {
  const included: IncludedFile[] = [];
  const document = parseTemplate(text, options.locator, options.parsed);
  const owner = isRemoteLocator(options.locator) ? options.locator : undefined;
  if (owner !== undefined) markRemoteMounts(document, { template: owner, document: owner });
  if (options.baseYaml !== undefined) baseList(document, true)?.items.unshift(new Scalar(options.baseYaml));
  await embedDocument(document, { locator: options.locator, owner }, [options.locator], { read: options.read, resolve: options.resolve, included, baseYaml: options.baseYaml });
  combineListEntries(document);
  // After combining: a remote entry may have filled `writable` into another template's mount.
  const shares = remoteShares(document, options.host);
  const value = document.toJS({ maxAliasCount: 100 }) ?? null;
  // When embedding changed no value (no base, no script file, no entries combined), the template's own text is
  // the result: the user's file stays as written, and a 1 MB template is not written out again (a second of
  // stringifying). Only known when the caller handed over its parse.
  const unchanged = options.parsed !== undefined && Bun.deepEquals(options.parsed.value, value, true);
  const out = unchanged ? text : document.toString({ lineWidth: 0, indentSeq: false });
  if (Buffer.byteLength(out) > maxTemplateBytes) {
    throw new DenError("TEMPLATE_TOO_LARGE", `Cannot embed template "${excerptPath(options.locator)}": the result is larger than 4 MiB`, {
      hint: "check the base templates and script files it includes",
    });
  }
  return { text: out, included, shares, value };
}

/** Parses a template and, when it came over http(s), refuses it before anything it names is read. */
function parseTemplate(text: string, locator: string, parsed?: ParsedConfig): Document {
  const document = parseTemplateText(text, locator, parsed);
  checkRemoteReferences(document, locator);
  return document;
}

function parseTemplateText(text: string, locator: string, parsed?: ParsedConfig): Document {
  let document: Document;
  if (parsed !== undefined) {
    // A clone: the caller's document keeps pointing at the lines of its own text.
    document = parsed.document.clone();
  } else {
    const fresh = parseConfigText(text, { file: locator });
    // Alone, before it is merged: a base that is some other file (./shadow) is refused as that, unquoted.
    checkIsConfiguration(fresh, { file: locator });
    document = fresh.document;
  }
  if (document.contents === null) document.contents = new YAMLMap() as never;
  if (!isMap(document.contents)) {
    throw new ConfigError("CONFIG_INVALID", [{ path: [], message: "Cannot use template: its top level is not a mapping", file: locator }], {
      hint: "a template is a YAML mapping such as `images: [...]`",
    });
  }
  // Aliases would dangle once their nodes are copied into another document. Without a "*" there is none.
  if (!text.includes("*")) return document;
  visit(document, {
    Alias(_key, node) {
      const target = node.resolve(document);
      return target === undefined ? undefined : (target.clone() as Node);
    },
  });
  return document;
}

interface EmbedState {
  read: EmbedOptions["read"];
  resolve: EmbedOptions["resolve"];
  included: IncludedFile[];
  /** Den adds this base itself; it is the user's own file, whatever template it is added to. */
  baseYaml: string | undefined;
}

interface EmbeddedDocument {
  locator: string;
  /** The remote template this document came through (itself when remote); its mounts are reported as that template's. */
  owner: string | undefined;
}

async function embedDocument(document: Document, { locator, owner }: EmbeddedDocument, chain: readonly string[], state: EmbedState): Promise<void> {
  for (;;) {
    const bases = baseList(document, false);
    const first = bases?.items[0];
    if (bases === undefined || first === undefined) break;
    const baseLocator = await resolved(absoluteLocator(baseUrl(first, locator), locator), state);
    if (chain.includes(baseLocator)) {
      const cycle = [...chain, baseLocator].map((entry) => excerptPath(entry)).join(" -> ");
      throw new DenError("TEMPLATE_CYCLE", `Cannot embed base templates: ${cycle} is a cycle`, {
        hint: `remove "${excerptPath(baseLocator)}" from the base list of the last template but one`,
        details: { chain: [...chain, baseLocator] },
      });
    }
    const fromDen = chain.length === 1 && baseLocator === state.baseYaml;
    state.included.push(fromDen ? { locator: baseLocator, kind: "base" } : { locator: baseLocator, kind: "base", namedIn: locator });
    const base = parseTemplate(await state.read(baseLocator), baseLocator);
    // A `template:` base a remote template names (Lima's `template:_default/mounts`) shares what that
    // remote template asked for; base.yaml is the user's own and is never reported.
    const baseOwner = isRemoteLocator(baseLocator) ? baseLocator : fromDen ? undefined : owner;
    if (baseOwner !== undefined) markRemoteMounts(base, { template: baseOwner, document: baseLocator });
    await embedDocument(base, { locator: baseLocator, owner: baseOwner }, [...chain, baseLocator], state);
    bases.items.shift();
    mergeBase(document, base);
  }
  const root = rootMap(document);
  const base = root.get("base", true);
  if (base === undefined || base === null || (isSeq(base) && base.items.length === 0) || (isScalar(base) && base.value === null)) {
    removeKeepingComment(root, "base");
  }
  await inlineScripts(document, locator, state);
}

/**
 * What a github: or plugin-scheme locator stands for: it is read, cycle-checked and made the owner of relative
 * references as that locator (a base a plugin names by a local path reads its own relative files from there).
 */
async function resolved(locator: string, state: EmbedState): Promise<string> {
  return state.resolve === undefined ? locator : state.resolve(locator);
}

/** Deletes a key; a comment written above it moves to the key that follows, so it is not lost. */
function removeKeepingComment(map: YAMLMap, key: string): void {
  const index = map.items.findIndex((pair) => keyOf(pair) === key);
  if (index === -1) return;
  const [removed] = map.items.splice(index, 1);
  const comment = isScalar(removed?.key) ? removed.key.commentBefore : undefined;
  if (!comment) return;
  const next = map.items[index];
  if (next && isScalar(next.key)) {
    next.key.commentBefore = next.key.commentBefore ? `${comment}\n${next.key.commentBefore}` : comment;
  } else {
    map.comment = map.comment ? `${map.comment}\n${comment}` : comment;
  }
}

function rootMap(document: Document): YAMLMap {
  return document.contents as YAMLMap;
}

/** `base:` as a sequence node (a single string or locator object is turned into a one-entry list). */
function baseList(document: Document, create: boolean): YAMLSeq | undefined {
  const root = rootMap(document);
  const base = root.get("base", true);
  if (isSeq(base)) return base;
  if (base === undefined || (isScalar(base) && base.value === null)) {
    if (!create) return undefined;
  }
  const seq = new YAMLSeq();
  if (base !== undefined && !(isScalar(base) && base.value === null)) seq.items.push(base);
  root.set("base", seq);
  return seq;
}

function baseUrl(entry: unknown, locator: string): string {
  if (isScalar(entry) && typeof entry.value === "string") return entry.value;
  if (isMap(entry)) {
    const url = entry.get("url");
    if (entry.get("digest") !== undefined && entry.get("digest") !== null) {
      throw new DenError("LOCATOR_INVALID", `Cannot embed base "${excerptPath(String(url))}" of "${excerptPath(locator)}": digests of base templates are not supported`, {
        hint: "remove the digest from the base entry",
      });
    }
    if (typeof url === "string") return url;
  }
  throw new DenError("LOCATOR_INVALID", `Cannot embed a base of "${excerptPath(locator)}": each base entry needs a locator string or a "url"`, {
    hint: 'write base entries as "template:NAME", a path, an URL, or {url: ...}',
  });
}

// --- what a remote template may name ---

/** A template fetched over http(s); what it may name is limited (checkRemoteReferences). */
export function isRemoteLocator(locator: string): boolean {
  return /^https?:\/\//i.test(locator);
}

/**
 * The rule for templates fetched over http(s): they may name only remote files, that is http(s) URLs
 * and paths relative to their own URL (which resolve on the same server). An absolute path, `~`,
 * `file://` or `../` would let whoever serves the template copy any host file the user can read into
 * den.yaml and seed it into the guest, where the same template's scripts run. A local reference needs a
 * local template. `template:NAME` stays allowed in `base:`: it names a template den ships or the user
 * installed as a base (Lima's published templates build on `template:_images/...`), and it must be a
 * template to be merged. As a `file:` it is refused: inlined raw, it would read any file with an
 * extension in the template folders. Checked here, before the first read, for every template in a chain.
 *
 * The same holds for the files `den start` copies into the instance: image, kernel, initrd, firmware,
 * containerd archive and virtio-win locations. A local one (a path, `~`, a relative path, which the image
 * code takes from the working folder, or `file://`) would boot or seed a host file of the user's choosing
 * for the template's author: a remote template names only downloads. Each document is checked on its own
 * before it is merged, so a local template keeps its own local images under a remote base, and a remote
 * template's images cannot hide among them. Den fetches only `images[]` today; the rule covers every
 * location field so a fetcher added later cannot forget it.
 */
export function checkRemoteReferences(document: Document, locator: string): void {
  if (!isRemoteLocator(locator) || !isMap(document.contents)) return;
  for (const { path, value, kind } of namedLocators(document.contents)) {
    if (isAllowedInRemote(value, kind, locator)) continue;
    throw new DenError(
      "TEMPLATE_LOCATOR_REFUSED",
      `Cannot use template "${excerptPath(locator)}": ${formatPath(path)} names "${excerpt(value, 120)}", a local file, and a template fetched over http(s) may name only remote ones`,
      { hint: refusedHints[kind], details: { template: locator, field: formatPath(path), locator: value.slice(0, 1024) } },
    );
  }
}

const refusedHints: Record<NamedLocator["kind"], string> = {
  base: "a remote template may name only http(s) URLs, github: locators, paths relative to its URL, or template:NAME; to use a local file or a URL plugin, download the template and create from the local copy",
  file: "a remote template may name only http(s) URLs, github: locators or paths relative to its URL; to use a local file or a URL plugin, download the template and create from the local copy",
  download:
    "a remote template's images, kernels, initrds, firmware and archives must be http(s) URLs; to use a local file, download the template and create from the local copy",
};

function isAllowedInRemote(value: string, kind: NamedLocator["kind"], locator: string): boolean {
  // Download locations are not resolved against the template (lib/images/image-location.ts): a scheme-less
  // one is a host path, so only a URL with a scheme other than file:// is not local.
  if (kind === "download") return /^(?!file:)[A-Za-z][A-Za-z0-9+.-]*:\/\//i.test(value);
  const target = absoluteLocator(value, locator);
  // github: always becomes a raw.githubusercontent.com URL. Other schemes run a local plugin, whose answer may be a
  // local file (Lima's `instance:` example): a downloaded template does not get to run the user's programs.
  return isRemoteLocator(target) || /^github:/i.test(target) || (kind === "base" && target.startsWith("template:"));
}


interface NamedLocator {
  path: (string | number)[];
  value: string;
  /** `base:`, a provision/probe `file:`, or the location of a file den downloads or copies at start. */
  kind: "base" | "file" | "download";
}

/** Lists of FileSchema entries (schema.ts); `images[]` entries also have a kernel and an initrd. */
const downloadLists: readonly (readonly string[])[] = [["images"], ["firmware", "images"], ["containerd", "archives"], ["osOpts", "Windows", "virtioWin"]];

/** Every locator string a template names in `base:`, in `file:` of provision and probes entries, and as a download location. */
function namedLocators(root: YAMLMap): NamedLocator[] {
  const found: NamedLocator[] = [];
  const add = (node: unknown, path: (string | number)[], kind: NamedLocator["kind"]) => {
    if (isScalar(node) && typeof node.value === "string" && node.value !== "") found.push({ path, value: node.value, kind });
    if (isMap(node)) {
      const url = node.get("url", true);
      if (isScalar(url) && typeof url.value === "string" && url.value !== "") found.push({ path: [...path, "url"], value: url.value, kind });
    }
  };
  const base = root.get("base", true);
  if (isSeq(base)) base.items.forEach((item, index) => add(item, ["base", index], "base"));
  else add(base, ["base"], "base");
  for (const list of ["provision", "probes"]) {
    const seq = root.get(list, true);
    if (!isSeq(seq)) continue;
    seq.items.forEach((entry, index) => {
      if (isMap(entry)) add(entry.get("file", true), [list, index, "file"], "file");
    });
  }
  const addLocation = (entry: unknown, path: (string | number)[]) => {
    if (isMap(entry)) add(entry.get("location", true), [...path, "location"], "download");
  };
  for (const listPath of downloadLists) {
    const seq = root.getIn(listPath, true);
    if (!isSeq(seq)) continue;
    seq.items.forEach((entry, index) => {
      addLocation(entry, [...listPath, index]);
      if (listPath.length === 1 && isMap(entry)) {
        for (const part of ["kernel", "initrd"]) addLocation(entry.get(part, true), [...listPath, index, part]);
      }
    });
  }
  return found;
}

/**
 * A locator made absolute against the template that names it: schemes are kept, `template:` and
 * URL bases resolve inside their own namespace, paths against the template's folder.
 */
export function absoluteLocator(locator: string, including: string): string {
  if (locator === "") {
    throw new DenError("LOCATOR_INVALID", `Cannot use an empty locator in "${excerptPath(including)}"`, {
      hint: "give a template name, path or URL",
    });
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+):(.*)$/s.exec(locator);
  if (scheme) {
    // `template://x` and `template:x` name the same template; one spelling keeps cycle detection exact.
    return scheme[1]!.toLowerCase() === "template" ? `template:${scheme[2]!.replace(/^\/+/, "")}` : locator;
  }
  if (locator.startsWith("/") || locator === "~" || locator.startsWith("~/")) return locator;
  if (including === "-") {
    throw new DenError("LOCATOR_INVALID", `Cannot resolve "${excerpt(locator, 120)}": relative locators need a template file, not stdin`, {
      hint: "use an absolute path or a template: name",
    });
  }
  if (locator.split(/[\\/]/).includes("..")) {
    throw new DenError("LOCATOR_INVALID", `Cannot resolve "${excerpt(locator, 120)}" in "${excerptPath(including)}": relative locators must not contain ".."`, {
      hint: "use an absolute path or a template: name",
    });
  }
  const including_ = /^([A-Za-z][A-Za-z0-9+.-]+):(.*)$/s.exec(including);
  if (including_) {
    const kind = including_[1]!.toLowerCase();
    if (kind === "template") {
      const dir = posix.dirname(including_[2]!.replace(/^\/+/, ""));
      return `template:${posix.join(dir, locator)}`;
    }
    if (kind === "file") return posix.join(posix.dirname(including_[2]!.replace(/^\/\//, "")), locator);
    return new URL(locator, including).href;
  }
  return posix.join(posix.dirname(including), locator);
}

/** Merges an embedded base document under the template document (Lima's mergeDocuments). */
function mergeBase(template: Document, base: Document): void {
  const a = rootMap(template);
  const b = rootMap(base);
  keepHigherVersion(a, b, ["minimumLimaVersion"]);
  keepHigherVersion(a, b, ["vmOpts", "qemu", "minimumVersion"]);
  // A template that lists its own DNS servers does not want more from its base.
  if (a.has("dns")) b.delete("dns");
  mergeMaps(a, b, 0);
  const unsupported = a.get("mountTypesUnsupported", true);
  if (isSeq(unsupported)) {
    const seen = new Set<string>();
    unsupported.items = unsupported.items.filter((item) => {
      const identity = JSON.stringify(isScalar(item) ? item.value : item);
      if (seen.has(identity)) return false;
      seen.add(identity);
      return true;
    });
  }
}

function mergeMaps(a: YAMLMap, b: YAMLMap, depth: number): void {
  for (const pair of b.items) {
    const key = keyOf(pair);
    if (key === undefined || (depth === 0 && key === "base")) continue;
    const own = a.items.find((item) => keyOf(item) === key);
    if (own === undefined) {
      a.items.push(pair.clone() as Pair);
      continue;
    }
    if (isMap(own.value) && isMap(pair.value)) {
      mergeMaps(own.value, pair.value, depth + 1);
    } else if (isSeq(own.value) && isSeq(pair.value)) {
      const copies = pair.value.items.map((item) => cloneNode(item));
      own.value.items = depth === 0 && prependedLists.has(key) ? [...copies, ...own.value.items] : [...own.value.items, ...copies];
      copyKeyComment(own, pair);
    }
    // Anything else set in the template, null included, hides the base value.
  }
}

function keepHigherVersion(a: YAMLMap, b: YAMLMap, path: string[]): void {
  const mine = a.getIn(path);
  const theirs = b.getIn(path);
  if (typeof mine !== "string" || typeof theirs !== "string") return;
  if (compareVersions(theirs, mine) > 0) a.setIn(path, b.getIn(path, true));
}

/** Numeric comparison of dotted versions; pre-release and build suffixes are ignored. */
function compareVersions(x: string, y: string): number {
  const parts = (version: string) =>
    version
      .replace(/^v/, "")
      .split(/[-+]/)[0]!
      .split(".")
      .map((part) => Number.parseInt(part, 10) || 0);
  const [px, py] = [parts(x), parts(y)];
  for (let i = 0; i < Math.max(px.length, py.length); i++) {
    const diff = (px[i] ?? 0) - (py[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

// --- entries of one list that share a key are combined, after all bases are merged ---

interface KeyedList {
  list: string;
  keyOf: (entry: YAMLMap | Scalar) => string | undefined;
  /** Fields never copied from a later entry (the key itself). */
  keyFields: readonly string[];
  /** Fields copied as a group, and only when the earlier entry has none of them. */
  exclusive?: readonly string[];
  /** Fields inherited whole and only when the earlier entry has an empty list. */
  wholeLists?: readonly string[];
}

const keyedLists: readonly KeyedList[] = [
  {
    list: "additionalDisks",
    keyOf: (entry) => stringOrUndefined(isScalar(entry) ? entry.value : entry.get("name")),
    keyFields: ["name"],
    wholeLists: ["fsArgs"],
  },
  {
    list: "mounts",
    keyOf: (entry) => (isMap(entry) ? stringOrUndefined(entry.get("mountPoint") ?? entry.get("location")) : undefined),
    keyFields: ["location", "mountPoint"],
  },
  {
    list: "networks",
    keyOf: (entry) => (isMap(entry) ? stringOrUndefined(entry.get("interface")) : undefined),
    keyFields: ["interface"],
    exclusive: ["lima", "socket"],
  },
];

/**
 * An entry whose key was seen before fills the gaps of that earlier entry and is dropped; the key
 * `*` fills the gaps of every earlier entry. Template entries come before base entries, so the
 * template's values win.
 */
function combineListEntries(document: Document): void {
  const root = rootMap(document);
  for (const spec of keyedLists) {
    const seq = root.get(spec.list, true);
    if (!isSeq(seq)) continue;
    const indexByKey = new Map<string, number>();
    for (let src = 0; src < seq.items.length; ) {
      const entry = seq.items[src];
      const key = isMap(entry) || isScalar(entry) ? spec.keyOf(entry) : undefined;
      let targets: number[];
      if (key === "*") {
        targets = [...Array(src).keys()];
      } else if (key !== undefined && indexByKey.has(key)) {
        targets = [indexByKey.get(key)!];
      } else {
        if (key !== undefined) indexByKey.set(key, src);
        src++;
        continue;
      }
      if (isMap(entry)) {
        for (const dst of targets) {
          seq.items[dst] = fillEntry(seq.items[dst], entry, spec, key !== "*");
        }
      }
      seq.items.splice(src, 1);
    }
  }
}

function fillEntry(target: unknown, source: YAMLMap, spec: KeyedList, copyComments: boolean): unknown {
  let dest: YAMLMap;
  if (isMap(target)) dest = target;
  else if (isScalar(target) && spec.list === "additionalDisks") {
    dest = new YAMLMap();
    dest.items.push(new Pair(new Scalar("name"), target));
  } else {
    return target;
  }
  const before = dest.items.length;
  if (spec.exclusive && !spec.exclusive.some((field) => isSetValue(dest.get(field)))) {
    for (const pair of source.items) {
      const key = keyOf(pair);
      if (key !== undefined && spec.exclusive.includes(key) && isSetValue(pair.value)) setPair(dest, pair);
    }
  }
  for (const pair of source.items) {
    const key = keyOf(pair);
    if (key === undefined || spec.keyFields.includes(key) || spec.exclusive?.includes(key)) continue;
    const mine = dest.get(key, true);
    if (spec.wholeLists?.includes(key)) {
      if (!(isSeq(mine) && mine.items.length > 0) && isSeq(pair.value) && pair.value.items.length > 0) setPair(dest, pair);
      continue;
    }
    fillMissing(dest, pair);
  }
  if (copyComments && !dest.commentBefore && source.commentBefore) {
    dest.commentBefore = source.commentBefore;
  }
  // A disk that stayed a plain name is kept in its short form.
  return dest.items.length === before && isScalar(target) ? target : dest;
}

/** Copies `pair` into `dest` where `dest` has no value, recursing into nested mappings. */
function fillMissing(dest: YAMLMap, pair: Pair): void {
  const key = keyOf(pair);
  if (key === undefined || !isSetValue(pair.value)) return;
  const mine = dest.get(key, true);
  if (!isSetValue(mine)) {
    setPair(dest, pair);
  } else if (isMap(mine) && isMap(pair.value)) {
    for (const inner of pair.value.items) fillMissing(mine, inner);
  }
}

function setPair(dest: YAMLMap, pair: Pair): void {
  const key = keyOf(pair);
  const copy = pair.clone() as Pair;
  const index = dest.items.findIndex((item) => keyOf(item) === key);
  if (index === -1) dest.items.push(copy);
  else dest.items[index] = copy;
}

// --- provision and probe scripts given as `file:` ---

async function inlineScripts(document: Document, locator: string, state: EmbedState): Promise<void> {
  const root = rootMap(document);
  for (const list of ["provision", "probes"] as const) {
    const seq = root.get(list, true);
    if (!isSeq(seq)) continue;
    for (const entry of seq.items) {
      if (!isMap(entry)) continue;
      const file: unknown = entry.get("file", true);
      if (!isSetValue(file)) continue;
      const target = list === "probes" ? "script" : scriptField(entry.get("mode"));
      // Both given is an error that validation reports with a position; leave it in place.
      if (isSetValue(entry.get(target, true)) && entry.get(target) !== "") continue;
      const url = isScalar(file) ? stringOrUndefined(file.value) : isMap(file) ? stringOrUndefined(file.get("url")) : undefined;
      if (url === undefined) continue;
      const fileLocator = await resolved(absoluteLocator(url, locator), state);
      state.included.push({ locator: fileLocator, kind: "file", namedIn: locator });
      const text = await state.read(fileLocator);
      const value = new Scalar(text);
      if (text.includes("\n")) value.type = Scalar.BLOCK_LITERAL;
      const index = entry.items.findIndex((pair) => keyOf(pair) === "file");
      const old = entry.items[index]!;
      const pair = new Pair(new Scalar(target), value);
      if (isScalar(old.key)) (pair.key as Scalar).commentBefore = old.key.commentBefore;
      // An empty `script:` beside `file:` is dropped; the inlined text takes the place of `file:`.
      entry.items = entry.items.flatMap((item, i) => (i === index ? [pair] : keyOf(item) === target ? [] : [item]));
    }
  }
}

function scriptField(mode: unknown): "script" | "content" | "expression" {
  if (mode === "data") return "content";
  if (mode === "yq") return "expression";
  return "script";
}

// --- node helpers ---

function keyOf(pair: Pair): string | undefined {
  const key = isScalar(pair.key) ? pair.key.value : pair.key;
  return typeof key === "string" ? key : typeof key === "number" ? String(key) : undefined;
}

function isSetValue(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (isScalar(value)) return value.value !== null && value.value !== undefined && value.value !== "";
  return value !== "";
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function cloneNode<T>(node: T): T {
  const clonable = node as { clone?: () => T };
  return typeof clonable?.clone === "function" ? clonable.clone() : node;
}

function copyKeyComment(own: Pair, from: Pair): void {
  if (isScalar(own.key) && isScalar(from.key) && !own.key.commentBefore && from.key.commentBefore) {
    own.key.commentBefore = from.key.commentBefore;
  }
}
