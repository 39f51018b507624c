// `den list` shows each instance's filled configuration. Filling it means parsing den.yaml and the DEN_HOME layers,
// checking them against the zod schema and reading the host facts the defaults depend on: some 5 ms per instance and
// ~100 ms of modules to load, when what it yields changes only when one of its inputs does. So `den list` keeps the
// filled configuration of each instance in `_cache/list/NAME.json`, beside a key made of everything the filling reads
// (the files' identities, den's build, the host facts), and fills again only when the key differs.
// Only listing reads this cache: start, stop, delete and validate always fill from the files themselves.
import { readdirSync, readlinkSync, statSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir, totalmem, userInfo } from "node:os";
import { join } from "node:path";
import type { FilledDenYaml } from "../config/schema.ts";
import { CacheDir, ConfigDir, DefaultYaml, InstanceYaml, ListCacheDir, OverrideYaml } from "../store/filenames.ts";
import { instanceDirOf } from "../store/instance-name.ts";
import { buildCommit, isBuild, version } from "../version.ts";

/** One instance's cached filling: valid while `key` equals the key computed now. */
interface CacheEntry {
  key: string;
  config: FilledDenYaml;
}

/** A cache entry is a filled den.yaml; one far larger than any template can fill is not ours. */
const MaxEntryBytes = 8 * 1024 * 1024;

/**
 * Host files whose content reaches the filled configuration (user's full name, time zone, machine id), keyed by their
 * identity instead of read. On macOS the full name and machine id come from `id -F` and `ioreg`, which are not
 * keyed: a renamed account shows in `den list` once den.yaml or den changes, and every start fills afresh anyway.
 */
const HostFiles = ["/etc/passwd", "/etc/timezone", "/etc/machine-id", "/var/lib/dbus/machine-id", "/System/Library/CoreServices/SystemVersion.plist"];

/** What a file is, without reading it: changed content changes its mtime, ctime or size; a replaced file its inode. */
function fileIdentity(path: string): string {
  try {
    const stats = statSync(path);
    return `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
  } catch {
    return "-";
  }
}

function linkTarget(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "-";
  }
}

/** The host facts fillDefaults reads (lib/config/host-info.ts), in the cheap form of their sources. */
export function hostKey(env: NodeJS.ProcessEnv = process.env): string {
  const user = userInfo();
  return JSON.stringify([
    process.platform,
    process.arch,
    availableParallelism(),
    totalmem(),
    user.uid,
    user.username,
    user.homedir,
    tmpdir(),
    env.TZ ?? "",
    linkTarget("/etc/localtime"),
    ...HostFiles.map(fileIdentity),
  ]);
}

/**
 * Which den fills: its version and commit, and when run from source, also the newest change to the code that fills
 * (a developer's uncommitted edit of the defaults must not be hidden by an entry filled before it).
 */
export function denKey(): string {
  if (isBuild()) return `${version} ${buildCommit()}`;
  const lib = join(import.meta.dir, "..");
  let newest = 0;
  for (const folder of ["config", "gotemplate", "yq", "text", "status", "store"]) {
    for (const file of readdirSync(join(lib, folder))) newest = Math.max(newest, statSync(join(lib, folder, file)).mtimeMs);
  }
  return `${version} ${buildCommit()} source ${newest}`;
}

/** Everything one instance's filling depends on, as one string. */
export function entryKey(denHome: string, name: string, facts: { den: string; host: string }): string {
  const dir = instanceDirOf(denHome, name);
  return JSON.stringify([
    facts.den,
    denHome,
    name,
    fileIdentity(join(dir, InstanceYaml)),
    fileIdentity(join(denHome, ConfigDir, DefaultYaml)),
    fileIdentity(join(denHome, ConfigDir, OverrideYaml)),
    facts.host,
  ]);
}

/**
 * Whether a filled configuration may be reused as it is. The checks on disk that validation makes (a mount location
 * that is no longer a directory makes the instance Broken) are made again; and on macOS a vmType left to its default
 * depends on whether the VZ driver can run here, which is not in the key, so such a configuration is never reused.
 */
function stillValid(config: FilledDenYaml, vmTypePinned: boolean): boolean {
  if (process.platform === "darwin" && !vmTypePinned) return false;
  return config.mounts.every((mount) => {
    try {
      return statSync(mount.location).isDirectory();
    } catch {
      return false;
    }
  });
}

export interface ConfigCache {
  /** The cached filled configuration of `name`, or undefined when it must be filled again. */
  lookup(name: string): Promise<FilledDenYaml | undefined>;
  /** Keeps what was just filled from the files that `key` describes (computed before they were read). */
  store(name: string, key: string, config: FilledDenYaml): Promise<void>;
  /** The key of `name` now, to pass to `store` after filling. */
  keyOf(name: string): string;
}

/** The cache of one DEN_HOME for one run of `den list`: the host facts are keyed once. */
export function openConfigCache(denHome: string, env: NodeJS.ProcessEnv = process.env): ConfigCache {
  const folder = join(denHome, CacheDir, ListCacheDir);
  const facts = { den: denKey(), host: hostKey(env) };
  const keyOf = (name: string) => entryKey(denHome, name, facts);
  return {
    keyOf,
    async lookup(name) {
      try {
        const text = await readFile(join(folder, `${name}.json`), "utf8");
        if (text.length > MaxEntryBytes) return undefined;
        const entry = JSON.parse(text) as Partial<CacheEntry> & { vmTypePinned?: boolean };
        if (entry.key !== keyOf(name) || typeof entry.config !== "object" || entry.config === null) return undefined;
        return stillValid(entry.config, entry.vmTypePinned === true) ? entry.config : undefined;
      } catch {
        // Absent, unreadable or not ours: fill from the files, as without a cache.
        return undefined;
      }
    },
    async store(name, key, config) {
      const file = join(folder, `${name}.json`);
      const temporary = `${file}.${process.pid}.tmp`;
      try {
        await mkdir(folder, { recursive: true, mode: 0o700 });
        const instanceText = await readFile(join(instanceDirOf(denHome, name), InstanceYaml), "utf8");
        const entry = { key, vmTypePinned: /^vmType:[ \t]*\S/m.test(instanceText), config };
        await writeFile(temporary, JSON.stringify(entry), { mode: 0o600 });
        await rename(temporary, file);
      } catch {
        // A cache that cannot be written costs the next run its speed, nothing else.
        await rm(temporary, { force: true }).catch(() => {});
      }
    },
  };
}
