// den's ISO9660 writer for the NoCloud seed (cidata.iso), in pure TypeScript so den needs no mkisofs, xorriso or
// hdiutil at run time. Hand-written because no maintained npm library writes ISO9660 with both Joliet and Rock Ridge,
// and den needs both: Linux (isofs, cloud-init's blkid + mount path) reads the Rock Ridge names, modes and symlinks;
// macOS and BSD guests read the Joliet names.
//
// Image layout, in 2048-byte sectors:
//   0-15 system area (zeros) · 16 primary volume descriptor · 17 Joliet supplementary descriptor · 18 terminator
//   path tables (primary L, M; Joliet L, M) · primary directories · Joliet directories · Rock Ridge continuation
//   areas · file data (one extent per file, shared by both trees).
// Everything before the file data is computed from names and sizes alone (planIso9660 is pure); the file bytes are
// then streamed from each entry's source straight to the sink, one file at a time.

import { DenError } from "../lib/errors.ts";
import { writeFileAtomically } from "../lib/fs/write-file-atomically.ts";

/** The bytes of one file: a stream is read once, chunk by chunk; a string is written as UTF-8. */
export type IsoSource = ReadableStream<Uint8Array> | Uint8Array | string;

/** A regular file; `size` is declared up front so the layout can be planned before any byte is read. */
export interface IsoFileEntry {
  path: string;
  kind: "file";
  /** Permission bits, 0644 when left out. */
  mode?: number;
  size: number;
  /** Called once, when the file's bytes are written; must yield exactly `size` bytes. */
  source: () => IsoSource;
}

/** A directory; parents of every entry are implied, so this is only needed for empty folders or a mode. */
export interface IsoDirEntry {
  path: string;
  kind: "dir";
  /** Permission bits, 0755 when left out. */
  mode?: number;
}

/** A symbolic link, visible through Rock Ridge only (Joliet cannot express links). */
export interface IsoSymlinkEntry {
  path: string;
  kind: "symlink";
  target: string;
}

/** One item of the image; `path` is relative, `/`-separated, without `.` or `..` parts. */
export type IsoEntry = IsoFileEntry | IsoDirEntry | IsoSymlinkEntry;

export interface IsoOptions {
  /** Volume label; cloud-init finds the NoCloud seed by the label `cidata`. */
  volumeId?: string;
  /** Every recorded date; a fixed default keeps the image byte-for-byte reproducible. */
  timestamp?: Date;
}

/** A file's place in the image, as planned. */
export interface IsoPlannedFile {
  path: string;
  /** First sector of the file's data. */
  extent: number;
  size: number;
  source: () => IsoSource;
}

/** The complete layout: `metadata` is the image up to the first file's data, `files` follow in extent order. */
export interface IsoPlan {
  volumeId: string;
  totalBytes: number;
  metadata: Uint8Array;
  files: IsoPlannedFile[];
}

export interface IsoWriteResult {
  bytes: number;
}

export const ISO_SECTOR = 2048;
export const DEFAULT_VOLUME_ID = "cidata";
export const DEFAULT_TIMESTAMP = new Date(Date.UTC(1970, 0, 1));

/** ISO9660 allows 8 directory levels counting the root. Rock Ridge can go deeper only by relocating directories
 *  (RR_MOVED with CL/PL/RE entries), which Joliet readers (macOS, BSD) do not follow, so den keeps the plain limit. */
export const MAX_DIRECTORY_LEVELS = 8;
/** Joliet's file identifier limit, in UCS-2 characters. */
export const MAX_JOLIET_NAME = 64;
/** Rock Ridge NM names longer than this do not fit POSIX NAME_MAX on the guest. */
export const MAX_ROCK_RIDGE_NAME_BYTES = 255;
/** A data length is a 32-bit field and den writes every file as a single extent. */
export const MAX_FILE_SIZE = 0xffff_ffff;
/** Sector numbers are 32-bit fields. */
export const MAX_TOTAL_SECTORS = 0xffff_ffff;
/** Path table records number their parent in 16 bits. */
export const MAX_DIRECTORIES = 0xffff;
/** libisofs (xorriso and the tools built on it) refuses Rock Ridge link targets of 1024 bytes or more, and isoinfo
 *  crashes on a few KiB; 1023 bytes also keeps every record's Rock Ridge data within one continuation area. */
export const MAX_SYMLINK_TARGET_BYTES = 1023;

const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

const PRIMARY_SYSTEM_AREA = 16;
const FIRST_PATH_TABLE = 19;
const MAX_RECORD = 254; // 255 rounded down to even: records have even lengths
const CE_LENGTH = 28;
const EMPTY = new Uint8Array(0);
const ZEROS = new Uint8Array(64 * 1024);
const utf8 = new TextEncoder();

type Kind = IsoEntry["kind"];

interface Node {
  name: string;
  path: string;
  kind: Kind;
  mode: number;
  explicit: boolean;
  size: number;
  source: (() => IsoSource) | undefined;
  target: string;
  parent: Node | undefined;
  children: Map<string, Node>;
  isoName: string;
  jolietName: string;
  primary: DirLayout;
  joliet: DirLayout;
  extent: number;
}

