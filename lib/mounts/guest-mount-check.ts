// Whether each mount is really mounted in the guest, asked in one SSH round trip: `findmnt` by exact mount point
// prints the file system type and options (it decodes /proc/mounts' octal escapes, so spaces and unicode in the
// path are no trouble).
import type { FilledMount, MountType } from "../config/schema.ts";
import { shellQuote } from "../shell/quote.ts";

export interface GuestMountState {
  fsType: string;
  options: string[];
}

/** The file system type the guest shows for a working mount of each type. */
export function expectedFsType(type: MountType): string {
  return type === "reverse-sshfs" ? "fuse.sshfs" : type;
}

/** One line per mount point: `<index> <FSTYPE> <OPTIONS>`, or `<index> -` when nothing is mounted there. */
export function mountCheckScript(mountPoints: readonly string[]): string {
  return mountPoints
    .map((point, i) => `printf '%s ' ${i}; findmnt -rn -M ${shellQuote(point)} -o FSTYPE,OPTIONS | tail -n 1 | grep . || echo -`)
    .join("\n");
}

/** The states `mountCheckScript` printed, by index; undefined where nothing is mounted (or a line is missing). */
export function parseMountCheck(stdout: string, count: number): (GuestMountState | undefined)[] {
  const states: (GuestMountState | undefined)[] = Array.from({ length: count }, () => undefined);
  for (const line of stdout.split("\n")) {
    const [index, fsType, options] = line.trim().split(/\s+/);
    const i = Number(index);
    if (!Number.isInteger(i) || i < 0 || i >= count || !fsType || fsType === "-") continue;
    states[i] = { fsType, options: (options ?? "").split(",").filter((option) => option !== "") };
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
  return undefined;
}
