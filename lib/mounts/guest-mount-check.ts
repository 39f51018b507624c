// Whether each mount is really mounted in the guest, asked in one SSH round trip: `findmnt` by exact mount point
// prints the file system type and options (it decodes /proc/mounts' octal escapes, so spaces and unicode in the
// path are no trouble).
import type { FilledMount, MountType } from "../config/schema.ts";
import { shellQuote } from "../shell/quote.ts";

export interface GuestMountState {
  fsType: string;
  options: string[];
  /**
   * Whether the user the check ran as (the guest user, over SSH) can list the mount point: false for a host folder
   * whose owner and mode keep that user out (9p and virtiofs pass them through). Undefined when not checked.
   */
  listable?: boolean | undefined;
}

/** The file system type the guest shows for a working mount of each type. */
export function expectedFsType(type: MountType): string {
  return type === "reverse-sshfs" ? "fuse.sshfs" : type;
}

/**
 * One line per mount point: `<index> <FSTYPE> <OPTIONS> <ACCESS>`, or `<index> -` when nothing is mounted there. ACCESS
 * is `r` when the user running the script may list the folder (read and search), else `-`: a mount that is there but
 * unreadable to the guest user is not a working mount.
 */
export function mountCheckScript(mountPoints: readonly string[]): string {
  return mountPoints
    .map((point, i) => {
      const quoted = shellQuote(point);
      return `printf '%s ' ${i}; m=$(findmnt -rn -M ${quoted} -o FSTYPE,OPTIONS | tail -n 1); if [ -n "$m" ]; then a=-; if [ -r ${quoted} ] && [ -x ${quoted} ]; then a=r; fi; echo "$m $a"; else echo -; fi`;
    })
    .join("\n");
}

/** The states `mountCheckScript` printed, by index; undefined where nothing is mounted (or a line is missing). */
export function parseMountCheck(stdout: string, count: number): (GuestMountState | undefined)[] {
  const states: (GuestMountState | undefined)[] = Array.from({ length: count }, () => undefined);
  for (const line of stdout.split("\n")) {
    const [index, fsType, options, access] = line.trim().split(/\s+/);
    const i = Number(index);
    if (!Number.isInteger(i) || i < 0 || i >= count || !fsType || fsType === "-") continue;
    const state: GuestMountState = { fsType, options: (options ?? "").split(",").filter((option) => option !== "") };
    if (access === "r" || access === "-") state.listable = access === "r";
    states[i] = state;
  }
  return states;
}

/** Why a mount is not as configured, or undefined when it is. */
export function mountProblem(state: GuestMountState | undefined, mount: Pick<FilledMount, "writable">, type: MountType): string | undefined {
  if (!state) return "it is not mounted";
  const expected = expectedFsType(type);
  if (state.fsType !== expected) return `a "${state.fsType}" file system is mounted there instead of ${expected}`;
  const readOnly = state.options.includes("ro");
  if (mount.writable && readOnly) return "it is mounted read-only although the mount is writable";
  if (!mount.writable && !readOnly) return "it is mounted writable although the mount is read-only";
  if (state.listable === false) return "it is mounted, but the guest user cannot list it: the host folder's owner and mode keep that user out";
  return undefined;
}
