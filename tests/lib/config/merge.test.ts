import { expect, test } from "bun:test";
import { mergeLayers, type MergeLayersInput } from "../../../lib/config/merge.ts";

interface Row {
  name: string;
  layers: MergeLayersInput;
  want: Record<string, unknown>;
}

const rows: Row[] = [
  {
    name: "an instance alone is returned unchanged",
    layers: { instance: { cpus: 2, memory: "4GiB" } },
    want: { cpus: 2, memory: "4GiB" },
  },
  {
    name: "no layers give an empty object",
    layers: {},
    want: {},
  },
  {
    name: "null layers count as absent",
    layers: { defaults: null, instance: { cpus: 1 }, override: null },
    want: { cpus: 1 },
  },
  {
    name: "a scalar from override beats instance and defaults",
    layers: { defaults: { cpus: 1 }, instance: { cpus: 2 }, override: { cpus: 3 } },
    want: { cpus: 3 },
  },
  {
    name: "a scalar from the instance beats defaults",
    layers: { defaults: { memory: "2GiB" }, instance: { memory: "8GiB" } },
    want: { memory: "8GiB" },
  },
  {
    name: "a scalar only in defaults is used",
    layers: { defaults: { disk: "50GiB" }, instance: { cpus: 2 } },
    want: { disk: "50GiB", cpus: 2 },
  },
  {
    name: "a null scalar does not hide a lower layer",
    layers: { defaults: { vmType: "qemu" }, instance: { vmType: null }, override: { vmType: null } },
    want: { vmType: "qemu" },
  },
  {
    name: "false is a set value and wins",
    layers: { defaults: { plain: true }, instance: { plain: false } },
    want: { plain: false },
  },
  {
    name: "keys null in every layer are left out",
    layers: { defaults: { cpus: null }, instance: { cpus: null } },
    want: {},
  },
  {
    name: "images are concatenated override first",
    layers: {
      defaults: { images: [{ location: "d" }] },
      instance: { images: [{ location: "y" }] },
      override: { images: [{ location: "o" }] },
    },
    want: { images: [{ location: "o" }, { location: "y" }, { location: "d" }] },
  },
  {
    name: "provision, probes, portForwards and copyToHost are concatenated override first",
    layers: {
      defaults: { provision: [{ script: "d" }], probes: [{ script: "d" }], portForwards: [{ guestPort: 1 }], copyToHost: [{ guest: "d" }] },
      instance: { provision: [{ script: "y" }], probes: [{ script: "y" }], portForwards: [{ guestPort: 2 }] },
      override: { copyToHost: [{ guest: "o" }] },
    },
    want: {
      provision: [{ script: "y" }, { script: "d" }],
      probes: [{ script: "y" }, { script: "d" }],
      portForwards: [{ guestPort: 2 }, { guestPort: 1 }],
      copyToHost: [{ guest: "o" }, { guest: "d" }],
    },
  },
  {
    name: "additionalDisks and mountTypesUnsupported are concatenated override first",
    layers: {
      defaults: { additionalDisks: ["d"], mountTypesUnsupported: ["9p"] },
      instance: { additionalDisks: [{ name: "y" }] },
      override: { mountTypesUnsupported: ["virtiofs"] },
    },
    want: { additionalDisks: [{ name: "y" }, "d"], mountTypesUnsupported: ["virtiofs", "9p"] },
  },
  {
    name: "containerd.archives and firmware.images are concatenated inside their objects",
    layers: {
      defaults: { containerd: { user: false, archives: [{ location: "d" }] }, firmware: { images: [{ location: "d" }] } },
      instance: { containerd: { system: true, archives: [{ location: "y" }] } },
      override: { firmware: { legacyBIOS: true, images: [{ location: "o" }] } },
    },
    want: {
      containerd: { user: false, archives: [{ location: "y" }, { location: "d" }], system: true },
      firmware: { images: [{ location: "o" }, { location: "d" }], legacyBIOS: true },
    },
  },
  {
    name: "an empty list still takes part in concatenation",
    layers: { defaults: { images: [{ location: "d" }] }, instance: { images: [] } },
    want: { images: [{ location: "d" }] },
  },
  {
    name: "env is merged key by key with override winning",
    layers: {
      defaults: { env: { A: "d", B: "d" } },
      instance: { env: { B: "y", C: "y" } },
      override: { env: { C: "o" } },
    },
    want: { env: { A: "d", B: "y", C: "o" } },
  },
  {
    name: "param is merged key by key",
    layers: { defaults: { param: { x: "1" } }, instance: { param: { y: "2" } } },
    want: { param: { x: "1", y: "2" } },
  },
  {
    name: "vmOpts is merged deeply",
    layers: {
      defaults: { vmOpts: { qemu: { cpuType: { x86_64: "qemu64", aarch64: "max" } } } },
      instance: { vmOpts: { qemu: { minimumVersion: "8.2.1" }, vz: { rosetta: { enabled: true } } } },
      override: { vmOpts: { qemu: { cpuType: { x86_64: "host" } }, vz: { rosetta: { binfmt: true } } } },
    },
    want: {
      vmOpts: {
        qemu: { cpuType: { x86_64: "host", aarch64: "max" }, minimumVersion: "8.2.1" },
        vz: { rosetta: { enabled: true, binfmt: true } },
      },
    },
  },
  {
    name: "hostResolver.hosts is merged as a map and its scalars by priority",
    layers: {
      defaults: { hostResolver: { enabled: false, hosts: { a: "1.1.1.1" } } },
      instance: { hostResolver: { hosts: { b: "host.lima.internal" } } },
      override: { hostResolver: { ipv6: true, hosts: { a: "2.2.2.2" } } },
    },
    want: { hostResolver: { enabled: false, hosts: { a: "2.2.2.2", b: "host.lima.internal" }, ipv6: true } },
  },
  {
    name: "ssh fields are merged one by one",
    layers: {
      defaults: { ssh: { localPort: 60022, forwardAgent: true } },
      instance: { ssh: { localPort: 0, loadDotSSHPubKeys: false } },
      override: { ssh: { forwardAgent: false } },
    },
    want: { ssh: { localPort: 0, forwardAgent: false, loadDotSSHPubKeys: false } },
  },
  {
    name: "video.vnc is merged two levels deep",
    layers: {
      defaults: { video: { display: "vnc", vnc: { display: "127.0.0.1:1" } } },
      instance: { video: { display: "none" } },
    },
    want: { video: { display: "none", vnc: { display: "127.0.0.1:1" } } },
  },
  {
    name: "user fields come from the highest layer that sets each one",
    layers: {
      defaults: { user: { name: "dev", shell: "/bin/zsh" } },
      instance: { user: { uid: 1001, shell: null } },
      override: { user: { name: "ops" } },
    },
    want: { user: { name: "ops", shell: "/bin/zsh", uid: 1001 } },
  },
  {
    name: "a nested object in one layer only is copied",
    layers: { defaults: { audio: { device: "none" } }, instance: { cpus: 1 } },
    want: { audio: { device: "none" }, cpus: 1 },
  },
  {
    name: "mounts are kept in defaults, instance, override order",
    layers: {
      defaults: { mounts: [{ location: "/d" }] },
      instance: { mounts: [{ location: "/y" }] },
      override: { mounts: [{ location: "/o" }] },
    },
    want: { mounts: [{ location: "/d" }, { location: "/y" }, { location: "/o" }] },
  },
  {
    name: "mounts with the same location are merged and a later writable wins",
    layers: {
      instance: { mounts: [{ location: "~" }, { location: "/tmp/den", writable: true }] },
      override: { mounts: [{ location: "~", writable: true }] },
    },
    want: { mounts: [{ location: "~", writable: true }, { location: "/tmp/den", writable: true }] },
  },
  {
    name: "mounts are matched by mountPoint, which defaults to location",
    layers: {
      defaults: { mounts: [{ location: "/src", mountPoint: "/work", sshfs: { cache: false } }] },
      instance: { mounts: [{ location: "/work", sshfs: { followSymlinks: true } }, { location: "/src" }] },
    },
    want: {
      mounts: [
        { location: "/work", mountPoint: "/work", sshfs: { cache: false, followSymlinks: true } },
        { location: "/src" },
      ],
    },
  },
  {
    name: "mount fields set to null in a later layer keep the earlier value",
    layers: {
      defaults: { mounts: [{ location: "~", writable: true, "9p": { cache: "mmap" } }] },
      instance: { mounts: [{ location: "~", writable: null, "9p": { msize: "256KiB" } }] },
    },
    want: { mounts: [{ location: "~", writable: true, "9p": { cache: "mmap", msize: "256KiB" } }] },
  },
  {
    name: "networks with the same interface are merged and later fields win",
    layers: {
      defaults: { networks: [{ lima: "shared", interface: "lima0", metric: 100 }] },
      override: { networks: [{ interface: "lima0", metric: 50, macAddress: "52:55:55:00:00:01" }] },
    },
    want: { networks: [{ lima: "shared", interface: "lima0", metric: 50, macAddress: "52:55:55:00:00:01" }] },
  },
  {
    name: "a later network kind replaces the earlier one of the same interface",
    layers: {
      defaults: { networks: [{ lima: "shared", interface: "lima0" }] },
      instance: { networks: [{ socket: "/var/run/socket_vmnet", interface: "lima0" }] },
    },
    want: { networks: [{ interface: "lima0", socket: "/var/run/socket_vmnet" }] },
  },
  {
    name: "networks without interface are never merged",
    layers: {
      defaults: { networks: [{ lima: "shared" }] },
      instance: { networks: [{ lima: "shared" }] },
      override: { networks: [{ vzNAT: true }] },
    },
    want: { networks: [{ lima: "shared" }, { lima: "shared" }, { vzNAT: true }] },
  },
  {
    name: "dns takes only the highest priority non-empty list",
    layers: { defaults: { dns: ["1.1.1.1"] }, instance: { dns: ["8.8.8.8", "8.8.4.4"] }, override: { dns: [] } },
    want: { dns: ["8.8.8.8", "8.8.4.4"] },
  },
  {
    name: "dns from defaults is used when nothing else sets it",
    layers: { defaults: { dns: ["1.1.1.1"] }, instance: {} },
    want: { dns: ["1.1.1.1"] },
  },
  {
    name: "caCerts files and certs are a unique union in defaults, instance, override order",
    layers: {
      defaults: { caCerts: { files: ["a.crt", "b.crt"], certs: ["X"] } },
      instance: { caCerts: { removeDefaults: true, files: ["b.crt", "c.crt"] } },
      override: { caCerts: { certs: ["Y", "X"], removeDefaults: false } },
    },
    want: { caCerts: { files: ["a.crt", "b.crt", "c.crt"], certs: ["X", "Y"], removeDefaults: false } },
  },
  {
    name: "lists without a merge rule behave like scalars",
    layers: { defaults: { base: ["template:a"] }, instance: { base: ["template:b"] } },
    want: { base: ["template:b"] },
  },
  {
    name: "deprecated cpuType is merged as a map",
    layers: { defaults: { cpuType: { x86_64: "qemu64" } }, override: { cpuType: { aarch64: "host" } } },
    want: { cpuType: { x86_64: "qemu64", aarch64: "host" } },
  },
];

test.each(rows)("mergeLayers(): $name", ({ layers, want }) => {
  expect(mergeLayers(layers)).toEqual(want);
});

test("mergeLayers() does not change its inputs and shares no objects with them", () => {
  const defaults = { mounts: [{ location: "~" }], env: { A: "1" } };
  const instance = { mounts: [{ location: "~", writable: true }] };
  const before = structuredClone({ defaults, instance });
  const merged = mergeLayers({ defaults, instance });
  expect({ defaults, instance }).toEqual(before);
  (merged.env as Record<string, string>).A = "changed";
  (merged.mounts as { writable?: boolean }[])[0]!.writable = false;
  expect(defaults.env.A).toBe("1");
  expect(instance.mounts[0]!.writable).toBe(true);
});
