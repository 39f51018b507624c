// Property check for cidata/iso9660.ts, shared by the test (tests/cidata/iso9660.test.ts) and
// scripts/iso-property-check.ts: random trees from a seeded PRNG are written with writeIso9660ToFile, then read back
// by two independent readers: xorriso (extraction through Rock Ridge and, separately, through Joliet) and isoinfo
// (genisoimage's Rock Ridge listing). Every name, kind, mode, size, symlink target and byte must come back.
// Trees are checked in batches, one xorriso process per batch, so thousands of trees stay fast.

import { lstat, mkdir, readdir, readFile, readlink, rm } from "node:fs/promises";
import { join } from "node:path";
import { type IsoEntry, jolietSpelling, MAX_DIRECTORY_LEVELS, writeIso9660ToFile } from "../../cidata/iso9660.ts";

export interface PropertyCheckOptions {
  trees: number;
  /** Scratch directory; emptied per batch. */
  workDir: string;
  seed?: number;
  /** Trees per xorriso process. */
  batch?: number;
  /** Batches in flight at once. */
  concurrency?: number;
}

export interface PropertySummary {
  trees: number;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  mismatches: string[];
  seconds: number;
}

/** What a reader must find at one path. */
export interface Expected {
  kind: "file" | "dir" | "symlink";
  mode: number;
  content?: Uint8Array;
  target?: string;
}

export interface Tree {
  index: number;
  entries: IsoEntry[];
  expected: Map<string, Expected>;
}

export const DEFAULT_PROPERTY_SEED = 0x5eed;

