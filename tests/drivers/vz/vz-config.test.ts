import { expect, test } from "bun:test";
import { mountTag } from "../../../cidata/seed-args.ts";
import { VmConfigSchema } from "../../../drivers/vz/helper-protocol.ts";
import { vzConfig } from "../../../drivers/vz/vz-config.ts";
import { loadConfig } from "../../../lib/config/load.ts";

const dir = "/home/u/.den/dev";
const image = ["images:", "- location: /images/debian.qcow2", "  arch: x86_64"].join("\n");

async function filled(extra: string) {
  return loadConfig([image, "arch: x86_64", "cpus: 3", "memory: 2GiB", "disk: 10GiB", extra].join("\n"), { file: `${dir}/den.yaml`, instanceName: "dev", instanceDir: dir, denHome: "/home/u/.den", isDirectory: () => true });
}

const facts = { instanceDir: dir, macAddress: "52:55:55:12:34:56", sshLocalPort: 60022 };

test("vzConfig() attaches the guest agent's runtime disk read-only after the seed", async () => {
  const runtimeDisk = "/home/u/.den/_cache/guestagent/runtime-disks/abc.iso";
  expect(vzConfig(await filled("vmType: vz\nmounts: []"), { ...facts, runtimeDisk }).disks).toEqual([
    { path: `${dir}/disk`, readOnly: false },
    { path: `${dir}/cidata.iso`, readOnly: true },
    { path: runtimeDisk, readOnly: true },
  ]);
});

test("vzConfig() attaches the containerd archive's disk read-only after the runtime disk", async () => {
  const runtimeDisk = "/home/u/.den/_cache/guestagent/runtime-disks/abc.iso";
  const containerdDisk = "/home/u/.den/_cache/containerd/archive-disks/def.iso";
  expect(vzConfig(await filled("vmType: vz\nmounts: []"), { ...facts, runtimeDisk, containerdDisk }).disks).toEqual([
    { path: `${dir}/disk`, readOnly: false },
    { path: `${dir}/cidata.iso`, readOnly: true },
    { path: runtimeDisk, readOnly: true },
    { path: containerdDisk, readOnly: true },
  ]);
});

test("vzConfig() describes the whole machine: disks in order, NAT with the MAC, both vsock forwards, the serial log", async () => {
  const config = vzConfig(await filled("vmType: vz\nmounts: []"), facts);
  expect(config).toEqual({
    cpus: 3,
    memoryBytes: 2 * 1024 ** 3,
    boot: { kind: "efi", variableStorePath: `${dir}/vz-efi` },
    machineIdentifierPath: `${dir}/vz-identifier`,
    disks: [
      { path: `${dir}/disk`, readOnly: false },
      { path: `${dir}/cidata.iso`, readOnly: true },
    ],
    networks: [{ kind: "nat", macAddress: "52:55:55:12:34:56" }],
    shares: [],
    rosetta: null,
    vsockForwards: { unix: [{ path: `${dir}/ga.sock`, guestPort: 2222 }], tcp: [{ hostIP: "127.0.0.1", hostPort: 60022, guestPort: 22 }] },
    serialLogPath: `${dir}/serialv.log`,
    balloon: true,
    nestedVirtualization: false,
  });
  expect(VmConfigSchema.parse(config)).toEqual(config);
});

test.each([
  { name: "no kernel boots EFI from the instance's vz-efi store", kernel: undefined, boot: { kind: "efi", variableStorePath: `${dir}/vz-efi` } },
  {
    name: "the image's kernel and initrd boot Linux directly with its command line",
    kernel: { commandLine: "root=/dev/vda rw console=hvc0", initrd: true },
    boot: { kind: "linux", kernelPath: `${dir}/kernel`, initrdPath: `${dir}/initrd`, commandLine: "root=/dev/vda rw console=hvc0" },
  },
  {
    name: "a kernel without initrd has initrdPath null",
    kernel: { commandLine: "root=/dev/vda", initrd: false },
    boot: { kind: "linux", kernelPath: `${dir}/kernel`, initrdPath: null, commandLine: "root=/dev/vda" },
  },
])("vzConfig(): $name", async ({ kernel, boot }) => {
  expect(vzConfig(await filled("vmType: vz\nmounts: []"), { ...facts, kernel }).boot).toEqual(boot as never);
});

test.each([
  {
    name: "virtiofs mounts become one share each, tagged as the seed mounts them, read-only unless writable",
    yaml: ["mountType: virtiofs", "mounts:", "- location: /src", "  writable: true", "- location: /data", "  mountPoint: /mnt/data"].join("\n"),
    shares: [
      { tag: mountTag("/src", "/src"), hostPath: "/src", readOnly: false },
      { tag: mountTag("/data", "/mnt/data"), hostPath: "/data", readOnly: true },
    ],
  },
  { name: "reverse-sshfs mounts need no share", yaml: ["mountType: reverse-sshfs", "mounts:", "- location: /src"].join("\n"), shares: [] },
])("vzConfig(): $name", async ({ yaml, shares }) => {
  expect(vzConfig(await filled(`vmType: vz\n${yaml}`), facts).shares).toEqual([...shares]);
});

test.each([
  { name: "Rosetta on shares it under Lima's tag vz-rosetta", yaml: "vmOpts: {vz: {rosetta: {enabled: true}}}", expected: { rosetta: { tag: "vz-rosetta" }, nestedVirtualization: false } },
  { name: "the deprecated top-level rosetta still counts", yaml: "rosetta: {enabled: true}", expected: { rosetta: { tag: "vz-rosetta" }, nestedVirtualization: false } },
  { name: "nestedVirtualization passes through", yaml: "nestedVirtualization: true", expected: { rosetta: null, nestedVirtualization: true } },
])("vzConfig(): $name", async ({ yaml, expected }) => {
  expect(vzConfig(await filled(`vmType: vz\nmounts: []\n${yaml}`), facts)).toMatchObject(expected);
});
