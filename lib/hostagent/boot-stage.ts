// The boot stages `den start` reports, and how each is recognised in the guest's serial console. Reading the console
// is what lets a timeout name the stage that did not finish instead of saying "waiting for ssh". The first stage is the
// driver starting the VM: it is named for the driver's vmType ("qemu") and titled with its display name ("QEMU").
import { VmTypes, type VmType } from "../config/schema.ts";

/** The stages after the driver started the VM, in boot order. */
export const GuestBootStages = ["kernel", "systemd", "cloud-init", "sshd", "boot-scripts", "services", "engine", "ready"] as const;
/** Every stage a host agent may report (for schemas): each driver's first stage, then the guest's. */
export const BootStages = [...VmTypes, ...GuestBootStages] as const;
export type BootStage = (typeof BootStages)[number];
type GuestBootStage = (typeof GuestBootStages)[number];

/** The stages of one boot, in order: the driver of `vmType` starting the VM, then the guest's. */
export function bootStages(vmType: VmType): readonly BootStage[] {
  return [vmType, ...GuestBootStages];
}

export interface BootStageInfo {
  /** Shown while the stage runs: "waiting for the kernel". */
  waitingFor: string;
  /** What to look at when the stage never finishes. */
  hint: string;
}

/** The instance's driver as `den start` names it: its display name ("QEMU") and its serial log's file name. */
export interface BootDriverNames {
  displayName: string;
  serialLog: string;
}

/** What `den start` says about `stage` of a boot run by `driver`. */
export function bootStageInfo(stage: BootStage, driver: BootDriverNames): BootStageInfo {
  if (!isGuestStage(stage)) {
    return { waitingFor: `${driver.displayName} to start`, hint: `see ha.stderr.log in the instance folder for ${driver.displayName}'s own error` };
  }
  const info = GuestStageInfo[stage];
  return { waitingFor: info.waitingFor, hint: info.hint(driver.serialLog) };
}

function isGuestStage(stage: BootStage): stage is GuestBootStage {
  return (GuestBootStages as readonly string[]).includes(stage);
}

/** The guest's stages, their hints given the driver's serial log file name. */
const GuestStageInfo: Readonly<Record<GuestBootStage, { waitingFor: string; hint: (serialLog: string) => string }>> = {
  kernel: {
    waitingFor: "the guest kernel",
    hint: (log) => `the image may not boot on this machine: check the image's arch and firmware, and ${log}`,
  },
  systemd: { waitingFor: "the guest init system", hint: (log) => `the kernel started but init did not: see ${log} (root disk, initrd)` },
  "cloud-init": {
    waitingFor: "cloud-init",
    hint: (log) => `the image may lack cloud-init, or cannot find the cidata seed: see ${log}`,
  },
  sshd: {
    waitingFor: "sshd in the guest",
    hint: (log) => `cloud-init ran but ssh does not answer: see ${log} for cloud-init errors (user, keys, network)`,
  },
  "boot-scripts": {
    waitingFor: "den's boot scripts",
    hint: () => 'see /var/log/cloud-init-output.log in the guest ("den shell NAME sudo cat /var/log/cloud-init-output.log")',
  },
  services: {
    waitingFor: "den's guest services (guest agent, mounts, port forwarding)",
    hint: () => "see ha.stdout.log in the instance folder: each service reports what it waits for under services",
  },
  // Skipped at once (never reported) when containerd is off and the template has no probes.
  engine: {
    waitingFor: "the container engine and the template's probes",
    hint: () => "each failing check shows its output and hint; the guest keeps running, so den shell can look inside",
  },
  ready: { waitingFor: "the instance to become ready", hint: () => "see ha.stdout.log in the instance folder" },
};

/** Console lines that prove a stage was reached; the sshd stage is proven by an ssh login from the host instead. */
const ConsoleMarkers: readonly { stage: GuestBootStage; pattern: RegExp }[] = [
  { stage: "kernel", pattern: /Linux version \d|Booting Linux on physical CPU/ },
  // Not "Run /init as init process": that is the initramfs, which may still fail to find the root disk.
  { stage: "systemd", pattern: /systemd\[1\]: |Welcome to .*!|Run \/sbin\/init as init process/ },
  { stage: "cloud-init", pattern: /Cloud-init v\. \S+ running|cloud-init\[\d+\]:/ },
  { stage: "boot-scripts", pattern: /DEN\| boot\.sh start/ },
];

/** The stages whose console marker appears in `text` (a chunk or the whole serial log). */
export function stagesInConsole(text: string): BootStage[] {
  return ConsoleMarkers.filter(({ pattern }) => pattern.test(text)).map(({ stage }) => stage);
}

/** True when the boot scripts reported the end of this boot (`DEN| boot done <iid>`). */
export function bootDoneInConsole(text: string, iid: string): boolean {
  return text.includes(`DEN| boot done ${iid}`);
}

/** The first stage of a `vmType` boot, in boot order, that has not been reached. */
export function nextStage(reached: ReadonlySet<BootStage>, vmType: VmType): BootStage | undefined {
  return bootStages(vmType).find((stage) => !reached.has(stage));
}

/** Console lines after which the guest will never come up on its own; the boot fails at once instead of timing out. */
const FatalConsolePatterns: readonly RegExp[] = [
  /Kernel panic - not syncing[^\n]*/,
  /ALERT! [^\n]* does not exist\. {2}Dropping to a shell!/,
  // initramfs-tools when the root file system mounts but holds no init (or does not mount at all).
  /No init found\. Try passing init= bootarg\./,
  /Target filesystem doesn't have requested \S+/,
];

/** The first fatal console line in `text`, if any. */
export function fatalConsoleLine(text: string): string | undefined {
  for (const pattern of FatalConsolePatterns) {
    const match = pattern.exec(text);
    if (match) return match[0].trim();
  }
  return undefined;
}
