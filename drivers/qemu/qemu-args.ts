// The QEMU command line for one instance, as a pure function of the filled configuration and a few facts the
// caller has already found out (accelerator, firmware, kernel, port, MAC, QEMU version). Lima builds the same
// command line in one 550-line function that also probes and touches files; here every probe happens before,
// so the whole argv can be golden-tested.
//
// Deliberate differences from Lima: the user-mode network keeps QEMU's default 10.0.2.0/24 (den's guest env
// promises SLIRP_GATEWAY 10.0.2.2), the seed ISO is a read-only virtio disk (the test guest's cloud kernel has no
// AHCI and no virtio-scsi CD path is needed), the virtio-serial port carries den's guest agent on every host, and
// virtiofs shares memory through memfd (Linux only) instead of a /dev/shm file.
//
// Every path or name that reaches an option list goes through qemuOptValue() (commas doubled) or, for arguments QEMU
// takes whole, qemuPlainValue(): a mount folder named `/home/alice/proj,path=/` must never become a second `path=`.
// Strings den makes itself (ids, mount tags, numbers) stay plain. `-cpu`, `-display` and `video.vnc.display` are
// QEMU option strings by design (Lima's `cpuType: host,-avx512vl`, `vnc: 127.0.0.1:0,to=9`) and pass unchanged.
import { join } from "node:path";
import { mountTag } from "../../cidata/seed-args.ts";
import { DenError } from "../../lib/errors.ts";
import type { FilledDenYaml } from "../../lib/config/schema.ts";
import { parseSize } from "../../lib/config/units.ts";
import { CidataIso, Disk, GuestAgentSock, QemuPid, QmpSock, SerialLog, SerialSock } from "../../lib/store/filenames.ts";
import type { DataDiskDrive } from "../../lib/disks/data-disk-drives.ts";
import type { Accelerator } from "./accel.ts";
import { qemuDriveFile, qemuOptValue, qemuPlainValue, type QemuValueField } from "./qemu-opt-value.ts";
import { checkQemuVersion, type QemuVersion } from "./qemu-version.ts";

/** Name of the virtio-serial port the guest agent opens (/dev/virtio-ports/io.den.agent.0). */
export const GuestAgentPortName = "io.den.agent.0";

/** Id of the user-mode (slirp) netdev: the host forwarder names it in hostfwd_add / hostfwd_remove. */
export const UserNetdevId = "net0";

/** Socket of the i-th virtiofsd; not in lib/store/filenames.ts, whose names are Lima's (`virtiofsd-<i>.sock` is too). */
export function virtiofsdSock(index: number): string {
  return `virtiofsd-${index}.sock`;
}

export interface QemuArgsContext {
  instanceName: string;
  instanceDir: string;
  host: { os: "Linux" | "Darwin"; arch: string };
  accel: Accelerator;
  /** UEFI code (read-only) and, optionally, a writable variable store. */
  firmware?: { code: string; vars?: string };
  /** Direct kernel boot; takes precedence over firmware, as in Lima. */
  kernel?: { kernel: string; initrd?: string; cmdline: string };
  /** An installer ISO (the instance's `iso`): attached as a CD-ROM and booted from before the disk, as in Lima. */
  iso?: string;
  /** Host port forwarded to the guest's sshd, bound to 127.0.0.1 only. */
  sshLocalPort: number;
  macAddress: string;
  qemuVersion: QemuVersion;
  /** For the `QEMU_SYSTEM_<ARCH>` binary override (Lima's variable names). */
  env?: Record<string, string | undefined>;
  /** The guest agent's runtime disk (DriverContext.runtimeDisk): a read-only virtio disk after the seed. */
  runtimeDisk?: string;
  /** The containerd archive's disk (DriverContext.containerdDisk): a read-only virtio disk after the runtime disk. */
  containerdDisk?: string;
  /** `additionalDisks`, in order (lib/disks/data-disk-drives.ts): a virtio disk each, after every other disk. */
  additionalDisks?: readonly DataDiskDrive[];
}

