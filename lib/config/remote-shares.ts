// The host folders a template fetched over http(s) shares with the guest. Lima's own templates share the home
// folder read-only and /tmp/lima writable, so shares stay allowed (`den create https://…/docker.yaml` must work),
// but the user is told about each one, and the few that hand the host over are refused (remoteShares).
// Mount entries are merged and combined across bases before anything is checked, so every entry and every
// `writable` value is marked with the remote template it came from while its document is still whole.
import { posix } from "node:path";
import { type Document, isMap, isScalar, isSeq, type Node } from "yaml";
import { DenError, excerpt, excerptPath, formatPath } from "../errors.ts";

/** One host folder shared with the guest because a remote template asks for it. */
export interface RemoteShare {
  /** URL of the remote template; for a `template:` base it names, that remote template. */
  template: string;
  /** The mount location as the template writes it (`~`, `/tmp/lima`). */
  location: string;
  writable: boolean;
}

/** Which remote template decided a mount node. */
export interface ShareOrigin {
  /** The remote template the user is told about (for a node from a `template:` base, the remote template naming it). */
  template: string;
  /** Locator of the document the node was written in. */
  document: string;
}

export interface RemoteSharesOptions {
  /** The host user's home folder; when absent only `~` and `~/…` are recognised as inside it. */
  home?: string | undefined;
  /** DEN_HOME: a guest writing there could rewrite the other instances' den.yaml and seeds. */
  denHome?: string | undefined;
}

interface Mark extends ShareOrigin {
  path: (string | number)[];
}

// A symbol on the node itself: yaml's clone() copies own properties, so the mark follows the node through
// every copy the base merge and the list combination make, which a WeakMap keyed by node would lose.
const markKey = Symbol("den.remoteShareOrigin");
type Marked = { [markKey]?: Mark };

/**
 * Marks the `mounts` entries of one document, and their `writable` values, with the remote template they
 * come from. Call it on the document as parsed, before its bases are merged into it.
 */
export function markRemoteMounts(document: Document, origin: ShareOrigin): void {
  const mounts = isMap(document.contents) ? document.contents.get("mounts", true) : undefined;
  if (!isSeq(mounts)) return;
  mounts.items.forEach((entry, index) => {
    if (!isMap(entry)) return;
    (entry as Marked)[markKey] = { ...origin, path: ["mounts", index] };
    const writable = entry.get("writable", true);
    if (isScalar(writable)) (writable as Marked)[markKey] = { ...origin, path: ["mounts", index, "writable"] };
  });
}

/**
 * The shares a remote template decided, from the fully merged document: an entry it wrote, or an entry of
 * another template it made writable (a `*` entry or one with the same mount point fills `writable` in).
 * Throws TEMPLATE_SHARE_REFUSED for what no remote template may do:
 * - share `/`: the whole host, every readable file of the user and the system, for no template's need;
 * - make writable the home folder, DEN_HOME, anything inside them or a folder holding them (`/home`): the
 *   guest, which runs the template's scripts, could then edit ~/.bashrc or ~/.ssh/authorized_keys, or another
 *   instance's den.yaml, and so run its code on the host. A folder outside them (/tmp/lima) is fine;
 * - make writable a location that is a `{{…}}` template: where it points is known only once the instance exists.
 * Read-only shares of the home folder stay allowed (Lima's default) and are reported. Only what a remote
 * document wrote itself is refused: a `template:` base it names is the user's own or den's file.
 */
export function remoteShares(document: Document, options: RemoteSharesOptions = {}): RemoteShare[] {
  const mounts = isMap(document.contents) ? document.contents.get("mounts", true) : undefined;
  if (!isSeq(mounts)) return [];
  const shares: RemoteShare[] = [];
  for (const entry of mounts.items) {
    if (!isMap(entry)) continue;
    const location = entry.get("location");
    if (typeof location !== "string" || location === "") continue;
    const writableNode = entry.get("writable", true) as Node | undefined;
    const writable = isScalar(writableNode) && writableNode.value === true;
    const placed = markOf(entry);
    const madeWritable = writable ? markOf(writableNode) : undefined;
    if (placed && isRemoteDocument(placed) && hostPath(location, options.home) === "/") {
      throw refused({ ...placed, path: [...placed.path, "location"] }, `shares "${excerpt(location, 120)}", the whole host file system, with the guest`, {
        rule: "a remote template may not share the root folder",
        location,
      });
    }
    if (madeWritable && isRemoteDocument(madeWritable)) checkWritable(location, madeWritable, options);
    const template = placed?.template ?? madeWritable?.template;
    if (template !== undefined) shares.push({ template, location, writable });
  }
  return shares;
}

/**
 * The shares still in the configuration after the edit flags (`--mount-none`, `--mount-writable`, `--set`),
 * with the mode they have now: a location no mount names any more is dropped.
 */
export function sharesAfterEdits(shares: readonly RemoteShare[], config: unknown): RemoteShare[] {
  const mounts = isRecord(config) && Array.isArray(config.mounts) ? config.mounts.filter(isRecord) : [];
  return shares.flatMap((share) => {
    const mount = mounts.find((candidate) => candidate.location === share.location);
    return mount === undefined ? [] : [{ ...share, writable: mount.writable === true }];
  });
}

function checkWritable(location: string, mark: Mark, options: RemoteSharesOptions): void {
  const path = hostPath(location, options.home);
  if (path === undefined) {
    throw refused(mark, `lets the guest write to "${excerpt(location, 120)}", a folder known only once the instance exists`, {
      rule: "a remote template may share writable only a plain absolute path",
      location,
    });
  }
  const guarded = [{ folder: cleanPath(options.home ?? "~"), name: "your home folder" }, ...(options.denHome ? [{ folder: cleanPath(options.denHome), name: "DEN_HOME" }] : [])];
  const hit = guarded.find(({ folder }) => overlaps(path, folder));
  if (hit) {
    const where = path === hit.folder ? hit.name : path === "/" || hit.folder.startsWith(`${path}/`) ? `a folder holding ${hit.name}` : `a folder in ${hit.name}`;
    throw refused(mark, `lets the guest write to "${excerpt(location, 120)}", ${where}`, {
      rule: "a remote template may not share your home folder or DEN_HOME writable, nor a folder in or holding them",
      location,
    });
  }
}

function refused(mark: Mark, what: string, options: { rule: string; location: string }): DenError {
  const field = formatPath(mark.path);
  return new DenError("TEMPLATE_SHARE_REFUSED", `Cannot use template "${excerptPath(mark.document)}": ${field} ${what}`, {
    hint: `${options.rule}; download the template, change the mount, and create from the local copy`,
    details: { template: mark.document, field, location: options.location.slice(0, 1024) },
  });
}

function isRemoteDocument(mark: Mark): boolean {
  return /^https?:\/\//i.test(mark.document);
}

function markOf(node: unknown): Mark | undefined {
  return typeof node === "object" && node !== null ? (node as Marked)[markKey] : undefined;
}

/** The host path a location names, as defaults.ts expands it; undefined for a `{{…}}` template. */
function hostPath(location: string, home: string | undefined): string | undefined {
  if (location.includes("{{")) return undefined;
  const expanded = location === "~" ? (home ?? "~") : location.startsWith("~/") ? posix.join(home ?? "~", location.slice(2)) : location;
  return cleanPath(expanded);
}

function cleanPath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

/** `path` is `folder`, inside it, or holds it. */
function overlaps(path: string, folder: string): boolean {
  const inside = (child: string, parent: string) => child === parent || parent === "/" || child.startsWith(`${parent}/`);
  return inside(path, folder) || inside(folder, path);
}


function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
