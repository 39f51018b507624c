import { describe, expect, test } from "bun:test";
import { mountTag } from "../../../cidata/seed-args.ts";
import { fillDefaults } from "../../../lib/config/defaults.ts";
import type { HostInfo } from "../../../lib/config/host-info.ts";
import type { DenYaml, FilledDenYaml } from "../../../lib/config/schema.ts";
import { caughtDenError } from "../../support/caught-den-error.ts";
import { type QemuArgsContext, qemuArgs, qemuBinary } from "../../../drivers/qemu/qemu-args.ts";
import { linuxHost } from "../../fixtures/host-info.ts";

const GiB = 2 ** 30;
const Dir = "/home/alice/.den/dev";

function fill(config: DenYaml, host: Partial<HostInfo> = {}): FilledDenYaml {
  return fillDefaults(config, { host: { ...linuxHost, ...host }, instanceName: "dev", instanceDir: Dir, denHome: "/home/alice/.den" });
}

const baseCtx: QemuArgsContext = {
  instanceName: "dev",
  instanceDir: Dir,
  host: { os: "Linux", arch: "x86_64" },
  accel: "kvm",
  sshLocalPort: 60022,
  macAddress: "52:55:55:12:34:56",
  qemuVersion: { major: 7, minor: 2, patch: 22 },
};

/** A virtio disk as qemuArgs() writes it: the drive without a device, then its virtio-blk device. */
function virtioDisk(id: string, file: string, options: string): string[] {
  return ["-drive", `file=${file},if=none,id=${id},${options}`, "-device", `virtio-blk-pci,drive=${id}`];
}

/** The tail every instance shares after the CPU, machine and boot arguments. */
function devices(display: string[] = ["-display", "none", "-vga", "none"]): string[] {
  return [
    ...virtioDisk("disk0", `${Dir}/disk`, "format=qcow2,discard=on"),
    ...virtioDisk("cidata", `${Dir}/cidata.iso`, "format=raw,readonly=on"),
    "-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:60022-:22",
    "-device", "virtio-net-pci,netdev=net0,mac=52:55:55:12:34:56",
    "-device", "virtio-rng-pci",
    ...display,
    "-parallel", "none",
    "-chardev", `socket,id=char-serial,path=${Dir}/serial.sock,server=on,wait=off,logfile=${Dir}/serial.log`,
    "-serial", "chardev:char-serial",
    "-device", "virtio-serial-pci,id=virtio-serial0",
    "-chardev", `socket,id=char-ga,path=${Dir}/ga.sock,server=on,wait=off`,
    "-device", "virtserialport,bus=virtio-serial0.0,chardev=char-ga,name=io.den.agent.0",
  ];
}
const control = ["-qmp", `unix:${Dir}/qmp.sock,server=on,wait=off`, "-pidfile", `${Dir}/qemu.pid`];