export interface QemuCommand {
  binary: string;
  args: string[];
}

const MiB = 2 ** 20;

/** Files in the instance folder: their paths are DEN_HOME's. */
const InstanceFile: QemuValueField = { name: "the instance file", hint: "set DEN_HOME to a folder whose path has no line breaks" };
const FirmwareFile: QemuValueField = {
  name: "the UEFI firmware",
  hint: "install the firmware where den looks for it (Debian: apt-get install ovmf), at a path without line breaks",
};
const KernelCmdlineField: QemuValueField = { name: "the kernel command line", hint: "remove the line breaks from images[].kernel.cmdline" };

function mountField(index: number, key: string, hint: string): QemuValueField {
  return { name: `mounts[${index}].${key}`, hint };
}
const MountLocationHint = "mount a folder whose path has no line breaks";

/** The full QEMU argv for `config`; throws a DenError for combinations QEMU cannot run. */
export function qemuArgs(config: FilledDenYaml, ctx: QemuArgsContext): QemuCommand {
  checkQemuVersion(ctx.qemuVersion, { hostOs: ctx.host.os, hostArch: ctx.host.arch, minimumVersion: config.vmOpts.qemu.minimumVersion });
  const arch = config.arch;
  if (arch !== "x86_64" && arch !== "aarch64") {
    throw new DenError("CONFIG_INVALID", `Cannot run arch "${arch}" with den's QEMU driver: only x86_64 and aarch64 are supported`, {
      hint: 'set `arch: x86_64` or `arch: aarch64` in the instance configuration',
    });
  }
  if (arch === "aarch64" && !ctx.kernel && !ctx.firmware) {
    throw new DenError("CONFIG_INVALID", "Cannot boot an aarch64 guest without UEFI firmware or a kernel", {
      hint: "install edk2 for aarch64 (Debian: qemu-efi-aarch64), or use an image that provides a kernel and initrd",
    });
  }
  const dir = ctx.instanceDir;
  const memoryMiB = Math.floor(parseSize(config.memory) / MiB);
  const virtiofsMounts = config.mountType === "virtiofs" ? config.mounts : [];
  if (virtiofsMounts.length > 0 && ctx.host.os !== "Linux") {
    throw new DenError("CONFIG_INVALID", `Cannot use mountType "virtiofs" with QEMU on ${ctx.host.os}: it needs virtiofsd and memfd, which only Linux has`, {
      hint: 'use `mountType: 9p` or `mountType: reverse-sshfs`, or `vmType: vz` on macOS',
    });
  }

  const instanceFile = (name: string) => qemuOptValue(join(dir, name), InstanceFile);
  const args: string[] = ["-name", qemuOptValue(`den-${ctx.instanceName}`, { name: "the instance name", hint: "rename the instance" }), "-m", String(memoryMiB)];
  if (virtiofsMounts.length > 0) {
    // vhost-user needs guest RAM the daemon can map; its size must equal -m.
    args.push("-object", `memory-backend-memfd,id=mem,size=${memoryMiB}M,share=on`, "-numa", "node,memdev=mem");
  }
  args.push("-cpu", cpuType(config, ctx));
  args.push(...machineArgs(arch, ctx.accel));
  args.push("-smp", `${config.cpus},sockets=1,cores=${config.cpus},threads=1`);

  if (ctx.kernel) {
    // Plain paths, not option lists: QEMU opens a Linux kernel's -kernel and -initrd as given.
    args.push("-kernel", qemuPlainValue(ctx.kernel.kernel, InstanceFile));
    if (ctx.kernel.initrd) args.push("-initrd", qemuPlainValue(ctx.kernel.initrd, InstanceFile));
    args.push("-append", qemuPlainValue(ctx.kernel.cmdline, KernelCmdlineField));
  } else if (ctx.firmware) {
    args.push("-drive", `if=pflash,format=raw,readonly=on,file=${qemuDriveFile(ctx.firmware.code, FirmwareFile)}`);
    if (ctx.firmware.vars) args.push("-drive", `if=pflash,format=raw,file=${qemuDriveFile(ctx.firmware.vars, InstanceFile)}`);
  }

  // Every virtio disk is a -drive plus its own -device, so the guest sees them in this order: the boot disk is
  // /dev/vda, the seed /dev/vdb. (QEMU creates the devices of `if=virtio` drives after every explicit -device, so an
  // additional disk, which needs a -device for its serial, would otherwise come first and take /dev/vda.)
  args.push(...virtioDiskArgs("disk0", join(dir, Disk), { format: "qcow2", discard: true, field: InstanceFile }));
  if (ctx.iso) {
    // The machine's own IDE/AHCI CD-ROM: firmware boots from it without extra drivers.
    args.push("-drive", `file=${qemuDriveFile(ctx.iso, InstanceFile)},format=raw,media=cdrom,readonly=on`);
    args.push("-boot", "order=d,splash-time=0,menu=on");
  }
  args.push(...virtioDiskArgs("cidata", join(dir, CidataIso), { format: "raw", readOnly: true, field: InstanceFile }));
  if (ctx.runtimeDisk) args.push(...virtioDiskArgs("den-runtime", ctx.runtimeDisk, { format: "raw", readOnly: true, field: InstanceFile }));
  if (ctx.containerdDisk) args.push(...virtioDiskArgs("den-containerd", ctx.containerdDisk, { format: "raw", readOnly: true, field: InstanceFile }));
  args.push(...additionalDiskArgs(ctx.additionalDisks ?? []));

  args.push("-netdev", `user,id=${UserNetdevId},hostfwd=tcp:127.0.0.1:${ctx.sshLocalPort}-:22`);
  args.push("-device", `virtio-net-pci,netdev=${UserNetdevId},mac=${ctx.macAddress}`);
  args.push("-device", "virtio-rng-pci");

  args.push(...displayArgs(config, arch));
  args.push("-parallel", "none");

  args.push("-chardev", `socket,id=char-serial,path=${instanceFile(SerialSock)},server=on,wait=off,logfile=${instanceFile(SerialLog)}`);
  args.push("-serial", "chardev:char-serial");

  args.push("-device", "virtio-serial-pci,id=virtio-serial0");
  args.push("-chardev", `socket,id=char-ga,path=${instanceFile(GuestAgentSock)},server=on,wait=off`);
  args.push("-device", `virtserialport,bus=virtio-serial0.0,chardev=char-ga,name=${GuestAgentPortName}`);

  if (config.mountType === "9p") {
    config.mounts.forEach((mount, i) => {
      const path = qemuOptValue(mount.location, mountField(i, "location", MountLocationHint));
      const securityModel = qemuOptValue(mount["9p"].securityModel, mountField(i, "9p.securityModel", "use passthrough, mapped-xattr, mapped-file or none"));
      const options = [`local`, `mount_tag=${mountTag(mount.location, mount.mountPoint)}`, `path=${path}`, `security_model=${securityModel}`];
      if (!mount.writable) options.push("readonly=on");
      args.push("-virtfs", options.join(","));
    });
  }
  virtiofsMounts.forEach((mount, i) => {
    // virtiofsd, not QEMU, gets the folder (lib/mounts/virtiofsd-command.ts escapes it for the daemon); checked here
    // so a folder no daemon can take is refused when the instance is validated, before anything starts.
    qemuPlainValue(mount.location, mountField(i, "location", MountLocationHint));
    const queueSize = mount.virtiofs.queueSize ?? 1024;
    args.push("-chardev", `socket,id=char-vfs${i},path=${instanceFile(virtiofsdSock(i))}`);
    args.push("-device", `vhost-user-fs-pci,queue-size=${queueSize},chardev=char-vfs${i},tag=${mountTag(mount.location, mount.mountPoint)}`);
  });

  // `unix:<path>,…` is parsed as a chardev option list with `path` as the implied first key.
  args.push("-qmp", `unix:${instanceFile(QmpSock)},server=on,wait=off`);
  // -pidfile is a plain path.
  args.push("-pidfile", qemuPlainValue(join(dir, QemuPid), InstanceFile));
  return { binary: qemuBinary(arch, ctx.env), args };
}

