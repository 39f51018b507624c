import { expect, test } from "bun:test";
import { bootDoneInConsole, bootStageInfo, bootStages, fatalConsoleLine, nextStage, stagesInConsole, type BootStage } from "../../../lib/hostagent/boot-stage.ts";

test.each([
  { name: "nothing yet", text: "", stages: [] },
  { name: "SeaBIOS only", text: "SeaBIOS (version 1.16.2-debian-1.16.2-1)\n", stages: [] },
  { name: "x86 kernel", text: "[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)\n", stages: ["kernel"] },
  { name: "arm64 kernel", text: "[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]\n", stages: ["kernel"] },
  { name: "systemd banner", text: "Linux version 6.1\n[  9.1] systemd[1]: Detected virtualization qemu.\n", stages: ["kernel", "systemd"] },
  {
    name: "cloud-init local stage",
    text: "Linux version 6.1\nWelcome to Debian GNU/Linux 12 (bookworm)!\n[  20.1] cloud-init[210]: Cloud-init v. 22.4.2 running 'init-local' at Mon\n",
    stages: ["kernel", "systemd", "cloud-init"],
  },
  {
    name: "den boot scripts",
    text: "Linux version 6.1\nsystemd[1]: x\ncloud-init[1]: y\nDEN| boot.sh start iid-1\n",
    stages: ["kernel", "systemd", "cloud-init", "boot-scripts"],
  },
] satisfies { name: string; text: string; stages: BootStage[] }[])("stagesInConsole() finds $name", ({ text, stages }) => {
  expect(stagesInConsole(text)).toEqual(stages);
});

test("bootDoneInConsole() only counts this boot's instance id", () => {
  expect(bootDoneInConsole("DEN| boot done iid-1\n", "iid-1")).toBe(true);
  expect(bootDoneInConsole("DEN| boot done iid-1\n", "iid-2")).toBe(false);
});

test("nextStage() is the first stage not reached, in boot order", () => {
  expect(nextStage(new Set<BootStage>(), "qemu")).toBe("qemu");
  expect(nextStage(new Set<BootStage>(["qemu", "kernel", "cloud-init"]), "qemu")).toBe("systemd");
  expect(nextStage(new Set<BootStage>(["qemu", "kernel", "systemd", "cloud-init", "sshd", "boot-scripts", "services", "engine", "ready"]), "qemu")).toBeUndefined();
});

test.each([
  { vmType: "qemu" as const, first: "qemu" },
  { vmType: "vz" as const, first: "vz" },
])("bootStages() starts a $vmType boot with the stage named for its driver", ({ vmType, first }) => {
  expect(bootStages(vmType)).toEqual([first, "kernel", "systemd", "cloud-init", "sshd", "boot-scripts", "services", "engine", "ready"]);
  expect(nextStage(new Set<BootStage>(), vmType)).toBe(first);
});

const qemu = { displayName: "QEMU", serialLog: "serial.log" };
const vz = { displayName: "Virtualization.framework", serialLog: "serialv.log" };

test.each([
  { name: "the QEMU stage", stage: "qemu" as const, driver: qemu, waitingFor: "QEMU to start", hint: "see ha.stderr.log in the instance folder for QEMU's own error" },
  { name: "the first stage of another driver", stage: "vz" as const, driver: vz, waitingFor: "Virtualization.framework to start", hint: "see ha.stderr.log in the instance folder for Virtualization.framework's own error" },
  { name: "the kernel under QEMU", stage: "kernel" as const, driver: qemu, waitingFor: "the guest kernel", hint: "the image may not boot on this machine: check the image's arch and firmware, and serial.log" },
  { name: "sshd under another driver", stage: "sshd" as const, driver: vz, waitingFor: "sshd in the guest", hint: "cloud-init ran but ssh does not answer: see serialv.log for cloud-init errors (user, keys, network)" },
  { name: "the guest services", stage: "services" as const, driver: vz, waitingFor: "den's guest services (guest agent, mounts, port forwarding)", hint: "see ha.stdout.log in the instance folder: each service reports what it waits for under services" },
])("bootStageInfo() titles $name from the driver", ({ stage, driver, waitingFor, hint }) => {
  expect(bootStageInfo(stage, driver)).toEqual({ waitingFor, hint });
});

test.each([
  { name: "a panic without a root fs", text: "[ 3.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n", line: "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)" },
  { name: "initramfs giving up", text: "ALERT!  /dev/vda does not exist.  Dropping to a shell!\n", line: "ALERT!  /dev/vda does not exist.  Dropping to a shell!" },
  { name: "initramfs without an init", text: "mount: mounting /dev/vda on /root failed\nNo init found. Try passing init= bootarg.\n", line: "No init found. Try passing init= bootarg." },
  { name: "a healthy boot", text: "Linux version 6.1\nsystemd[1]: x\n", line: undefined },
])("fatalConsoleLine() recognises $name", ({ text, line }) => {
  expect(fatalConsoleLine(text)).toBe(line);
});

test("stagesInConsole() does not take the initramfs for the guest's init", () => {
  expect(stagesInConsole("Linux version 6.1\n[ 2.0] Run /init as init process\n")).toEqual(["kernel"]);
});