describe("qemuArgs() golden command lines", () => {
  test("qemuArgs() builds an x86_64 guest on Linux with kvm and the default SeaBIOS", () => {
    const got = qemuArgs(fill({ arch: "x86_64", cpus: 2, memory: "2GiB" }), baseCtx);
    expect(got).toEqual({
      binary: "qemu-system-x86_64",
      args: [
        "-name", "den-dev",
        "-m", "2048",
        "-cpu", "host",
        "-machine", "q35",
        "-accel", "kvm",
        "-smp", "2,sockets=1,cores=2,threads=1",
        ...devices(),
        ...control,
      ],
    });
  });

  test("qemuArgs() builds an x86_64 guest on Linux with tcg and direct kernel boot", () => {
    const kernel = { kernel: `${Dir}/kernel`, initrd: `${Dir}/initrd`, cmdline: "root=/dev/vda rw console=ttyS0" };
    const got = qemuArgs(fill({ arch: "x86_64", cpus: 2, memory: "1GiB" }), { ...baseCtx, accel: "tcg", kernel });
    expect(got.args).toEqual([
      "-name", "den-dev",
      "-m", "1024",
      "-cpu", "max",
      "-machine", "q35,vmport=off",
      "-accel", "tcg,thread=multi,tb-size=512",
      "-global", "ICH9-LPC.disable_s3=1",
      "-global", "ICH9-LPC.disable_s4=1",
      "-smp", "2,sockets=1,cores=2,threads=1",
      "-kernel", `${Dir}/kernel`,
      "-initrd", `${Dir}/initrd`,
      "-append", "root=/dev/vda rw console=ttyS0",
      ...devices(),
      ...control,
    ]);
  });

  test("qemuArgs() builds an aarch64 guest on macOS with hvf and UEFI firmware", () => {
    const firmware = { code: "/opt/homebrew/share/qemu/edk2-aarch64-code.fd", vars: `${Dir}/efi-vars.fd` };
    const ctx: QemuArgsContext = { ...baseCtx, host: { os: "Darwin", arch: "aarch64" }, accel: "hvf", firmware, qemuVersion: { major: 9, minor: 1, patch: 0 } };
    const got = qemuArgs(fill({ arch: "aarch64", cpus: 4, memory: "4GiB" }, { os: "darwin", arch: "aarch64" }), ctx);
    expect(got).toEqual({
      binary: "qemu-system-aarch64",
      args: [
        "-name", "den-dev",
        "-m", "4096",
        "-cpu", "host",
        "-machine", "virt",
        "-accel", "hvf",
        "-smp", "4,sockets=1,cores=4,threads=1",
        "-drive", "if=pflash,format=raw,readonly=on,file=/opt/homebrew/share/qemu/edk2-aarch64-code.fd",
        "-drive", `if=pflash,format=raw,file=${Dir}/efi-vars.fd`,
        ...devices(),
        ...control,
      ],
    });
  });

  test("qemuArgs() builds an aarch64 guest on an x86_64 Linux host with tcg and direct kernel boot", () => {
    const kernel = { kernel: `${Dir}/kernel`, initrd: `${Dir}/initrd`, cmdline: "root=/dev/vda rw console=ttyAMA0" };
    const got = qemuArgs(fill({ arch: "aarch64", cpus: 2, memory: "1GiB" }), { ...baseCtx, accel: "tcg", kernel });
    expect(got).toEqual({
      binary: "qemu-system-aarch64",
      args: [
        "-name", "den-dev",
        "-m", "1024",
        "-cpu", "max",
        "-machine", "virt",
        "-accel", "tcg,thread=multi,tb-size=512",
        "-smp", "2,sockets=1,cores=2,threads=1",
        "-kernel", `${Dir}/kernel`,
        "-initrd", `${Dir}/initrd`,
        "-append", "root=/dev/vda rw console=ttyAMA0",
        ...devices(),
        ...control,
      ],
    });
  });

  test("qemuArgs() exports 9p mounts with virtfs, read-only unless writable", () => {
    const config = fill({
      arch: "x86_64",
      cpus: 1,
      memory: "1GiB",
      mountType: "9p",
      mounts: [{ location: "/home/alice/src" }, { location: "/tmp/den", writable: true, "9p": { securityModel: "mapped-xattr" } }],
    });
    const got = qemuArgs(config, baseCtx);
    const srcTag = mountTag("/home/alice/src", "/home/alice/src");
    const tmpTag = mountTag("/tmp/den", "/tmp/den");
    expect(got.args).toEqual([
      "-name", "den-dev",
      "-m", "1024",
      "-cpu", "host",
      "-machine", "q35",
      "-accel", "kvm",
      "-smp", "1,sockets=1,cores=1,threads=1",
      ...devices(),
      "-virtfs", `local,mount_tag=${srcTag},path=/home/alice/src,security_model=none,readonly=on`,
      "-virtfs", `local,mount_tag=${tmpTag},path=/tmp/den,security_model=mapped-xattr`,
      ...control,
    ]);
  });

  test("qemuArgs() shares memory through memfd and adds one vhost-user-fs device per virtiofs mount", () => {
    const config = fill({
      arch: "x86_64",
      cpus: 1,
      memory: "1GiB",
      mountType: "virtiofs",
      mounts: [{ location: "/home/alice/src" }, { location: "/tmp/den", writable: true, virtiofs: { queueSize: 512 } }],
    });
    const got = qemuArgs(config, baseCtx);
    expect(got.args).toEqual([
      "-name", "den-dev",
      "-m", "1024",
      "-object", "memory-backend-memfd,id=mem,size=1024M,share=on",
      "-numa", "node,memdev=mem",
      "-cpu", "host",
      "-machine", "q35",
      "-accel", "kvm",
      "-smp", "1,sockets=1,cores=1,threads=1",
      ...devices(),
      "-chardev", `socket,id=char-vfs0,path=${Dir}/virtiofsd-0.sock`,
      "-device", `vhost-user-fs-pci,queue-size=1024,chardev=char-vfs0,tag=${mountTag("/home/alice/src", "/home/alice/src")}`,
      "-chardev", `socket,id=char-vfs1,path=${Dir}/virtiofsd-1.sock`,
      "-device", `vhost-user-fs-pci,queue-size=512,chardev=char-vfs1,tag=${mountTag("/tmp/den", "/tmp/den")}`,
      ...control,
    ]);
  });
});

