// How the host agent learns that the boot scripts are done: the marker files they write under /run, each holding this
// boot's instance id. The wait runs in the guest, one SSH command that looks every 200 ms with shell builtins for a while,
// rather than one SSH command per look from the host: a command over SSH costs the guest a shell (and under
// emulation, a noticeable share of a boot), and a look every 200 ms notices the end of the boot at once.
import { shellQuote } from "../shell/quote.ts";

/** The marker files that prove the boot scripts finished; plain mode has no boot/linux, so no den-ssh-ready. */
export function bootMarkers(plain: boolean): string[] {
  return plain ? ["/run/den-boot-done"] : ["/run/den-ssh-ready", "/run/den-boot-done"];
}

export interface BootMarkersWaitOptions {
  /** How long the command waits in the guest before it gives up with exit code 1; 60 s by default. */
  waitMs?: number;
  /** Time between looks; 200 ms by default. */
  intervalMs?: number;
}

/**
 * A command for the user's login shell: exits 0 once every marker file's first line is `iid`, 1 when `waitMs` passes
 * first. POSIX sh through `sh -c`, whatever the user's shell; only `sleep` is not a builtin (a whole second where
 * `sleep` takes no fractions, as on some busybox builds).
 */
export function bootMarkersCommand(markers: readonly string[], iid: string, options: BootMarkersWaitOptions = {}): string {
  const intervalMs = options.intervalMs ?? 200;
  const tries = Math.max(1, Math.ceil((options.waitMs ?? 60_000) / intervalMs));
  const seconds = (intervalMs / 1000).toFixed(3);
  const checks = markers.map((marker) => `v=; [ -f ${shellQuote(marker)} ] && read -r v <${shellQuote(marker)}; [ "$v" = "$iid" ] || ok=0;`).join(" ");
  const script = [
    `iid=${shellQuote(iid)}; i=0;`,
    `while [ "$i" -lt ${tries} ]; do`,
    `ok=1; ${checks}`,
    `[ "$ok" = 0 ] || exit 0;`,
    `sleep ${seconds} 2>/dev/null || sleep 1;`,
    `i=$((i + 1));`,
    `done; exit 1`,
  ].join(" ");
  return `sh -c ${shellQuote(script)}`;
}
