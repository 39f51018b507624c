// The VZ machine of one instance as the helper's `create` takes it (VmConfig, drivers/vz/helper/PROTOCOL.md): a pure
// function of the filled configuration and the few facts only the caller knows (instance folder, MAC, SSH port,
// whether the image brought a kernel). Lima's VZ driver makes the same choices: Linux boot when the image provides a
// kernel, EFI otherwise; the boot disk then the seed; one NAT NIC; virtio-fs shares; the Rosetta share under
// "vz-rosetta"; a memory balloon.
import { join } from "node:path";
import { mountTag } from "../../cidata/seed-args.ts";
import type { FilledDenYaml } from "../../lib/config/schema.ts";
import { parseSize } from "../../lib/config/units.ts";
import { CidataIso, Disk, GuestAgentSock, Initrd, Kernel, SerialVirtioLog, VzEfiFile, VzIdentifierFile } from "../../lib/store/filenames.ts";
import type { VmConfig } from "./helper-protocol.ts";

/** Lima's tag of the Rosetta share; the guest's boot script mounts it at /mnt/lima-rosetta. */
export const RosettaTag = "vz-rosetta";
/** The guest agent's vsock port (Lima's). */
export const GuestAgentVsockPort = 2222;
export const SshVsockPort = 22;

export interface VzConfigFacts {
  instanceDir: string;
  macAddress: string;
  /** Host port (on 127.0.0.1) the helper forwards to the guest's sshd. */
  sshLocalPort: number;
  /** The image's kernel, as the instance folder holds it (`kernel`, `initrd`, `kernel.cmdline`); absent: EFI boot. */
  kernel?: { commandLine: string; initrd: boolean } | undefined;
  /** The guest agent's runtime disk (DriverContext.runtimeDisk), attached read-only after the seed. */
  runtimeDisk?: string | undefined;
  /** The containerd archive's disk (DriverContext.containerdDisk), attached read-only after the runtime disk. */
  containerdDisk?: string | undefined;
}

/** The VmConfig of `config` for the instance in `facts.instanceDir`. */
export function vzConfig(config: FilledDenYaml, facts: VzConfigFacts): VmConfig {
  const dir = facts.instanceDir;
  const file = (name: string) => join(dir, name);
  const boot: VmConfig["boot"] = facts.kernel
    ? { kind: "linux", kernelPath: file(Kernel), initrdPath: facts.kernel.initrd ? file(Initrd) : null, commandLine: facts.kernel.commandLine }
    : { kind: "efi", variableStorePath: file(VzEfiFile) };
  const shares = config.mountType === "virtiofs" ? config.mounts.map((mount) => ({ tag: mountTag(mount.location, mount.mountPoint), hostPath: mount.location, readOnly: !mount.writable })) : [];
  return {
    cpus: config.cpus,
    memoryBytes: parseSize(config.memory),
    boot,
    machineIdentifierPath: file(VzIdentifierFile),
    disks: [
      { path: file(Disk), readOnly: false },
      { path: file(CidataIso), readOnly: true },
      ...(facts.runtimeDisk ? [{ path: facts.runtimeDisk, readOnly: true }] : []),
      ...(facts.containerdDisk ? [{ path: facts.containerdDisk, readOnly: true }] : []),
    ],
    networks: [{ kind: "nat", macAddress: facts.macAddress }],
    shares,
    rosetta: config.vmOpts.vz.rosetta.enabled ? { tag: RosettaTag } : null,
    vsockForwards: {
      unix: [{ path: file(GuestAgentSock), guestPort: GuestAgentVsockPort }],
      tcp: [{ hostIP: "127.0.0.1", hostPort: facts.sshLocalPort, guestPort: SshVsockPort }],
    },
    serialLogPath: file(SerialVirtioLog),
    balloon: true,
    nestedVirtualization: config.nestedVirtualization,
  };
}