/** One virtio disk: a `-drive` without a device of its own, and the virtio-blk `-device` that shows it to the guest. */
function virtioDiskArgs(id: string, path: string, options: { format: string; field: QemuValueField; readOnly?: boolean; discard?: boolean; serial?: string }): string[] {
  const drive = [`file=${qemuDriveFile(path, options.field)}`, "if=none", `id=${id}`, `format=${options.format}`];
  if (options.discard) drive.push("discard=on");
  if (options.readOnly) drive.push("readonly=on");
  const device = ["virtio-blk-pci", `drive=${id}`];
  // Only the device takes a `serial=` (QEMU dropped it from -drive): the guest finds an additional disk by it.
  if (options.serial !== undefined) device.push(`serial=${qemuOptValue(options.serial, options.field)}`);
  return ["-drive", drive.join(","), "-device", device.join(",")];
}

/** An additional disk each, after every other disk, found in the guest by its serial whatever vdX it became. */
export function additionalDiskArgs(disks: readonly DataDiskDrive[]): string[] {
  return disks.flatMap((disk, i) => {
    const field: QemuValueField = { name: `additional disk "${disk.name}"`, hint: "set DEN_HOME to a folder whose path has no line breaks" };
    return virtioDiskArgs(`extra-disk${i}`, disk.path, { format: disk.format, discard: true, serial: disk.serial, field });
  });
}