interface DirLayout {
  records: DirRecord[];
  sectors: number;
  extent: number;
  number: number;
}

interface DirRecord {
  node: Node;
  /** The node this record points at: the directory itself for ".", its parent for "..". */
  identifier: Uint8Array;
  isDot: boolean;
  susp: SuspLayout | undefined;
  length: number;
}

/** Rock Ridge entries of one record: those inside the record, then (after a CE entry) those in a continuation area. */
interface SuspLayout {
  inline: Uint8Array[];
  area: { entries: Uint8Array[]; length: number; sector: number; offset: number } | undefined;
}

/** Plans the image: validates every entry, builds both trees and assigns every sector. Reads no file. */
export function planIso9660(entries: readonly IsoEntry[], options: IsoOptions = {}): IsoPlan {
  const volumeId = checkVolumeId(options.volumeId ?? DEFAULT_VOLUME_ID);
  const time = checkTimestamp(options.timestamp ?? DEFAULT_TIMESTAMP);
  const root = buildTree(entries);
  assignNames(root);
  const primaryDirs = directoriesInPathTableOrder(root, "primary");
  if (primaryDirs.length > MAX_DIRECTORIES) {
    throw limitError("", `the image has ${primaryDirs.length} directories, ISO9660 path tables allow ${MAX_DIRECTORIES}`, "put the files in fewer folders");
  }
  const jolietDirs = directoriesInPathTableOrder(root, "joliet");
  primaryDirs.forEach((dir, index) => (dir.primary.number = index + 1));
  jolietDirs.forEach((dir, index) => (dir.joliet.number = index + 1));

  for (const dir of primaryDirs) layOutPrimaryDirectory(dir, time, dir === root);
  for (const dir of jolietDirs) layOutJolietDirectory(dir);

  const primaryTable = pathTableSize(primaryDirs, (dir) => dir.isoName.length);
  const jolietTable = pathTableSize(jolietDirs, (dir) => dir.jolietName.length * 2);
  let next = FIRST_PATH_TABLE;
  const tables = [primaryTable, primaryTable, jolietTable, jolietTable].map((size) => {
    const at = next;
    next += sectorsFor(size);
    return at;
  }) as [number, number, number, number];
  for (const dir of primaryDirs) {
    dir.primary.extent = next;
    next += dir.primary.sectors;
  }
  for (const dir of jolietDirs) {
    dir.joliet.extent = next;
    next += dir.joliet.sectors;
  }
  next = placeContinuationAreas(primaryDirs, next);
  const metadataSectors = next;

  const files: IsoPlannedFile[] = [];
  for (const dir of primaryDirs) {
    for (const record of dir.primary.records) {
      const node = record.node;
      if (record.isDot || node.kind !== "file") continue;
      node.extent = node.size === 0 ? 0 : next;
      next += sectorsFor(node.size);
      if (next > MAX_TOTAL_SECTORS) {
        throw limitError(node.path, `the image would exceed ${MAX_TOTAL_SECTORS} sectors of ${ISO_SECTOR} bytes, the ISO9660 maximum`, "leave large files out of the seed");
      }
      files.push({ path: node.path, extent: node.extent, size: node.size, source: node.source as () => IsoSource });
    }
  }

  const metadata = new Uint8Array(metadataSectors * ISO_SECTOR);
  const layout = { volumeId, time, totalSectors: next, primaryTable, jolietTable, tables, root, primaryDirs, jolietDirs };
  writeVolumeDescriptors(metadata, layout);
  writePathTables(metadata, layout);
  const date = recordDate(time);
  for (const dir of primaryDirs) writeDirectory(metadata, dir.primary, { tree: "primary", date });
  for (const dir of jolietDirs) writeDirectory(metadata, dir.joliet, { tree: "joliet", date });
  return { volumeId, totalBytes: next * ISO_SECTOR, metadata, files };
}

/** Streams the image: the planned metadata, then each file's bytes from its source, padded to whole sectors. */
export async function* writeIso9660(entries: readonly IsoEntry[], options: IsoOptions = {}): AsyncGenerator<Uint8Array> {
  const plan = planIso9660(entries, options);
  yield plan.metadata;
  for (const file of plan.files) {
    let written = 0;
    for await (const chunk of readSource(file)) {
      written += chunk.byteLength;
      if (written > file.size) throw sizeMismatch(file, `more than ${file.size}`);
      if (chunk.byteLength > 0) yield chunk;
    }
    if (written !== file.size) throw sizeMismatch(file, String(written));
    yield* zeros(sectorsFor(file.size) * ISO_SECTOR - file.size);
  }
}