/** Generates, writes and checks `trees` random trees; never throws for a mismatch, it reports them. */
export async function runIsoPropertyCheck(options: PropertyCheckOptions): Promise<PropertySummary> {
  const started = performance.now();
  const summary: PropertySummary = { trees: 0, files: 0, dirs: 0, symlinks: 0, bytes: 0, mismatches: [], seconds: 0 };
  const batchSize = options.batch ?? 25;
  const seed = options.seed ?? DEFAULT_PROPERTY_SEED;
  const batches: number[][] = [];
  for (let first = 0; first < options.trees; first += batchSize) {
    batches.push(Array.from({ length: Math.min(batchSize, options.trees - first) }, (_, i) => first + i));
  }
  let nextBatch = 0;
  const worker = async (slot: number) => {
    while (nextBatch < batches.length) {
      const indices = batches[nextBatch++] as number[];
      const dir = join(options.workDir, `slot-${slot}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const trees = indices.map((index) => generateTree(seed, index));
      for (const tree of trees) {
        summary.trees++;
        for (const expected of tree.expected.values()) {
          if (expected.kind === "file") summary.files++;
          if (expected.kind === "dir") summary.dirs++;
          if (expected.kind === "symlink") summary.symlinks++;
          summary.bytes += expected.content?.length ?? 0;
        }
      }
      summary.mismatches.push(...(await verifyTrees(trees, dir)));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, (_, slot) => worker(slot)));
  await rm(options.workDir, { recursive: true, force: true });
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/** Writes each tree to `dir/<index>.iso` and returns every disagreement of xorriso and isoinfo with it. */
export async function verifyTrees(trees: Tree[], dir: string): Promise<string[]> {
  const mismatches: string[] = [];
  const iso = (tree: Tree) => join(dir, `${tree.index}.iso`);
  for (const tree of trees) await writeIso9660ToFile(tree.entries, iso(tree));
  const args = ["xorriso", "-abort_on", "NEVER", "-osirrox", "on"];
  for (const tree of trees) {
    args.push("-read_fs", "any", "-indev", iso(tree), "-extract", "/", join(dir, `${tree.index}-rr`));
    args.push("-read_fs", "norock", "-indev", iso(tree), "-extract", "/", join(dir, `${tree.index}-joliet`));
  }
  const xorriso = Bun.spawn(args, { stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C.UTF-8" } });
  const listings = trees.map((tree) => run(["isoinfo", "-R", "-l", "-i", iso(tree)]));
  const [xorrisoOut, xorrisoErr] = await Promise.all([new Response(xorriso.stdout).text(), new Response(xorriso.stderr).text()]);
  const problems = `${xorrisoOut}\n${xorrisoErr}`.split("\n").filter((line) => /\b(WARNING|SORRY|FAILURE|FATAL|MISHAP)\b/.test(line));
  if ((await xorriso.exited) !== 0 || problems.length > 0) {
    mismatches.push(`trees ${trees[0]?.index}..${trees.at(-1)?.index}: xorriso exit ${xorriso.exitCode}: ${problems.join(" | ")}`);
  }
  for (const [i, tree] of trees.entries()) {
    const report = (message: string) => mismatches.push(`tree ${tree.index}: ${message}`);
    await compareExtracted(join(dir, `${tree.index}-rr`), tree.expected, { report: (m) => report(`rock ridge: ${m}`), joliet: false });
    // Joliet cannot express links; names are spelled for UCS-2 (the generator keeps those unique per folder).
    const jolietPath = (path: string) => path.split("/").map(jolietSpelling).join("/");
    const jolietExpected = new Map([...tree.expected].filter(([, entry]) => entry.kind !== "symlink").map(([path, entry]) => [jolietPath(path), entry]));
    await compareExtracted(join(dir, `${tree.index}-joliet`), jolietExpected, { report: (m) => report(`joliet: ${m}`), joliet: true });
    const listing = await (listings[i] as Promise<string>);
    compareListing(parseIsoinfoListing(listing), tree.expected, (m) => report(`isoinfo -R: ${m}`));
  }
  return mismatches;
}

/** The tree a reader must see for `entries`: implied parents 0755, default modes, file bytes from `contents`. */
export function treeFromEntries(index: number, entries: IsoEntry[], contents: Map<string, Uint8Array>): Tree {
  const expected = new Map<string, Expected>();
  for (const entry of entries) {
    if (entry.kind === "symlink") expected.set(entry.path, { kind: "symlink", mode: 0o777, target: entry.target });
    else if (entry.kind === "dir") expected.set(entry.path, { kind: "dir", mode: entry.mode ?? 0o755 });
    else expected.set(entry.path, { kind: "file", mode: entry.mode ?? 0o644, content: contents.get(entry.path) ?? new Uint8Array(0) });
  }
  for (const path of [...expected.keys()]) {
    const parts = path.split("/");
    for (let n = 1; n < parts.length; n++) {
      const parent = parts.slice(0, n).join("/");
      if (!expected.has(parent)) expected.set(parent, { kind: "dir", mode: 0o755 });
    }
  }
  return { index, entries, expected };
}

async function compareExtracted(root: string, expected: Map<string, Expected>, options: { report: (message: string) => void; joliet: boolean }): Promise<void> {
  const found = new Map<string, { kind: Expected["kind"]; mode: number; full: string }>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const full = join(dir, name);
      const path = prefix === "" ? name : `${prefix}/${name}`;
      const stat = await lstat(full);
      const kind = stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "dir" : "file";
      found.set(path, { kind, mode: stat.mode & 0o7777, full });
      if (kind === "dir") await walk(full, path);
    }
  };
  await walk(root, "");
  for (const [path, want] of expected) {
    const got = found.get(path);
    if (!got) {
      options.report(`missing ${JSON.stringify(path)}`);
      continue;
    }
    if (got.kind !== want.kind) options.report(`${JSON.stringify(path)} is a ${got.kind}, want ${want.kind}`);
    else if (!options.joliet && want.kind !== "symlink" && got.mode !== want.mode) {
      options.report(`${JSON.stringify(path)} mode ${got.mode.toString(8)}, want ${want.mode.toString(8)}`);
    }
    if (want.kind === "symlink" && got.kind === "symlink") {
      const target = await readlink(got.full);
      if (target !== want.target) options.report(`${JSON.stringify(path)} links to ${JSON.stringify(target)}, want ${JSON.stringify(want.target)}`);
    }
    if (want.kind === "file" && got.kind === "file") {
      const bytes = new Uint8Array(await readFile(got.full));
      if (!Buffer.from(bytes).equals(Buffer.from(want.content as Uint8Array))) {
        options.report(`${JSON.stringify(path)} has ${bytes.length} different bytes, want ${want.content?.length}`);
      }
    }
  }
  for (const path of found.keys()) if (!expected.has(path)) options.report(`unexpected ${JSON.stringify(path)}`);
}

export interface ListedEntry {
  mode: string;
  size: number;
  target: string | undefined;
}

/** `isoinfo -l -R` output as path → mode string, size and link target ("." and ".." left out). */
export function parseIsoinfoListing(text: string): Map<string, ListedEntry> {
  const out = new Map<string, ListedEntry>();
  let dir = "";
  for (const line of text.split("\n")) {
    const heading = /^Directory listing of \/(.*)$/.exec(line);
    if (heading) {
      dir = (heading[1] as string).replace(/\/$/, "");
      continue;
    }
    const row = /^([-dlrwxsStT]{10})\s+\d+\s+\d+\s+\d+\s+(\d+) \w{3} [ \d]\d \d{4} \[\s*\d+ \d\d\]  (.*)$/.exec(line);
    if (!row) continue;
    const [, mode, size, rest] = row as unknown as [string, string, string, string];
    const link = mode.startsWith("l") ? rest.indexOf(" -> ") : -1;
    const name = link >= 0 ? rest.slice(0, link) : rest.replace(/ $/, "");
    if (name === "." || name === "..") continue;
    out.set(dir === "" ? name : `${dir}/${name}`, { mode, size: Number(size), target: link >= 0 ? rest.slice(link + 4) : undefined });
  }
  return out;
}

/** `drwxr-xr-x` for a kind and permission bits, as ls and isoinfo print them. */
export function modeString(kind: Expected["kind"], mode: number): string {
  const type = kind === "dir" ? "d" : kind === "symlink" ? "l" : "-";
  const bits = [0o400, 0o200, 0o100, 0o40, 0o20, 0o10, 4, 2, 1].map((bit, i) => (mode & bit ? "rwx"[i % 3] : "-")).join("");
  return type + bits;
}

function compareListing(listed: Map<string, ListedEntry>, expected: Map<string, Expected>, report: (message: string) => void): void {
  for (const [path, want] of expected) {
    const got = listed.get(path);
    if (!got) {
      report(`missing ${JSON.stringify(path)}`);
      continue;
    }
    const wantMode = modeString(want.kind, want.kind === "symlink" ? 0o777 : want.mode);
    if (got.mode !== wantMode) report(`${JSON.stringify(path)} mode ${got.mode}, want ${wantMode}`);
    if (want.kind === "file" && got.size !== want.content?.length) report(`${JSON.stringify(path)} size ${got.size}, want ${want.content?.length}`);
    if (want.kind === "symlink" && got.target !== want.target) report(`${JSON.stringify(path)} links to ${JSON.stringify(got.target)}, want ${JSON.stringify(want.target)}`);
  }
  for (const path of listed.keys()) if (!expected.has(path)) report(`unexpected ${JSON.stringify(path)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Random trees

/** mulberry32: small, fast and good enough to drive test data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED_NAMES = ["user-data", "meta-data", "network-config", "boot.sh", "lima.env", "param.env", "etc_environment", "00-modprobe.sh", "05-lima-mounts.sh", "lima-guestagent", "nerdctl-full.tgz", "ssh_authorized_keys"];
const UNICODE = ["é", "ß", "ñ", "ü", "日", "本", "語", "Ω", "ж", "😀", "€", "ø"];
const PLAIN = "abcdefghijklmnopqrstuvwxyz0123456789-_.";
const SPECIAL = " +=@#,~!%&()[]{}'$^*:;?\\";
const MODES = [0o644, 0o755, 0o600, 0o700, 0o444, 0o555, 0o640, 0o750];

/** Tree `index` of the run seeded with `seed`; the same pair always gives the same tree. */
export function generateTree(seed: number, index: number): Tree {
  const random = seededRandom((seed * 0x9e3779b1 + index) >>> 0);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]) => items[int(items.length)] as T;
  const chars = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[int(alphabet.length)]).join("");

  const name = (): string => {
    const roll = random();
    let out: string;
    if (roll < 0.35) out = chars(PLAIN, 1 + int(12));
    else if (roll < 0.5) out = pick(SEED_NAMES);
    else if (roll < 0.65) out = chars(PLAIN + "ABCXYZ", 30 + int(35));
    else if (roll < 0.75) out = `${chars("ABCdefGHI", 1 + int(6))}.${chars("abc", 1 + int(3))}.${chars("xyz", 1 + int(4))}`;
    else if (roll < 0.87) out = Array.from({ length: 1 + int(20) }, () => (random() < 0.5 ? pick(UNICODE) : chars(PLAIN, 1))).join("");
    else out = `${chars(PLAIN, 1)}${chars(PLAIN + SPECIAL, int(20))}${chars(PLAIN, 1)}`;
    while (out.length > 64) out = [...out].slice(0, -1).join("");
    return out === "." || out === ".." ? "dot" : out;
  };

  const contents = new Map<string, Uint8Array>();
  const entries: IsoEntry[] = [];
  const dirs: { path: string; depth: number; names: Set<string> }[] = [{ path: "", depth: 0, names: new Set() }];
  const count = 1 + int(24);
  for (let i = 0; i < count; i++) {
    const roll = random();
    const kind = roll < 0.5 ? "file" : roll < 0.8 ? "dir" : "symlink";
    const candidates = dirs.filter((dir) => dir.depth + 1 + (kind === "dir" ? 1 : 0) <= MAX_DIRECTORY_LEVELS);
    // Favour deep parents so trees reach the depth limit often.
    const parent = random() < 0.5 ? (candidates.at(-1) as (typeof dirs)[number]) : pick(candidates);
    let child = name();
    for (let n = 2; parent.names.has(jolietSpelling(child)); n++) child = `${[...child].slice(0, 30).join("")}${n}`;
    parent.names.add(jolietSpelling(child));
    const path = parent.path === "" ? child : `${parent.path}/${child}`;
    if (kind === "dir") {
      const mode = random() < 0.5 ? undefined : pick([0o755, 0o700, 0o750, 0o555]);
      entries.push({ path, kind, ...(mode === undefined ? {} : { mode }) });
      dirs.push({ path, depth: parent.depth + 1, names: new Set() });
    } else if (kind === "symlink") {
      const parts = Array.from({ length: 1 + int(4) }, () => pick([".", "..", name()]));
      const target = (random() < 0.3 ? "/" : "") + parts.join("/");
      entries.push({ path, kind, target });
    } else {
      const mode = random() < 0.3 ? undefined : pick(MODES);
      const { content, source } = fileContent(random);
      entries.push({ path, kind, size: content.length, source, ...(mode === undefined ? {} : { mode }) });
      contents.set(path, content);
    }
  }
  // Entry order must not matter; shuffle so the writer's sorting is exercised.
  for (let i = entries.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [entries[i], entries[j]] = [entries[j] as IsoEntry, entries[i] as IsoEntry];
  }
  return treeFromEntries(index, entries, contents);
}

function fileContent(random: () => number): { content: Uint8Array; source: () => ReadableStream<Uint8Array> | Uint8Array | string } {
  const roll = random();
  const size = roll < 0.1 ? 0 : roll < 0.4 ? Math.floor(random() * 200) : roll < 0.8 ? Math.floor(random() * 4096) : Math.floor(random() * 65537);
  const style = random();
  if (style < 0.25) {
    const text = Array.from({ length: Math.min(size, 2000) }, () => (random() < 0.05 ? "é" : String.fromCharCode(32 + Math.floor(random() * 95)))).join("");
    return { content: new TextEncoder().encode(text), source: () => text };
  }
  const content = new Uint8Array(size);
  let state = (random() * 0xffffffff) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    content[i] = state & 0xff;
  }
  if (style < 0.6) return { content, source: () => content };
  const chunk = 1 + Math.floor(random() * 9000);
  return {
    content,
    source: () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < content.length; at += chunk) controller.enqueue(content.slice(at, at + chunk));
          controller.close();
        },
      }),
  };
}

async function run(argv: string[]): Promise<string> {
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C.UTF-8" } });
  const text = await new Response(child.stdout).text();
  await child.exited;
  return text;
}
