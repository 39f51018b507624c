// The guest-side boot scripts of the seed ISO. Their text is imported (not read at run time) so a
// `bun build --compile` binary carries them; tests check this list against cidata/boot/ on disk.
import type { IsoFileEntry } from "./iso9660.ts";
import bootSh from "./boot/boot.sh" with { type: "text" };
import checkUser from "./boot/essential/00-check-user.sh" with { type: "text" };
import rootSudoers from "./boot/essential/01-root-sudoers.sh" with { type: "text" };
import systemdJournalGroup from "./boot/linux/00-systemd-journal-group.sh" with { type: "text" };
import additionalDisks from "./boot/linux/05-additional-disks.sh" with { type: "text" };
import guestHome from "./boot/linux/05-guest-home.sh" with { type: "text" };
import rosetta from "./boot/linux/05-rosetta.sh" with { type: "text" };
import etcHosts from "./boot/linux/06-etc-hosts.sh" with { type: "text" };
import etcEnvironment from "./boot/linux/07-etc-environment.sh" with { type: "text" };
import bootBesideInit from "./boot/linux/08-boot-beside-init.sh" with { type: "text" };
import rootlessBase from "./boot/linux/20-rootless-base.sh" with { type: "text" };
import guestAgent from "./boot/linux/25-guestagent.sh" with { type: "text" };
import sshdVsock from "./boot/linux/26-sshd-vsock.sh" with { type: "text" };
import installPackages from "./boot/linux/30-install-packages.sh" with { type: "text" };
import setupPackages from "./boot/linux/35-setup-packages.sh" with { type: "text" };
import mountsReady from "./boot/linux/40-mounts-ready.sh" with { type: "text" };
import installContainerd from "./boot/linux/45-install-containerd.sh" with { type: "text" };

/** ISO path → script text; boot.sh runs `boot/essential/*.sh` then `boot/linux/*.sh` in name order. */
const SCRIPTS: ReadonlyArray<readonly [path: string, text: string]> = [
  ["boot.sh", bootSh],
  ["boot/essential/00-check-user.sh", checkUser],
  ["boot/essential/01-root-sudoers.sh", rootSudoers],
  ["boot/linux/00-systemd-journal-group.sh", systemdJournalGroup],
  ["boot/linux/05-additional-disks.sh", additionalDisks],
  ["boot/linux/05-guest-home.sh", guestHome],
  ["boot/linux/05-rosetta.sh", rosetta],
  ["boot/linux/06-etc-hosts.sh", etcHosts],
  ["boot/linux/07-etc-environment.sh", etcEnvironment],
  ["boot/linux/08-boot-beside-init.sh", bootBesideInit],
  ["boot/linux/20-rootless-base.sh", rootlessBase],
  ["boot/linux/25-guestagent.sh", guestAgent],
  ["boot/linux/26-sshd-vsock.sh", sshdVsock],
  ["boot/linux/30-install-packages.sh", installPackages],
  ["boot/linux/35-setup-packages.sh", setupPackages],
  ["boot/linux/40-mounts-ready.sh", mountsReady],
  ["boot/linux/45-install-containerd.sh", installContainerd],
];

/** The boot scripts as ISO file entries, mode 0755, in the order above. */
export function bootScriptEntries(): IsoFileEntry[] {
  return SCRIPTS.map(([path, text]) => {
    const bytes = new TextEncoder().encode(text);
    return { path, kind: "file", mode: 0o755, size: bytes.byteLength, source: () => bytes };
  });
}