/** Writes the image to `path` atomically: into a temporary file beside it, renamed over `path` once complete. */
export async function writeIso9660ToFile(entries: readonly IsoEntry[], path: string, options: IsoOptions = {}): Promise<IsoWriteResult> {
  // No fsync: only all-or-nothing visibility matters here, which rename gives.
  const bytes = await writeFileAtomically(path, writeIso9660(entries, options), {
    mode: 0o644,
    failure: (cause, { step }) => ioError(`Cannot ${step} ISO image "${path}"`, cause),
  });
  return { bytes };
}

// ---------------------------------------------------------------------------------------------------------------
// Validation and the tree

function buildTree(entries: readonly IsoEntry[]): Node {
  const root = newNode({ name: "", path: "", kind: "dir", mode: DIR_MODE, parent: undefined });
  root.explicit = true;
  const seen = new Set<string>();
  for (const entry of entries) {
    const parts = splitPath(entry.path);
    const path = parts.join("/");
    // The root is level 1, so an entry of n parts lives in a directory of level n; a directory is itself level n + 1.
    const level = parts.length + (entry.kind === "dir" ? 1 : 0);
    if (level > MAX_DIRECTORY_LEVELS) {
      throw limitError(path, `the path needs ${level} directory levels, ISO9660 allows ${MAX_DIRECTORY_LEVELS} counting the root`, "keep seed files within 7 nested folders; deeper trees need Rock Ridge relocation, which Joliet readers do not follow");
    }
    if (seen.has(path)) throw limitError(path, "the path is listed twice", "list every path once");
    seen.add(path);
    let dir = root;
    for (const [index, part] of parts.entries()) {
      const isLast = index === parts.length - 1;
      const existing = dir.children.get(part);
      if (!isLast) {
        if (existing && existing.kind !== "dir") {
          throw limitError(path, `"${existing.path}" is a ${existing.kind}, not a directory`, "rename the file or the folder");
        }
        dir = existing ?? addChild(dir, { name: part, kind: "dir", mode: DIR_MODE });
        continue;
      }
      if (existing && (existing.kind !== "dir" || entry.kind !== "dir" || existing.explicit)) {
        throw limitError(path, `the path is both a ${existing.kind} and a ${entry.kind}`, "list every path once");
      }
      const node = existing ?? addChild(dir, { name: part, kind: entry.kind, mode: defaultMode(entry.kind) });
      node.explicit = true;
      fillEntry(node, entry);
    }
  }
  return root;
}

function fillEntry(node: Node, entry: IsoEntry): void {
  if (entry.kind === "symlink") {
    if (typeof entry.target !== "string" || entry.target === "" || entry.target.includes("\0")) {
      throw limitError(node.path, "the symlink target is empty or contains NUL", "give the link a target path");
    }
    if (utf8.encode(entry.target).length > MAX_SYMLINK_TARGET_BYTES) {
      throw limitError(node.path, `the symlink target is longer than ${MAX_SYMLINK_TARGET_BYTES} bytes`, "use a shorter link target");
    }
    node.target = entry.target;
    return;
  }
  if (entry.mode !== undefined) {
    if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) {
      throw limitError(node.path, `mode ${formatMode(entry.mode)} is not a permission mode (0 to 0o7777)`, "pass permission bits only, e.g. 0o755");
    }
    node.mode = entry.mode;
  }
  if (entry.kind === "file") {
    if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
      throw limitError(node.path, `size ${String(entry.size)} is not a byte count`, "declare the file's size in bytes");
    }
    if (entry.size > MAX_FILE_SIZE) {
      throw limitError(node.path, `the file is ${entry.size} bytes, a single ISO9660 extent holds at most ${MAX_FILE_SIZE}`, "keep each seed file below 4 GiB");
    }
    node.size = entry.size;
    node.source = entry.source;
  }
}

function splitPath(path: string): string[] {
  if (typeof path !== "string") throw limitError(String(path), "the path is not a string", "pass a relative path such as \"boot/00-foo.sh\"");
  const parts = path.split("/");
  for (const part of parts) checkName(path, part);
  return parts;
}

function checkName(path: string, name: string): void {
  const where = path === "" ? "(empty path)" : path;
  if (name === "") throw limitError(where, "the path has an empty name (a leading, trailing or doubled \"/\")", "write paths as \"dir/name\" without extra slashes");
  if (name === "." || name === "..") throw limitError(where, `the name "${name}" is reserved`, "write paths without \".\" or \"..\" parts");
  if (/[\0-\x1f\x7f]/.test(name)) throw limitError(where, "the name contains a control character or NUL", "use printable characters in names");
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name)) {
    throw limitError(where, "the name contains an unpaired UTF-16 surrogate", "use valid Unicode in names");
  }
  if (utf8.encode(name).length > MAX_ROCK_RIDGE_NAME_BYTES) {
    throw limitError(where, `the name "${name}" is longer than ${MAX_ROCK_RIDGE_NAME_BYTES} bytes (Rock Ridge limit)`, "use a shorter name");
  }
  if ([...name].length > MAX_JOLIET_NAME) {
    throw limitError(where, `the name "${name}" is longer than ${MAX_JOLIET_NAME} characters (Joliet limit)`, "use a name of at most 64 characters");
  }
}

