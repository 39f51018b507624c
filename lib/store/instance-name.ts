// Which instance names den accepts, and the one way from a name to its folder. Every command that takes an instance
// name goes through instanceDirOf / existingInstanceDir: a name is joined to DEN_HOME only after it passed the same
// rule `den create` applies, so `../x`, `_config`, `.` or "" can never make a command read, write or delete outside
// an instance folder (`den delete -f ../../x` once deleted a folder outside DEN_HOME).
import { lstat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { DenError } from "../errors.ts";
import { LongestSock } from "./filenames.ts";
import { ensureInstanceFormat } from "./instance-format.ts";

export interface InstanceNameOptions {
  denHome: string;
  /** Node's platform name; darwin allows 104 bytes per socket path, others 108. Defaults to this host. */
  platform?: string;
}

export interface ExistingInstanceOptions {
  /** What the command does, for the message: `Cannot ${action} instance "x": …`; "find" by default. */
  action?: string | undefined;
  /** Hint when the instance does not exist; "see den list for the instances" by default. */
  hint?: string | undefined;
}

// Lima's identifier rule. It also keeps den's own folders (`_config`, `_disks`, `.deleting-*`) and path syntax out.
const NamePattern = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const MaxNameLength = 76;
const ShownNameLength = 40;
const NameHint = 'use letters and digits, separated by single ".", "_" or "-", e.g. "default", "ubuntu-24.04" or "my_vm"';

/** Unix socket path limit including the terminating NUL (`sizeof(sun_path)`). */
export function unixPathMax(platform: string): number {
  return platform === "darwin" ? 104 : 108;
}

/** True when `name` could name an instance: the rule of checkInstanceName, without throwing. */
export function isInstanceName(name: string): boolean {
  return name.length <= MaxNameLength && NamePattern.test(name);
}

/**
 * Throws DenError("INSTANCE_NAME_INVALID") unless `name` is an instance name by its spelling alone. Commands on
 * existing instances use this rule (through instanceDirOf); `den create` adds the checks of validateInstanceName.
 */
export function checkInstanceName(name: string): void {
  if (isInstanceName(name)) return;
  const reason =
    name === ""
      ? "must not be empty"
      : /[/\\]/.test(name)
        ? 'must not contain "/" or "\\"'
        : name === "." || name === ".."
          ? "names the folder itself, not an instance"
          : /^[_.]/.test(name)
            ? 'names starting with "_" or "." are den\'s own folders'
            : name.length > MaxNameLength
              ? `longer than ${MaxNameLength} characters`
              : 'use letters and digits, separated by single ".", "_" or "-"';
  throw invalidName(name, reason, name.length > MaxNameLength && NamePattern.test(name) ? "choose a shorter name" : NameHint);
}

/** Throws DenError("INSTANCE_NAME_INVALID") unless `name` can name a new instance under `denHome`. */
export function validateInstanceName(name: string, options: InstanceNameOptions): void {
  checkInstanceName(name);
  if (/\.ya?ml$/i.test(name)) {
    throw invalidName(name, 'must not end with ".yaml" or ".yml"', `to create an instance from a file, pass it as a template: den create ./${name}`);
  }
  const limit = unixPathMax(options.platform ?? process.platform);
  const socket = join(options.denHome, name, LongestSock);
  const length = Buffer.byteLength(socket);
  if (length >= limit) {
    throw invalidName(name, `the socket path "${socket}" would be ${length} bytes, over the limit of ${limit - 1}`, "choose a shorter name, or set DEN_HOME to a shorter folder");
  }
}

/** The folder of instance `name`: checked to be a valid name whose folder is a direct child of `denHome`. */
export function instanceDirOf(denHome: string, name: string): string {
  checkInstanceName(name);
  const home = resolve(denHome);
  const dir = join(home, name);
  // The name rule already excludes separators and dot names; this holds even if that rule is ever loosened.
  if (dirname(dir) !== home || dir === home) throw invalidName(name, "does not name a folder directly inside DEN_HOME", NameHint);
  return dir;
}

/**
 * The folder of an existing instance: instanceDirOf, and the entry must be a real folder (lstat: a symbolic link in
 * DEN_HOME could lead a delete or a pid-file write anywhere). Throws INSTANCE_NOT_FOUND otherwise, and INSTANCE_FORMAT
 * for a folder of a newer den (ensureInstanceFormat, which migrates an older one).
 */
export async function existingInstanceDir(denHome: string, name: string, options: ExistingInstanceOptions = {}): Promise<string> {
  const dir = instanceDirOf(denHome, name);
  const action = options.action ?? "find";
  const found = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined;
    throw new DenError("IO", `Cannot ${action} instance "${name}": ${error.message}`, { cause: error, hint: `check the permissions of ${denHome}` });
  });
  if (!found) {
    throw new DenError("INSTANCE_NOT_FOUND", `Cannot ${action} instance "${name}": it does not exist`, { hint: options.hint ?? "see den list for the instances" });
  }
  if (found.isSymbolicLink()) {
    throw new DenError("INSTANCE_NOT_FOUND", `Cannot ${action} instance "${name}": "${dir}" is a symbolic link, not an instance folder`, {
      hint: "den uses only real folders in DEN_HOME as instances; remove the link",
    });
  }
  if (!found.isDirectory()) {
    throw new DenError("INSTANCE_NOT_FOUND", `Cannot ${action} instance "${name}": "${dir}" is not a folder`, { hint: "see den list for the instances" });
  }
  // Every command reaches an existing instance through here: a folder of an older den is migrated on this first
  // use, and one of a newer den is refused before anything reads or changes it.
  await ensureInstanceFormat(dir, { name });
  return dir;
}

function invalidName(name: string, reason: string, hint: string): DenError {
  return new DenError("INSTANCE_NAME_INVALID", `Invalid instance name ${shownName(name)}: ${reason}`, { hint });
}

/** The name in quotes, cut short and with anything but printable ASCII escaped: it may be hostile terminal input. */
function shownName(name: string): string {
  const chars = [...name];
  const escaped = chars
    .slice(0, ShownNameLength)
    .map((char) => {
      if (char === '"' || char === "\\") return `\\${char}`;
      if (/^[\x20-\x7e]$/.test(char)) return char;
      if (char === "\0") return "\\0";
      if (char === "\n") return "\\n";
      if (char === "\t") return "\\t";
      return `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`;
    })
    .join("");
  return `"${escaped}${chars.length > ShownNameLength ? "…" : ""}"`;
}

/** The instance a command means when it names none, as in Lima. */
export const DefaultInstanceName = "default";
