// Lima's edit flags on a commander command, shared by `den create` (and later start, edit, clone).
// The flags are declared here once (cheaply: every command is declared at each start); edit-flags-from.ts reads them
// back, and lib/config/edit-flags.ts turns their values into yq expressions.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";

/** Adds the edit flags to `command`; read them back in the action with editFlagsFrom(). */
export function addEditOptions<C extends CommandUnknownOpts>(command: C): C {
  command
    .option("--cpus <n>", "number of CPUs")
    .option("--memory <gib>", "memory in GiB (e.g. 4 or 0.5)")
    .option("--disk <gib>", "disk size in GiB")
    .option("--mount <dir[:w]>", "folders to mount, comma separated or repeated; suffix :w for writable", collect, [] as string[])
    .option("--mount-type <type>", "mount type (reverse-sshfs, 9p, virtiofs)")
    .option("--mount-writable", "make all mounts writable")
    .option("--mount-none", "remove all mounts")
    .option("--mount-inotify", "forward inotify events of mounts (experimental)")
    .option("--port-forward <host:guest[,static=true]>", "forward a host port to a guest port (repeatable)", collect, [] as string[])
    .option("--vm-type <type>", "virtual machine type (qemu, vz)")
    .option("--arch <arch>", "machine architecture (x86_64, aarch64, riscv64, …)")
    .option("--param <key=value>", "set a template parameter (repeatable)", collect, [] as string[])
    .option("--containerd <mode>", "containerd mode (user, system, user+system, none)")
    .option("--plain", "plain mode: no mounts, no port forwarding, no containerd")
    .option("--ssh-port <port>", "SSH port on the host (0 picks a free one)")
    .option("--dns <ip>", "custom DNS servers, comma separated or repeated (disables the host resolver)", collect, [] as string[])
    .option("--set <expr>", "modify the configuration with a yq expression (repeatable)", collect, [] as string[])
    .option("--network <name>", 'additional networks, e.g. "vzNAT" or "lima:shared" (repeatable)', collect, [] as string[])
    .option("--nested-virt", "enable nested virtualization")
    .option("--video", "enable video output (slows QEMU down)")
    .option("--shell <path>", "login shell of the guest user");
  return command;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