function checkVolumeId(volumeId: string): string {
  // Joliet stores the label in 16 UCS-2 characters; blkid prefers that copy, so a longer label would be cut.
  if (!/^[A-Za-z0-9_.-]{1,16}$/.test(volumeId)) {
    throw limitError("", `the volume id "${volumeId}" must be 1 to 16 characters of A-Z a-z 0-9 _ . -`, "use a short label such as \"cidata\"");
  }
  return volumeId;
}

function checkTimestamp(timestamp: Date): Date {
  const year = timestamp.getUTCFullYear();
  if (Number.isNaN(timestamp.getTime()) || year < 1900 || year > 2155) {
    throw limitError("", `the timestamp ${String(timestamp)} is outside 1900 to 2155, the range of ISO9660 directory dates`, "pass a date between 1900 and 2155");
  }
  return timestamp;
}

function newNode(fields: { name: string; path: string; kind: Kind; mode: number; parent: Node | undefined }): Node {
  const emptyLayout = (): DirLayout => ({ records: [], sectors: 0, extent: 0, number: 0 });
  return {
    ...fields,
    explicit: false,
    size: 0,
    source: undefined,
    target: "",
    children: new Map(),
    isoName: "",
    jolietName: "",
    primary: emptyLayout(),
    joliet: emptyLayout(),
    extent: 0,
  };
}

function addChild(parent: Node, fields: { name: string; kind: Kind; mode: number }): Node {
  const path = parent.path === "" ? fields.name : `${parent.path}/${fields.name}`;
  const node = newNode({ ...fields, path, parent });
  parent.children.set(fields.name, node);
  return node;
}

function defaultMode(kind: Kind): number {
  return kind === "dir" ? DIR_MODE : kind === "file" ? FILE_MODE : 0o777;
}

/** Children in a fixed order (by name, compared as UTF-16 like Joliet does) so the same tree gives the same bytes. */
function sortedChildren(dir: Node): Node[] {
  return [...dir.children.values()].sort((a, b) => compare(a.name, b.name));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Names: d-character identifiers for the primary tree, UCS-2 for Joliet, the real name in Rock Ridge NM

function assignNames(dir: Node): void {
  const isoTaken = new Set<string>();
  const jolietTaken = new Set<string>();
  for (const child of sortedChildren(dir)) {
    child.isoName = uniqueIsoName(child, isoTaken);
    child.jolietName = uniqueJolietName(jolietSpelling(child.name), jolietTaken);
    if (child.kind === "dir") assignNames(child);
  }
}

/** Level 2 identifiers: up to 30 d-characters (A-Z 0-9 _); files get "NAME.EXT;1", directories "NAME". */
function uniqueIsoName(node: Node, taken: Set<string>): string {
  const toDChars = (text: string) => text.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  let base: string;
  let ext = "";
  const dot = node.name.lastIndexOf(".");
  if (node.kind !== "dir" && dot > 0) {
    base = toDChars(node.name.slice(0, dot));
    ext = toDChars(node.name.slice(dot + 1)).slice(0, 8);
  } else {
    base = toDChars(node.name);
  }
  const maxBase = node.kind === "dir" ? 31 : 30 - 1 - ext.length;
  // Linux without Rock Ridge shows "NAME.;1" as "name", so files and directories share one namespace of stems.
  const stem = (b: string) => (ext === "" ? b : `${b}.${ext}`);
  let candidate = base.slice(0, maxBase);
  for (let n = 1; taken.has(stem(candidate)); n++) {
    const suffix = `_${n}`;
    candidate = base.slice(0, maxBase - suffix.length) + suffix;
  }
  taken.add(stem(candidate));
  return node.kind === "dir" ? candidate : `${candidate}.${ext};1`;
}

/** Joliet forbids `* / : ; ? \` and is UCS-2, so characters outside the BMP (which would need UTF-16 surrogate
 *  pairs) become "_" too; Rock Ridge still carries the real name. */
export function jolietSpelling(name: string): string {
  return name.replace(/[*/:;?\\]/g, "_").replace(/[\u{10000}-\u{10ffff}]/gu, "_");
}

function uniqueJolietName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 1; taken.has(candidate); n++) {
    const suffix = `_${n}`;
    candidate = name.slice(0, MAX_JOLIET_NAME - suffix.length) + suffix;
  }
  taken.add(candidate);
  return candidate;
}

function ucs2(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[i * 2] = unit >> 8;
    out[i * 2 + 1] = unit & 0xff;
  }
  return out;
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

// ---------------------------------------------------------------------------------------------------------------
// Directories and path tables

/** Breadth first with children in identifier order: the order ECMA-119 prescribes for path table records. */
function directoriesInPathTableOrder(root: Node, tree: "primary" | "joliet"): Node[] {
  const out: Node[] = [root];
  for (let i = 0; i < out.length; i++) {
    const dir = out[i] as Node;
    const children = [...dir.children.values()].filter((child) => child.kind === "dir");
    if (tree === "primary") children.sort((a, b) => compare(a.isoName, b.isoName));
    else children.sort((a, b) => compare(a.jolietName, b.jolietName));
    out.push(...children);
  }
  return out;
}

