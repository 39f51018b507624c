// How a value the user or the host chose (a mount folder, DEN_HOME, a firmware path) goes into QEMU's argv.
//
// Most QEMU options are comma-separated `key=value` lists (QemuOpts): `-drive`, `-virtfs`, `-chardev`, `-netdev`,
// `-device`, `-name`, and the `unix:` form of `-qmp`. A comma inside a value ends it and starts a new key, so a
// folder named `/home/alice/proj,path=/` would export the host's root folder. QemuOpts reads `,,` as one literal
// comma, so every such value goes through qemuOptValue(). Other options take the whole argument as it is
// (`-kernel`, `-initrd` of a Linux kernel, `-pidfile`, `-append`): there a doubled comma would name another file,
// so those go through qemuPlainValue(), which only checks.
//
// Both refuse NUL and line breaks: a NUL cannot be passed in argv at all, and a line break in a path or a name
// would split den's logs of the command line and QEMU's own messages into lines that look like something else.
import { DenError } from "../../lib/errors.ts";

/** What a value is, for the error: `name` as the user knows it (`mounts[0].location`, `DEN_HOME`) and what to do. */
export interface QemuValueField {
  name: string;
  hint: string;
}

/** `value` ready to stand after `key=` in a QemuOpts list: checked, with every comma doubled. */
export function qemuOptValue(value: string, field: QemuValueField): string {
  return qemuPlainValue(value, field).replaceAll(",", ",,");
}

/** `value` checked for a QEMU argument taken whole (not a QemuOpts list), and returned unchanged. */
export function qemuPlainValue(value: string, field: QemuValueField): string {
  const bad = /[\0\n\r]/.exec(value);
  if (bad) {
    const what = bad[0] === "\0" ? "a NUL byte" : "a line break";
    throw new DenError("CONFIG_INVALID", `Cannot pass ${field.name} ${excerpt(value)} to QEMU: it contains ${what}`, { hint: field.hint });
  }
  return value;
}

/**
 * A `-drive file=` value. QEMU reads `proto:` prefixes (`nbd:`, `json:{…}`) from a drive's file name unless the
 * name starts with `/`, so only absolute paths are passed.
 */
export function qemuDriveFile(path: string, field: QemuValueField): string {
  if (!path.startsWith("/")) {
    throw new DenError("CONFIG_INVALID", `Cannot pass ${field.name} ${excerpt(path)} to QEMU: it is not an absolute path`, { hint: field.hint });
  }
  return qemuOptValue(path, field);
}

/** The value quoted and escaped (JSON string rules), cut short so a long hostile value is not echoed whole. */
function excerpt(value: string): string {
  const MaxChars = 120;
  return JSON.stringify(value.length > MaxChars ? `${value.slice(0, MaxChars)}…` : value);
}
