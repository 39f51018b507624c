// The guest's hostname for an instance. Lima uses `lima-<name>`; den uses its own prefix so a den guest
// is recognisable on the network and in shell prompts.

/** `den-` + the instance name with `.` and `_` (invalid in hostnames) replaced by `-`. */
export function hostnameOf(instanceName: string): string {
  return `den-${instanceName.replace(/[._]/g, "-")}`;
}