function layOutPrimaryDirectory(dir: Node, time: Date, isRoot: boolean): void {
  const parent = dir.parent ?? dir;
  const children = [...dir.children.values()].sort((a, b) => compareIsoNames(a.isoName, b.isoName));
  const records: DirRecord[] = [
    makeRecord(dir, Uint8Array.of(0), true, rockRidgeEntries(dir, time, isRoot ? "root" : "dot")),
    makeRecord(parent, Uint8Array.of(1), true, rockRidgeEntries(parent, time, "dot")),
    ...children.map((child) => makeRecord(child, ascii(child.isoName), false, rockRidgeEntries(child, time, "named"))),
  ];
  dir.primary.records = records;
  dir.primary.sectors = directorySectors(records);
}

function layOutJolietDirectory(dir: Node): void {
  const parent = dir.parent ?? dir;
  const children = [...dir.children.values()].filter((child) => child.kind !== "symlink").sort((a, b) => compare(a.jolietName, b.jolietName));
  const records: DirRecord[] = [
    makeRecord(dir, Uint8Array.of(0), true, undefined),
    makeRecord(parent, Uint8Array.of(1), true, undefined),
    ...children.map((child) => makeRecord(child, ucs2(child.jolietName), false, undefined)),
  ];
  dir.joliet.records = records;
  dir.joliet.sectors = directorySectors(records);
}

/** ECMA-119 9.3: by name, then extension (each padded with spaces), then version. */
function compareIsoNames(a: string, b: string): number {
  const split = (name: string) => {
    const [stem = "", version = ""] = name.split(";");
    const dot = stem.indexOf(".");
    return dot < 0 ? [stem, "", version] : [stem.slice(0, dot), stem.slice(dot + 1), version];
  };
  const [an, ae, av] = split(a) as [string, string, string];
  const [bn, be, bv] = split(b) as [string, string, string];
  return compare(an.padEnd(31), bn.padEnd(31)) || compare(ae.padEnd(31), be.padEnd(31)) || compare(bv, av);
}

function makeRecord(node: Node, identifier: Uint8Array, isDot: boolean, entries: Uint8Array[] | undefined): DirRecord {
  const base = 33 + identifier.length + (identifier.length % 2 === 0 ? 1 : 0);
  const susp = entries ? splitSusp(base, entries) : undefined;
  const suspLength = susp ? sum(susp.inline) : 0;
  const length = base + suspLength + ((base + suspLength) % 2);
  return { node, identifier, isDot, susp, length };
}

/** Keeps what fits inside the record (max 255 bytes) and moves the rest to one continuation area. */
function splitSusp(base: number, entries: Uint8Array[]): SuspLayout {
  if (base + sum(entries) <= MAX_RECORD) return { inline: entries, area: undefined };
  let split = 0;
  let used = base + CE_LENGTH;
  while (split < entries.length && used + (entries[split] as Uint8Array).length <= MAX_RECORD) used += (entries[split++] as Uint8Array).length;
  const rest = entries.slice(split);
  // The name, link and target limits keep this below a sector (worst case ~1.9 KiB: a 1023-byte target of
  // one-letter parts); an area may not cross a sector, and chaining areas would buy nothing within those limits.
  if (sum(rest) > ISO_SECTOR) throw new DenError("INTERNAL", `Cannot lay out Rock Ridge entries: ${sum(rest)} bytes exceed one continuation area`);
  // The CE entry itself is built once the area has a sector; new Uint8Array(CE_LENGTH) holds its place.
  return { inline: [...entries.slice(0, split), new Uint8Array(CE_LENGTH)], area: { entries: rest, length: sum(rest), sector: 0, offset: 0 } };
}

/** Continuation areas are packed one after another; an area never crosses a sector (Linux rejects that). */
function placeContinuationAreas(dirs: Node[], first: number): number {
  let sector = first;
  let offset = 0;
  let used = false;
  for (const dir of dirs) {
    for (const record of dir.primary.records) {
      const area = record.susp?.area;
      if (!area) continue;
      if (offset + area.length > ISO_SECTOR) {
        sector++;
        offset = 0;
      }
      area.sector = sector;
      area.offset = offset;
      offset += area.length;
      used = true;
    }
  }
  return used ? sector + 1 : first;
}

/** A record never crosses a sector boundary: the rest of the sector is left as zeros. */
function directorySectors(records: DirRecord[]): number {
  let sectors = 1;
  let offset = 0;
  for (const record of records) {
    if (offset + record.length > ISO_SECTOR) {
      sectors++;
      offset = 0;
    }
    offset += record.length;
  }
  return sectors;
}