describe("qemuArgs() options", () => {
  test("qemuArgs() uses vmOpts.qemu.cpuType for the guest arch over the accelerator's default", () => {
    const got = qemuArgs(fill({ arch: "x86_64", vmOpts: { qemu: { cpuType: { x86_64: "Haswell-v4" } } } }), baseCtx);
    expect(got.args.slice(got.args.indexOf("-cpu"), got.args.indexOf("-cpu") + 2)).toEqual(["-cpu", "Haswell-v4"]);
  });

  test("qemuArgs() masks avx512vl and pdpe1gb for an x86_64 guest under hvf on an Intel Mac", () => {
    const ctx: QemuArgsContext = { ...baseCtx, host: { os: "Darwin", arch: "x86_64" }, accel: "hvf", qemuVersion: { major: 9, minor: 0, patch: 0 } };
    const got = qemuArgs(fill({ arch: "x86_64" }, { os: "darwin" }), ctx);
    expect(got.args).toContain("host,-avx512vl,-pdpe1gb");
  });

  test("qemuArgs() shows a VNC display with virtio graphics when video.display is vnc", () => {
    const got = qemuArgs(fill({ arch: "x86_64", cpus: 1, memory: "1GiB", video: { display: "vnc" } }), baseCtx);
    const display = ["-display", "vnc=127.0.0.1:0,to=9,password=on", "-vga", "none", "-device", "virtio-vga", "-device", "virtio-keyboard-pci", "-device", "virtio-tablet-pci"];
    expect(got.args).toEqual([
      "-name", "den-dev", "-m", "1024", "-cpu", "host", "-machine", "q35", "-accel", "kvm",
      "-smp", "1,sockets=1,cores=1,threads=1", ...devices(display), ...control,
    ]);
  });

  test("qemuArgs() attaches an installer ISO as a CD-ROM after the boot disk and boots from it first", () => {
    const got = qemuArgs(fill({ arch: "x86_64" }), { ...baseCtx, iso: `${Dir}/iso` });
    const disk = got.args.indexOf(`file=${Dir}/disk,if=none,id=disk0,format=qcow2,discard=on`);
    expect(got.args.slice(disk + 3, disk + 7)).toEqual(["-drive", `file=${Dir}/iso,format=raw,media=cdrom,readonly=on`, "-boot", "order=d,splash-time=0,menu=on"]);
  });

  test("qemuArgs() attaches the guest agent's runtime disk read-only right after the seed", () => {
    const disk = "/home/alice/.den/_cache/guestagent/runtime-disks/abc.iso";
    const got = qemuArgs(fill({ arch: "x86_64" }), { ...baseCtx, runtimeDisk: disk });
    const seed = got.args.indexOf(`file=${Dir}/cidata.iso,if=none,id=cidata,format=raw,readonly=on`);
    expect(got.args.slice(seed + 3, seed + 7)).toEqual(virtioDisk("den-runtime", disk, "format=raw,readonly=on"));
    expect(qemuArgs(fill({ arch: "x86_64" }), baseCtx).args.filter((arg) => arg.includes("runtime-disks"))).toEqual([]);
  });

  test.each([
    { name: "with the runtime disk: right after it", runtimeDisk: "/home/alice/.den/_cache/guestagent/runtime-disks/abc.iso" as string | undefined },
    { name: "without the runtime disk: right after the seed", runtimeDisk: undefined },
  ])("qemuArgs() attaches the containerd archive's disk read-only $name", ({ runtimeDisk }) => {
    const containerdDisk = "/home/alice/.den/_cache/containerd/archive-disks/def.iso";
    const got = qemuArgs(fill({ arch: "x86_64" }), { ...baseCtx, ...(runtimeDisk && { runtimeDisk }), containerdDisk });
    const before = got.args.indexOf(runtimeDisk ? `file=${runtimeDisk},if=none,id=den-runtime,format=raw,readonly=on` : `file=${Dir}/cidata.iso,if=none,id=cidata,format=raw,readonly=on`);
    expect(got.args.slice(before + 3, before + 7)).toEqual(virtioDisk("den-containerd", containerdDisk, "format=raw,readonly=on"));
    expect(qemuArgs(fill({ arch: "x86_64" }), { ...baseCtx, ...(runtimeDisk && { runtimeDisk }) }).args.filter((arg) => arg.includes("archive-disks"))).toEqual([]);
  });

  test("qemuArgs() leaves reverse-sshfs mounts to the host agent", () => {
    const got = qemuArgs(fill({ arch: "x86_64", mountType: "reverse-sshfs", mounts: [{ location: "/home/alice" }] }), baseCtx);
    expect(got.args.some((arg) => arg === "-virtfs" || arg.startsWith("vhost-user-fs"))).toBe(false);
  });

  test.each([
    { name: "unset", env: {}, want: "qemu-system-aarch64" },
    { name: "QEMU_SYSTEM_AARCH64", env: { QEMU_SYSTEM_AARCH64: "/opt/qemu/bin/qemu-system-aarch64" }, want: "/opt/qemu/bin/qemu-system-aarch64" },
    { name: "empty QEMU_SYSTEM_AARCH64", env: { QEMU_SYSTEM_AARCH64: "" }, want: "qemu-system-aarch64" },
  ])("qemuBinary() honours the override when $name", ({ env, want }) => {
    expect(qemuBinary("aarch64", env)).toBe(want);
  });
});