/** `qemu-system-<arch>`, or the path in `QEMU_SYSTEM_<ARCH>` (Lima's override). */
export function qemuBinary(arch: string, env: Record<string, string | undefined> = {}): string {
  return env[`QEMU_SYSTEM_${arch.toUpperCase()}`] || `qemu-system-${arch}`;
}

/** `vmOpts.qemu.cpuType[arch]` when set; else `host` under a hardware accelerator and `max` under TCG. */
function cpuType(config: FilledDenYaml, ctx: QemuArgsContext): string {
  const configured = config.vmOpts.qemu.cpuType[config.arch];
  if (configured) return configured;
  if (ctx.accel === "tcg") return "max";
  // Lima masks these on Intel Macs: HVF advertises them but guests crash using them.
  if (ctx.host.os === "Darwin" && config.arch === "x86_64") return "host,-avx512vl,-pdpe1gb";
  return "host";
}

function machineArgs(arch: "x86_64" | "aarch64", accel: Accelerator): string[] {
  if (arch === "aarch64") return ["-machine", "virt", "-accel", accel === "tcg" ? "tcg,thread=multi,tb-size=512" : accel];
  if (accel !== "tcg") return ["-machine", "q35", "-accel", accel];
  // Lima's TCG settings: no VMware port emulation, a bigger translation cache, and no S3/S4 sleep states the
  // emulated firmware handles poorly.
  return [
    "-machine",
    "q35,vmport=off",
    "-accel",
    "tcg,thread=multi,tb-size=512",
    "-global",
    "ICH9-LPC.disable_s3=1",
    "-global",
    "ICH9-LPC.disable_s4=1",
  ];
}

function displayArgs(config: FilledDenYaml, arch: "x86_64" | "aarch64"): string[] {
  const display = config.video.display;
  if (display === "none" || display === "") return ["-display", "none", "-vga", "none"];
  const spec = display === "vnc" ? `vnc=${config.video.vnc.display},password=on` : display;
  return [
    "-display",
    spec,
    "-vga",
    "none",
    "-device",
    arch === "x86_64" ? "virtio-vga" : "virtio-gpu-pci",
    "-device",
    "virtio-keyboard-pci",
    "-device",
    "virtio-tablet-pci",
  ];
}