function pathTableSize(dirs: Node[], identifierLength: (dir: Node) => number): number {
  return dirs.reduce((total, dir) => {
    const length = dir.parent ? identifierLength(dir) : 1;
    return total + 8 + length + (length % 2);
  }, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Rock Ridge (SUSP 1.12 / RRIP 1.10, as mkisofs writes it: PX of 36 bytes, RR flags entry, ER "RRIP_1991A")

const ER_ID = "RRIP_1991A";
const ER_DESCRIPTOR = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
const ER_SOURCE = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";
const RR_PX = 0x01;
const RR_SL = 0x04;
const RR_NM = 0x08;
const RR_TF = 0x80;

function suspEntry(signature: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out.set(ascii(signature), 0);
  out[2] = out.length;
  out[3] = 1;
  out.set(body, 4);
  return out;
}

function rockRidgeEntries(node: Node, time: Date, role: "root" | "dot" | "named"): Uint8Array[] {
  const entries: Uint8Array[] = [];
  if (role === "root") entries.push(suspEntry("SP", Uint8Array.of(0xbe, 0xef, 0)));
  const nameEntries = role === "named" ? nmEntries(node.name) : [];
  const linkEntries = role === "named" && node.kind === "symlink" ? slEntries(node.target) : [];
  const flags = RR_PX | RR_TF | (nameEntries.length > 0 ? RR_NM : 0) | (linkEntries.length > 0 ? RR_SL : 0);
  entries.push(suspEntry("RR", Uint8Array.of(flags)));
  entries.push(...nameEntries);
  entries.push(pxEntry(node));
  entries.push(tfEntry(time));
  entries.push(...linkEntries);
  if (role === "root") entries.push(erEntry());
  return entries;
}

function pxEntry(node: Node): Uint8Array {
  const body = new Uint8Array(32);
  const type = node.kind === "dir" ? S_IFDIR : node.kind === "file" ? S_IFREG : S_IFLNK;
  const links = node.kind === "dir" ? 2 + [...node.children.values()].filter((child) => child.kind === "dir").length : 1;
  both32(body, 0, type | node.mode);
  both32(body, 8, links);
  // uid and gid 0: cloud-init mounts the seed with uid=0 anyway
  return suspEntry("PX", body);
}

/** Modification, access and attribute-change times, short form. */
function tfEntry(time: Date): Uint8Array {
  const stamp = recordDate(time);
  const body = new Uint8Array(1 + 3 * 7);
  body[0] = 0x0e;
  for (let i = 0; i < 3; i++) body.set(stamp, 1 + i * 7);
  return suspEntry("TF", body);
}

function erEntry(): Uint8Array {
  const [id, descriptor, source] = [ascii(ER_ID), ascii(ER_DESCRIPTOR), ascii(ER_SOURCE)];
  const body = new Uint8Array(4 + id.length + descriptor.length + source.length);
  body.set([id.length, descriptor.length, source.length, 1], 0);
  body.set(id, 4);
  body.set(descriptor, 4 + id.length);
  body.set(source, 4 + id.length + descriptor.length);
  return suspEntry("ER", body);
}

/** A name longer than one entry holds (250 bytes) continues in a second NM entry (flag bit 0). */
function nmEntries(name: string): Uint8Array[] {
  const bytes = utf8.encode(name);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 250) {
    const piece = bytes.subarray(at, at + 250);
    const more = at + 250 < bytes.length;
    out.push(suspEntry("NM", Uint8Array.of(more ? 1 : 0, ...piece)));
  }
  return out;
}

/** Component records (ROOT, CURRENT, PARENT or text, long text split with the continue flag) packed into SL
 *  entries of at most 255 bytes; every SL entry but the last carries the continue flag. */
function slEntries(target: string): Uint8Array[] {
  const components: Uint8Array[] = [];
  const parts = target.split("/");
  if (target.startsWith("/")) {
    components.push(Uint8Array.of(0x08, 0));
    parts.shift();
  }
  for (const part of parts) {
    if (part === ".") components.push(Uint8Array.of(0x02, 0));
    else if (part === "..") components.push(Uint8Array.of(0x04, 0));
    else {
      const bytes = utf8.encode(part);
      if (bytes.length === 0) components.push(Uint8Array.of(0, 0));
      for (let at = 0; at < bytes.length; at += 248) {
        const piece = bytes.subarray(at, at + 248);
        components.push(Uint8Array.of(at + 248 < bytes.length ? 0x01 : 0, piece.length, ...piece));
      }
    }
  }
  const bodies: Uint8Array[][] = [[]];
  let used = 0;
  for (const component of components) {
    if (used + component.length > 250) {
      bodies.push([]);
      used = 0;
    }
    (bodies[bodies.length - 1] as Uint8Array[]).push(component);
    used += component.length;
  }
  return bodies.map((parts, index) => {
    const flags = index < bodies.length - 1 ? 1 : 0;
    return suspEntry("SL", concat([Uint8Array.of(flags), ...parts]));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Serialising the metadata

interface Layout {
  volumeId: string;
  time: Date;
  totalSectors: number;
  primaryTable: number;
  jolietTable: number;
  tables: [number, number, number, number];
  root: Node;
  primaryDirs: Node[];
  jolietDirs: Node[];
}

function writeVolumeDescriptors(out: Uint8Array, layout: Layout): void {
  const date = volumeDate(layout.time);
  const unset = volumeDate(undefined);
  for (const joliet of [false, true]) {
    const at = (PRIMARY_SYSTEM_AREA + (joliet ? 1 : 0)) * ISO_SECTOR;
    const text = (value: string, length: number) => (joliet ? ucs2Field(value, length) : asciiField(value, length));
    const vd = out.subarray(at, at + ISO_SECTOR);
    vd[0] = joliet ? 2 : 1;
    vd.set(ascii("CD001"), 1);
    vd[6] = 1;
    vd.set(text("", 32), 8); // system identifier
    vd.set(text(layout.volumeId, 32), 40);
    both32(vd, 80, layout.totalSectors);
    if (joliet) vd.set(ascii("%/E"), 88); // UCS-2 level 3
    both16(vd, 120, 1);
    both16(vd, 124, 1);
    both16(vd, 128, ISO_SECTOR);
    both32(vd, 132, joliet ? layout.jolietTable : layout.primaryTable);
    const [lPrimary, mPrimary, lJoliet, mJoliet] = layout.tables;
    le32(vd, 140, joliet ? lJoliet : lPrimary);
    be32(vd, 148, joliet ? mJoliet : mPrimary);
    const dir = joliet ? layout.root.joliet : layout.root.primary;
    vd.set(recordBytes(layout.root, dir, { identifier: Uint8Array.of(0), length: 34, susp: EMPTY, date: recordDate(layout.time) }), 156);
    vd.set(text("", 128), 190); // volume set
    vd.set(text("", 128), 318); // publisher
    vd.set(text("", 128), 446); // data preparer
    vd.set(text("DEN", 128), 574); // application
    vd.set(text("", 37), 702);
    vd.set(text("", 37), 739);
    vd.set(text("", 37), 776);
    vd.set(date, 813); // creation
    vd.set(date, 830); // modification
    vd.set(unset, 847); // expiration
    vd.set(date, 864); // effective
    vd[881] = 1;
  }
  const end = out.subarray((PRIMARY_SYSTEM_AREA + 2) * ISO_SECTOR);
  end[0] = 255;
  end.set(ascii("CD001"), 1);
  end[6] = 1;
}

function writePathTables(out: Uint8Array, layout: Layout): void {
  const [lPrimary, mPrimary, lJoliet, mJoliet] = layout.tables;
  const trees = [
    { dirs: layout.primaryDirs, pick: (dir: Node) => dir.primary, name: (dir: Node) => ascii(dir.isoName), at: [lPrimary, mPrimary] },
    { dirs: layout.jolietDirs, pick: (dir: Node) => dir.joliet, name: (dir: Node) => ucs2(dir.jolietName), at: [lJoliet, mJoliet] },
  ];
  for (const tree of trees) {
    for (const [index, bigEndian] of [false, true].entries()) {
      let at = (tree.at[index] as number) * ISO_SECTOR;
      for (const dir of tree.dirs) {
        const identifier = dir.parent ? tree.name(dir) : Uint8Array.of(0);
        const own = tree.pick(dir);
        const parent = dir.parent ? tree.pick(dir.parent).number : 1;
        out[at] = identifier.length;
        if (bigEndian) {
          be32(out, at + 2, own.extent);
          out[at + 6] = parent >> 8;
          out[at + 7] = parent & 0xff;
        } else {
          le32(out, at + 2, own.extent);
          out[at + 6] = parent & 0xff;
          out[at + 7] = parent >> 8;
        }
        out.set(identifier, at + 8);
        at += 8 + identifier.length + (identifier.length % 2);
      }
    }
  }
}

function writeDirectory(out: Uint8Array, dir: DirLayout, options: { tree: "primary" | "joliet"; date: Uint8Array }): void {
  let sector = dir.extent;
  let offset = 0;
  for (const record of dir.records) {
    if (offset + record.length > ISO_SECTOR) {
      sector++;
      offset = 0;
    }
    const target = options.tree === "primary" ? record.node.primary : record.node.joliet;
    const susp = record.susp ? suspBytes(out, record.susp) : EMPTY;
    const bytes = recordBytes(record.node, target, { identifier: record.identifier, length: record.length, susp, date: options.date });
    out.set(bytes, sector * ISO_SECTOR + offset);
    offset += record.length;
  }
}

/** The System Use bytes of a record; writes its continuation area into `out` on the way. */
function suspBytes(out: Uint8Array, susp: SuspLayout): Uint8Array {
  const area = susp.area;
  if (!area) return concat(susp.inline);
  out.set(concat(area.entries), area.sector * ISO_SECTOR + area.offset);
  const body = new Uint8Array(24);
  both32(body, 0, area.sector);
  both32(body, 8, area.offset);
  both32(body, 16, area.length);
  return concat([...susp.inline.slice(0, -1), suspEntry("CE", body)]);
}

interface RecordFields {
  identifier: Uint8Array;
  length: number;
  susp: Uint8Array;
  date: Uint8Array;
}

function recordBytes(node: Node, dir: DirLayout, fields: RecordFields): Uint8Array {
  const { identifier, length, susp, date } = fields;
  const record = new Uint8Array(length);
  const isDir = node.kind === "dir";
  record[0] = length;
  both32(record, 2, isDir ? dir.extent : node.extent);
  both32(record, 10, isDir ? dir.sectors * ISO_SECTOR : node.size);
  record.set(date, 18);
  record[25] = isDir ? 0x02 : 0;
  both16(record, 28, 1);
  record[32] = identifier.length;
  record.set(identifier, 33);
  record.set(susp, 33 + identifier.length + (identifier.length % 2 === 0 ? 1 : 0));
  return record;
}

/** The 7-byte directory record date: years since 1900, month, day, hour, minute, second, UTC offset 0. */
function recordDate(time: Date): Uint8Array {
  return Uint8Array.of(
    time.getUTCFullYear() - 1900,
    time.getUTCMonth() + 1,
    time.getUTCDate(),
    time.getUTCHours(),
    time.getUTCMinutes(),
    time.getUTCSeconds(),
    0,
  );
}

/** The 17-byte volume descriptor date: "YYYYMMDDHHMMSScc" digits and a UTC offset byte; all zero digits when unset. */
function volumeDate(time: Date | undefined): Uint8Array {
  if (!time) return Uint8Array.of(...ascii("0000000000000000"), 0);
  const pad = (value: number, width: number) => String(value).padStart(width, "0");
  const digits = `${pad(time.getUTCFullYear(), 4)}${pad(time.getUTCMonth() + 1, 2)}${pad(time.getUTCDate(), 2)}${pad(time.getUTCHours(), 2)}${pad(time.getUTCMinutes(), 2)}${pad(time.getUTCSeconds(), 2)}00`;
  return Uint8Array.of(...ascii(digits), 0);
}

function asciiField(value: string, length: number): Uint8Array {
  return ascii(value.padEnd(length, " ").slice(0, length));
}

function ucs2Field(value: string, length: number): Uint8Array {
  const out = ucs2(value.padEnd(length / 2, " ").slice(0, length / 2));
  return out;
}

function both16(out: Uint8Array, at: number, value: number): void {
  out[at] = value & 0xff;
  out[at + 1] = value >> 8;
  out[at + 2] = value >> 8;
  out[at + 3] = value & 0xff;
}

function both32(out: Uint8Array, at: number, value: number): void {
  le32(out, at, value);
  be32(out, at + 4, value);
}

function le32(out: Uint8Array, at: number, value: number): void {
  new DataView(out.buffer, out.byteOffset).setUint32(at, value, true);
}

function be32(out: Uint8Array, at: number, value: number): void {
  new DataView(out.buffer, out.byteOffset).setUint32(at, value, false);
}

function sectorsFor(bytes: number): number {
  return Math.ceil(bytes / ISO_SECTOR);
}

function sum(parts: Uint8Array[]): number {
  return parts.reduce((total, part) => total + part.length, 0);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(sum(parts));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming the file data

async function* readSource(file: IsoPlannedFile): AsyncGenerator<Uint8Array> {
  let source: IsoSource;
  try {
    source = file.source();
  } catch (error) {
    throw ioError(`Cannot read "${file.path}" for the ISO image`, error);
  }
  if (typeof source === "string") {
    yield utf8.encode(source);
    return;
  }
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  const reader = source.getReader();
  let finished = false;
  try {
    for (;;) {
      const result = await reader.read().catch((error: unknown) => {
        throw ioError(`Cannot read "${file.path}" for the ISO image`, error);
      });
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    // Stops the producer when the consumer gave up early (a size mismatch or a failed write).
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function* zeros(length: number): Generator<Uint8Array> {
  for (let left = length; left > 0; left -= ZEROS.length) yield ZEROS.subarray(0, Math.min(left, ZEROS.length));
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

function limitError(path: string, reason: string, hint: string): DenError {
  const subject = path === "" ? "Cannot build the ISO image" : `Cannot add "${path}" to the ISO image`;
  return new DenError("ISO_LIMIT", `${subject}: ${reason}`, { hint, details: { path } });
}

function sizeMismatch(file: IsoPlannedFile, got: string): DenError {
  return new DenError("IO", `Cannot write "${file.path}" to the ISO image: source gave ${got} bytes, declared size is ${file.size}`, {
    hint: "the file changed while den was building the seed; run the command again",
    details: { path: file.path },
  });
}

function ioError(message: string, cause: unknown): DenError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new DenError("IO", `${message}: ${reason}`, { cause });
}

function formatMode(mode: unknown): string {
  return typeof mode === "number" && Number.isInteger(mode) && mode >= 0 ? `0o${mode.toString(8)}` : String(mode);
}
