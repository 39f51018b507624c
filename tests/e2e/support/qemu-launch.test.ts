import { expect, test } from "bun:test";
import { buildQemuArgs } from "./qemu-launch.ts";

const args = buildQemuArgs({
  image: { dir: "/img", disk: "/img/disk.qcow2", kernel: "/img/vmlinuz", initrd: "/img/initrd.img", cmdline: "root=/dev/vda rw console=ttyS0" },
  seedIso: "/run/cidata.iso",
  overlay: "/run/diffdisk.qcow2",
  serialLog: "/run/serial.log",
  qmpSocket: "/run/qmp.sock",
  pidFile: "/run/qemu.pid",
  sshPort: 40022,
  mac: "52:55:55:aa:bb:cc",
  memoryMiB: 1024,
  cpus: 2,
});

test.each([
  { name: "uses TCG with one thread per vCPU", flag: "-accel", value: "tcg,thread=multi" },
  { name: "uses the q35 machine", flag: "-machine", value: "q35,vmport=off" },
  { name: "boots the image's kernel directly", flag: "-kernel", value: "/img/vmlinuz" },
  { name: "passes the image's command line", flag: "-append", value: "root=/dev/vda rw console=ttyS0" },
  { name: "boots from the overlay, not the base image", flag: "-drive", value: "file=/run/diffdisk.qcow2,if=none,id=boot-disk,format=qcow2,discard=on" },
  { name: "attaches the seed read-only", flag: "-drive", value: "id=cdrom0,if=none,format=raw,readonly=on,file=/run/cidata.iso" },
  { name: "puts the seed on a SCSI CD-ROM as Lima does", flag: "-device", value: "scsi-cd,bus=scsi0.0,drive=cdrom0" },
  { name: "forwards the ssh port on loopback only", flag: "-netdev", value: "user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22" },
  { name: "gives the NIC the requested MAC", flag: "-device", value: "virtio-net-pci,netdev=net0,mac=52:55:55:aa:bb:cc" },
  { name: "writes the serial console to a file", flag: "-serial", value: "file:/run/serial.log" },
  { name: "opens QMP without waiting for a client", flag: "-qmp", value: "unix:/run/qmp.sock,server=on,wait=off" },
])("buildQemuArgs() $name", ({ flag, value }) => {
  const pairs = args.flatMap((arg, index) => (arg === flag ? [args[index + 1]] : []));
  expect(pairs).toContain(value);
});

test("buildQemuArgs() never asks for KVM", () => {
  expect(args.join(" ")).not.toContain("kvm");
});