describe("qemuArgs() refusals", () => {
  test.each([
    { name: "an aarch64 guest without firmware or kernel", config: { arch: "aarch64" }, ctx: { accel: "tcg" as const }, message: "Cannot boot an aarch64 guest without UEFI firmware or a kernel" },
    { name: "an unsupported arch", config: { arch: "riscv64" }, ctx: { accel: "tcg" as const }, message: 'Cannot run arch "riscv64" with den\'s QEMU driver: only x86_64 and aarch64 are supported' },
    {
      name: "virtiofs on macOS",
      config: { arch: "x86_64", mountType: "virtiofs" as const, mounts: [{ location: "/Users/alice" }] },
      ctx: { host: { os: "Darwin" as const, arch: "x86_64" }, accel: "hvf" as const, qemuVersion: { major: 9, minor: 0, patch: 0 } },
      message: 'Cannot use mountType "virtiofs" with QEMU on Darwin: it needs virtiofsd and memfd, which only Linux has',
    },
    {
      name: "a QEMU older than the template's minimumVersion",
      config: { arch: "x86_64", vmOpts: { qemu: { minimumVersion: "8.0" } } },
      ctx: {},
      message: "QEMU 7.2.22 is too old: the template requires QEMU 8.0.0 or newer (vmOpts.qemu.minimumVersion)",
    },
  ])("qemuArgs() refuses $name", ({ config, ctx, message }) => {
    const error = caughtDenError(() => qemuArgs(fill(config as DenYaml), { ...baseCtx, ...ctx }));
    expect(error.message).toBe(message);
    expect(error.hint).toBeTruthy();
  });
});

describe("qemuArgs() additionalDisks", () => {
  const Disks = "/home/alice/.den/_disks";
  const qcow = { name: "data", path: `${Disks}/data/datadisk`, format: "qcow2" as const, serial: "lima-data" };
  const raw = { name: "scratch", path: `${Disks}/scratch/datadisk`, format: "raw" as const, serial: "lima-scratch" };

  test.each([
    { name: "no disks", disks: [], want: [] },
    {
      name: "one qcow2 disk",
      disks: [qcow],
      want: ["-drive", `file=${Disks}/data/datadisk,if=none,id=extra-disk0,format=qcow2,discard=on`, "-device", "virtio-blk-pci,drive=extra-disk0,serial=lima-data"],
    },
    {
      name: "a qcow2 and a raw disk, in the configured order",
      disks: [raw, qcow],
      want: [
        "-drive",
        `file=${Disks}/scratch/datadisk,if=none,id=extra-disk0,format=raw,discard=on`,
        "-device",
        "virtio-blk-pci,drive=extra-disk0,serial=lima-scratch",
        "-drive",
        `file=${Disks}/data/datadisk,if=none,id=extra-disk1,format=qcow2,discard=on`,
        "-device",
        "virtio-blk-pci,drive=extra-disk1,serial=lima-data",
      ],
    },
  ])("qemuArgs() attaches $name after the seed and the runtime disk", ({ disks, want }) => {
    const runtimeDisk = "/home/alice/.den/_cache/guestagent/runtime-disks/abc.iso";
    const got = qemuArgs(fill({ arch: "x86_64" }), { ...baseCtx, runtimeDisk, additionalDisks: disks }).args;
    const runtime = got.indexOf(`file=${runtimeDisk},if=none,id=den-runtime,format=raw,readonly=on`);
    expect(got.slice(runtime + 3, runtime + 3 + want.length)).toEqual([...want]);
    expect(got[runtime + 3 + want.length]).toBe("-netdev");
  });

  test("qemuArgs() doubles a comma in a disk's path", () => {
    const got = qemuArgs(fill({ arch: "x86_64" }), { ...baseCtx, additionalDisks: [{ ...qcow, path: "/den,home/_disks/data/datadisk" }] }).args;
    expect(got).toContain("file=/den,,home/_disks/data/datadisk,if=none,id=extra-disk0,format=qcow2,discard=on");
  });
});
